"""manage.py runscheduler: the engine loop (also started by runinstance)."""

from __future__ import annotations

import logging
import signal
import threading
import time

from django.core.management.base import BaseCommand
from django.db import close_old_connections

from config.clock import clock_now, clock_refresh
from scheduler.engine import BATCH, engine_step, next_wake, prune_attempts

log = logging.getLogger("scheduler.engine")
# The loop sleeps until the next due instant but never longer than this, so a
# job created or changed elsewhere (or a clock move) is seen within it; due
# times themselves are met to the millisecond by sleeping until them.
MAX_SLEEP = 0.5


# After a failed step (the database restarting, SQLite locked for long) the loop
# waits, doubling from FIRST_BACKOFF up to MAX_BACKOFF, and goes on: the engine
# never exits over its database. A fire whose commit failed was not written; the
# next step claims it again (the Attempt's unique key makes a second fire of the
# same occurrence impossible).
FIRST_BACKOFF = 0.5
MAX_BACKOFF = 5.0


class Command(BaseCommand):
    help = "Fire scheduler jobs and scheduled WebJobs at their due second."

    def handle(self, *args, **options) -> None:
        stop = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
        self.stdout.write("Scheduler engine running; Ctrl-C stops it.")
        fired, errors, minute = 0, 0, time.monotonic()
        backoff = FIRST_BACKOFF
        while not stop.is_set():
            try:  # the clock is read from the database too
                clock_refresh()
                now = clock_now()
                done = engine_step(now)
                fired += done
                wake = None if done >= BATCH else next_wake(now)
                delay = 0.0 if done >= BATCH else _delay(wake)
            except Exception:  # the database went away: log, back off, go on
                log.exception("engine step failed; next try in %.1f s", backoff)
                errors += 1
                close_old_connections()
                stop.wait(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF)
                continue
            backoff = FIRST_BACKOFF
            if delay:
                stop.wait(delay)
            if time.monotonic() - minute >= 60:
                try:
                    prune_attempts()
                except Exception:
                    log.exception("pruning attempts failed")
                log.info(
                    "last minute: %d fired or dispatched, %d step errors", fired, errors
                )
                fired, errors, minute = 0, 0, time.monotonic()
        self.stdout.write("Scheduler engine stopped.")


def _delay(wake) -> float:
    """Seconds to sleep: until the next due instant, at most MAX_SLEEP."""
    delay = MAX_SLEEP if wake is None else (wake - clock_now()).total_seconds()
    return min(max(delay, 0.0), MAX_SLEEP)
