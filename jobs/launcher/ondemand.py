"""On-demand runs in the launcher: a run requested on this instance, started
without a queue hop and without a process per run.

The request inserts the run and hands it to this instance's launcher
(`jobs.launcher.inbox.run_hand_over`), then sends its queue task (the durable
delivery: any instance's cluster, after any restart). The launcher claims it
at once (`jobs.runner.run_claim`, the claim the queue task makes too: whoever
is first starts the run, the other finds it claimed), then reads it, makes its
working copy and starts its process held at the gate (jobs/launcher/gate.py).
Once the request's answer (the run id, `Location`) is sent, its go
(`run_go`) opens the gate: the job starts. A go that never comes (the web
worker died after the hand-over) starts the job after GO_TIMEOUT: the run was
accepted. From then on the run is followed as a scheduled one: output, idle
timeout, log cap, heartbeat, finish, abort at shutdown (jobs/launcher/loop.py).
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from history.models import Run, RunStatus
from history.services import run_finish
from jobs.launcher.gate import gate_close, gate_open, gate_start
from jobs.runner import SHUTDOWN_MESSAGE, Monitor, _launch_plan, _run_spec, run_claim

log = logging.getLogger("jobs.launcher")

# A run whose go has not come by then starts anyway (seconds after its claim).
GO_TIMEOUT = 1.0
MSG_NOT_STARTED = "The job could not be started: {error}"


@dataclass
class Held:
    """A run claimed here: made ready (its process waits at the gate), then
    started on its go."""

    pk: int
    go_by: float  # time.monotonic()
    go: bool = False
    run: Run | None = None
    spec: dict | None = None
    gate: subprocess.Popen | None = None


class OnDemandRuns:
    """The launcher's part for on-demand runs (a mixin of `Launcher`: it uses
    its inbox, slots, gates to reap and guard)."""

    def init_runs(self) -> None:
        self.inbox_runs: list[int] = []  # handed over, not claimed yet
        self.inbox_go: list[int] = []  # answered: start them
        self.held: dict[int, Held] = {}  # claimed here, not started yet

    def runs_pending(self) -> bool:
        return bool(self.inbox_runs or self.inbox_go) or any(
            h.go or h.gate is None for h in self.held.values()
        )

    def runs_timeout(self, mono: float) -> float | None:
        """Seconds until a held run's go is overdue, if any is held."""
        if not self.held:
            return None
        return max(0.0, min(h.go_by for h in self.held.values()) - mono)

    def start_runs(self) -> None:
        """Claim every run handed over first (the queue's tasks race for
        them), start those whose go came (or is overdue), then make the
        others ready one at a time, looking at the inbox between two."""
        while True:
            self.start_due()  # a scheduled fire due meanwhile goes first
            self.take_inbox()
            pks, self.inbox_runs = self.inbox_runs, []
            mono = time.monotonic()
            for pk in pks:
                if self._guard(lambda p=pk: self._claim(p), f"claim run {pk}"):
                    self.held[pk] = Held(pk, go_by=mono + GO_TIMEOUT)
            go, self.inbox_go = self.inbox_go, []
            for pk in go:
                if pk in self.held:  # else the queue's, or never handed over
                    self.held[pk].go = True
            for held in list(self.held.values()):
                if held.gate is not None and (held.go or held.go_by <= mono):
                    del self.held[held.pk]
                    self._guard(lambda h=held: self._go(h), f"start run {held.pk}")
            waiting = [h for h in self.held.values() if h.gate is None]
            if not waiting:
                return
            self._ready(waiting[0])

    def _claim(self, pk: int) -> bool:
        return run_claim(pk, monitor_pid=os.getpid(), status=RunStatus.RUNNING)

    def _ready(self, held: Held) -> None:
        """The run read, its working copy made, its process at the gate. A run
        that cannot start fails with the reason (claimed here: it is never
        left Running with nothing behind it)."""
        try:
            held.run = Run.objects.select_related("job").get(pk=held.pk)
            plan = _launch_plan(held.run.job)
            if plan["error"]:  # a deploy error, a missing interpreter
                raise _CannotRun(plan["error"])
            held.spec = _run_spec(plan, held.run)
            if not plan["in_place"]:
                shutil.copytree(plan["package_dir"], plan["work_root"], symlinks=True)
            held.gate = gate_start(held.spec)
        except Exception as exc:
            del self.held[held.pk]
            if held.spec is not None and not held.spec["in_place"]:
                shutil.rmtree(held.spec["work_root"], ignore_errors=True)
            if isinstance(exc, _CannotRun):
                message = str(exc)
            else:
                log.exception("run %s could not be started", held.pk)
                message = MSG_NOT_STARTED.format(error=exc)
            self._guard(lambda: self._fail(held, message), f"fail run {held.pk}")

    def _fail(self, held: Held, message: str) -> None:
        run = held.run or Run.objects.select_related("job").get(pk=held.pk)
        run_finish(run=run, status=RunStatus.FAILED, message=message)

    def _go(self, held: Held) -> None:
        """Open the gate; the run is followed in a slot from now on."""
        run, spec, gate = held.run, held.spec, held.gate
        gate_open(gate, run.run_id)
        monitor = Monitor(spec)
        monitor.write(
            f"Run script '{Path(spec['run_command']).name}' with script host - "
            f"'{spec['script_host']}'"
        )
        monitor.write("Status changed to Running")
        monitor.proc = gate
        self.follow_run(monitor, run)

    def abort_held(self) -> None:
        """At shutdown: runs claimed here but not started never start; they
        end Aborted, as running ones do."""
        held, self.held = list(self.held.values()), {}
        for h in held:
            if h.gate is not None:
                gate_close(h.gate)
                self.closed_gates.append(h.gate)
                if not h.spec["in_place"]:
                    shutil.rmtree(h.spec["work_root"], ignore_errors=True)
            self._guard(
                lambda h=h: run_finish(
                    run=h.run or Run.objects.select_related("job").get(pk=h.pk),
                    status=RunStatus.ABORTED,
                    message=SHUTDOWN_MESSAGE,
                ),
                "abort a held run",
            )


class _CannotRun(Exception):
    """The job cannot run here: its message is the run's failure."""
