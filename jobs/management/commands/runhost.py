"""manage.py runhost: the continuous-jobs host of this instance (also started by
runinstance). The loop is thin; the work is in jobs/host/'s step functions."""

from __future__ import annotations

import logging
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import close_old_connections

from jobs.host.leftovers import HostConflict
from jobs.host.supervisor import Host

log = logging.getLogger("jobs.host")
# After a failed step (the database restarting, SQLite locked for long) the loop
# waits, doubling from FIRST_BACKOFF up to MAX_BACKOFF, and goes on; its jobs
# keep running meanwhile, and their statuses are written once it is back.
FIRST_BACKOFF = 0.5
MAX_BACKOFF = 5.0


class Command(BaseCommand):
    help = (
        "Keep this instance's continuous WebJobs running (restart on exit, start "
        "and stop on request, singleton leases) until Ctrl-C/SIGTERM, which stops "
        "them gracefully."
    )

    def handle(self, *args, **options) -> None:
        host = Host(
            instance_id=settings.WEBSITE_INSTANCE_ID,
            restart_time=settings.WEBJOBS_RESTART_TIME,
            lease_time=settings.WEBJOBS_LEASE_TIME,
            all_stopped=settings.WEBJOBS_STOPPED,
            root=settings.WEBJOBS_ROOT,
        )
        host.install_signals()
        if not self._start(host):
            return
        self.stdout.write(
            f"Continuous-jobs host of instance {settings.WEBSITE_INSTANCE_ID[:6]} "
            "running; Ctrl-C stops it."
        )
        self.stdout.flush()
        errors, minute = 0, time.monotonic()
        backoff = FIRST_BACKOFF
        while not host.stopping:
            try:
                busy = host.step()
            except Exception:  # log, back off, go on: one bad row never stops us
                log.exception("host step failed; next try in %.1f s", backoff)
                errors += 1
                close_old_connections()
                host.wait(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF)
                continue
            backoff = FIRST_BACKOFF
            host.wait(0 if busy else host.next_timeout())
            if time.monotonic() - minute >= 60:
                if errors:
                    log.warning("%d host step errors in the last minute", errors)
                errors, minute = 0, time.monotonic()
        self.stdout.write("Stopping continuous jobs...")
        self.stdout.flush()
        host.shutdown()
        self.stdout.write("Continuous-jobs host stopped.")

    def _start(self, host: Host) -> bool:
        """Register the instance, retrying while the database is unreachable;
        False when stopped meanwhile. A live host of this instance is fatal."""
        backoff = FIRST_BACKOFF
        while not host.stopping:
            try:
                host.start()
                return True
            except HostConflict as exc:
                raise CommandError(str(exc)) from None
            except Exception:
                log.exception("host start failed; next try in %.1f s", backoff)
                close_old_connections()
                host.wait(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF)
        return False
