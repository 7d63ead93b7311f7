"""The run launcher of one instance (`manage.py runlauncher`): scheduled WebJob
runs started at their due instant, and on-demand runs at once (ondemand.py), by
one long-lived process.

Why: a run monitor forked per fire (jobs/runner.py) costs ~20 ms of CPU before
its job even starts: copy-on-write page faults of a forked Django process and a
new database connection, every run (bench/due_instant.py). At 100 fires a
second that saturates 2 cores, and the engine itself then fires late. The
launcher does the same work without a process or a connection per run: it
keeps one connection, a timer heap of prepared fires, and one selector over
every running job's pipes, as the continuous-jobs host (jobs/host/) does for
continuous jobs.

The path of a fire: the engine hands a claim batch's WebJob fires to django-q2
SCHEDULER_LEAD ahead, as one task (scheduler.actions.attempts_hand_over),
which passes each attempt's id to the instance's launcher that the id picks,
in one datagram (`hand_over`). The launcher prepares the fire at once (the
working copy, the run's row built but not inserted, the job's process started
and held at a gate: GATE, or for bash BASH_GATE, where the interpreter is
loaded already) and at the due instant claims the attempts and inserts the runs
of every fire due then, committed together (on PostgreSQL one statement), then
opens each gate. The runs' logs and slots, and their bookkeeping (history,
counters, trims, finishes), wait SETTLE_AFTER past the instant, so every start
due then goes first.

Nothing is lost or doubled: the attempt stays Queued until the claim at the due
instant, so a fire the launcher never got (no launcher: the queue task forks a
monitor instead), or lost (kill -9), is sent again by the engine's outbox; a
SIGTERM gives waiting fires back to the engine at once (Pending). Running jobs
die with the launcher (PR_SET_PDEATHSIG); their runs stop heartbeating and are
abandoned like a dead monitor's. A stop (SIGTERM) aborts running jobs the way a
monitor does: shutdown file, SIGTERM, stopping_wait_time, then kill.
"""

from __future__ import annotations

import gc
import heapq
import itertools
import logging
import os
import selectors
import shutil
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from config.clock import clock_offset
from history.models import ACTIVE_STATUSES, Run, RunStatus
from history.services import ERR_LOG, run_finish, run_log_initializing
from jobs.launcher import fires
from jobs.launcher.gate import gate_close, gate_open, gate_start
from jobs.launcher.inbox import GO_MARK, RUN_MARK, address
from jobs.launcher.ondemand import OnDemandRuns
from jobs.processes import SignalWake, become_subreaper
from jobs.runner import (
    EXIT_MESSAGE,
    HEARTBEAT_SECONDS,
    SETTLE_AFTER,
    SHUTDOWN_MESSAGE,
    Monitor,
    _launch_plan,
    _plan_failed,
    _run_spec,
    groups_cpu_ticks,
)
from jobs.storage import work_copy
from jobs.strays import strays_end

log = logging.getLogger("jobs.launcher")

MAX_SLEEP = 1.0
# Records, finishes and prepares done per turn of the loop, records and
# finishes in one transaction (one commit, not one per statement).
BATCH = 20
# Fires due within this of each other start together (one transaction).
SAME_INSTANT = 0.002
# Fires started per transaction at an instant: more shares a commit, fewer lets
# the first processes start sooner.
START_CHUNK = 25
ERR_LAUNCHER_RUNNING = (
    "Launcher {shard} of instance {instance} is already running on this "
    "database and WEBJOBS_ROOT; an instance has one of each."
)
ERR_SHARD = "--shard must be from 0 to WEBJOBS_LAUNCHERS - 1 ({last}), not {shard}."


class LauncherConflict(RuntimeError):
    pass


@dataclass(order=True)
class Fire:
    due: float  # real time, epoch seconds
    seq: int
    plan: dict = field(compare=False)
    begin: object = field(compare=False)  # scheduler.actions.Begin
    release: Callable = field(compare=False)
    copied: bool = field(compare=False, default=False)
    spec: dict | None = field(compare=False, default=None)
    gate: subprocess.Popen | None = field(compare=False, default=None)


