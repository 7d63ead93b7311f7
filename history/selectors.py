"""Reads for the history dashboard: every job's latest status and success rate,
the most recent runs across jobs, and the bars of the duration chart."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Prefetch, QuerySet
from django.urls import reverse

from history.charts import Bar, Row, duration_text
from history.models import Run, RunStatus
from jobs.models import WebJob
from jobs.selectors import continuous_status, instance_statuses, run_status

FINAL_STATUSES = (RunStatus.SUCCESS, RunStatus.FAILED, RunStatus.ABORTED)
RECENT_RUNS = 25


@dataclass(frozen=True)
class JobSummary:
    """A WebJob and its kept runs (oldest first), with their statuses as read."""

    job: WebJob
    runs: list[Run]
    statuses: list[str]
    continuous_status: str = ""  # Kudu's status of a continuous job

    @property
    def latest(self) -> Run | None:
        return self.runs[-1] if self.runs else None

    @property
    def latest_status(self) -> str:
        return self.statuses[-1] if self.statuses else ""

    @property
    def finished(self) -> int:
        return sum(status in FINAL_STATUSES for status in self.statuses)

    @property
    def succeeded(self) -> int:
        return self.statuses.count(RunStatus.SUCCESS)

    @property
    def success_rate(self) -> float | None:
        """Successful runs over the finished runs kept (running ones do not count)."""
        return self.succeeded / self.finished if self.finished else None


def job_summaries() -> list[JobSummary]:
    """Every WebJob with its kept runs, in three queries: history is capped per
    job (WEBJOBS_HISTORY_SIZE), so fetching all kept runs stays small."""
    jobs = list(
        WebJob.objects.order_by("name", "kind").prefetch_related(
            Prefetch("runs", queryset=Run.objects.order_by("run_id"), to_attr="kept")
        )
    )
    continuous = [job for job in jobs if job.kind == WebJob.Kind.CONTINUOUS]
    statuses = instance_statuses(continuous)  # one query for all of them
    return [
        JobSummary(
            job=job,
            runs=job.kept,
            statuses=[run_status(r) for r in job.kept],
            continuous_status=(
                continuous_status(job, statuses[job.pk])[0]
                if job.kind == WebJob.Kind.CONTINUOUS
                else ""
            ),
        )
        for job in jobs
    ]


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


def chart_rows(summaries: list[JobSummary], *, now: datetime) -> list[Row]:
    """The duration chart's lines: triggered jobs (continuous ones have no runs)."""
    rows = []
    for summary in summaries:
        if summary.job.kind != WebJob.Kind.TRIGGERED:
            continue
        bars = [
            Bar(
                seconds=run_seconds(run, now=now),
                status=status,
                title=f"{run.run_id} {status}, "
                f"{duration_text(run_seconds(run, now=now))}",
                href=reverse("admin:history_run_change", args=[run.pk]),
            )
            for run, status in zip(summary.runs, summary.statuses, strict=True)
        ]
        rows.append(
            Row(
                name=summary.job.name,
                bars=bars,
                href=reverse("admin:jobs_webjob_change", args=[summary.job.pk]),
            )
        )
    return rows
