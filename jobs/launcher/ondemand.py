"""On-demand runs in the launcher: a run requested on this instance, started
without a queue hop and without a process per run.

The request inserts the run and hands it to this instance's launcher
(`jobs.launcher.inbox.run_hand_over`); its queue task (the durable delivery: any
instance's cluster, after any restart) is sent after the answer. The launcher claims it
at once (`jobs.runner.run_claim`, the claim the queue task makes too: whoever
is first starts the run, the other finds it claimed), then reads it, makes its
working copy and starts its process held at the gate (jobs/launcher/gate.py).
Once the request's answer (the run id, `Location`) is sent, its go
(`run_go`) opens the gate: the job starts. A go that never comes (the web
worker died after the hand-over) starts the job after GO_TIMEOUT: the run was
accepted. From then on the run is followed as a scheduled one: output, idle
timeout, log cap, heartbeat, finish, abort at shutdown (jobs/launcher/loop.py).

A job run here once gets a spare when the launcher has nothing more urgent to
do: a working copy and a process at its gate, made ahead for the job's next
run (a job's runs all come to the same launcher). A run without arguments of
the same deploy (`WebJob.revision`) takes it: its start is then the claim, one
read and the gate's write, with no copy and no process start in between (the
process gets its run id through the gate, as a scheduled fire's does). Every
run still gets a copy of its own, made from the package: a run never sees
another run's writes. A spare unused for SPARE_IDLE seconds is discarded.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from config.clock import clock_offset
from history.models import Run, RunStatus
from history.services import run_finish
from jobs.launcher.gate import gate_close, gate_open, gate_start
from jobs.models import WebJob
from jobs.runner import (
    SHUTDOWN_MESSAGE,
    Monitor,
    _launch_plan,
    _run_spec,
    run_claim_read,
)
from jobs.storage import work_copy

log = logging.getLogger("jobs.launcher")

# A run whose go has not come by then starts anyway (seconds after its claim).
GO_TIMEOUT = 1.0
MSG_NOT_STARTED = "The job could not be started: {error}"
SPARE_IDLE = 60.0  # seconds a spare waits for its job's next run
SPARES_MAX = 32  # per launcher; the one unused longest goes first
# Spares are made only when no run came for this long: while runs keep coming,
# making one (a process start, milliseconds) would hold up the claim of the
# next run, which its queue task then wins (measured: runs 20 at a time).
SPARE_QUIET = 0.02
JOBS_KEPT = 1024  # jobs whose rows a launcher keeps (_job_of)


@dataclass
class Held:
    """A run claimed here: made ready (its process waits at the gate), then
    started on its go."""

    run: Run  # as its claim returned it
    go_by: float  # time.monotonic()
    go: bool = False
    spec: dict | None = None
    gate: subprocess.Popen | None = None

    @property
    def pk(self) -> int:
        return self.run.pk


@dataclass
class Spare:
    """A job's next run made ready ahead: its working copy, its process at the
    gate, as for a run without arguments of this deploy of the job."""

    revision: int
    spec: dict
    gate: subprocess.Popen
    made: float  # time.monotonic()


class OnDemandRuns:
    """The launcher's part for on-demand runs (a mixin of `Launcher`: it uses
    its inbox, slots, gates to reap and guard)."""

    def init_runs(self) -> None:
        self.inbox_runs: list[int] = []  # handed over, not claimed yet
        self.inbox_go: list[int] = []  # answered: start them
        self.held: dict[int, Held] = {}  # claimed here, not started yet
        self.spares: dict[int, Spare] = {}  # by job pk, oldest first
        self.spares_wanted: dict[int, WebJob] = {}  # jobs started here lately
        self.last_run_seen = 0.0  # time.monotonic() of the last run handed over
        self.jobs: dict[int, WebJob] = {}  # the jobs of runs read here, by pk

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
            if pks:
                self.last_run_seen = mono
            for pk in pks:
                run = self._guard(lambda p=pk: self._claim(p), f"claim run {pk}")
                if run is not None:
                    self.held[pk] = Held(run, go_by=mono + GO_TIMEOUT)
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

    def _claim(self, pk: int) -> Run | None:
        """The run, claimed here and read in the same statement, or None."""
        return run_claim_read(pk, monitor_pid=os.getpid(), status=RunStatus.RUNNING)

    def _ready(self, held: Held) -> None:
        """The run's job, its working copy made, its process at the gate. A run
        that cannot start fails with the reason (claimed here: it is never
        left Running with nothing behind it)."""
        try:
            held.run.job = self._job_of(held.run)
            if self._use_spare(held):
                return
            plan = _launch_plan(held.run.job)
            if plan["error"]:  # a deploy error, a missing interpreter
                raise _CannotRun(plan["error"])
            held.spec = _run_spec(plan, held.run)
            if not plan["in_place"]:
                work_copy(Path(plan["package_dir"]), Path(plan["work_root"]))
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

    def _job_of(self, run: Run) -> WebJob:
        """The run's job: this launcher's copy while its revision, which every
        deploy and settings change moves, is the one the claim read with the
        run (reading the job with every run was a fifth of a launcher's CPU
        per run, issue 18)."""
        job = self.jobs.get(run.job_id)
        if job is None or job.revision != run.job_revision:
            if len(self.jobs) >= JOBS_KEPT:
                self.jobs.clear()
            job = self.jobs[run.job_id] = WebJob.objects.get(pk=run.job_id)
        return job

    def _use_spare(self, held: Held) -> bool:
        """The job's spare, when it fits the run: same deploy, no arguments,
        its process still waiting. A spare that does not fit is discarded."""
        run = held.run
        spare = self.spares.pop(run.job_id, None)
        if spare is None:
            return False
        if (
            spare.revision != run.job.revision
            or run.arguments
            or run.scheduled_time is not None
            or spare.gate.poll() is not None
        ):
            self._discard_spare(spare)
            return False
        held.spec = {
            **spare.spec,
            "run_pk": run.pk,
            "run_id": run.run_id,
            "log_path": str(run.output_path),
            "clock_offset": clock_offset(),
        }
        held.gate = spare.gate
        return True

    def want_spare(self, run: Run) -> None:
        """A job started here: a spare for its next run, when there is time."""
        if not run.arguments:
            self.spares_wanted.pop(run.job_id, None)
            self.spares_wanted[run.job_id] = run.job

    def make_spare(self) -> None:
        """Make one spare wanted (the launcher has nothing more urgent); drop
        those unused too long, or the oldest beyond SPARES_MAX."""
        mono = time.monotonic()
        for pk, spare in list(self.spares.items()):
            if mono - spare.made > SPARE_IDLE or len(self.spares) > SPARES_MAX:
                del self.spares[pk]
                self._discard_spare(spare)
        if not self.spares_wanted or self.spares_due():
            return
        pk = next(iter(self.spares_wanted))
        job = self.spares_wanted.pop(pk)
        if pk in self.spares:
            return
        plan = _launch_plan(job)
        if plan["error"]:
            return
        spec = _run_spec(plan, Run(job=job, run_id="", arguments=""))
        if not plan["in_place"]:
            work_copy(Path(plan["package_dir"]), Path(plan["work_root"]))
        try:
            gate = gate_start(spec)
        except OSError:
            if not plan["in_place"]:
                shutil.rmtree(plan["work_root"], ignore_errors=True)
            return  # the run itself will say why
        self.spares[pk] = Spare(job.revision, spec, gate, time.monotonic())

    def spares_due(self) -> float | None:
        """Seconds until a spare wanted may be made, if one is wanted."""
        if not self.spares_wanted:
            return None
        return max(0.0, self.last_run_seen + SPARE_QUIET - time.monotonic())

    def discard_spares(self) -> None:
        spares, self.spares, self.spares_wanted = list(self.spares.values()), {}, {}
        for spare in spares:
            self._discard_spare(spare)

    def _discard_spare(self, spare: Spare) -> None:
        gate_close(spare.gate)
        self.closed_gates.append(spare.gate)
        if not spare.spec["in_place"]:
            shutil.rmtree(spare.spec["work_root"], ignore_errors=True)

    def _fail(self, held: Held, message: str) -> None:
        run_finish(run=held.run, status=RunStatus.FAILED, message=message)

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
        self.want_spare(run)

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
                    run=h.run,
                    status=RunStatus.ABORTED,
                    message=SHUTDOWN_MESSAGE,
                ),
                "abort a held run",
            )


class _CannotRun(Exception):
    """The job cannot run here: its message is the run's failure."""
