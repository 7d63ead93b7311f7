"""Running a triggered WebJob: the queue task and the run monitor.

Why a monitor: a run may last hours, longer than django-q2's `timeout` and `retry`
windows, and ten runs must start at once even with one queue worker. So the queue
task (`run_launch`) only claims the run and forks a monitor; it returns in
milliseconds and its delivery is acknowledged. A second delivery of the same task
finds the run already claimed and does nothing. The monitor is a double fork of
the worker (Django already set up), which starts the job's process at once, then
streams output into output_log.txt, enforces the idle timeout and the log cap,
heartbeats, and records the end.

The monitor runs in its own session (so a worker's exit does not take it along);
the job runs in a process group of its own, which is what an abort kills, and
dies with the monitor (PR_SET_PDEATHSIG) if the monitor is killed with -9.
"""

from __future__ import annotations

import os
import selectors
import shlex
import shutil
import signal
import subprocess
import time
import traceback
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from asgiref.local import Local
from django.conf import settings
from django.db import connection, connections
from django.utils import timezone

from config import statements
from config.clock import clock_offset, clock_pin
from core.continuous import split_lines
from core.kudu import log_line
from core.packaging import JobSettings
from history.models import ACTIVE_STATUSES, Run, RunStatus
from history.services import ERR_LOG, run_finish
from jobs.environment import emulator_id, job_environment
from jobs.launcher.inbox import run_go, run_hand_over
from jobs.processes import (
    become_subreaper,
    die_with,
    job_runtime,
    pdeathsig_wrapper,
    proc_stats,
)
from jobs.storage import job_folders, job_owns, shutdown_folder, work_copy
from jobs.strays import strays_end

IDLE_MESSAGE = (
    "Command '{command}' was aborted due to no output nor CPU activity for {seconds} "
    "seconds. You can increase the SCM_COMMAND_IDLE_TIMEOUT app setting (or "
    "WEBJOBS_IDLE_TIMEOUT if this is a WebJob) if needed."
)
SHUTDOWN_MESSAGE = "Run aborted: the instance is shutting down."
EXIT_MESSAGE = "Job failed due to exit code {code}"
TRUNCATED_MESSAGE = (
    "Output truncated: this log reached WEBJOBS_MAX_LOG_BYTES ({limit} bytes); "
    "further output of this run is discarded."
)
HEARTBEAT_SECONDS = 5.0
# How long a queue task that handed its run to this instance's launcher waits
# for the launcher's claim before it claims the run itself (run_launch).
LAUNCHER_CLAIM_WAIT = 1.0


# --- the queue task (runs in a django-q2 worker) -----------------------------------


def run_claim(run_pk: int, *, monitor_pid: int, **fields) -> bool:
    """Claim an on-demand run for the process that will start it: the first of
    its deliveries (the queue task, this instance's launcher) to set its
    monitor starts it, the others find it claimed. `fields`: more to set in
    the same statement (a launcher: Running, its job starting within
    milliseconds, so that no second write is needed)."""
    # Every run's deliveries each make this claim: written out (config/statements.py).
    claimed = statements.update(
        Run, _claim_values(monitor_pid, fields), _UNCLAIMED, _unclaimed(run_pk)
    )
    return bool(claimed)


def run_claim_read(run_pk: int, *, monitor_pid: int, **fields) -> Run | None:
    """run_claim, and the run as claimed (with its job's `revision` as
    `job_revision`), or None when another delivery has it: one statement
    where the database has RETURNING (the launcher claims every run it is
    handed, and reads each one it claimed: a round trip fewer a run, issue
    18), else the claim and then the read."""
    values = _claim_values(monitor_pid, fields)
    if statements.returning():
        found = statements.update_returning(
            Run,
            values,
            _UNCLAIMED,
            _unclaimed(run_pk),
            related="job",
            extra=("revision",),
        )
    elif statements.update(Run, values, _UNCLAIMED, _unclaimed(run_pk)):
        found = statements.select_with(Run, "job", ("revision",), "{id} = %s", [run_pk])
    else:
        found = []
    return found[0] if found else None


def _claim_values(monitor_pid: int, fields: dict) -> dict:
    return {
        "monitor_pid": monitor_pid,
        "instance_id": settings.WEBSITE_INSTANCE_ID,
        "heartbeat_at": timezone.now(),
        **fields,
    }


