"""Writes for WebJob runs: insert (Kudu's lock), log, trim, finish, abandon.

History records runs; how a run is requested and started is the jobs app's
(jobs/services.py, jobs/runner.py, jobs/launcher/).
"""

from __future__ import annotations

import logging
import shutil
from contextlib import nullcontext
from datetime import datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from config import statements
from config.clock import clock_now
from core.kudu import log_line, run_id_for, run_id_next
from history.hooks import run_finished_hooks
from history.models import ACTIVE_STATUSES, Run, RunStatus

logger = logging.getLogger("history")
ERR_RUNNING = "Cannot start a new run since job is already running."
ERR_LOG = "The run's log could not be written: {error}"
ERR_GONE = "The WebJob was deleted."
MSG_ABANDONED = (
    "The run was abandoned: its monitor process stopped reporting (the host "
    "running it went down)."
)

# A monitor heartbeats every few seconds; silence this long means it is gone.
STALE_AFTER = timedelta(seconds=30)
# A run nobody claimed (no queue worker running) for this long is abandoned.
UNCLAIMED_AFTER = timedelta(minutes=10)


class RunConflict(Exception):
    """409: the run cannot start now; the message is Kudu's text."""


class RunRequestError(ValueError):
    """400: the request itself is wrong."""


# A run that is going, as written-out statements (config/statements.py) ask it.
_ACTIVE_VALUES = [status.value for status in ACTIVE_STATUSES]
_ACTIVE_MARKS = ", ".join(["%s"] * len(ACTIVE_STATUSES))


def run_build(
    *,
    job,
    trigger: str,
    arguments: str = "",
    scheduled_time=None,
    monitor_pid: int | None = None,
    last_run_id: str | None | object = ...,
) -> Run:
    """A run's row, unsaved, for run_insert (the caller checked the request).

    Built apart from the insert so that a run due at an instant does
    everything but the insert ahead of it. `monitor_pid`: the run is created
    claimed by that process, its monitor. `last_run_id`: the job's newest run
    id, when the caller read it already (for many jobs at once).
    """
    run = Run(
        job=job,
        trigger=trigger,
        arguments=arguments,
        status=RunStatus.INITIALIZING,
        scheduled_time=scheduled_time,
        monitor_pid=monitor_pid,
        instance_id=settings.WEBSITE_INSTANCE_ID if monitor_pid else "",
    )
    run.last_run_id = _last_run_id(job) if last_run_id is ... else last_run_id
    return run


def _last_run_id(job) -> str | None:
    return (
        Run.objects.filter(job=job)
        .order_by("-run_id")
        .values_list("run_id", flat=True)
        .first()
    )


def _savepoint():
    """Inside a transaction, a savepoint so that a refused insert leaves it
    usable; outside, none: the insert is its own transaction (one statement)."""
    return transaction.atomic() if connection.in_atomic_block else nullcontext()


class _Rehearsal(Exception):
    pass


def run_rehearse(run: Run) -> None:
    """Insert a prepared run and roll it back, ahead of its due instant.

    A freshly forked monitor's first insert pays for its cold start (copy-on-
    write page faults, the connection's first write); rehearsed, the insert at
    the due instant does not. bench/due_instant.py measures what it buys end to
    end: a few ms of the p50 and p99 with 10 fires due together. Nothing stays:
    no row, no file; a refused insert is fine too.
    """
    try:
        with transaction.atomic():
            now = clock_now()
            run.run_id, run.start_time, run.heartbeat_at = "0", now, timezone.now()
            run.save(force_insert=True)
            raise _Rehearsal
    except (_Rehearsal, IntegrityError):
        pass
    run.pk, run._state.adding = None, True


def run_insert(run: Run) -> Run:
    """Insert a prepared run now, stamped with the current time: one statement
    when nothing is in the way. A run whose monitor went silent holds the lock
    no longer: it is abandoned and the insert tried again."""
    for tries in range(3):
        _stamp(run, now=clock_now(), beat=timezone.now())
        try:
            with _savepoint():
                # Every run request inserts: written out (config/statements.py).
                statements.insert(run)
            break
        except IntegrityError:
            run.pk = None
            if tries == 2:
                raise
            if Run.objects.filter(job=run.job, status__in=ACTIVE_STATUSES).exists():
                if not run_abandon_stale(job=run.job):
                    raise RunConflict(ERR_RUNNING) from None
            elif not _job_exists(run):
                raise RunRequestError(ERR_GONE) from None  # deleted since prepared
            else:  # a run inserted since run_prepare took this run id
                run.last_run_id = _last_run_id(run.job)
    try:
        run_log_initializing(run)
    except OSError as exc:
        # Disk full, an I/O error, a file where its folder should be: the run
        # cannot start. It ends Failed with the reason, so Kudu's lock is free.
        run_finish(run=run, status=RunStatus.FAILED, message=ERR_LOG.format(error=exc))
    return run


def run_insert_many(runs: list[Run], *, now) -> set[int]:
    """Insert prepared runs in one statement, stamped `now` (fires due in the
    same instant); returns the id() of each run inserted. When a unique index
    refuses the multi-row insert (Kudu's lock, a run id taken meanwhile),
    nothing is inserted here: the caller inserts each with run_insert, which
    tells which one and why. The runs' logs are the caller's to begin
    (run_log_initializing), after what is more urgent: starting them."""
    if not runs:
        return set()
    runs_stamp(runs, now=now)
    try:
        with transaction.atomic():
            Run.objects.bulk_create(runs)
    except IntegrityError:
        for run in runs:
            run.pk, run._state.adding = None, True
        return set()
    return {id(run) for run in runs}