@dataclass
class Slot:
    """One running run: its monitor (log writer, process) and what is pending."""

    monitor: Monitor
    run: object
    after_start: Callable | None
    record_at: float  # when its bookkeeping is due (time.time())
    recorded: bool = False
    pipes: dict = field(default_factory=dict)
    verdict: tuple[str, str] | None = None
    exited_at: float | None = None
    kill_at: float | None = None
    start_error: str = ""


class Launcher(OnDemandRuns):
    def __init__(self, shard: int = 0) -> None:
        self.init_runs()
        self.fires: list[Fire] = []  # a heap by due instant
        self.slots: list[Slot] = []
        self.closed_gates: list[subprocess.Popen] = []  # to reap
        self.inbox_pks: list[int] = []  # handed over, not prepared yet
        self.launching: list = []  # started, their logs and slots not begun yet
        # Until then only starts: the jobs just started get the CPU (their
        # output waits in the pipes). As SETTLE_AFTER for run monitors.
        self.quiet_until = 0.0
        self.seq = itertools.count()
        self.stopping = False
        self.sigchld = False
        self.next_heartbeat = time.monotonic() + HEARTBEAT_SECONDS
        self.next_scan = 0.0
        self.selector = selectors.DefaultSelector()
        self.inbox = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        try:
            self.inbox.bind(address(shard))
        except OSError:
            self.inbox.close()
            raise LauncherConflict(
                ERR_LAUNCHER_RUNNING.format(
                    shard=shard, instance=settings.WEBSITE_INSTANCE_ID
                )
            ) from None
        self.inbox.setblocking(False)
        self.selector.register(self.inbox, selectors.EVENT_READ, "inbox")
        self.wake = SignalWake(self)
        self.selector.register(self.wake.fd, selectors.EVENT_READ, "wake")
        # During a quiet (only starts), what can bring a start: a datagram.
        self.urgent = selectors.DefaultSelector()
        self.urgent.register(self.inbox, selectors.EVENT_READ, "inbox")
        self.urgent.register(self.wake.fd, selectors.EVENT_READ, "wake")

    # --- life ----------------------------------------------------------------------

    def install_signals(self) -> None:
        """SIGTERM/SIGINT set the stop flag; they and SIGCHLD wake the wait."""
        self.wake.install()

    def serve(self) -> None:
        while not self.stopping:
            self.step()
            self.wait(self.timeout())
        self.shutdown()

    def step(self) -> None:
        """Starts first; then a share of each other kind of work, each share
        followed by a look at the timer heap, so that no kind starves another:
        records and finishes free Kudu's lock for a job's next fire, prepares
        make the next fires ready."""
        self.start_due()
        self.start_runs()
        if time.time() < self.quiet_until and not self.stopping:
            return
        self.launch_started()
        self.record_due()
        self.read_inbox()
        now = time.monotonic()
        if self.sigchld or now >= self.next_scan:
            self.scan()
        if now >= self.next_heartbeat:
            self.heartbeat()
        if not (self.inbox_pks or self.runs_pending() or self.launching):
            self._guard(self.make_spare, "make a spare")

    def timeout(self) -> float:
        now = time.time()
        if now < self.quiet_until:
            return 0.0  # wait() sleeps until then
        if self.launching:
            return 0.0
        due = [now + MAX_SLEEP]
        if self.fires:
            due.append(self.fires[0].due)
        pending = [s.record_at for s in self.slots if not s.recorded]
        if pending:
            due.append(min(pending))
        mono = time.monotonic()
        due.append(now + self.next_scan - mono)
        due.append(now + self.next_heartbeat - mono)
        for later in (self.runs_timeout(mono), self.spares_due()):
            if later is not None:
                due.append(now + later)
        if self.sigchld or self.inbox_pks or self.runs_pending():
            return 0.0
        return max(0.0, min(due) - now)

    def wait(self, timeout: float) -> None:
        """Sleep until a fire is due, a datagram, output, a signal or timeout.
        epoll counts in whole milliseconds (rounded up): the last ones before a
        due instant are slept with time.sleep, to the microsecond."""
        now = time.time()
        if now < self.quiet_until and not self.stopping:
            until = self.quiet_until
            if self.fires:
                until = min(until, self.fires[0].due)
                clock_offset(fresh_for=until - now + 0.05)  # not at the instant
            # An on-demand run handed over meanwhile is started at once.
            for key, _ in self.urgent.select(max(0.0, until - time.time())):
                if key.data == "wake":
                    self.wake.drain()
            return
        precise = None
        if self.fires and self.fires[0].due - time.time() <= timeout + 0.002:
            precise = self.fires[0].due
            timeout = max(0.0, timeout - 0.002)
        for key, _ in self.selector.select(timeout):
            if key.data == "wake":
                self.wake.drain()
            elif key.data != "inbox":
                slot, level = key.data
                self._read(slot, key.fileobj, level)
        if precise is not None and not self.stopping:
            clock_offset(fresh_for=0.05)  # read now if stale soon, not at the instant
            delay = precise - time.time()
            if 0 < delay <= 0.003:
                time.sleep(delay)

    def shutdown(self) -> None:
        """Give waiting fires back, abort running jobs gracefully, then leave."""
        self.launch_started()
        self.take_inbox()
        self.inbox.close()  # datagrams still in it stay Queued: the outbox resends
        self.inbox_runs = self.inbox_go = []  # runs not claimed: their queue task's
        self.abort_held()
        self.discard_spares()
        if self.inbox_pks:  # taken, not prepared: back to the engine at once
            release = fires.source().release
            self._guard(lambda: release(self.inbox_pks), "release")
        while self.fires:
            fire = heapq.heappop(self.fires)
            self._guard(fire.release, "release")
            self._discard(fire)
        for slot in self.slots:
            if slot.monitor.proc is not None and slot.verdict is None:
                slot.verdict = ("Aborted", SHUTDOWN_MESSAGE)
                self._stop_gracefully(slot)
        while self.slots:
            for slot in self.slots:
                if not slot.recorded:
                    slot.record_at = 0.0
            self.record_due()
            self.scan()
            if self.slots:
                self.wait(min(0.1, self.timeout()))
        self.selector.close()
        self.urgent.close()
        self.wake.close()

    # --- fires ---------------------------------------------------------------------

    def take_inbox(self) -> None:
        """Take every handed-over fire waiting in the socket (cheap: it is done
        between any two units of work), so a queue worker never waits long for
        room in it; they are prepared in turn (read_inbox)."""
        while self.inbox.fileno() >= 0:  # closed at shutdown
            try:
                data = self.inbox.recv(64)
            except (BlockingIOError, InterruptedError):
                return
            try:
                if data[:1] == RUN_MARK:
                    self.inbox_runs.append(int(data[1:]))
                elif data[:1] == GO_MARK:
                    self.inbox_go.append(int(data[1:]))
                else:
                    self.inbox_pks.append(int(data))
            except ValueError:
                log.warning("ignoring a malformed datagram %r", data[:64])

    def read_inbox(self) -> None:
        """Prepare up to BATCH handed-over fires, read together."""
        self.take_inbox()
        pks, self.inbox_pks = self.inbox_pks[:BATCH], self.inbox_pks[BATCH:]
        if not pks:
            return
        # Done already (a second delivery), or failed and recorded: left out.
        taken = self._guard(lambda: fires.source().fires(pks), "read fires")
        for fire in taken or ():
            self._guard(lambda f=fire: self.prepare(f), f"prepare {fire.webjob.name}")
            self.start_due()

    def prepare(self, fire) -> None:
        """Everything before the due instant: the run's row built (not inserted)
        and its process started, held at the gate."""
        plan = _launch_plan(fire.webjob)
        entry = Fire(
            due=fire.not_before,
            seq=next(self.seq),
            plan=plan,
            begin=None,
            release=fire.release,
        )
        try:
            if not plan["in_place"] and not plan["error"]:
                work_copy(Path(plan["package_dir"]), Path(plan["work_root"]))
                entry.copied = True
            entry.begin = fire.prepare()
            if not plan["error"] and entry.begin.run is not None:
                self._open_gate(entry)
        except BaseException:
            self._discard(entry)
            raise
        heapq.heappush(self.fires, entry)

    def _open_gate(self, fire: Fire) -> None:
        run = fire.begin.run
        run.run_id = ""  # set at the due instant, given to the job by the gate
        spec = fire.spec = _run_spec(fire.plan, run)
        run.run_id = None
        try:
            fire.gate = gate_start(spec)
        except OSError as exc:  # recorded as the run's failure at the due instant
            fire.spec["start_error"] = f"The job could not be started: {exc}"
            return
        # Its process exists: the run is inserted Running (one write fewer).
        run.status, run.pid = RunStatus.RUNNING, fire.gate.pid

    def start_due(self) -> None:
        """Start every fire whose instant has come, START_CHUNK per transaction;
        then take what the inbox holds."""
        started = []
        while self.fires and self.fires[0].due <= time.time():
            horizon = self.fires[0].due + SAME_INSTANT
            batch = []
            while (
                self.fires and self.fires[0].due <= horizon and len(batch) < START_CHUNK
            ):
                batch.append(heapq.heappop(self.fires))
            started += self._start(batch)
        # Their logs and slots after the quiet (launch_started): the CPU goes
        # to the jobs just started first. With 10 bash jobs due together on 2
        # cores (bench/fire_lateness.py), logs and slots begun at once put the
        # jobs' first instruction at p50 8.0 / p99 13.4 ms past the instant;
        # begun after the quiet, 5.3 / 12.2. Their first lines carry the start.
        self.launching += started
        if started:
            due = max(fire.due for fire, _ in started)
            self.quiet_until = max(self.quiet_until, due + SETTLE_AFTER)
        self.take_inbox()

    def _start(self, batch: list[Fire]) -> list:
        """Claim and insert the batch together, then open the gates; returns
        the fires started, with (run, after_start)."""
        try:
            outcomes = fires.source().begin_together([fire.begin for fire in batch])
        except Exception:
            # Rolled back: each fire again on its own, so that one failure (a
            # database error) does not take the others along.
            log.exception("starting %d fires together failed", len(batch))
            outcomes = [self._guard(fire.begin, "begin") for fire in batch]
        started = []
        for fire, outcome in zip(batch, outcomes, strict=True):
            if outcome is None:  # skipped (a run is still active), refused, taken
                self._discard(fire)
                continue
            if fire.gate is not None:
                gate_open(fire.gate, outcome[0].run_id)
            started.append((fire, outcome))
        return started

    def launch_started(self) -> None:
        launching, self.launching = self.launching, []
        for fire, (run, after_start) in launching:
            self._launch(fire, run, after_start)

    def _launch(self, fire: Fire, run, after_start) -> None:
        """The run's slot: its log (the lines Kudu writes at a start, stamped
        with the start), pipes."""
        if not run.output_path.exists():  # inserted together with others
            try:
                run_log_initializing(run)
            except OSError:
                pass  # the Monitor's log fails too: scan() ends the run Failed
        if _plan_failed(fire.plan, run):
            self._guard(after_start, "after_start")
            return
        spec = fire.spec
        spec["log_path"] = str(run.output_path)  # the run id is known now
        monitor = Monitor(spec)
        slot = Slot(
            monitor=monitor,
            run=run,
            after_start=after_start,
            record_at=fire.due + SETTLE_AFTER,
            start_error=spec.get("start_error", ""),
        )
        if fire.gate is not None:
            monitor.write(
                f"Run script '{Path(spec['run_command']).name}' with script host - "
                f"'{spec['script_host']}'",
                at=run.start_time,
            )
            monitor.write("Status changed to Running", at=run.start_time)
            monitor.proc = fire.gate
            self._watch(slot)
        self.slots.append(slot)

    def follow_run(self, monitor: Monitor, run) -> None:
        """A run started (on demand): its slot, recorded already (no fire to
        record), its output watched."""
        slot = Slot(
            monitor=monitor, run=run, after_start=None, record_at=0.0, recorded=True
        )
        self._watch(slot)
        self.slots.append(slot)

    def _watch(self, slot: Slot) -> None:
        """The job's output, through the loop's selector, into its log."""
        proc = slot.monitor.proc
        for pipe, level in ((proc.stdout, "INFO"), (proc.stderr, "ERR")):
            os.set_blocking(pipe.fileno(), False)
            self.selector.register(pipe, selectors.EVENT_READ, (slot, level))
            slot.pipes[pipe] = level

    def record_due(self) -> None:
        """Bookkeeping of started runs whose settle time passed: the fire's
        record (history, counters, trims, job_scheduler.log)."""
        now = time.time()
        due = [s for s in self.slots if not s.recorded and s.record_at <= now]
        for slot in due[:BATCH]:
            slot.recorded = True
        self._together(due[:BATCH], self._record, "record")
        if due:
            self.sigchld = True  # a job that ended meanwhile is finished now
        self.start_due()

    def _record(self, slot: Slot) -> None:
        """The run was inserted Running, with its process's id (_open_gate);
        one whose process could not be started fails here."""
        monitor, run = slot.monitor, slot.run
        if slot.start_error or monitor.proc is None:
            if slot in self.slots:  # not when tried again on its own
                monitor.close()
                self.slots.remove(slot)
            run_finish(run=run, status=RunStatus.FAILED, message=slot.start_error)
        if slot.after_start is not None:
            slot.after_start()

    # --- running jobs ----------------------------------------------------------------

    def _read(self, slot: Slot, pipe, level: str) -> bool:
        try:
            chunk = os.read(pipe.fileno(), 65536)
        except BlockingIOError:
            return False
        except OSError:
            chunk = b""
        if chunk:
            slot.monitor._output(level, chunk)
            return True
        slot.monitor._output(level, b"", final=True)
        self._close_pipe(slot, pipe)
        return False

    def _close_pipe(self, slot: Slot, pipe) -> None:
        try:
            self.selector.unregister(pipe)
        except (KeyError, ValueError):
            pass
        pipe.close()
        slot.pipes.pop(pipe, None)

    def scan(self) -> None:
        """Exits, kills due, idle timeouts; every MAX_SLEEP or on SIGCHLD."""
        mono = time.monotonic()
        self.sigchld, self.next_scan = False, mono + MAX_SLEEP
        self.closed_gates = [g for g in self.closed_gates if g.poll() is None]
        self.end_strays()  # and reap them: this launcher is their parent now
        idle_check, ended = [], []
        for slot in list(self.slots):
            proc = slot.monitor.proc
            if proc is None:
                continue
            if slot.monitor.log_error is not None and slot.verdict is None:
                slot.verdict = ("Failed", ERR_LOG.format(error=slot.monitor.log_error))
                slot.monitor._kill_group()
            if proc.poll() is not None:
                self._drain(slot)
                # Background children may hold the pipes open; give them 2 s.
                slot.exited_at = slot.exited_at or mono
                if not slot.pipes or mono - slot.exited_at > 2.0:
                    if slot.recorded:
                        ended.append(slot)
                else:
                    self.next_scan = min(self.next_scan, slot.exited_at + 2.0)
                continue
            if slot.kill_at is not None and mono >= slot.kill_at:
                slot.kill_at = None
                slot.monitor._kill_group()
            elif slot.kill_at is not None:
                self.next_scan = min(self.next_scan, slot.kill_at)
            quiet = mono - slot.monitor.last_activity >= 1.0
            if slot.monitor.spec["idle_timeout"] and slot.verdict is None and quiet:
                idle_check.append(slot)
        if idle_check:  # Kudu's idle timeout; one pass over /proc for them all
            ticks = groups_cpu_ticks([s.monitor.proc.pid for s in idle_check])
            for slot in idle_check:
                cpu = ticks[slot.monitor.proc.pid]
                slot.verdict = slot.monitor.idle_verdict(cpu, mono)
                if slot.verdict is not None:
                    slot.monitor._kill_group()
        for start in range(0, len(ended), BATCH):
            batch = ended[start : start + BATCH]
            self._together(batch, self._finish, "finish", one_alone=True)
            self.start_due()

    def _drain(self, slot: Slot) -> None:
        """Read what the job's pipes hold now."""
        for pipe, level in list(slot.pipes.items()):
            while pipe in slot.pipes and self._read(slot, pipe, level):
                pass

    def _finish(self, slot: Slot) -> None:
        monitor = slot.monitor
        self._drain(slot)
        for pipe, level in list(slot.pipes.items()):  # held open by leftovers
            monitor._output(level, b"", final=True)
            self._close_pipe(slot, pipe)
        code = monitor.proc.wait()
        monitor._kill_group()  # leftovers of the group do not outlive the run
        if slot.verdict is not None:
            status, message = slot.verdict
        elif code == 0:
            status, message = "Success", ""
        else:
            status, message = "Failed", EXIT_MESSAGE.format(code=code)
        if slot in self.slots:  # not when tried again on its own
            monitor.close()
            self.slots.remove(slot)
        self.end_strays()  # what left the run's group goes with it
        run_finish(run=slot.run, status=status, message=message, exit_code=code)

    def end_strays(self) -> None:
        """End the processes of finished runs that left their group and were
        reparented to this launcher (a subreaper); reap them."""
        known = {g.pid for g in self.closed_gates}
        known |= {f.gate.pid for f in self.fires if f.gate is not None}
        known |= {s.monitor.proc.pid for s in self.slots if s.monitor.proc}
        known |= {h.gate.pid for h in self.held.values() if h.gate is not None}
        known |= {s.gate.pid for s in self.spares.values()}
        running = {(s.run.job.name, s.run.run_id) for s in self.slots if s.monitor.proc}
        strays_end(known=known, running=running)

    def heartbeat(self) -> None:
        """One UPDATE for every running run; a run ended from outside (it is no
        longer active) has its job stopped, as a monitor's heartbeat does."""
        self.next_heartbeat = time.monotonic() + HEARTBEAT_SECONDS
        live = {s.run.pk: s for s in self.slots if s.verdict is None}
        if not live:
            return

        def beat() -> None:
            rows = Run.objects.filter(pk__in=list(live), status__in=ACTIVE_STATUSES)
            if rows.update(heartbeat_at=timezone.now()) == len(live):
                return
            still = set(rows.values_list("pk", flat=True))
            for pk, slot in live.items():
                if pk not in still:
                    slot.verdict = ("Aborted", SHUTDOWN_MESSAGE)
                    slot.monitor._kill_group()

        self._guard(beat, "heartbeat")

    def _stop_gracefully(self, slot: Slot) -> None:
        """Shutdown file and SIGTERM now, a kill after the job's
        stopping_wait_time (in scan)."""
        if slot.monitor.request_stop():
            wait = slot.monitor.spec["stopping_wait_time"]
            slot.kill_at = time.monotonic() + wait

    # --- helpers ------------------------------------------------------------------

    def _discard(self, fire: Fire) -> None:
        """A fire that does not run: its gate gets end of file (the job's
        command never starts), its working copy goes."""
        if fire.gate is not None:
            gate_close(fire.gate)
            self.closed_gates.append(fire.gate)
        if fire.copied:
            shutil.rmtree(fire.plan["work_root"], ignore_errors=True)

    def _together(
        self, items: list, work: Callable, what: str, *, one_alone: bool = False
    ) -> None:
        """work(item) for each item in one transaction; if that fails, each on
        its own, so that one bad item does not hold the others back.
        `one_alone`: a single item runs without a transaction, for work that
        writes one statement and may be tried again (a run's finish: its
        UPDATE is its commit; BEGIN and COMMIT were two more round trips for
        each run that ended alone, issue 18)."""
        if not items:
            return
        try:
            if one_alone and len(items) == 1:
                work(items[0])
                return
            with transaction.atomic():
                for item in items:
                    work(item)
        except Exception:
            log.exception("%s of %d together failed", what, len(items))
            for item in items:
                self._guard(lambda i=item: work(i), what)

    def _guard(self, work: Callable, what: str):
        """Run one unit of work; an error is logged, never the end of the loop.
        A broken connection is closed so the next query opens a new one."""
        try:
            return work()
        except Exception:
            log.exception("%s failed", what)
            if connection.in_atomic_block:
                raise
            connection.close_if_unusable_or_obsolete()
            return None


def serve(shard: int = 0) -> None:
    """`manage.py runlauncher --shard N`."""
    last = settings.WEBJOBS_LAUNCHERS - 1
    if not 0 <= shard <= last:
        raise LauncherConflict(ERR_SHARD.format(last=last, shard=shard))
    launcher = Launcher(shard)
    launcher.install_signals()
    become_subreaper()  # runs' strays become its children (jobs/strays.py)
    # What Django set up is never garbage: out of the collector's reach, so a
    # full collection costs little. (Disabling the collector and collecting
    # between fires instead was measured worse: at 10 fires a second, p99 35-64
    # ms against 20 ms, the slow fires in stretches as the heap grew.)
    gc.collect()
    gc.freeze()
    log.info(
        "launcher %d of instance %s listening", shard, settings.WEBSITE_INSTANCE_ID
    )
    launcher.serve()