# A run no delivery has claimed yet (run_claim's condition), and its params.
_UNCLAIMED = "{id} = %s AND {status} = %s AND {monitor_pid} IS NULL"


def _unclaimed(run_pk: int) -> list:
    return [run_pk, RunStatus.INITIALIZING.value]


def run_launch(run_pk: int) -> str:
    """Start a run the queue delivered, unless another delivery has; a
    repeated delivery is a no-op.

    A run still unclaimed goes to this instance's launcher when one listens
    (run_hand_over, then its go): it claims and starts it as it starts the
    runs requested here, for a fraction of a forked monitor's CPU (a fork of
    this worker, ~20 ms: under load, when the request's own hand-over waited
    behind other runs, the queue won some runs at 20 in flight, and those
    forks were an eighth of the machine's CPU per run, issue 18). The
    task waits up to LAUNCHER_CLAIM_WAIT for that claim, then claims the run
    itself and forks a monitor, as without a launcher: the queue stays the
    delivery that loses no run, and the claim still decides, once.
    """
    state = _claim_state(run_pk)
    if state is None:
        return "already claimed"
    if (
        run_hand_over(run_pk, job_pk=state)
        and run_go(run_pk, job_pk=state)
        and _claimed_within(run_pk, LAUNCHER_CLAIM_WAIT)
    ):
        return "handed to the launcher"
    if not run_claim(run_pk, monitor_pid=0):
        return "already claimed"
    run = Run.objects.select_related("job").get(pk=run_pk)
    plan = _launch_plan(run.job)
    if _plan_failed(plan, run):
        return "failed: " + plan["error"]
    spec = _run_spec(plan, run)
    _fork_monitor(lambda: _monitor(spec), log_path=run.data_dir / "monitor.log")
    return "monitor started"


def _claim_state(run_pk: int) -> int | None:
    """The run's job pk while the run is unclaimed and Initializing, else None."""
    found = statements.select_rows(Run, ("job",), _UNCLAIMED, _unclaimed(run_pk))
    return found[0][0] if found else None


def _claimed_within(run_pk: int, seconds: float) -> bool:
    """Whether the run is claimed (or over) within `seconds`, polled from 2 ms
    apart, doubling up to 50 ms."""
    deadline, pause = time.monotonic() + seconds, 0.002
    while True:
        if _claim_state(run_pk) is None:
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(pause)
        pause = min(pause * 2, 0.05)


def run_when_due(job, *, not_before: float, prepare, release) -> None:
    """Start a run of `job` at a due instant (epoch seconds, real time), not when
    a queue worker got to it.

    A monitor is forked now and does everything that can be done ahead: the
    working copy, its database connection, and `prepare()`, which returns
    `begin`. It sleeps until `not_before`, then calls `begin()`, which inserts
    the run (Kudu's lock: a run still active makes it return None) and returns
    `(run, after_start)`; the job's process starts at once and `after_start()`
    records the fire. A due instant already past starts it immediately. Asked
    to stop (SIGTERM: the instance shuts down) before the due instant, it calls
    `release()`, which gives the fire back to the engine, and starts nothing. Why:
    fire lateness is then the monitor's wake-up and one insert, not the queue's
    backlog nor a fresh process's cold ORM (bench/fire_lateness.py).
    """
    plan = _launch_plan(job)
    _fork_monitor(
        lambda: _monitor_when_due(plan, not_before, prepare, release),
        log_path=job.data_dir / "monitor.log",
    )


