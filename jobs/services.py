"""Writes with side effects for WebJobs: deploy, delete, settings, run requests."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import tempfile
import uuid
import zipfile
from pathlib import Path
from typing import BinaryIO

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django_q.tasks import async_task

from config import statements
from config.clock import clock_now
from config.queue import queue_broker
from core.packaging import (
    ERR_EMPTY,
    ERR_NOT_ZIP,
    ERR_TOO_BIG,
    MSG_SCHEDULE_IGNORED,
    SETTINGS_FILE,
    JobSettings,
    PackageError,
    Runnable,
    UploadTooLarge,
    check_zip,
    clean_filename,
    find_runnable,
    parse_settings,
    safe_extract,
    validate_name,
    validate_settings,
)
from history.models import Run, RunStatus
from history.services import (
    RunConflict,
    RunRequestError,
    run_build,
    run_finish,
    run_insert,
    run_trim,
    runs_remove,
)
from jobs.hooks import webjob_deleting_hooks, webjob_deployed_hooks
from jobs.host.logs import job_log_note
from jobs.launcher.inbox import run_go, run_hand_over
from jobs.models import ContinuousStatus, InstanceStatus, WebJob
from jobs.processes import job_runtime
from jobs.runner import run_claim
from jobs.selectors import live_instances
from jobs.storage import job_folders, package_readable, spine

ERR_UNKNOWN_JOB = "No {kind} WebJob named {name!r}."
ERR_STOPPED = 'WebJobs are currently in "stopped" state.'
ERR_NOT_TRIGGERED = "Only triggered WebJobs can be run on demand."
ERR_ARGUMENTS = "The arguments cannot be split into a command line: {detail}."
ERR_QUEUE = "The run could not be queued: {detail}"
ERR_DEPLOY_RACE = (
    "WebJob {name!r} was being created by another request at the same time; "
    "send it again."
)
# Kudu's marker of a stopped continuous job, in its folder; mirrored from the row.
DISABLE_FILE = "disable.job"


class DeployConflict(Exception):
    """409: two deploys of a job that did not exist raced to create it."""


class JobNotFound(LookupError):
    pass


def _site_root() -> Path:
    return settings.WEBJOBS_ROOT / "site" / "jobs"


def upload_spool(stream: BinaryIO, *, limit: int | None = None) -> Path:
    """Copy an upload stream to a temporary file, refusing it past the size limit.

    Streaming keeps a 100 MB upload out of memory; the caller deletes the file.
    """
    limit = limit or settings.WEBJOBS_MAX_UPLOAD_BYTES
    staging = _site_root() / ".uploads"
    staging.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=staging)
    size = 0
    try:
        with os.fdopen(fd, "wb") as out:
            while chunk := stream.read(256 * 1024):
                size += len(chunk)
                if size > limit:
                    raise UploadTooLarge(
                        ERR_TOO_BIG.format(size=f"over {limit}", limit=limit)
                    )
                out.write(chunk)
    except BaseException:
        os.unlink(name)
        raise
    return Path(name)


def webjob_deploy(
    *,
    name: str,
    kind: str,
    filename: str,
    upload: Path,
    is_zip: bool,
    deployed_by: str = "",
) -> WebJob:
    """Create or replace a WebJob from an uploaded script or zip.

    1. Validate the name and the upload (size, zip entries, bombs, links).
    2. Unpack into a staging folder beside the live one; find the runnable script
       and parse settings.job there.
    3. In one transaction, save the row, run the deployed hooks (the scheduler's
       timer), then swap the folders by rename, last; a commit that fails after
       the swap swaps back. So a deploy that fails anywhere leaves the previous
       version (files, row, timer) intact and no `.trash-*` folder behind.
       Unlike Kudu, a package with no runnable script does not delete the old job.
    """
    validate_name(name)
    size = upload.stat().st_size
    if size == 0:
        raise PackageError(ERR_EMPTY)
    root = spine(_site_root() / kind)
    staging = root / f".staging-{name}-{uuid.uuid4().hex[:8]}"
    staging.mkdir()
    swapped: Path | None | bool = False  # the previous version's folder, once swapped
    try:
        package_unpack(upload, staging, filename=filename, is_zip=is_zip)
        package_readable(staging)  # by its job, which may run as another user
        runnable = find_runnable(staging)
        job_settings = webjob_read_settings(staging / runnable.script_dir, kind=kind)
        runtime = job_runtime(
            runnable.extension, runnable.run_command.name, runnable.host
        )
        with transaction.atomic():
            job = (
                WebJob.objects.select_for_update().filter(kind=kind, name=name).first()
            )
            job = job or WebJob(kind=kind, name=name)
            webjob_fill(
                job,
                runnable=runnable,
                job_settings=job_settings,
                runtime_error=runtime.error or "",
                staging=staging,
                deployed_by=deployed_by,
            )
            job.source, job.deployment_id = WebJob.Source.UPLOAD, ""
            try:
                with transaction.atomic():  # a savepoint: the 409, not a 500
                    job.save()
            except IntegrityError:  # the other request's row won (kind, name)
                raise DeployConflict(ERR_DEPLOY_RACE.format(name=name)) from None
            for hook in webjob_deployed_hooks:
                hook(job)
            # Last: whatever failed above left the live folder as it was.
            swapped = _swap_into_place(staging, job.package_dir)
            job_folders(job)
    except BaseException:
        if swapped is not False:  # the commit failed: the previous version back
            _swap_back(staging, job.package_dir, swapped)
        raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    webjob_note_ignored_schedule(job)
    return job


def webjob_fill(
    job: WebJob,
    *,
    runnable: Runnable,
    job_settings: JobSettings,
    runtime_error: str,
    staging: Path,
    deployed_by: str,
) -> WebJob:
    """Set a job's row from a validated package staged at `staging` (unsaved)."""
    job.run_command = runnable.run_command.as_posix().removeprefix("./")
    job.script_host = runnable.host
    job.extension = runnable.extension
    job.error = runtime_error
    job.settings = job_settings.raw
    job.deployed_at = clock_now()
    job.deployed_by = deployed_by
    # Kudu replaces the whole folder, so a redeploy drops disable.job and
    # starts a stopped continuous job, unless the package brings its own.
    job.is_stopped = (staging / DISABLE_FILE).exists()
    job.revision = (job.revision or 0) + 1  # hosts restart the job
    return job


