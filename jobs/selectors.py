"""Reads for WebJobs and runs, shaped as Kudu's JSON (snake_case, nulls emitted)."""

from __future__ import annotations

from django.db.models import Prefetch
from django.utils import timezone

from history.kudu import iso_utc, timespan
from history.models import Run, RunStatus
from history.services import run_is_stale
from jobs.models import WebJob
from scheduler.clock import clock_now

# Kudu's "not yet ended" DateTime (Json.NET default(DateTime)).
KUDU_NO_END = "0001-01-01T00:00:00"


def run_status(run: Run) -> str:
    """Kudu computes Aborted on read for a run whose host went away."""
    if run_is_stale(run, now=timezone.now()):
        return RunStatus.ABORTED
    return run.status


def run_json(run: Run, *, base: str, job: WebJob | None = None) -> dict:
    job = job or run.job
    end = run.end_time
    if end is None and run.is_active:
        duration = timespan(clock_now() - run.start_time)
    else:
        duration = timespan(end - run.start_time) if end else None
    exists = run.output_path.exists()
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
    }


def output_path(job: WebJob, run_id: str) -> str:
    return f"/vfs/data/jobs/{job.kind}/{job.name}/{run_id}/output_log.txt"


def job_json(job: WebJob, *, base: str, latest: Run | None) -> dict:
    scheduler_log = job.data_dir / "job_scheduler.log"
    return {
        "latest_run": run_json(latest, base=base, job=job) if latest else None,
        "history_url": f"{base}/api/triggeredwebjobs/{job.name}/history",
        "scheduler_logs_url": (
            f"{base}/vfs/data/jobs/triggered/{job.name}/job_scheduler.log"
            if scheduler_log.exists()
            else None
        ),
        "name": job.name,
        "run_command": job.run_command,
        "url": f"{base}/api/triggeredwebjobs/{job.name}",
        "extra_info_url": f"{base}/azurejobs/#/jobs/triggered/{job.name}",
        "type": job.kind,
        "error": job.error or None,
        "using_sdk": (job.data_dir / "webjobssdk.marker").exists(),
        "settings": job.settings or {},
    }


def webjob_list(*, kind: str | None = None) -> list[tuple[WebJob, Run | None]]:
    """Jobs with their newest run, in two queries (history is capped per job)."""
    jobs = WebJob.objects.all()
    if kind:
        jobs = jobs.filter(kind=kind)
    jobs = jobs.prefetch_related(
        Prefetch("runs", queryset=Run.objects.order_by("-run_id"), to_attr="_runs")
    )
    return [(job, job._runs[0] if job._runs else None) for job in jobs]


def webjob_latest_run(job: WebJob) -> Run | None:
    return job.runs.order_by("-run_id").first()


def run_history(job: WebJob) -> list[Run]:
    return list(job.runs.order_by("-run_id"))
