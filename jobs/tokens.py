"""Bearer tokens for the APIs: create (shown once), revoke, authenticate."""

from __future__ import annotations

import hashlib
import secrets

from django.utils import timezone
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header

from jobs.models import ApiToken

PREFIX = "wje_"
ERR_TOKEN = "Invalid or revoked bearer token."


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def token_create(*, user, name: str = "") -> str:
    token = PREFIX + secrets.token_urlsafe(32)
    ApiToken.objects.create(
        user=user, name=name, key_hash=_hash(token), prefix=token[:12]
    )
    return token


def token_revoke(*, token: str | None = None, token_id: int | None = None) -> bool:
    tokens = ApiToken.objects.filter(revoked_at__isnull=True)
    tokens = (
        tokens.filter(key_hash=_hash(token)) if token else tokens.filter(pk=token_id)
    )
    return bool(tokens.update(revoked_at=timezone.now()))


def token_user(token: str):
    row = (
        ApiToken.objects.select_related("user")
        .filter(key_hash=_hash(token), revoked_at__isnull=True)
        .first()
    )
    if row is None or not row.user.is_active:
        return None
    return row.user


class BearerTokenAuthentication(BaseAuthentication):
    """`Authorization: Bearer <token>`; a SHA-256 lookup, no password hashing."""

    def authenticate(self, request):
        auth = get_authorization_header(request).split()
        if not auth or auth[0].lower() != b"bearer":
            return None
        if len(auth) != 2:
            raise exceptions.AuthenticationFailed(ERR_TOKEN)
        user = token_user(auth[1].decode("latin-1"))
        if user is None:
            raise exceptions.AuthenticationFailed(ERR_TOKEN)
        return (user, None)

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="webjobs-emulator"'
