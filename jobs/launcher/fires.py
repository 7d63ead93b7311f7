"""Where the launcher's scheduled fires come from.

The launcher (jobs) sits below the scheduler and cannot import it: the
scheduler registers its source of fires in its AppConfig.ready(). A datagram
carries an id that the source turns into fires (`fires(ids)`); at the due
instant the source claims and inserts them together (`begin_together`), and a
stop gives those not started back (`release(ids)`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

ERR_NO_SOURCE = (
    "No source of scheduled fires is registered: the scheduler app is not "
    "installed (INSTALLED_APPS)."
)


class FireSource(NamedTuple):
    # ids -> fires, each with .webjob, .not_before (epoch seconds), .prepare()
    # (returns its `begin`) and .release()
    fires: Callable[[list[int]], list]
    # begins due together -> each one's outcome: (run, after_start) or None
    begin_together: Callable[[list], list]
    # ids taken but not prepared -> back to their source
    release: Callable[[list[int]], None]


_source: list[FireSource] = []


def register(source: FireSource) -> None:
    _source[:] = [source]


def source() -> FireSource:
    if not _source:
        raise RuntimeError(ERR_NO_SOURCE)
    return _source[0]
