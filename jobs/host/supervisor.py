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
"""

from __future__ import annotations

import logging
import os
import selectors
import shutil
import signal
import socket
import subprocess
import time
import uuid
from dataclasses import fields
from datetime import UTC, datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.db import close_old_connections
from django.db.models.functions import Now
from django.utils import timezone

from config.clock import clock_offset, clock_refresh
from core import continuous as core
from core.kudu import log_line
from jobs.alwayson import MSG_ALWAYS_ON, MSG_SHUTTING_DOWN, instance_idle
from jobs.environment import emulator_id, job_environment
from jobs.host.children import Child, Spec
from jobs.host.leases import (
    lease_release,
    lease_take,
    leases_release_all,
    leases_renew,
)
from jobs.host.leftovers import MARKER, host_check_alone, leftovers_end
from jobs.host.logs import append_log, logs_flush
from jobs.host.statuses import statuses_write
from jobs.models import ContinuousStatus, Instance, WebJob
from jobs.processes import (
    SignalWake,
    die_with,
    job_runtime,
    pdeathsig_wrapper,
    signal_quietly,
)
from jobs.storage import job_owns, shutdown_folder, spine, work_copy

log = logging.getLogger("jobs.host")

S = ContinuousStatus
# The desired state is polled this often with one light query (ids, revisions,
# stopped flags): a start or stop request is acted on within it. Settings and
# commands are read (a full reconcile) only when that changed, or every
# FULL_RECONCILE_SECONDS as a safety net.
POLL_SECONDS = 0.2
FULL_RECONCILE_SECONDS = 5.0
MAX_SLEEP = 1.0
READ_BYTES = 65536
# After a failed database step the next one waits this, doubling up to 5 s.
DB_FIRST_BACKOFF = 0.5


class Host:
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
            if child.proc is not None and _has_exited(child.proc):
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

    # --- the interruptible wait and the output ------------------------------------

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

    def _read(self, child: Child, pipe) -> bool:
        """Read one chunk of a child's pipe; False when nothing is there now."""
        level = child.pipes[pipe]
        try:
            chunk = os.read(pipe.fileno(), READ_BYTES)
        except BlockingIOError:
            return False
        except OSError:
            chunk = b""
        lines, child.partial[level] = core.split_lines(
            child.partial[level], chunk, final=not chunk
        )
        for line in lines:
            self._output_line(child, level, line)
        if not chunk:  # end of file: the process and its children closed it
            self.selector.unregister(pipe)
            del child.pipes[pipe]
            pipe.close()
        return bool(chunk)

    def _output_line(self, child: Child, level: str, raw: bytes) -> None:
        record = self._line(raw.decode("utf-8", "replace"), level=level, system=False)
        self.unflushed.add(child.spec.pk)
        child.out_log.append(record)
        if child.lines < core.MAX_OUTPUT_LINES:
            child.job_log.append(record)
        elif child.lines == core.MAX_OUTPUT_LINES:
            child.job_log.append(self._line(core.MSG_OUTPUT_CAP, level="WARN"))
        child.lines += 1

    # --- launching, exits, stops --------------------------------------------------

    def _try_start(self, child: Child) -> bool:
        """Launch if allowed here: not stopping, and the singleton lease is ours."""
        if self.stopping:
            return False
        mono = time.monotonic()
        if child.spec.job_settings.is_singleton and not child.holds_lease:
            if mono < child.lease_retry_at:
                return False
            child.lease_retry_at = mono + self.heartbeat_every
            taken = lease_take(
                job_pk=child.spec.pk,
                holder=self.instance_id,
                lease_time=self.lease_time,
            )
            if not taken:
                if child.state != S.INACTIVE_INSTANCE:
                    self._set_status(child, S.INACTIVE_INSTANCE)
                return False
            child.holds_lease = True
        if not settings.WEBSITE_ALWAYS_ON and child.state in ("", S.STOPPED):
            self._log(child, MSG_ALWAYS_ON, "WARN")  # Kudu: as the job starts
        self._set_status(child, S.STARTING)
        self._launch(child)
        return True

    def _launch(self, child: Child) -> None:
        spec = child.spec
        script = Path(spec.run_command)
        runtime = job_runtime(spec.extension, script.name, spec.script_host)
        error = runtime.error or spec.error
        try:
            if error:
                raise RuntimeError(error)
            self._prepare(child)
            child.proc = subprocess.Popen(
                [*pdeathsig_wrapper(), *runtime.argv_prefix, script.name],
                cwd=child.work_root / script.parent,
                env=self._env(child),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,  # its own group: what a stop kills
                preexec_fn=die_with(os.getpid()),
            )
        except Exception as exc:
            self._log(child, core.MSG_START_FAILED.format(error=exc), "ERR")
            self._cleanup_launch(child)
            self._went_down(child, lived=0.0)
            return
        child.launched_at, child.lines, child.killed = time.monotonic(), 0, False
        child.wait_time = spec.job_settings.stopping_wait_time("continuous")
        for pipe, level in ((child.proc.stdout, "INFO"), (child.proc.stderr, "ERR")):
            os.set_blocking(pipe.fileno(), False)
            self.selector.register(pipe, selectors.EVENT_READ, child)
            child.pipes[pipe] = level
        self._log(
            child, core.MSG_RUN_SCRIPT.format(script=script.name, host=spec.script_host)
        )
        self._set_status(child, S.RUNNING)

    def _prepare(self, child: Child) -> None:
        """A fresh working copy (unless is_in_place) and the shutdown file's folder."""
        spec = child.spec
        package = self.root / "site" / "jobs" / "continuous" / spec.name
        child.in_place = spec.job_settings.is_in_place(spec.extension)
        temp = self.root / "temp"
        data = self._data_dir(spec.name)
        data.mkdir(parents=True, exist_ok=True)
        spine(data.parent)
        job_owns(data)
        if child.in_place:  # it runs, and may write, in its package
            child.work_root = package
            job_owns(package, tree=True)
        else:
            child.work_root = temp / "jobs" / "continuous" / spec.name / _random()
            work_copy(package, child.work_root)
        # Kudu: the file does not exist until shutdown; jobs watch its folder.
        child.shutdown_file = (
            temp / "JobsShutdown" / "continuous" / spec.name / _random()
        )
        shutdown_folder(child.shutdown_file.parent)

    def _env(self, child: Child) -> dict[str, str]:
        """Kudu's environment of a continuous job."""
        name = child.spec.name
        return job_environment(
            name=name,
            kind="continuous",
            work_root=child.work_root,
            data_dir=self._data_dir(name),
            shutdown_file=child.shutdown_file,
            instance_id=self.instance_id,
            extra={
                "WEBJOBS_RUN_ID": "",
                "WEBJOBS_COMMAND_ARGUMENTS": "",
                "WEBJOBS_PORT": str(_free_port()),
                # The marker Kudu kills by; here it also proves a leftover is ours.
                f"{MARKER}{name}": "true",
                # A later host of this root finds its leftovers by it.
                "WEBJOBS_EMULATOR_ID": emulator_id(self.root),
            },
        )

    def _exited(self, child: Child) -> None:
        """The process ended: record it, then restart, stop or hand over."""
        assert child.proc is not None
        lived = time.monotonic() - child.launched_at
        # Leftovers of the group (background children) go with the job's
        # process; killed before it is reaped, so the group id cannot be reused.
        signal_quietly(child.proc.pid, signal.SIGKILL, group=True)
        code = child.proc.wait()
        self._drain(child)
        child.proc, child.kill_at = None, None
        self._cleanup_launch(child)
        if child.state != S.STOPPING:
            if code == 0:
                self._log(child, core.MSG_EXIT_ZERO)
            else:
                self._log(child, core.MSG_EXIT_CODE.format(code=code), "ERR")
            self._went_down(child, lived=lived)
            return
        if not child.killed:
            self._log(child, core.MSG_STOPPED_CLEANLY.format(code=code))
        after, child.after = child.after, "stopped"
        if after == "remove":
            self._forget(child)
        elif after == "inactive":
            self._set_status(child, S.INACTIVE_INSTANCE)
        elif after == "restart" and not self.stopping:
            self._set_status(child, S.STOPPED)
            self._try_start(child)
        else:
            self._set_status(child, S.STOPPED)
            self._release(child)

    def _went_down(self, child: Child, *, lived: float) -> None:
        delay = core.restart_delay(lived=lived, restart_time=self.restart_time)
        self._log(child, core.MSG_WENT_DOWN.format(seconds=core.seconds_text(delay)))
        child.restart_at = time.monotonic() + delay
        self._due(child.restart_at)
        self._set_status(child, S.PENDING_RESTART)

    def _begin_stop(self, child: Child, *, after: str) -> None:
        """Kudu's graceful stop: write the shutdown file, kill after the wait."""
        child.after = after
        if child.proc is None:
            return
        self._set_status(child, S.STOPPING)
        if child.shutdown_file is not None:
            try:
                child.shutdown_file.write_text(
                    datetime.now(UTC).isoformat(), encoding="utf-8"
                )
            except OSError as exc:
                self._log(child, f"Could not write the shutdown file: {exc}", "WARN")
        self._log(child, core.MSG_SHUTDOWN_FILE.format(seconds=child.wait_time))
        child.kill_at = time.monotonic() + child.wait_time
        self._due(child.kill_at)

    def _drain(self, child: Child) -> None:
        """Read what the exited process left in its pipes, then close them."""
        for pipe, level in list(child.pipes.items()):
            while pipe in child.pipes and self._read(child, pipe):
                pass
            lines, child.partial[level] = core.split_lines(
                child.partial[level], b"", final=True
            )
            for line in lines:
                self._output_line(child, level, line)
        self._close_pipes(child)

    def _close_pipes(self, child: Child) -> None:
        for pipe in child.pipes:
            try:
                self.selector.unregister(pipe)
            except (KeyError, ValueError):
                pass
            pipe.close()
        child.pipes = {}

    def _cleanup_launch(self, child: Child) -> None:
        if child.work_root is not None and not child.in_place:
            shutil.rmtree(child.work_root, ignore_errors=True)
        if child.shutdown_file is not None:
            child.shutdown_file.unlink(missing_ok=True)
        child.work_root = child.shutdown_file = None

    def _remove(self, child: Child) -> bool:
        """The job was deleted: stop its process, then forget it."""
        if child.proc is not None:
            if child.state != S.STOPPING:
                self._begin_stop(child, after="remove")
            child.after = "remove"
            return True
        self._forget(child)
        return False

    def _forget(self, child: Child) -> None:
        self._flush_logs()
        self.children.pop(child.spec.pk, None)
        if not WebJob.objects.filter(
            kind=WebJob.Kind.CONTINUOUS, name=child.spec.name
        ).exists():
            # A launch racing the delete may have recreated the data folder.
            shutil.rmtree(self._data_dir(child.spec.name), ignore_errors=True)

    # --- singleton lease ----------------------------------------------------------

    def _release(self, child: Child) -> None:
        if not child.holds_lease:
            return
        child.holds_lease = False
        try:
            lease_release(job_pk=child.spec.pk, holder=self.instance_id)
        except Exception:  # unreachable database: the lease lapses on its own
            log.exception("could not release the lease of %s", child.spec.name)

    def _lease_lost(self, child: Child) -> None:
        child.holds_lease = False
        self._log(child, core.MSG_LEASE_LOST, "WARN")
        if child.proc is not None:
            self._begin_stop(child, after="inactive")
        else:
            self._set_status(child, S.INACTIVE_INSTANCE)

    # --- statuses and logs --------------------------------------------------------

    def _set_status(self, child: Child, status: str) -> None:
        if child.state == status:
            return
        child.state = status
        self.dirty.add(child.spec.pk)
        self._log(child, core.MSG_STATUS.format(status=status))

    def _flush_statuses(self) -> None:
        """Write changed statuses as rows; on a database error they stay dirty
        for the next step."""
        if not self.dirty:
            return
        children = [self.children[pk] for pk in sorted(self.dirty & set(self.children))]
        statuses_write(children, instance_id=self.instance_id, now=self.now())
        self.dirty.clear()

    def _log(self, child: Child, message: str, level: str = "INFO") -> None:
        self.unflushed.add(child.spec.pk)
        child.job_log.append(self._line(message, level=level))

    def _line(self, message: str, *, level: str = "INFO", system: bool = True):
        return log_line(
            self.now(), self.instance_id, message, level=level, system=system
        ).encode("utf-8", "replace")

    def _flush_logs(self) -> None:
        while self.unflushed:
            child = self.children.get(self.unflushed.pop())
            if child is not None:
                logs_flush(child, self._data_dir(child.spec.name))

    def _append(self, path: Path, data: bytes, *, limit: int, prev: str) -> None:
        try:
            append_log(path, data, limit=limit, prev_name=prev)
        except OSError:
            log.exception("could not write %s", path)

    # --- helpers --------------------------------------------------------------------

    def now(self) -> datetime:
        """The emulator clock, for what users read (log lines, updated_at)."""
        return datetime.now(UTC) + timedelta(seconds=self.offset)

    def _refresh_clock(self) -> None:
        clock_refresh()
        self.offset = clock_offset()

    def _data_dir(self, name: str) -> Path:
        return self.root / "data" / "jobs" / "continuous" / name


def _random() -> str:
    return uuid.uuid4().hex[:12]


def _free_port() -> int:
    """Kudu's WEBJOBS_PORT: a free loopback port chosen before each launch."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _has_exited(proc: subprocess.Popen) -> bool:
    """Has the process exited? Without reaping it (WNOWAIT): its group is killed
    first, while the id still belongs to it."""
    try:
        info = os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
    except ChildProcessError:
        return proc.poll() is not None
    return info is not None
