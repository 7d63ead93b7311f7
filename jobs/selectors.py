"""Reads for WebJobs and runs, shaped as Kudu's JSON (snake_case, nulls emitted)."""

from __future__ import annotations

import os
from datetime import timedelta

from django.conf import settings
from django.db.models import OuterRef, Prefetch, Subquery
from django.db.models.functions import Now

from config.clock import clock_now
from core.continuous import INITIALIZING, summarize
from core.kudu import iso_utc, timespan
from history.models import Run
from history.selectors import run_status
from jobs.models import (
    ContinuousStatus,
    Deployment,
    DeployStatus,
    Instance,
    InstanceStatus,
    WebJob,
)

# Kudu's "not yet ended" DateTime (Json.NET default(DateTime)).
KUDU_NO_END = "0001-01-01T00:00:00"


def run_json(
    run: Run, *, base: str, job: WebJob | None = None, data_dir: str = ""
) -> dict:
    """A run as Kudu's JSON. `data_dir`: its job's data folder, when the caller
    has it (a list of many jobs builds each path once)."""
    job = job or run.job
    end = run.end_time
    if end is None and run.is_active:
        duration = timespan(clock_now() - run.start_time)
    else:
        duration = timespan(end - run.start_time) if end else None
    folder = data_dir or str(job.data_dir)
    exists = os.path.exists(os.path.join(folder, run.run_id, "output_log.txt"))
    return {
        "id": run.run_id,
        "name": run.run_id,
        "status": run_status(run),
        "start_time": iso_utc(run.start_time),
        "end_time": iso_utc(end) if end else KUDU_NO_END,
        "duration": duration,
        "output_url": f"{base}{output_path(job, run.run_id)}" if exists else None,
        "error_url": None,  # Kudu writes stdout and stderr to output_log.txt
        "url": f"{base}/api/triggeredwebjobs/{job.name}/history/{run.run_id}",
        "job_name": job.name,
        "trigger": run.trigger,
        # Emulator additions (Kudu clients ignore unknown keys):
        "arguments": run.arguments,
        "exit_code": run.exit_code,
        "instance_id": run.instance_id[:6],
        # Why a run failed when its log says nothing (it could not be written).
        "message": run.message,
    }


def output_path(job: WebJob, run_id: str) -> str:
    return f"/vfs/data/jobs/{job.kind}/{job.name}/{run_id}/output_log.txt"


def job_json(job: WebJob, *, base: str, latest: Run | None) -> dict:
    data_dir = os.path.join(_data_root(), job.kind, job.name)  # job.data_dir
    has_log = os.path.exists(os.path.join(data_dir, "job_scheduler.log"))
    return {
        "latest_run": (
            run_json(latest, base=base, job=job, data_dir=data_dir) if latest else None
        ),
        "history_url": f"{base}/api/triggeredwebjobs/{job.name}/history",
        "scheduler_logs_url": (
            f"{base}/vfs/data/jobs/triggered/{job.name}/job_scheduler.log"
            if has_log
            else None
        ),
        "name": job.name,
        "run_command": job.run_command,
        "url": f"{base}/api/triggeredwebjobs/{job.name}",
        "extra_info_url": f"{base}/azurejobs/#/jobs/triggered/{job.name}",
        "type": job.kind,
        "error": job.error or None,
        "using_sdk": os.path.exists(os.path.join(data_dir, "webjobssdk.marker")),
        "settings": job.settings or {},
    }


def _data_root() -> str:
    """Where the jobs' data folders are (WebJob.data_dir's parent's parent), as
    a string: a list of a thousand jobs joins it a thousand times."""
    return os.path.join(settings.WEBJOBS_ROOT, "data", "jobs")


def webjob_list(*, kind: str | None = None) -> list[tuple[WebJob, Run | None]]:
    """Jobs with their newest run, in two queries whatever the number of jobs:
    the jobs, each with the id of its newest run (a subquery the index
    run_job_newest answers), then those runs only, not every job's history.

    Ordered by kind then name: triggered jobs first, then continuous, as Kudu's
    /api/webjobs lists them.
    """
    newest = Run.objects.filter(job=OuterRef("pk")).order_by("-run_id").values("pk")
    jobs = WebJob.objects.annotate(newest_run=Subquery(newest[:1]))
    if kind:
        jobs = jobs.filter(kind=kind)
    # Every column is read, those the JSON does not show too: leaving them out
    # (defer) made each row a deferred instance, which cost more than reading
    # them once timestamps load in C (config/postgresql/): 1,000 jobs, CPU of
    # the list in-process 48.3 -> 44.6 ms on PostgreSQL, 54.5 -> 53.1 on SQLite.
    jobs = list(jobs)
    ids = [job.newest_run for job in jobs if job.newest_run]
    runs = Run.objects.filter(pk__in=ids)
    runs = {run.pk: run for run in runs} if ids else {}
    for job in jobs:
        if job.newest_run in runs:
            runs[job.newest_run].job = job  # known: not one query per run
    return [(job, runs.get(job.newest_run)) for job in jobs]


def runs_newest_first() -> Prefetch:
    """Each job's runs, newest first, in one query for a page of jobs (at most
    WEBJOBS_HISTORY_SIZE each): `job._runs`."""
    return Prefetch("runs", queryset=Run.objects.order_by("-run_id"), to_attr="_runs")


