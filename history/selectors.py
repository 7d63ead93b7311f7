"""Reads of WebJob runs: their status as Kudu reads it, durations, the newest
runs across jobs."""

from __future__ import annotations

from datetime import datetime

from django.db.models import QuerySet
from django.utils import timezone

from history.models import Run, RunStatus
from history.services import run_is_stale

FINAL_STATUSES = (RunStatus.SUCCESS, RunStatus.FAILED, RunStatus.ABORTED)
RECENT_RUNS = 25


def run_status(run: Run) -> str:
    """Kudu computes Aborted on read for a run whose host went away."""
    if run_is_stale(run, now=timezone.now()):
        return RunStatus.ABORTED
    return run.status


def recent_runs(
    *, status: str = "", job_id: int | None = None, limit: int = RECENT_RUNS
) -> QuerySet[Run]:
    """The newest runs across all jobs, optionally of one status or one job."""
    runs = Run.objects.select_related("job").order_by("-start_time", "-pk")
    if status:
        runs = runs.filter(status=status)
    if job_id is not None:
        runs = runs.filter(job_id=job_id)
    return runs[:limit]


def run_seconds(run: Run, *, now: datetime) -> float:
    """The run's duration, or how long it has been going so far."""
    end = run.end_time or now
    return max((end - run.start_time).total_seconds(), 0.0)
