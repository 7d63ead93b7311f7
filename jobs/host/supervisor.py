"""The continuous-jobs host of one instance (`manage.py runhost`): a supervisor.

One host per instance keeps every started continuous WebJob running as a child
process group, as Kudu's ContinuousJobRunner does on each App Service instance:

* it registers the instance (jobs.models.Instance) and heartbeats it;
* it polls the desired state in the database (WebJob.is_stopped, `revision`,
  WEBJOBS_STOPPED) every POLL_SECONDS and starts, stops or restarts jobs;
* a job whose process exits is relaunched after WEBJOBS_RESTART_TIME (at once if
  it lived two minutes), `PendingRestart` meanwhile;
* an `is_singleton` job runs only where its SingletonLease is held;
* a stop writes the job's WEBJOBS_SHUTDOWN_FILE, waits its stopping_wait_time,
  then kills the process group;
* output of all children is read through one selector into job_log.txt (Kudu's
  status log, 200 output lines per launch) and output_log.txt (all of it).

The loop is step functions (`step_*`, True when there was work) and an
interruptible wait (`wait`: the selector, woken by output, by SIGCHLD and by the
stop signals through the signal wakeup fd). Statuses are kept in memory and
written to InstanceStatus rows at the end of each step, so a database outage
delays the rows but never loses a state change or crashes the loop.

No orphans: each job process gets PR_SET_PDEATHSIG (it dies with the host, even
on kill -9) and leads its own process group, whose id is stored in the status
row; a host starting after a crash ends what is left of those groups, checking
each process's environment for the job's marker so a reused pid is never hit.

Host is this loop and its steps; a child's process (start, exit, restart, stop,
its singleton lease) is launches.py, what is recorded of the children (output,
log lines, statuses) records.py, both mixed into Host.
"""

from __future__ import annotations

import logging
import os
import selectors
import signal
import socket
import time
from dataclasses import fields
from datetime import UTC, datetime, timedelta
from pathlib import Path

from django.db import close_old_connections
from django.db.models.functions import Now
from django.utils import timezone

from config.clock import clock_offset, clock_refresh
from core import continuous as core
from jobs.alwayson import MSG_SHUTTING_DOWN, instance_idle
from jobs.host.children import Child, Spec
from jobs.host.launches import Launches, has_exited
from jobs.host.leases import leases_release_all, leases_renew
from jobs.host.leftovers import host_check_alone, leftovers_end
from jobs.host.records import Records
from jobs.models import ContinuousStatus, Instance, WebJob
from jobs.processes import SignalWake, signal_quietly

log = logging.getLogger("jobs.host")

S = ContinuousStatus
# The desired state is polled this often with one light query (ids, revisions,
# stopped flags): a start or stop request is acted on within it. Settings and
# commands are read (a full reconcile) only when that changed, or every
# FULL_RECONCILE_SECONDS as a safety net.
POLL_SECONDS = 0.2
FULL_RECONCILE_SECONDS = 5.0
MAX_SLEEP = 1.0
# After a failed database step the next one waits this, doubling up to 5 s.
DB_FIRST_BACKOFF = 0.5