def _launch_plan(job) -> dict:
    """What a run of `job` needs that does not depend on the run itself."""
    runtime = job_runtime(job.extension, Path(job.run_command).name, job.script_host)
    pdeathsig_wrapper()  # cached here, in the parent, not asked in each monitor
    job_settings = JobSettings(job.settings or {})
    in_place = job_settings.is_in_place(job.extension)
    temp = settings.WEBJOBS_ROOT / "temp"
    unique = uuid.uuid4().hex[:12]
    work_root = (
        job.package_dir if in_place else temp / "jobs" / job.kind / job.name / unique
    )
    shutdown_file = temp / "JobsShutdown" / job.kind / job.name / unique
    shutdown_folder(shutdown_file.parent)  # jobs may watch it
    job_folders(job)
    if in_place:  # it runs, and may write, in its package
        job_owns(job.package_dir, tree=True)
    return {
        "job": job,
        "error": job.error or runtime.error or "",
        "argv_prefix": runtime.argv_prefix,
        "job_name": job.name,
        "kind": job.kind,
        "instance": settings.WEBSITE_INSTANCE_ID,
        "package_dir": str(job.package_dir),
        "work_root": str(work_root),
        "in_place": in_place,
        "run_command": job.run_command,
        "script_host": job.script_host,
        "shutdown_file": str(shutdown_file),
        "idle_timeout": settings.WEBJOBS_IDLE_TIMEOUT,
        "max_log_bytes": settings.WEBJOBS_MAX_LOG_BYTES,
        "stopping_wait_time": job_settings.stopping_wait_time(job.kind),
        "clock_offset": clock_offset(),
    }


def _plan_failed(plan: dict, run) -> bool:
    """A job that cannot run (deploy error, no runtime) fails its run at once."""
    if plan["error"]:
        run_finish(run=run, status=RunStatus.FAILED, message=plan["error"])
        return True
    return False


def _run_spec(plan: dict, run) -> dict:
    """The monitor's instructions for one run."""
    job, work_root = plan["job"], Path(plan["work_root"])
    spec = {k: v for k, v in plan.items() if k not in ("job", "argv_prefix", "error")}
    spec.update(
        run_pk=run.pk,
        run_id=run.run_id,
        log_path=str(run.output_path),
        argv=[
            *plan["argv_prefix"],
            Path(job.run_command).name,
            *shlex.split(run.arguments),
        ],
        env=job_environment(
            name=job.name,
            kind=job.kind,
            work_root=work_root,
            data_dir=job.data_dir,
            shutdown_file=Path(plan["shutdown_file"]),
            instance_id=plan["instance"],
            extra={
                "WEBJOBS_RUN_ID": run.run_id,
                "WEBJOBS_COMMAND_ARGUMENTS": run.arguments,
                # Emulator addition: the occurrence a scheduled run serves.
                "WEBJOBS_SCHEDULED_TIME": (
                    run.scheduled_time.isoformat() if run.scheduled_time else ""
                ),
                f"WEBSITE_TRIGGERED_JOB_RUNNING_{job.name}": "true",
                # Which emulator's run this is (its leftovers are found by it).
                "WEBJOBS_EMULATOR_ID": emulator_id(settings.WEBJOBS_ROOT),
            },
        ),
    )
    return spec


def _fork_monitor(body, *, log_path: Path) -> None:
    """Double-fork a monitor out of this (already set-up) Django process.

    Forking instead of starting `python -m ...` saves Django's start-up on every
    run (about 0.3 CPU-s, and ~50 ms before the job starts). The middle child
    starts a new session and exits at once, so the worker reaps it right away and
    the monitor is not the worker's child: a recycled worker does not take it
    along, and no zombie is left in the worker.
    """
    _close_sqlite_before_fork()
    # Stop signals wait until the monitor has its handlers (_stop_signals): a
    # shutdown in between would otherwise kill it with its fire claimed.
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
    middle = os.fork()
    if middle:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        os.waitpid(middle, 0)
        return
    try:
        os.setsid()
        if os.fork():
            os._exit(0)
        _detach_inherited_state(log_path)
        code = body()
    except BaseException:  # noqa: BLE001  (a forked child must never return)
        traceback.print_exc()
        code = 1
    os._exit(code)  # no atexit, no finalisers of the parent's objects


_STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def _stop_signals(handler) -> None:
    """Install the monitor's stop handler, then let stop signals in (blocked
    since the fork; the job inherits the mask, so this comes before Popen)."""
    for sig in _STOP_SIGNALS:
        signal.signal(sig, handler)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)


def _close_sqlite_before_fork() -> None:
    """SQLite must not be open across fork(): its per-process lock bookkeeping is
    copied into the child and the child's writes can be lost to other readers
    (sqlite.org, "How To Corrupt"). The parent reconnects on its next query."""
    for conn in connections.all(initialized_only=True):
        if conn.vendor == "sqlite" and conn.connection is not None:
            if conn.in_atomic_block:
                raise RuntimeError("a run cannot be launched inside a transaction")
            conn.close()


