"""What a database can store: text without NUL and without unpaired
surrogates, within a column's length.

PostgreSQL refuses a NUL character in text and in jsonb, and JSON may carry a
lone surrogate escape (``"\\udb4a"``) that is not text at all: both reached the
database as an error (a 500) before these checks. Callers name the field, so
the 400 says what to fix.
"""

from __future__ import annotations

import re

ERR_NUL = "{field} contains a NUL character (\\u0000), which cannot be stored."
ERR_SURROGATE = (
    "{field} contains an unpaired surrogate (\\u{code:04x}), which is not text."
)
ERR_LENGTH = "{field} is {length} characters; the limit is {limit}."
_SURROGATE = re.compile("[\ud800-\udfff]")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def text_problem(field: str, value: str, *, limit: int | None = None) -> str | None:
    """Why `value` cannot be stored as `field`, or None."""
    if "\x00" in value:
        return ERR_NUL.format(field=field)
    match = _SURROGATE.search(value)
    if match:
        return ERR_SURROGATE.format(field=field, code=ord(match.group()))
    if limit is not None and len(value) > limit:
        return ERR_LENGTH.format(field=field, length=len(value), limit=limit)
    return None


def json_problem(field: str, value: object) -> str | None:
    """The first key or string of a JSON value that cannot be stored, named by
    its path under `field` (``settings.job.a[0]``; ``""``: the value is the
    whole request body), or None."""
    if isinstance(value, str):
        return text_problem(field or "The request body", value)
    if isinstance(value, dict):
        for key, item in value.items():
            where = f"{field or 'The request body'} key {ascii(key[:40])}"
            problem = text_problem(where, key) or json_problem(_join(field, key), item)
            if problem:
                return problem
    if isinstance(value, list):
        for index, item in enumerate(value):
            problem = json_problem(f"{field}[{index}]", item)
            if problem:
                return problem
    return None


def _join(field: str, key: str) -> str:
    """`properties.action`, or `tags['a b']` for a key that is not a name."""
    if _NAME.fullmatch(key):
        return f"{field}.{key}" if field else key
    return f"{field}[{ascii(key[:40])}]"