def webjob_note_ignored_schedule(job: WebJob) -> None:
    """Kudu reads `schedule` for triggered jobs only: a continuous job with one
    deploys, and its log says the schedule is ignored."""
    if job.kind == WebJob.Kind.CONTINUOUS and job.schedule is not None:
        job_log_note(job, MSG_SCHEDULE_IGNORED.format(schedule=job.schedule))


def package_unpack(upload: Path, dest: Path, *, filename: str, is_zip: bool) -> None:
    if not is_zip:
        target = dest / clean_filename(filename)
        shutil.copyfile(upload, target)
        return
    try:
        with zipfile.ZipFile(upload) as zf:
            check_zip(
                zf,
                max_files=settings.WEBJOBS_MAX_FILES,
                max_bytes=settings.WEBJOBS_MAX_UNPACKED_BYTES,
            )
            safe_extract(zf, dest, max_bytes=settings.WEBJOBS_MAX_UNPACKED_BYTES)
    except zipfile.BadZipFile as exc:
        raise PackageError(ERR_NOT_ZIP.format(detail=exc)) from None


def webjob_read_settings(script_dir: Path, *, kind: str) -> JobSettings:
    path = script_dir / SETTINGS_FILE
    if not path.is_file():
        return JobSettings({})
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise PackageError(f"settings.job is not UTF-8 text: {exc}") from None
    return parse_settings(text, kind=kind)


def _swap_into_place(staging: Path, live: Path) -> Path | None:
    """Rename the new package in; returns where the previous one went (None when
    there was none), removed once the transaction commits."""
    trash = live.with_name(f".trash-{live.name}-{uuid.uuid4().hex[:8]}")
    had_old = live.exists()
    if had_old:
        os.rename(live, trash)
    try:
        os.rename(staging, live)
    except BaseException:
        if had_old:
            os.rename(trash, live)
        raise
    if not had_old:
        return None
    transaction.on_commit(lambda: shutil.rmtree(trash, ignore_errors=True))
    return trash


def _swap_back(staging: Path, live: Path, trash: Path | None) -> None:
    """Undo _swap_into_place: the new package back to staging (removed by the
    caller), the previous one back in place."""
    if live.exists():
        os.rename(live, staging)
    if trash is not None and trash.exists():
        os.rename(trash, live)


