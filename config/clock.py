"""The emulator clock: every read of "now" in the project goes through clock_now().

Real time plus an offset kept in the database (EmulatorClock), so a user can move
time forward to see a monthly job fire, and every process agrees on the time.
EMULATOR_CLOCK_START starts the clock at an instant on the first read when no
offset has been stored yet. The offset is cached for a short time per process so
hot paths (log lines, API fields) do not pay a query each; clock_refresh() drops it.
"""

from __future__ import annotations

import logging
import math
import os
import time
from datetime import UTC, datetime, timedelta

from django.db import transaction

from config.models import EmulatorClock

log = logging.getLogger("config.clock")
_CACHE_SECONDS = 1.0
_cached: tuple[float, float] | None = None  # (monotonic read time, offset)

# The clock stays within 100 years of real time (ahead by a move, behind by
# EMULATOR_CLOCK_START): every schedule computation then stays far from the
# calendar's end (year 9999), whatever was asked. clock_set refuses beyond it;
# an offset stored beyond it (an older version, a hand edit) is read clamped.
CLOCK_LIMIT = timedelta(days=36525)
_LIMIT_SECONDS = CLOCK_LIMIT.total_seconds()


def _bounded(offset: float, source: str) -> float:
    """The offset within the limit; a non-finite one means no offset."""
    if not math.isfinite(offset):
        log.warning("the clock's offset from %s is %r; using 0", source, offset)
        return 0.0
    if abs(offset) > _LIMIT_SECONDS:
        log.warning(
            "the emulator clock's offset from %s (%.0f s) is beyond 100 years; "
            "using 100 years",
            source,
            offset,
        )
        return math.copysign(_LIMIT_SECONDS, offset)
    return offset


def _read_offset() -> float:
    row = EmulatorClock.objects.filter(pk=1).first()
    if row is not None:
        return _bounded(row.offset_seconds, "the database")
    start = os.environ.get("EMULATOR_CLOCK_START")
    if not start:
        return 0.0
    instant = _parse_instant(start)
    if instant is None:
        log.warning("EMULATOR_CLOCK_START %r is not an ISO 8601 instant", start)
        return 0.0
    offset = _bounded(
        (instant - datetime.now(UTC)).total_seconds(), "EMULATOR_CLOCK_START"
    )
    row, _ = EmulatorClock.objects.get_or_create(
        pk=1, defaults={"offset_seconds": offset}
    )
    return _bounded(row.offset_seconds, "the database")


def _parse_instant(value: str) -> datetime | None:
    """An aware instant (no offset: UTC), or None when it is not one."""
    try:
        instant = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return instant if instant.tzinfo is not None else instant.replace(tzinfo=UTC)


def clock_offset(*, fresh_for: float = 0.0) -> float:
    """The offset, read again if the cached one is stale or will be within
    `fresh_for` seconds (read it ahead of an instant that must not wait on a
    query)."""
    global _cached
    mono = time.monotonic()
    if _cached is None or mono - _cached[0] > _CACHE_SECONDS - fresh_for:
        _cached = (mono, _read_offset())
    return _cached[1]


def clock_pin(offset: float) -> None:
    """Use an offset read moments ago (by the parent of a forked process) for
    the next _CACHE_SECONDS, instead of a query on the next read."""
    global _cached
    _cached = (time.monotonic(), offset)


def clock_refresh() -> None:
    global _cached
    _cached = None


def clock_now() -> datetime:
    """The emulated current instant, an aware UTC datetime."""
    offset = clock_offset()  # first: reading it may take a query
    return datetime.now(UTC) + timedelta(seconds=offset)


ERR_CLOCK_FORMAT = "{value!r} is not an ISO 8601 instant like 2030-01-31T23:59:00Z."
ERR_CLOCK_LIMIT = (
    "The emulator clock can move at most 100 years past real time, to {limit}; "
    "{target} is beyond that."
)
ERR_CLOCK_BACKWARD = (
    "The emulator clock only moves forward: {target} is before its current time "
    "{now}. Schedules, counters and history assume time never runs backwards; "
    "start a fresh database (or set EMULATOR_CLOCK_START) to begin earlier."
)


class ClockError(ValueError):
    def __init__(self, message: str, *, status: int, code: str) -> None:
        super().__init__(message)
        self.status, self.code = status, code


def clock_set(value: str) -> datetime:
    """Move the emulated time to an instant (forward only); returns the new now."""
    target = _parse_instant(value)
    if target is None:
        raise ClockError(
            ERR_CLOCK_FORMAT.format(value=value[:100]), status=400, code="BadRequest"
        )
    limit = (datetime.now(UTC) + CLOCK_LIMIT).replace(microsecond=0)
    if target > limit:  # compared as given: its UTC form may not exist (year 10000)
        raise ClockError(
            ERR_CLOCK_LIMIT.format(
                limit=limit.strftime("%Y-%m-%dT%H:%M:%SZ"), target=value.strip()
            ),
            status=400,
            code="BadRequest",
        )
    with transaction.atomic():
        clock_refresh()
        current = clock_now()
        if target < current - timedelta(seconds=1):
            raise ClockError(
                ERR_CLOCK_BACKWARD.format(
                    target=target.isoformat(), now=current.isoformat()
                ),
                status=409,
                code="Conflict",
            )
        offset = (target - datetime.now(UTC)).total_seconds()
        EmulatorClock.objects.update_or_create(
            pk=1, defaults={"offset_seconds": offset}
        )
    clock_refresh()
    return clock_now()
