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


class Command(BaseCommand):
    help = "Fire scheduler jobs and scheduled WebJobs at their due second."

    def handle(self, *args, **options) -> None:
        stop = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
        self.stdout.write("Scheduler engine running; Ctrl-C stops it.")
        fired, errors, minute = 0, 0, time.monotonic()
        while not stop.is_set():
            try:
                clock_refresh()
                now = clock_now()
                done = engine_step(now)
                fired += done
                if done >= BATCH:
                    continue
                wake = next_wake(now)
            except Exception:  # the database went away: log, back off, go on
                log.exception("engine step failed")
                errors += 1
                close_old_connections()
                stop.wait(1.0)
                continue
            delay = MAX_SLEEP if wake is None else (wake - clock_now()).total_seconds()
            stop.wait(min(max(delay, 0.0), MAX_SLEEP))
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
