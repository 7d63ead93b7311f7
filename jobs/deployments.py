"""Zip deployment of the app package: Kudu's /api/zipdeploy and /api/zip/site/wwwroot/.

An app package is a zip of the site's content; the WebJobs it carries live in
`App_Data/jobs/{triggered,continuous}/{name}/` (as Visual Studio publish and
`az webapp deploy` lay them out). A deployment, all or nothing:

1. **stage** (`package_stage`): the zip is checked and unpacked with the same
   functions as a single deploy (core.packaging through
   jobs.services.package_unpack: sizes, entry counts, traversal, links); every
   job in it is validated as a single deploy validates it (name, runnable
   script, settings.job, runtime) in a staging folder beside the live ones.
   One bad job refuses the package; nothing live was touched.
2. **check**: the caller checks `Plan.permissions_needed()` (add for new jobs,
   change for replaced ones, delete for removed ones) before anything moves.
3. **apply** (`package_apply`): in one transaction the rows are written and the
   folders renamed into place (jobs, then the site's content at
   WEBJOBS_ROOT/site/wwwroot); a failure anywhere renames every folder back and
   the transaction rolls the rows back. Jobs a previous package deployed and
   this one lacks are removed (zipdeploy only; a job deployed on its own is the
   package's business only once a package carries it).

The record of a zipdeploy (Kudu's deployment status and log, /api/deployments)
is a `Deployment` row; at most one is in progress at a time.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path, PurePosixPath

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from config.clock import clock_now
from core.kudu import iso_utc
from core.packaging import PackageError, find_runnable, validate_name
from core.storable import text_problem
from jobs.hooks import webjob_deleting_hooks, webjob_deployed_hooks
from jobs.models import Deployment, DeployStatus, WebHook, WebJob
from jobs.processes import job_runtime
from jobs.services import (
    package_unpack,
    webjob_fill,
    webjob_note_ignored_schedule,
    webjob_read_settings,
)
from jobs.storage import job_folders, package_readable, spine
from jobs.webhooks import hooks_publish

JOBS_DIR = PurePosixPath("App_Data", "jobs")
KINDS = (WebJob.Kind.TRIGGERED, WebJob.Kind.CONTINUOUS)
# Kudu keeps the newest successful deployments; the emulator keeps this many rows.
KEPT = 20
# A deployment whose process died holds the lock no longer after this.
STALE_AFTER = timedelta(minutes=30)

ERR_IN_PROGRESS = (
    "There is a deployment currently in progress. Please try again when it completes."
)
ERR_JOB = "WebJob {kind}/{name} in the package: {detail}"
ERR_NOT_UNDER = (
    "Only folders under site/wwwroot can take a zip here (the site's content), "
    "not {path!r}."
)
MSG_RECEIVED = "Preparing deployment for commit id '{short}'."
MSG_EXTRACTING = "Extracting pushed zip file ({size:.2f} MB) to {target}"
MSG_JOB = "Deploying WebJob '{name}' ({kind}, {verb})."
MSG_REMOVED = "Removing WebJob '{name}' ({kind}): the package no longer has it."
MSG_CONTENT = "Site content: {files} file(s) in site/wwwroot."
MSG_SUCCESS = "Deployment successful."
MSG_FAILED = "Deployment Failed."
LOG_INFO, LOG_WARNING, LOG_ERROR = 0, 1, 2


class DeploymentConflict(Exception):
    """409: another deployment is in progress."""


def wwwroot() -> Path:
    return settings.WEBJOBS_ROOT / "site" / "wwwroot"


def _manifest_path() -> Path:
    """The files the last zipdeploy wrote to site/wwwroot (Kudu's manifest):
    the next one deletes those it no longer has and keeps everything else."""
    return settings.WEBJOBS_ROOT / "site" / "deployments" / "manifest.json"


# --- staging ----------------------------------------------------------------------


@dataclass
class StagedJob:
    kind: str
    name: str
    folder: Path  # the job's files, staged
    runnable: object
    job_settings: object
    runtime_error: str
    existing: WebJob | None


@dataclass
class Plan:
    root: Path  # the staging folder; removed by package_discard
    content: Path  # the site's content, staged
    files: list[str]  # the package's content files (relative, posix)
    jobs: list[StagedJob] = field(default_factory=list)
    removed: list[WebJob] = field(default_factory=list)
    size: int = 0

    def permissions_needed(self) -> list[str]:
        """What deploying this package does to WebJobs, as permission names."""
        needed = []
        if any(job.existing is None for job in self.jobs):
            needed.append("jobs.add_webjob")
        if any(job.existing is not None for job in self.jobs):
            needed.append("jobs.change_webjob")
        if self.removed:
            needed.append("jobs.delete_webjob")
        return needed


def package_stage(*, upload: Path, overlay: bool = False, under: str = "") -> Plan:
    """Check, unpack and validate an app package without touching the site.

    `overlay` (Kudu's PUT /api/zip/...): the zip lands over the current content
    (nothing is deleted, no job removed); `under` is the folder below
    site/wwwroot it lands in. Otherwise (zipdeploy) the package replaces what
    the previous one deployed. Raises PackageError, the staging cleaned up.
    """
    parts = PurePosixPath(under).parts
    if under.startswith("/") or any(p in ("..", ".") or "\\" in p for p in parts):
        raise PackageError(ERR_NOT_UNDER.format(path=under))
    root = settings.WEBJOBS_ROOT / "site" / f".deploy-{uuid.uuid4().hex[:12]}"
    unpacked, content, jobs_dir = root / "unpacked", root / "content", root / "jobs"
    for folder in (unpacked, jobs_dir):
        folder.mkdir(parents=True)
    try:
        size = upload.stat().st_size
        target = unpacked.joinpath(*parts)
        target.mkdir(parents=True, exist_ok=True)
        package_unpack(upload, target, filename="package.zip", is_zip=True)
        plan = Plan(root=root, content=content, files=[], size=size)
        _stage_jobs(plan, unpacked, jobs_dir)
        plan.files = _files(unpacked)
        _stage_content(plan, unpacked, overlay=overlay)
        if not overlay:
            names = {(job.kind, job.name) for job in plan.jobs}
            plan.removed = [
                job
                for job in WebJob.objects.filter(source=WebJob.Source.PACKAGE)
                if (job.kind, job.name) not in names
            ]
        return plan
    except BaseException:
        shutil.rmtree(root, ignore_errors=True)
        raise


def _stage_jobs(plan: Plan, unpacked: Path, jobs_dir: Path) -> None:
    """Every job folder of the package, validated, moved out of the content."""
    for kind in KINDS:
        folder = unpacked.joinpath(*JOBS_DIR.parts, kind)
        if not folder.is_dir():
            continue
        for entry in sorted(folder.iterdir(), key=lambda p: p.name):
            if not entry.is_dir() or entry.is_symlink():
                continue  # a stray file beside the jobs stays site content
            plan.jobs.append(_stage_job(kind, entry, jobs_dir))


def _stage_job(kind: str, folder: Path, jobs_dir: Path) -> StagedJob:
    name = folder.name
    try:
        validate_name(name)
        if not any(folder.iterdir()):
            raise PackageError("the folder is empty.")
        runnable = find_runnable(folder)
        job_settings = webjob_read_settings(folder / runnable.script_dir, kind=kind)
    except PackageError as exc:
        raise PackageError(ERR_JOB.format(kind=kind, name=name, detail=exc)) from None
    runtime = job_runtime(runnable.extension, runnable.run_command.name, runnable.host)
    package_readable(folder)  # by its job, which may run as another user
    staged = jobs_dir / kind / name
    staged.parent.mkdir(parents=True, exist_ok=True)
    os.rename(folder, staged)
    return StagedJob(
        kind=kind,
        name=name,
        folder=staged,
        runnable=runnable,
        job_settings=job_settings,
        runtime_error=runtime.error or "",
        existing=WebJob.objects.filter(kind=kind, name=name).first(),
    )


def _files(folder: Path) -> list[str]:
    return sorted(
        p.relative_to(folder).as_posix()
        for p in folder.rglob("*")
        if p.is_file() or p.is_symlink()
    )


def _stage_content(plan: Plan, unpacked: Path, *, overlay: bool) -> None:
    """The new site/wwwroot: the package's files, plus the current files it
    keeps (hard links: the live folder stays untouched until the swap)."""
    os.rename(unpacked, plan.content)
    live = wwwroot()
    if not live.is_dir():
        return
    drop = set() if overlay else set(_previous_manifest())
    for path in live.rglob("*"):
        if path.is_dir() and not path.is_symlink():
            continue
        relative = path.relative_to(live).as_posix()
        target = plan.content / relative
        if relative in drop or target.exists() or target.is_symlink():
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(path, target, follow_symlinks=False)
        except OSError:
            shutil.copy2(path, target, follow_symlinks=False)


def _previous_manifest() -> list[str]:
    try:
        return json.loads(_manifest_path().read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return []


def package_discard(plan: Plan) -> None:
    shutil.rmtree(plan.root, ignore_errors=True)


# --- applying ---------------------------------------------------------------------


def package_apply(
    plan: Plan,
    *,
    deployed_by: str,
    deployment_id: str = "",
    log=lambda message, kind=LOG_INFO: None,
    overlay: bool = False,
) -> None:
    """Put a staged package in place, all or nothing (see the module's doc)."""
    moves: list[tuple[Path, Path | None]] = []  # (live, its previous copy)
    removed_data: list[Path] = []
    try:
        with transaction.atomic():
            for staged in plan.jobs:
                job = (
                    WebJob.objects.select_for_update()
                    .filter(kind=staged.kind, name=staged.name)
                    .first()
                ) or WebJob(kind=staged.kind, name=staged.name)
                verb = "new" if job.pk is None else "replaced"
                webjob_fill(
                    job,
                    runnable=staged.runnable,
                    job_settings=staged.job_settings,
                    runtime_error=staged.runtime_error,
                    staging=staged.folder,
                    deployed_by=deployed_by,
                )
                job.source, job.deployment_id = WebJob.Source.PACKAGE, deployment_id
                job.save()
                spine(job.package_dir.parent)
                _move_in(staged.folder, job.package_dir, moves)
                job_folders(job)
                for hook in webjob_deployed_hooks:
                    hook(job)
                log(MSG_JOB.format(name=job.name, kind=job.kind, verb=verb))
            for job in plan.removed:
                for hook in webjob_deleting_hooks:
                    hook(job)
                _move_out(job.package_dir, moves)
                removed_data.append(job.data_dir)
                job.delete()
                log(MSG_REMOVED.format(name=job.name, kind=job.kind))
            package_readable(plan.content)  # WEBROOT_PATH, read by jobs
            spine(wwwroot().parent)
            _move_in(plan.content, wwwroot(), moves)
    except BaseException:
        _undo(moves)
        raise
    for _, previous in moves:
        if previous is not None:
            shutil.rmtree(previous, ignore_errors=True)
    for folder in removed_data:
        shutil.rmtree(folder, ignore_errors=True)
    if not overlay:
        _write_manifest(plan.files)
    for staged in plan.jobs:
        job = WebJob.objects.filter(kind=staged.kind, name=staged.name).first()
        if job is not None:
            webjob_note_ignored_schedule(job)
    log(MSG_CONTENT.format(files=len(_files(wwwroot()))))


def _move_in(staged: Path, live: Path, moves: list) -> None:
    """Rename `staged` to `live`, the old `live` kept aside until the end."""
    previous = None
    if live.exists():
        previous = live.with_name(f".old-{live.name}-{uuid.uuid4().hex[:8]}")
        os.rename(live, previous)
    moves.append((live, previous))
    live.parent.mkdir(parents=True, exist_ok=True)
    os.rename(staged, live)


def _move_out(live: Path, moves: list) -> None:
    if live.exists():
        previous = live.with_name(f".old-{live.name}-{uuid.uuid4().hex[:8]}")
        os.rename(live, previous)
        moves.append((live, previous))


def _undo(moves: list[tuple[Path, Path | None]]) -> None:
    """Every rename made, undone in reverse order: the site as it was."""
    for live, previous in reversed(moves):
        if live.exists():
            shutil.rmtree(live, ignore_errors=True)
        if previous is not None:
            os.rename(previous, live)


def _write_manifest(files: list[str]) -> None:
    path = _manifest_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(files), encoding="utf-8")
    os.replace(tmp, path)


# --- the deployment record ----------------------------------------------------------


def deployment_begin(
    *, author: str, author_email: str, deployer: str, message: str, deployed_by: str
) -> Deployment:
    """Take the one deployment lock (a partial unique index) and record it.
    The values a client sends (zipdeploy's query) are checked against their
    columns first, by the names the client used."""
    for name, column, value in (
        ("author", "author", author),
        ("authorEmail", "author_email", author_email),
        ("deployer", "deployer", deployer),
        ("message", "message", message),
    ):
        limit = Deployment._meta.get_field(column).max_length
        problem = text_problem(name, value, limit=limit)
        if problem:
            raise PackageError(problem)
    now = clock_now()
    for _ in range(2):
        try:
            with transaction.atomic():
                return Deployment.objects.create(
                    id=uuid.uuid4().hex,
                    status=DeployStatus.BUILDING,
                    author=author or "N/A",
                    author_email=author_email or "N/A",
                    deployer=deployer or "ZipDeploy",
                    message=message or "Created via a push deployment",
                    received_time=now,
                    start_time=now,
                    in_progress=True,
                    deployed_by=deployed_by,
                )
        except IntegrityError:
            stale = Deployment.objects.filter(
                in_progress=True, locked_at__lt=timezone.now() - STALE_AFTER
            )
            if not stale.update(
                in_progress=None,
                status=DeployStatus.FAILED,
                end_time=now,
                status_text="The deployment's process stopped before it ended.",
            ):
                raise DeploymentConflict(ERR_IN_PROGRESS) from None
    raise DeploymentConflict(ERR_IN_PROGRESS)


def deployment_log(deployment: Deployment, message: str, kind: int = LOG_INFO) -> None:
    deployment.log.append(
        {
            "log_time": iso_utc(clock_now()),
            "id": uuid.uuid4().hex,
            "message": message,
            "type": kind,
        }
    )


def deployment_end(deployment: Deployment, *, error: str = "") -> None:
    """Mark it Success or Failed, release the lock, keep the newest KEPT."""
    now = clock_now()
    if error:
        deployment_log(deployment, error, LOG_ERROR)
        deployment_log(deployment, MSG_FAILED, LOG_ERROR)
    else:
        deployment_log(deployment, MSG_SUCCESS)
    deployment.status = DeployStatus.FAILED if error else DeployStatus.SUCCESS
    deployment.status_text = error
    deployment.end_time = now
    deployment.in_progress = None
    deployment.save()
    old = Deployment.objects.order_by("-received_time").values_list("pk", flat=True)
    Deployment.objects.filter(pk__in=list(old[KEPT:])).delete()


def deployment_drop(deployment: Deployment) -> None:
    """A deployment refused before it changed anything (permissions): no trace."""
    Deployment.objects.filter(pk=deployment.pk).delete()


def zip_deploy(
    *,
    upload: Path,
    deployment: Deployment,
    deployed_by: str,
    check=lambda plan: None,
) -> None:
    """A zipdeploy from a spooled upload, recorded on `deployment`.

    `check(plan)` runs once the package is staged and before anything changes
    (the caller's permission check); what it raises propagates, and the
    deployment record is dropped. A bad package ends the deployment Failed and
    raises its PackageError.
    """
    deployment_log(deployment, MSG_RECEIVED.format(short=deployment.id[:10]))
    deployment_log(
        deployment,
        MSG_EXTRACTING.format(
            size=upload.stat().st_size / 2**20, target="site/wwwroot"
        ),
    )
    try:
        plan = package_stage(upload=upload)
    except BaseException as exc:  # the lock is released whatever happened
        bad = isinstance(exc, PackageError)
        deployment_end(deployment, error=str(exc) if bad else _describe(exc))
        raise
    try:
        try:
            check(plan)
        except BaseException:
            deployment_drop(deployment)
            raise
        try:
            package_apply(
                plan,
                deployed_by=deployed_by,
                deployment_id=deployment.id,
                log=lambda message, kind=LOG_INFO: deployment_log(
                    deployment, message, kind
                ),
            )
        except BaseException as exc:
            deployment_end(deployment, error=_describe(exc))
            raise
        deployment_end(deployment)
        hooks_publish(
            WebHook.Event.POST_DEPLOYMENT, lambda base: post_deployment_json(deployment)
        )
    finally:
        package_discard(plan)


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def post_deployment_json(deployment: Deployment) -> dict:
    """Kudu's PostDeployment body: the deployment's status file, camelCase."""
    end = iso_utc(deployment.end_time)
    return {
        "id": deployment.id,
        "status": "success",
        "statusText": deployment.status_text,
        "authorEmail": deployment.author_email,
        "author": deployment.author,
        "message": deployment.message,
        "deployer": deployment.deployer,
        "receivedTime": iso_utc(deployment.received_time),
        "startTime": iso_utc(deployment.start_time),
        "endTime": end,
        "lastSuccessEndTime": end,
        "complete": True,
        "isReadOnly": True,
        "siteName": settings.WEBSITE_SITE_NAME,
    }


def zip_overlay(*, upload: Path, under: str, deployed_by: str, check=lambda p: None):
    """Kudu's PUT /api/zip/site/wwwroot/{under}/: unpack over the content."""
    plan = package_stage(upload=upload, overlay=True, under=under)
    try:
        check(plan)
        package_apply(plan, deployed_by=deployed_by, overlay=True)
    finally:
        package_discard(plan)