def webjob_get(*, name: str, kind: str, newest_run_id: bool = False) -> WebJob:
    """The job, or JobNotFound. `newest_run_id`: with its newest run's id read
    in the same query (`job.newest_run_id`, for run_request)."""
    if newest_run_id:
        found = statements.select(
            WebJob,
            "{kind} = %s AND {name} = %s",
            [kind, name],
            extra={"newest_run_id": _newest_run_id()},
        )
        job = found[0] if found else None
    else:
        job = WebJob.objects.filter(kind=kind, name=name).first()
    if job is None:
        raise JobNotFound(ERR_UNKNOWN_JOB.format(kind=kind, name=name))
    return job


def _newest_run_id() -> str:
    """The run id of a job's newest run, as an SQL expression over the job's
    row, which the index run_job_newest answers: every POST .../run reads it
    with the job, written out (config/statements.py): compiling the annotated
    queryset was 0.4 ms of a run request's 2.4 ms of CPU (issue 18)."""
    q = connection.ops.quote_name
    return (
        f"(SELECT r.{q('run_id')} FROM {q(Run._meta.db_table)} r"
        f" WHERE r.{q('job_id')} = {{id}} ORDER BY r.{q('run_id')} DESC LIMIT 1)"
    )


def webjob_delete(*, name: str, kind: str) -> bool:
    """Delete package, data (history, logs) and row. Unknown names: a no-op, as Kudu."""
    job = WebJob.objects.filter(kind=kind, name=name).first()
    if job is None:
        return False
    package, data = job.package_dir, job.data_dir
    with transaction.atomic():
        for hook in webjob_deleting_hooks:
            hook(job)
        job.delete()
    for path in (package, data):
        shutil.rmtree(path, ignore_errors=True)
    return True


def _locked(job: WebJob) -> WebJob:
    found = WebJob.objects.select_for_update().filter(pk=job.pk).first()
    if found is None:  # deleted meanwhile
        raise JobNotFound(ERR_UNKNOWN_JOB.format(kind=job.kind, name=job.name))
    return found


def webjob_settings_put(*, job: WebJob, raw: object) -> WebJob:
    """Replace settings.job entirely (Kudu does not merge), validated first; the
    file is replaced last, and put back if the transaction does not commit."""
    job_settings = validate_settings(raw, kind=job.kind)
    target = previous = tmp = None
    replaced = False
    try:
        with transaction.atomic():
            # A deploy swaps the job's folder holding this row's lock: with it
            # held, the folder written into is the one that stays (a settings
            # file renamed into a folder swapped away was a 500).
            job = _locked(job)
            script_dir = (job.package_dir / job.run_command).parent
            target = script_dir / SETTINGS_FILE
            previous = target.read_bytes() if target.is_file() else None
            fd, tmp = tempfile.mkstemp(dir=script_dir, prefix=".settings-")
            os.fchmod(fd, 0o644)  # part of the package: its job reads it
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(job_settings.raw, f, indent=2)
            job.settings = job_settings.raw
            # Kudu restarts a continuous job when any file of it changes.
            job.revision = F("revision") + 1
            job.save(update_fields=["settings", "revision"])
            job.refresh_from_db(fields=["revision"])
            for hook in webjob_deployed_hooks:
                hook(job)
            os.replace(tmp, target)
            replaced = True
    except BaseException:
        if replaced:
            _restore(target, previous)
        raise
    finally:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
    webjob_note_ignored_schedule(job)
    return job


def _restore(path: Path, content: bytes | None) -> None:
    """Put a file back as it was (None: it did not exist)."""
    if content is None:
        path.unlink(missing_ok=True)
        return
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".restore-")
    os.fchmod(fd, 0o644)
    with os.fdopen(fd, "wb") as f:
        f.write(content)
    os.replace(tmp, path)


def webjob_start(*, job: WebJob) -> None:
    """Start a continuous job: the desired state every instance's host follows.

    Kudu's /start deletes disable.job; the row is what the hosts read, the file
    is kept in step for anyone looking at the folder.
    """
    _require_continuous(job)
    WebJob.objects.filter(pk=job.pk).update(is_stopped=False)
    (job.package_dir / DISABLE_FILE).unlink(missing_ok=True)
    job.is_stopped = False


def webjob_stop(*, job: WebJob) -> None:
    """Stop a continuous job on every instance, and keep it stopped across restarts.

    Kudu's /stop writes disable.job and reports `Disabling` until the runner
    reacts; so do the live instances' rows here, until their hosts take over.
    """
    _require_continuous(job)
    with transaction.atomic():
        WebJob.objects.filter(pk=job.pk).update(is_stopped=True)
        live = live_instances().values("instance_id")
        InstanceStatus.objects.filter(
            job=job,
            instance_id__in=live,
            status__in=[ContinuousStatus.STARTING, ContinuousStatus.RUNNING],
        ).update(status=ContinuousStatus.DISABLING, updated_at=clock_now())
    if job.package_dir.is_dir():
        (job.package_dir / DISABLE_FILE).write_text("", encoding="utf-8")
    job.is_stopped = True


