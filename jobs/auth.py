"""HTTP Basic with Django users, without paying the password hasher on every call.

Django's PBKDF2 hasher costs about 0.2 s per check on purpose. Kudu clients send
the deployment credentials with every request, so a verified (user, password)
pair is remembered in this process for a short time. The cache key is an HMAC of
the password under SECRET_KEY together with the stored hash, so a password
change (new hash) or a deactivated user invalidates it at once, and no password
is kept in memory in the clear.

Repeated wrong passwords lock the user out from that address (django-axes, the
same counter as the portal's login page, kept in the database so every
instance and worker sees it): a locked-out caller gets 429 until the cool-off.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
import time

from axes.handlers.proxy import AxesProxyHandler
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_login_failed
from rest_framework import exceptions
from rest_framework.authentication import BasicAuthentication

from config import statements

CACHE_SECONDS = 300.0
_MAX_ENTRIES = 1024
_verified: dict[bytes, float] = {}
_lock = threading.Lock()


def _fingerprint(user, password: str) -> bytes:
    msg = f"{user.pk}\x00{user.password}\x00{password}".encode()
    return hmac.new(settings.SECRET_KEY.encode(), msg, hashlib.sha256).digest()


ERR_LOCKED = (
    "Too many failed logins for this user from this address; try again later "
    "(an administrator can lift it: manage.py axes_reset_username)."
)


def check_credentials(username: str, password: str, *, request=None):
    """The active user for these credentials, or None. With `request` (an
    HttpRequest), a lock-out is enforced (Throttled) and a failure counted.

    A pair verified moments ago (the cache) is let in without asking axes: it
    proved the password, which a lock-out only keeps guessers from finding,
    and most calls of a client are such repeats (one query fewer each)."""
    User = get_user_model()
    # Every API call reads its user: written out (config/statements.py).
    found = statements.select(User, f"{{{User.USERNAME_FIELD}}} = %s", [username])
    user = found[0] if found else None
    if user is not None and user.is_active and _recently_verified(user, password):
        return user
    credentials = {"username": username}
    if request is not None and not AxesProxyHandler.is_allowed(request, credentials):
        raise exceptions.Throttled(detail=ERR_LOCKED)
    if user is None or not user.is_active:
        User().set_password(password)  # same cost as a real check: no user probing
        user = None
    elif user.check_password(password):
        _remember(user, password)
        return user
    if request is not None:
        user_login_failed.send(
            sender=__name__, credentials=credentials, request=request
        )
    return None


def _recently_verified(user, password: str) -> bool:
    with _lock:
        seen = _verified.get(_fingerprint(user, password))
    return seen is not None and time.monotonic() - seen < CACHE_SECONDS


def _remember(user, password: str) -> None:
    with _lock:
        if len(_verified) >= _MAX_ENTRIES:
            _verified.clear()
        _verified[_fingerprint(user, password)] = time.monotonic()


class CachedBasicAuthentication(BasicAuthentication):
    www_authenticate_realm = "webjobs-emulator"

    def authenticate_credentials(self, userid, password, request=None):
        # axes marks and reads the HttpRequest, not DRF's wrapper of it.
        http_request = getattr(request, "_request", request)
        user = check_credentials(userid, password, request=http_request)
        if user is None:
            raise exceptions.AuthenticationFailed("Invalid username or password.")
        return (user, None)
