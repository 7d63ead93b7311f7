"""Bearer tokens for the APIs: create (shown once), revoke, authenticate.

A token acts with its user's permissions. Only a SHA-256 of it is stored. It
may expire (real time); an expired or revoked token is refused with 401.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime, timedelta

from django.utils import timezone
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header

from jobs.models import ApiToken

PREFIX = "wje_"
ERR_TOKEN = "Invalid bearer token."
ERR_REVOKED = "This bearer token was revoked; make a new one (manage.py apitoken)."
ERR_EXPIRED = (
    "This bearer token expired at {when}; make a new one (manage.py apitoken)."
)
ERR_DURATION = (
    "{value!r} is not a duration; use a whole number and a unit: 90m, 12h, 30d "
    "or 8w (from 1 minute to 10 years)."
)
MAX_LIFETIME = timedelta(days=3650)
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_DURATION = re.compile(r"^\s*(\d{1,7})\s*([mhdw])\s*$", re.I)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def parse_lifetime(text: str) -> timedelta:
    """``30d`` -> 30 days; ValueError (ERR_DURATION) outside 1 minute..10 years."""
    match = _DURATION.match(text or "")
    if match is None:
        raise ValueError(ERR_DURATION.format(value=text))
    value = timedelta(**{_UNITS[match.group(2).lower()]: int(match.group(1))})
    if not timedelta(minutes=1) <= value <= MAX_LIFETIME:
        raise ValueError(ERR_DURATION.format(value=text))
    return value


def token_create(
    *, user, name: str = "", lifetime: timedelta | None = None
) -> tuple[str, ApiToken]:
    """A new token (the only time it is seen in the clear) and its row."""
    token = PREFIX + secrets.token_urlsafe(32)
    row = ApiToken.objects.create(
        user=user,
        name=name,
        key_hash=_hash(token),
        prefix=token[:12],
        expires_at=timezone.now() + lifetime if lifetime else None,
    )
    return token, row


def token_revoke(*, token: str | None = None, token_id: int | None = None) -> bool:
    tokens = ApiToken.objects.filter(revoked_at__isnull=True)
    tokens = (
        tokens.filter(key_hash=_hash(token)) if token else tokens.filter(pk=token_id)
    )
    return bool(tokens.update(revoked_at=timezone.now()))


def token_user(token: str):
    """The token's user; raises AuthenticationFailed saying why it is refused."""
    row = ApiToken.objects.select_related("user").filter(key_hash=_hash(token)).first()
    if row is None or not row.user.is_active:
        raise exceptions.AuthenticationFailed(ERR_TOKEN)
    state = row.state(now=timezone.now())
    if state == "revoked":
        raise exceptions.AuthenticationFailed(ERR_REVOKED)
    if state == "expired":
        raise exceptions.AuthenticationFailed(
            ERR_EXPIRED.format(when=_when(row.expires_at))
        )
    return row.user


def _when(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


class BearerTokenAuthentication(BaseAuthentication):
    """`Authorization: Bearer <token>`; a SHA-256 lookup, no password hashing."""

    def authenticate(self, request):
        auth = get_authorization_header(request).split()
        if not auth or auth[0].lower() != b"bearer":
            return None
        if len(auth) != 2:
            raise exceptions.AuthenticationFailed(ERR_TOKEN)
        return (token_user(auth[1].decode("latin-1")), None)

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="webjobs-emulator"'
