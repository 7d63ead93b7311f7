"""Scheduler actions' credentials at rest: sealed with Fernet (the
`cryptography` package), under a key derived from SECRET_KEY.

What is sealed is what core.definitions.secrets_map names: a Basic password,
the values of secret headers (Authorization, *-Key, *Token*…), a queue's SAS
token. The stored action holds ``{"$sealed": "<Fernet token>"}`` in their
place; the API never returns them (core.definitions.redact), and they are
opened only to send the action. Keys in SECRET_KEY_FALLBACKS still open what
was sealed before a rotation.
"""

from __future__ import annotations

import base64
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

from core.definitions import secrets_map

SEALED = "$sealed"
ERR_UNSEALABLE = (
    "The job's stored credentials cannot be read: SECRET_KEY changed since they "
    "were stored. PUT the job again with its credentials (or add the old key to "
    "SECRET_KEY_FALLBACKS)."
)


class SealError(ValueError):
    pass


def _fernet(secret_key: str) -> Fernet:
    key = HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=b"webjobs-emulator",
        info=b"scheduler action secrets",
    ).derive(secret_key.encode())
    return Fernet(base64.urlsafe_b64encode(key))


def _keys() -> MultiFernet:
    fallbacks = getattr(settings, "SECRET_KEY_FALLBACKS", [])
    return MultiFernet([_fernet(k) for k in (settings.SECRET_KEY, *fallbacks)])


def is_sealed(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {SEALED}


def action_seal(action: dict) -> dict:
    """The action as stored: every secret value sealed (once)."""
    keys = _keys()

    def seal(value: Any) -> Any:
        if is_sealed(value):
            return value
        return {SEALED: keys.encrypt(str(value).encode()).decode()}

    return secrets_map(action, seal)


def action_open(action: dict) -> dict:
    """The action as sent: every secret value in the clear (SealError when
    it cannot be opened)."""
    keys = _keys()

    def unseal(value: Any) -> Any:
        if not is_sealed(value):
            return value
        try:
            return keys.decrypt(value[SEALED].encode()).decode()
        except InvalidToken:
            raise SealError(ERR_UNSEALABLE) from None

    return secrets_map(action, unseal)