# --- continuous jobs -------------------------------------------------------------


def live_instances():
    """Instances whose host heartbeated within WEBJOBS_LEASE_TIME (database time,
    as the hosts write it): a host that died no longer shows in statuses."""
    return Instance.objects.filter(
        heartbeat_at__gte=Now() - timedelta(seconds=settings.WEBJOBS_LEASE_TIME)
    )


def instance_statuses(jobs: list[WebJob]) -> dict[int, list[tuple[str, str]]]:
    """(instance id, status) per job, live instances only, in one query."""
    rows = InstanceStatus.objects.filter(
        job__in=jobs, instance_id__in=live_instances().values("instance_id")
    ).values_list("job_id", "instance_id", "status")
    found: dict[int, list[tuple[str, str]]] = {job.pk: [] for job in jobs}
    for job_id, instance_id, status in rows:
        found[job_id].append((instance_id, status))
    return found


def continuous_status(
    job: WebJob, statuses: list[tuple[str, str]] | None = None
) -> tuple[str, str]:
    """Kudu's `status` and `detailed_status` of a continuous job.

    With no live instance reporting, Kudu shows the local instance as
    Initializing; a job stopped on purpose (or WEBJOBS_STOPPED) shows Stopped.
    """
    if statuses is None:
        statuses = instance_statuses([job])[job.pk]
    fallback = (
        ContinuousStatus.STOPPED
        if job.is_stopped or settings.WEBJOBS_STOPPED
        else INITIALIZING
    )
    return summarize(
        statuses, local_instance=settings.WEBSITE_INSTANCE_ID, fallback=fallback
    )


def continuous_json(
    job: WebJob, *, base: str, statuses: list[tuple[str, str]] | None = None
) -> dict:
    status, detailed = continuous_status(job, statuses)
    return {
        "status": status,
        "detailed_status": detailed,
        "log_url": f"{base}{job_log_path(job)}",
        "name": job.name,
        "run_command": job.run_command,
        "url": f"{base}/api/continuouswebjobs/{job.name}",
        "extra_info_url": f"{base}/azurejobs/#/jobs/continuous/{job.name}",
        "type": job.kind,
        "error": job.error or None,
        "using_sdk": (job.data_dir / "webjobssdk.marker").exists(),
        "settings": job.settings or {},
    }


def continuous_list(*, base: str) -> list[dict]:
    jobs = list(WebJob.objects.filter(kind=WebJob.Kind.CONTINUOUS))
    statuses = instance_statuses(jobs)
    return [continuous_json(j, base=base, statuses=statuses[j.pk]) for j in jobs]


def job_log_path(job: WebJob) -> str:
    return f"/vfs/data/jobs/continuous/{job.name}/job_log.txt"


def webjob_latest_run(job: WebJob) -> Run | None:
    runs = getattr(job, "_runs", None)  # prefetched by runs_newest_first
    if runs is not None:
        return runs[0] if runs else None
    return job.runs.order_by("-run_id").first()


def run_history(job: WebJob) -> list[Run]:
    return list(job.runs.order_by("-run_id"))


# --- deployments (zip deployment, /api/deployments) ---------------------------------

_PROVISIONING = {
    DeployStatus.FAILED: "Failed",
    DeployStatus.SUCCESS: "Succeeded",
}


def deployment_active_id() -> str | None:
    """The deployment the site runs: the newest that succeeded (Kudu's active)."""
    return (
        Deployment.objects.filter(status=DeployStatus.SUCCESS)
        .order_by("-end_time")
        .values_list("pk", flat=True)
        .first()
    )


def deployment_json(
    deployment: Deployment, *, base: str | None, active_id: str | None
) -> dict:
    """Kudu's DeployResult (property order as declared; `status` an integer)."""
    success = deployment.status == DeployStatus.SUCCESS
    end = iso_utc(deployment.end_time) if deployment.end_time else None
    url = f"{base}/api/deployments/{deployment.id}" if base else None
    return {
        "id": deployment.id,
        "status": deployment.status,
        "status_text": deployment.status_text,
        "author_email": deployment.author_email,
        "author": deployment.author,
        "deployer": deployment.deployer,
        "message": deployment.message,
        "progress": "",
        "received_time": iso_utc(deployment.received_time),
        "start_time": (
            iso_utc(deployment.start_time) if deployment.start_time else None
        ),
        "end_time": end,
        "last_success_end_time": end if success else None,
        "complete": deployment.complete,
        "active": deployment.id == active_id,
        "is_temp": False,
        "is_readonly": True,
        "url": url,
        "log_url": f"{url}/log" if url else None,
        "site_name": settings.WEBSITE_SITE_NAME,
        "provisioningState": _PROVISIONING.get(deployment.status, "InProgress"),
        # Emulator addition: who pushed it (the Kudu user).
        "deployed_by": deployment.deployed_by,
    }


def deployment_log_json(deployment: Deployment) -> list[dict]:
    """Kudu's LogEntry list: log_time, id, message, type (0 info, 1 warning,
    2 error), details_url (the entries here have no details)."""
    return [
        {
            "log_time": entry["log_time"],
            "id": entry["id"],
            "message": entry["message"],
            "type": entry["type"],
            "details_url": None,
        }
        for entry in deployment.log
    ]