def _require_continuous(job: WebJob) -> None:
    if job.kind != WebJob.Kind.CONTINUOUS:  # Kudu: not a continuous job -> 404
        raise JobNotFound(ERR_UNKNOWN_JOB.format(kind="continuous", name=job.name))


# --- runs ------------------------------------------------------------------------


def run_request(
    *,
    job: WebJob,
    trigger: str,
    arguments: str = "",
    scheduled_time=None,
    later: list | None = None,
) -> Run:
    """Create a run (Initializing), send it to the queue, and hand it to this
    instance's launcher.

    Kudu trims the history before each run so WEBJOBS_HISTORY_SIZE remain after it,
    and holds triggeredJob.lock for the run; here the lock is the partial unique
    index on active runs, so the check and the insert are one atomic step.

    Two deliveries race for the run, and its claim decides which one starts it,
    once: this instance's launcher (a datagram, when it listens), which claims
    it at once, makes it ready and starts it on its go (`run_go`); and the
    queue task (django-q2, the durable one: it reaches every instance's
    cluster and survives a restart). With a launcher listening the task is
    sent after the go, so the launcher, which has it in a millisecond, does
    not lose the race to a queue worker; with none, before the answer, whose
    409 then says when the broker refused it. `later`: a list to which the
    work that waits until the caller has answered is added (the go, the task,
    the trimmed runs' folders), rather than doing it now (the API answers
    first).
    """
    run = run_insert(
        run_prepare(
            job=job,
            trigger=trigger,
            arguments=arguments,
            scheduled_time=scheduled_time,
            # Read with the job (webjob_get's newest_run_id), or read now.
            last_run_id=getattr(job, "newest_run_id", ...),
        )
    )
    # Not when it failed already at its insert (its log could not be written).
    startable = run.status == RunStatus.INITIALIZING
    handed = startable and run_hand_over(run.pk, job_pk=job.pk)
    if startable and not handed:
        _run_enqueue(run)
    trimmed = run_trim(job=job, remove=False)
    tail = []
    if handed:
        tail += [
            lambda: run_go(run.pk, job_pk=job.pk),
            lambda: _run_enqueue(run, answered=later is not None),
        ]
    if trimmed:
        tail.append(lambda: runs_remove(trimmed))
    if later is None:
        for work in tail:
            work()
    else:
        later += tail
    return run


def run_prepare(
    *,
    job: WebJob,
    trigger: str,
    arguments: str = "",
    scheduled_time=None,
    monitor_pid: int | None = None,
    last_run_id: str | None | object = ...,
) -> Run:
    """Check a run request and build its row, unsaved, for run_insert
    (history.services.run_build says what the other arguments do)."""
    if job.kind != WebJob.Kind.TRIGGERED:
        raise RunConflict(ERR_NOT_TRIGGERED)
    if settings.WEBJOBS_STOPPED:
        raise RunConflict(ERR_STOPPED)
    try:
        shlex.split(arguments)
    except ValueError as exc:
        raise RunRequestError(ERR_ARGUMENTS.format(detail=exc)) from None
    return run_build(
        job=job,
        trigger=trigger,
        arguments=arguments,
        scheduled_time=scheduled_time,
        monitor_pid=monitor_pid,
        last_run_id=last_run_id,
    )


def _run_enqueue(run: Run, *, answered: bool = False) -> None:
    """Send the run's queue task. A broker that refuses it fails the run, unless
    the launcher has claimed it (then it runs): with a 409 (RunConflict), or,
    once the request is `answered`, in the run's record only."""
    try:
        async_task(
            "jobs.runner.run_launch",
            run.pk,
            task_name=f"run-{run.job.name}-{run.run_id}",
            broker=queue_broker(),
        )
    except Exception as exc:  # broker down: fail the run rather than leave it stuck
        if not run_claim(run.pk, monitor_pid=0):
            return  # this instance's launcher has it: it runs
        run_finish(
            run=run, status=RunStatus.FAILED, message=ERR_QUEUE.format(detail=exc)
        )
        if not answered:
            raise RunConflict(ERR_QUEUE.format(detail=exc)) from exc