def runs_stamp(runs: list[Run], *, now) -> None:
    """Stamp runs started together at `now` (the emulator clock)."""
    beat = timezone.now()
    for run in runs:
        _stamp(run, now=now, beat=beat)


def _stamp(run: Run, *, now, beat) -> None:
    """A run's id and start time from the emulator clock, its heartbeat from
    real time; never an id at or before the job's newest."""
    run_id = run_id_for(now)
    if run.last_run_id is not None and run.last_run_id >= run_id:
        run_id = run_id_next(run.last_run_id)  # the clock may step back <= 1 s
    run.run_id, run.start_time, run.heartbeat_at = run_id, now, beat


def _job_exists(run: Run) -> bool:
    """Whether the run's WebJob is still there (the model through the foreign
    key: history records runs of whatever the jobs app deploys)."""
    jobs = Run._meta.get_field("job").related_model.objects
    return jobs.filter(pk=run.job_id).exists()


def run_log_initializing(run: Run) -> None:
    """The first line of a run's output_log.txt."""
    run.data_dir.mkdir(parents=True, exist_ok=True)
    with open(run.output_path, "a", encoding="utf-8") as log:
        log.write(
            log_line(
                run.start_time,
                settings.WEBSITE_INSTANCE_ID,
                "Status changed to Initializing",
            )
        )


def run_trim(*, job, remove: bool = True) -> list[Path]:
    """Keep the newest WEBJOBS_HISTORY_SIZE runs; older runs go with their
    folders: removed here, or with `remove=False` returned for the caller to
    remove (runs_remove) once more urgent work is done."""
    keep = settings.WEBJOBS_HISTORY_SIZE
    # The newest `keep` runs stay, whether the new one is still active or has
    # already ended: a quick run can end before its request trims (it kept
    # 29 when the trim counted only ended runs and left one place for it).
    # Every run request trims: written out (config/statements.py), a LIMIT
    # and OFFSET as the database's ORM backend writes them; nothing refers to
    # a run (no cascade, no signal), so rows go with a plain DELETE.
    beyond = (
        "SELECT {id} FROM {_table} WHERE {job} = %s ORDER BY {run_id} DESC "
        + connection.ops.limit_offset_sql(keep, None)
    )
    ended = f"{{status}} NOT IN ({_ACTIVE_MARKS})"  # never a run that is going
    params = [job.pk, *_ACTIVE_VALUES]
    if statements.returning():
        # One statement: once a job has `keep` runs, every request trims one.
        old = statements.execute_rows(
            Run,
            f"DELETE FROM {{_table}} WHERE {{id}} IN ({beyond}) AND {ended}"
            " RETURNING {id}, {run_id}",
            params,
        )
    else:  # SQLite before 3.35
        old = statements.select_rows(
            Run, ("pk", "run_id"), f"{{id}} IN ({beyond}) AND {ended}", params
        )
        if old:
            marks = ", ".join(["%s"] * len(old))
            statements.execute(
                Run,
                f"DELETE FROM {{_table}} WHERE {{id}} IN ({marks})",
                [k for k, _ in old],
            )
    if not old:
        return []
    folders = [job.data_dir / run_id for _, run_id in old]
    if remove:
        runs_remove(folders)
        return []
    return folders


def runs_remove(folders: list[Path]) -> None:
    """The folders of runs trimmed (run_trim)."""
    for folder in folders:
        shutil.rmtree(folder, ignore_errors=True)


def run_finish(
    *, run: Run, status: str, message: str = "", exit_code: int | None = None
) -> None:
    """Mark an active run final, once; the log gets the status line (when it
    can be written: the row is the record)."""
    now = clock_now()
    # Every run ends here: written out, not compiled each time (config/statements.py).
    updated = statements.update(
        Run,
        {"status": status, "end_time": now, "message": message, "exit_code": exit_code},
        f"{{id}} = %s AND {{status}} IN ({_ACTIVE_MARKS})",
        [run.pk, *_ACTIVE_VALUES],
    )
    if not updated:
        return
    run.status, run.end_time, run.message, run.exit_code = (
        status,
        now,
        message,
        exit_code,
    )
    try:
        if run.data_dir.is_dir():
            with open(run.output_path, "a", encoding="utf-8") as log:
                inst = run.instance_id or settings.WEBSITE_INSTANCE_ID
                if message:
                    log.write(log_line(now, inst, message, level="ERR"))
                log.write(log_line(now, inst, f"Status changed to {status}"))
    except OSError as exc:
        logger.warning("run %s: its log could not be written (%s)", run.pk, exc)
    for hook in run_finished_hooks:
        hook(run)


def run_abandon_stale(*, job) -> int:
    """Mark active runs whose monitor went silent as Aborted (Kudu: lock not held)."""
    now = timezone.now()
    count = 0
    for run in Run.objects.filter(job=job, status__in=ACTIVE_STATUSES):
        if run_is_stale(run, now=now):
            run_finish(run=run, status=RunStatus.ABORTED, message=MSG_ABANDONED)
            count += 1
    return count


def run_is_stale(run: Run, *, now: datetime) -> bool:
    """Heartbeats are real time, not the emulator clock: moving the clock a month
    forward must not make every running job look dead."""
    if run.status not in ACTIVE_STATUSES or run.heartbeat_at is None:
        return False
    limit = STALE_AFTER if run.monitor_pid is not None else UNCLAIMED_AFTER
    return now - run.heartbeat_at > limit
