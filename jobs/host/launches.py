"""A continuous job's process on this host, a part of Host (supervisor.py) by
topic: a start (a singleton's only where its lease is taken), the working copy
and Kudu's environment, an exit and the restart after WEBJOBS_RESTART_TIME,
Kudu's graceful stop (the shutdown file, then the kill), a deleted job's
removal, and the singleton lease given up or lost.
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
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings

from core import continuous as core
from jobs.alwayson import MSG_ALWAYS_ON
from jobs.environment import emulator_id, job_environment
from jobs.host.children import Child
from jobs.host.leases import lease_release, lease_take
from jobs.host.leftovers import MARKER
from jobs.models import ContinuousStatus, WebJob
from jobs.processes import die_with, job_runtime, pdeathsig_wrapper, signal_quietly
from jobs.storage import job_owns, shutdown_folder, spine, work_copy

log = logging.getLogger("jobs.host")

S = ContinuousStatus


class Launches:
    """Mixed into Host: uses the host's state (children, root, instance_id, the
    lease and restart times, _due, _data_dir) and its records (records.py)."""

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


def _random() -> str:
    return uuid.uuid4().hex[:12]


def _free_port() -> int:
    """Kudu's WEBJOBS_PORT: a free loopback port chosen before each launch."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def has_exited(proc: subprocess.Popen) -> bool:
    """Has the process exited? Without reaping it (WNOWAIT): its group is killed
    first, while the id still belongs to it."""
    try:
        info = os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
    except ChildProcessError:
        return proc.poll() is not None
    return info is not None