_inherited: list = []  # the parent's DB connection objects, never used or closed here


def _detach_inherited_state(log_path: Path) -> None:
    """Give the forked monitor its own database connections, signals and stdio.

    The parent's connections are set aside, not closed: closing a PostgreSQL
    connection from a child would end the parent's session too (psycopg skips
    that for objects from another pid, and os._exit skips finalisers anyway).
    """
    _inherited.append(connections._connections)
    connections._connections = Local(connections.thread_critical)
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT):
        signal.signal(sig, signal.SIG_DFL)
    become_subreaper()  # the run's strays become its children (jobs/strays.py)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    os.close(null)


# --- the monitor process ---------------------------------------------------------


def groups_cpu_ticks(pgids) -> dict[int, int]:
    """CPU time (clock ticks) used by the live processes of each process group,
    in one pass over /proc."""
    ticks = dict.fromkeys(pgids, 0)
    for _, fields in proc_stats():
        pgid = int(fields[2])
        if pgid in ticks:
            ticks[pgid] += int(fields[11]) + int(fields[12])  # utime + stime
    return ticks


class Monitor:
    def __init__(self, spec: dict) -> None:
        self.spec = spec
        self.offset = timedelta(seconds=spec["clock_offset"])
        # A log that cannot be written (disk full, an I/O error) ends the run
        # Failed with the reason; the monitor itself goes on to record that.
        self.log_error: OSError | None = None
        try:
            self.log = open(spec["log_path"], "ab")  # noqa: SIM115
            self.log_bytes = self.log.tell()
        except OSError as exc:
            self.log, self.log_bytes, self.log_error = None, 0, exc
        self.log_limit = spec["max_log_bytes"]
        self.truncated = False
        self.stop_requested = False
        self.proc: subprocess.Popen | None = None
        self.partial: dict[str, bytes] = {"INFO": b"", "ERR": b""}
        self.last_activity = time.monotonic()  # output or CPU (idle_verdict)
        self.last_cpu = -1

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def write(
        self,
        message: str,
        *,
        level: str = "INFO",
        system: bool = True,
        at: datetime | None = None,
    ) -> None:
        data = log_line(
            at or self.now(), self.spec["instance"], message, level=level, system=system
        ).encode("utf-8", "replace")
        if self.truncated or self.log_error is not None:
            return
        if self.log_bytes + len(data) > self.log_limit:
            self.truncated = True
            data = log_line(
                self.now(),
                self.spec["instance"],
                TRUNCATED_MESSAGE.format(limit=self.log_limit),
                level="WARN",
            ).encode()
        try:
            self.log.write(data)
            self.log.flush()
        except OSError as exc:
            self.log_error = exc
            return
        self.log_bytes += len(data)

    def start(self) -> None:
        spec = self.spec
        work_root = Path(spec["work_root"])
        if not spec["in_place"] and not spec.get("prepared"):
            work_copy(Path(spec["package_dir"]), work_root)
        cwd = work_root / Path(spec["run_command"]).parent
        self.write(
            f"Run script '{Path(spec['run_command']).name}' with script host - "
            f"'{spec['script_host']}'"
        )
        self.write("Status changed to Running")
        if self.log_error is not None:
            raise self.log_error
        self.proc = subprocess.Popen(
            [*pdeathsig_wrapper(), *spec["argv"]],
            cwd=cwd,
            env=spec["env"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
            preexec_fn=die_with(os.getpid()),
        )

    def follow(self, on_tick) -> tuple[str, str, int | None]:
        """Stream output until the process ends; returns (status, message, code)."""
        assert self.proc is not None
        sel = selectors.DefaultSelector()
        sel.register(self.proc.stdout, selectors.EVENT_READ, "INFO")
        sel.register(self.proc.stderr, selectors.EVENT_READ, "ERR")
        idle_limit = self.spec["idle_timeout"]
        exited_at: float | None = None
        verdict: tuple[str, str] | None = None
        while sel.get_map():
            for key, _ in sel.select(timeout=1.0):
                chunk = os.read(key.fileobj.fileno(), 65536)
                if chunk:
                    self._output(key.data, chunk)
                else:
                    self._output(key.data, b"", final=True)
                    sel.unregister(key.fileobj)
            mono = time.monotonic()
            if self.log_error is not None and verdict is None:
                verdict = ("Failed", ERR_LOG.format(error=self.log_error))
                self._kill_group()
            if self.stop_requested and verdict is None:
                # Checked first: a shutdown also signals the job, which may exit
                # before we look; the run was aborted, not failed.
                verdict = ("Aborted", SHUTDOWN_MESSAGE)
                self._stop_gracefully()
                continue
            if self.proc.poll() is not None:
                # Background children may hold the pipes open; give them 2 s.
                exited_at = exited_at or mono
                if mono - exited_at > 2.0:
                    break
                continue
            if idle_limit and mono - self.last_activity >= 1.0 and verdict is None:
                pgid = self.proc.pid
                verdict = self.idle_verdict(groups_cpu_ticks([pgid])[pgid], mono)
                if verdict is not None:
                    self._kill_group()
            if on_tick() is False and verdict is None:
                verdict = ("Aborted", SHUTDOWN_MESSAGE)
                self._kill_group()
        code = self.proc.wait()
        self._kill_group()  # leftovers of the group do not outlive the run
        if verdict is None and self.stop_requested and code != 0:
            # A shutdown signals the job and its monitor together (runinstance
            # ends what is left of its tree at once): the job may die of it,
            # closing its pipes, before the loop looks at the stop flag.
            verdict = ("Aborted", SHUTDOWN_MESSAGE)
        if verdict is not None:
            return verdict[0], verdict[1], code
        if code == 0:
            return "Success", "", code
        return "Failed", EXIT_MESSAGE.format(code=code), code

    def idle_verdict(self, cpu: int, mono: float) -> tuple[str, str] | None:
        """Kudu's idle timeout, given the job's group's CPU ticks now: no output
        and no CPU activity for idle_timeout seconds fails the run."""
        if cpu != self.last_cpu:  # CPU activity counts as activity, as in Kudu
            if self.last_cpu >= 0:
                self.last_activity = mono
            self.last_cpu = cpu
        limit = self.spec["idle_timeout"]
        if mono - self.last_activity < limit:
            return None
        command = " ".join(self.spec["argv"])
        return "Failed", IDLE_MESSAGE.format(command=command, seconds=int(limit))

    def _output(self, level: str, chunk: bytes, *, final: bool = False) -> None:
        if chunk:
            self.last_activity = time.monotonic()
        lines, self.partial[level] = split_lines(
            self.partial[level], chunk, final=final
        )
        for line in lines:
            self.write(line.decode("utf-8", "replace"), level=level, system=False)

    def request_stop(self) -> bool:
        """Shutdown file (as for continuous jobs) and SIGTERM; False when the
        job's process group is gone already."""
        assert self.proc is not None
        shutdown_file = Path(self.spec["shutdown_file"])
        try:
            shutdown_file.parent.mkdir(parents=True, exist_ok=True)
            shutdown_file.write_text(datetime.now(UTC).isoformat())
        except OSError:
            pass  # SIGTERM still reaches the job
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
        except (ProcessLookupError, PermissionError):
            return False
        return True

    def _stop_gracefully(self) -> None:
        """request_stop, wait stopping_wait_time, then kill."""
        if not self.request_stop():
            return
        deadline = time.monotonic() + self.spec["stopping_wait_time"]
        while time.monotonic() < deadline and self.proc.poll() is None:
            time.sleep(0.1)
        self._kill_group()

    def _kill_group(self) -> None:
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass

    def close(self) -> None:
        try:
            if self.log is not None:
                self.log.close()
        except OSError:  # its last bytes could not be written: log_error says so
            pass
        Path(self.spec["shutdown_file"]).unlink(missing_ok=True)
        if not self.spec["in_place"]:
            shutil.rmtree(self.spec["work_root"], ignore_errors=True)


_stop_requested = False  # a stop that came after the wait, before _monitor's handler


def _flag_stop(signum, frame) -> None:
    global _stop_requested
    _stop_requested = True


def _monitor_when_due(plan: dict, not_before: float, prepare, release) -> int:
    """run_when_due's monitor: prepare, wait for the due instant, begin, run."""
    prepared = not plan["in_place"] and not plan["error"]
    # Stop signals stay blocked (since the fork) until the due instant, and one
    # that comes meanwhile is taken at the wait: never in the middle of the copy
    # or of prepare()'s transaction. Raised from a handler there, it could leave
    # the connection inside a transaction that release() then wrote into and
    # nobody committed: the fire stayed Queued (the stop test, one run in ~30).
    if prepared:
        work_copy(Path(plan["package_dir"]), Path(plan["work_root"]))
    connection.ensure_connection()
    begin = prepare()
    if signal.sigtimedwait(_STOP_SIGNALS, max(0.0, not_before - time.time())):
        release()  # signals still blocked: a second one does not interrupt it
        if prepared:
            shutil.rmtree(plan["work_root"], ignore_errors=True)
        return 0
    _stop_signals(_flag_stop)
    clock_pin(plan["clock_offset"])  # read by the worker within SCHEDULER_LEAD
    started = begin()
    if started is None:  # skipped (a run is still active) or refused
        if prepared:
            shutil.rmtree(plan["work_root"], ignore_errors=True)
        return 0
    run, after_start = started  # created claimed by this monitor
    if _plan_failed(plan, run):
        after_start()
        return 0
    spec = _run_spec(plan, run)
    spec["prepared"] = prepared
    spec["due"] = not_before
    return _monitor(spec, run=run, after_start=after_start)


# Once its job has started, a monitor only records and streams: it yields the
# CPU to monitors still starting theirs (ten fires due in the same instant).
# Nice alone is not enough (ten niced monitors together weigh as much as one
# job starting), so a monitor started at a due instant also waits SETTLE_AFTER
# seconds past it before its bookkeeping. bench/due_instant.py compares it with
# no settle: with 10 fires due together the latest start came ~35 against 64-77
# ms on SQLite, 45-48 against 58-67 ms on PostgreSQL (two runs).
NICE_AFTER_START = 10
SETTLE_AFTER = 0.1


def _monitor(spec: dict, *, run=None, after_start=None) -> int:
    """The monitor's life: start the job, record it, follow it, record the end."""
    monitor = Monitor(spec)

    def request_stop(signum, frame) -> None:
        monitor.stop_requested = True

    _stop_signals(request_stop)
    monitor.stop_requested = _stop_requested
    start_error = ""
    try:
        monitor.start()
    except Exception as exc:
        start_error = (
            ERR_LOG.format(error=monitor.log_error)
            if monitor.log_error is not None
            else f"The job could not be started: {exc}"
        )
    os.nice(NICE_AFTER_START)
    if "due" in spec:
        time.sleep(max(0.0, spec["due"] + SETTLE_AFTER - time.time()))

    if run is None:
        run = Run.objects.select_related("job").get(pk=spec["run_pk"])
    if start_error or monitor.proc is None:
        monitor.close()
        run_finish(run=run, status=RunStatus.FAILED, message=start_error)
        if after_start is not None:
            after_start()  # the fire happened; its run failed to start
        return 1
    Run.objects.filter(pk=run.pk).update(
        status=RunStatus.RUNNING,
        pid=monitor.proc.pid,
        monitor_pid=os.getpid(),
        heartbeat_at=timezone.now(),
    )
    if after_start is not None:
        after_start()
    last_beat = time.monotonic()

    def on_tick() -> bool:
        """Heartbeat; False when the run was ended from outside (stop the job)."""
        nonlocal last_beat
        if time.monotonic() - last_beat < HEARTBEAT_SECONDS:
            return True
        last_beat = time.monotonic()
        return bool(
            Run.objects.filter(pk=run.pk, status__in=ACTIVE_STATUSES).update(
                heartbeat_at=timezone.now()
            )
        )

    try:
        status, message, code = monitor.follow(on_tick)
    except Exception as exc:  # never leave the job running or the run open
        monitor._kill_group()
        status, message, code = "Failed", f"The run monitor failed: {exc!r}", None
    # The run's strays (daemons that left its group) were reparented to this
    # monitor, a subreaper: every child left is one of them.
    for _ in range(50):
        if not strays_end():
            break
        time.sleep(0.01)  # a killed stray's own children are ours next
    monitor.close()
    run_finish(run=run, status=status, message=message, exit_code=code)
    return 0