class Host(Launches, Records):
    def __init__(
        self,
        *,
        instance_id: str,
        restart_time: float,
        lease_time: float,
        all_stopped: bool,
        root: Path,
    ) -> None:
        self.instance_id = instance_id
        self.restart_time = restart_time
        self.lease_time = lease_time
        # Heartbeat (and lease renewal) three times per lease; a singleton held
        # elsewhere is retried as often, at most every 5 s as Kudu does.
        self.heartbeat_every = min(lease_time / 3, 5.0)
        self.all_stopped = all_stopped
        # Always On off and no request for WEBJOBS_SITE_IDLE_TIME: jobs stop
        # until the next request (jobs/alwayson.py).
        self.idle = False
        self.started_at = timezone.now()
        self.root = root
        self.children: dict[int, Child] = {}
        self.stopping = False
        self.offset = 0.0
        self.next_heartbeat = 0.0
        self.next_reconcile = 0.0
        self.next_full_reconcile = 0.0
        self.fingerprint: tuple = ()
        self.lease_ok_until = 0.0
        self.db_backoff = DB_FIRST_BACKOFF
        # Scanning the children costs a syscall each, and output wakes the loop
        # once per line: so they are scanned only after a SIGCHLD or when a
        # restart, a kill or a lease deadline is due (or once a second anyway).
        self.sigchld = True
        self.next_scan = 0.0
        self.dirty: set[int] = set()  # children whose status row is to write
        self.unflushed: set[int] = set()  # children with log lines to write
        self.selector = selectors.DefaultSelector()
        self.wake = SignalWake(self)
        self.selector.register(self.wake.fd, selectors.EVENT_READ, None)

    # --- life ----------------------------------------------------------------

    def install_signals(self) -> None:
        """SIGTERM/SIGINT set the stop flag; they and SIGCHLD wake the wait."""
        self.wake.install()

    def start(self) -> None:
        """Register the instance and end leftovers of a previous host of it."""
        self._refresh_clock()
        host_check_alone(instance_id=self.instance_id, lease_time=self.lease_time)
        Instance.objects.update_or_create(
            instance_id=self.instance_id,
            defaults={
                "hostname": socket.gethostname(),
                "pid": os.getpid(),
                "started_at": self.now(),
                "heartbeat_at": Now(),
            },
        )
        for job, pgid, count in leftovers_end(
            instance_id=self.instance_id, root=self.root
        ):
            self._append(
                job.data_dir / "job_log.txt",
                self._line(
                    core.MSG_LEFTOVERS.format(count=count, pgid=pgid), level="WARN"
                ),
                limit=core.JOB_LOG_BYTES,
                prev="job_prev_log.txt",
            )

    def step(self) -> bool:
        """One pass of every step; True when there was work (call again now).

        The database steps (heartbeat, reconcile, statuses) back off on their
        own when the database fails (_database_steps), so the children are
        still scanned on time: a singleton whose lease cannot be renewed is
        stopped before another instance takes it over.
        """
        mono = time.monotonic()
        busy = False
        try:
            if mono >= min(self.next_heartbeat, self.next_reconcile):
                busy |= self._database_steps(mono)
            if self.sigchld or mono >= self.next_scan:
                busy |= self.step_children()
        finally:
            self._flush_logs()
        return busy

    def _database_steps(self, mono: float) -> bool:
        try:
            busy = False
            if mono >= self.next_heartbeat:
                self.step_heartbeat()
            if mono >= self.next_reconcile:
                busy = self.step_reconcile()
            self._flush_statuses()
        except Exception:
            delay, self.db_backoff = self.db_backoff, min(self.db_backoff * 2, 5.0)
            log.exception("the host's database step failed; next in %.1f s", delay)
            close_old_connections()
            self.next_heartbeat = max(self.next_heartbeat, mono + delay)
            self.next_reconcile = max(self.next_reconcile, mono + delay)
            return False
        self.db_backoff = DB_FIRST_BACKOFF
        return busy

    def shutdown(self) -> None:
        """Stop every job gracefully (in parallel), then leave the instance."""
        self.stopping = True
        for child in self.children.values():
            if child.proc is not None:
                if child.state != S.STOPPING:
                    self._begin_stop(child, after="stopped")
            elif child.state not in ("", S.STOPPED):
                self._set_status(child, S.STOPPED)
        while any(c.proc is not None for c in self.children.values()):
            try:
                if time.monotonic() >= self.next_heartbeat:
                    self.step_heartbeat()  # a long stop must not lapse our leases
                self.step_children()
            except Exception:
                log.exception("a shutdown step failed")
            self._flush_logs()
            self.wait(self.next_timeout())
        self._flush_logs()
        try:
            self._flush_statuses()
            leases_release_all(holder=self.instance_id)
            Instance.objects.filter(instance_id=self.instance_id).delete()
        except Exception:  # the database is gone: the lease lapses on its own
            log.exception("could not record the host's shutdown")
        for child in self.children.values():
            self._close_pipes(child)
        self.selector.close()
        self.wake.close()

    # --- steps ----------------------------------------------------------------

    def step_heartbeat(self) -> None:
        """Heartbeat the instance and renew this host's singleton leases."""
        mono = time.monotonic()
        self.next_heartbeat = mono + self.heartbeat_every
        self._refresh_clock()
        beat = Instance.objects.filter(instance_id=self.instance_id).update(
            heartbeat_at=Now(), pid=os.getpid()
        )
        if not beat:  # the row was removed under us: register again
            Instance.objects.create(
                instance_id=self.instance_id,
                hostname=socket.gethostname(),
                pid=os.getpid(),
                started_at=self.now(),
                heartbeat_at=Now(),
            )
        held = {pk for pk, c in self.children.items() if c.holds_lease}
        if held:
            still = leases_renew(
                job_pks=held, holder=self.instance_id, lease_time=self.lease_time
            )
            for pk in held - still:
                self._lease_lost(self.children[pk])
        self.lease_ok_until = mono + self.lease_time * 0.8
        self._check_idle()

    def _check_idle(self) -> None:
        """Follow the instance's activity: idle stops every job, a request
        starts them again (a full reconcile either way)."""
        idle = instance_idle(self.instance_id, since=self.started_at)
        if idle == self.idle:
            return
        self.idle = idle
        self.fingerprint, self.next_reconcile = (), 0.0
        if idle:
            for child in self.children.values():
                if child.proc is not None and child.state != S.STOPPING:
                    self._log(child, MSG_SHUTTING_DOWN)

    def step_reconcile(self) -> bool:
        """Bring this instance's children to the state the database asks for."""
        mono = time.monotonic()
        self.next_reconcile = mono + POLL_SECONDS
        fingerprint = tuple(
            WebJob.objects.filter(kind=WebJob.Kind.CONTINUOUS)
            .order_by("pk")
            .values_list("pk", "revision", "is_stopped")
        )
        if fingerprint == self.fingerprint and mono < self.next_full_reconcile:
            return False
        self.fingerprint = fingerprint
        self.next_full_reconcile = mono + FULL_RECONCILE_SECONDS
        specs = {
            row["pk"]: Spec(**row)
            for row in WebJob.objects.filter(kind=WebJob.Kind.CONTINUOUS).values(
                *(f.name for f in fields(Spec))
            )
        }
        busy = False
        for pk, child in list(self.children.items()):
            if pk not in specs:
                busy |= self._remove(child)
        for pk, spec in specs.items():
            child = self.children.get(pk)
            if child is None:
                child = self.children[pk] = Child(spec=spec)
                (self.root / "data" / "jobs" / "continuous" / spec.name).mkdir(
                    parents=True, exist_ok=True
                )
            busy |= self._reconcile_one(child, spec)
        return busy

    def _reconcile_one(self, child: Child, spec: Spec) -> bool:
        redeployed = spec.revision != child.spec.revision
        child.spec = spec
        if redeployed:
            if child.holds_lease and not spec.job_settings.is_singleton:
                self._release(child)
            if child.proc is not None and child.state != S.STOPPING:
                self._log(child, core.MSG_REFRESH)
                self._begin_stop(child, after="restart")
                return True
            if child.state == S.PENDING_RESTART:
                self._log(child, core.MSG_REFRESH)
                child.restart_at = 0.0  # relaunch now, with the new package
                self._due(0.0)
        wanted = not spec.is_stopped and not self.all_stopped and not self.idle
        if wanted:
            if child.state == S.STOPPING and child.after == "stopped":
                child.after = "restart"
            if child.state in ("", S.STOPPED, S.INACTIVE_INSTANCE):
                return self._try_start(child)
            return False
        if child.state == S.STOPPING and child.after == "restart":
            child.after = "stopped"
        if child.state in (S.STARTING, S.RUNNING):
            self._begin_stop(child, after="stopped")
            return True
        if child.state in ("", S.PENDING_RESTART, S.INACTIVE_INSTANCE):
            self._set_status(child, S.STOPPED)
            self._release(child)
        return False

    def step_children(self) -> bool:
        """Exits, stop deadlines, due restarts, singleton retries, lapsed leases."""
        mono = time.monotonic()
        self.sigchld, self.next_scan = False, mono + MAX_SLEEP
        busy = False
        for child in list(self.children.values()):
            if child.proc is not None and has_exited(child.proc):
                self._exited(child)
                busy = True
            elif child.proc is not None and child.kill_at and mono >= child.kill_at:
                self._log(
                    child, core.MSG_KILLED.format(seconds=child.wait_time), "WARN"
                )
                child.killed, child.kill_at = True, None
                signal_quietly(child.proc.pid, signal.SIGKILL, group=True)
                busy = True
            elif (
                child.state == S.PENDING_RESTART
                and mono >= child.restart_at
                and not child.spec.is_stopped
                and not self.idle
            ) or (
                child.state == S.INACTIVE_INSTANCE
                and mono >= child.lease_retry_at
                and not child.spec.is_stopped
                and not self.all_stopped
                and not self.idle
            ):
                busy |= self._try_start(child)
            if (
                child.holds_lease
                and mono > self.lease_ok_until
                and child.proc is not None
                and child.state != S.STOPPING
            ):
                # No renewal for most of the lease (database unreachable): another
                # instance may take it soon, so this copy must go.
                self._lease_lost(child)
            if child.state == S.PENDING_RESTART:
                self._due(child.restart_at)
            if child.state == S.INACTIVE_INSTANCE:
                self._due(child.lease_retry_at)
            if child.kill_at:
                self._due(child.kill_at)
            if child.holds_lease and child.proc and self.lease_ok_until > mono:
                self._due(self.lease_ok_until)
        return busy

    def _due(self, at: float) -> None:
        """Something is due at `at` (monotonic): scan the children then."""
        self.next_scan = min(self.next_scan, at)

    # --- the interruptible wait ----------------------------------------------------

    def next_timeout(self) -> float:
        """Seconds until something is due (at most MAX_SLEEP)."""
        mono = time.monotonic()
        due = [self.next_heartbeat, self.next_scan, mono + MAX_SLEEP]
        if not self.stopping:
            due.append(self.next_reconcile)
        if self.sigchld:
            return 0.0
        return min(max(min(due) - mono, 0.0), MAX_SLEEP)

    def wait(self, timeout: float) -> None:
        """Sleep until output, a signal (stop, child exit) or the timeout."""
        for key, _ in self.selector.select(timeout):
            if key.data is None:
                self.wake.drain()
                continue
            self._read(key.data, key.fileobj)
        self._flush_logs()

    # --- helpers --------------------------------------------------------------------

    def now(self) -> datetime:
        """The emulator clock, for what users read (log lines, updated_at)."""
        return datetime.now(UTC) + timedelta(seconds=self.offset)

    def _refresh_clock(self) -> None:
        clock_refresh()
        self.offset = clock_offset()

    def _data_dir(self, name: str) -> Path:
        return self.root / "data" / "jobs" / "continuous" / name
