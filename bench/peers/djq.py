"""django-q2's own `Schedule` as a peer: the function a per-minute Schedule runs.

The Schedule is created with ``intended_date_kwarg="due"``, so django-q2 hands
the function the row's `next_run` (ISO 8601): the instant it meant to run it.
"""

from __future__ import annotations

from bench.peers import start_child


def fire(name: str, starts: str, due: str) -> None:
    start_child(name, due, starts)
