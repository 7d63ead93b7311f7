"""The history dashboard: a page of the portal across apps (WebJob runs, the
continuous jobs' statuses and the scheduler's jobs), added to the admin site by
emulator/site.py."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django import forms
from django.contrib.admin import AdminSite
from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.safestring import mark_safe

from config.clock import clock_now
from core.charts import Bar, Row, duration_chart, duration_text
from history.models import Run, RunStatus
from history.selectors import (
    FINAL_STATUSES,
    recent_runs,
    run_seconds,
    run_status,
)
from jobs.models import WebJob
from jobs.selectors import continuous_status, instance_statuses
from scheduler.selectors import job_summaries as scheduler_summaries


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


class DashboardFilter(forms.Form):
    status = forms.ChoiceField(
        required=False, choices=[("", "All statuses"), *RunStatus.choices]
    )
    job = forms.ModelChoiceField(
        required=False,
        queryset=WebJob.objects.filter(kind=WebJob.Kind.TRIGGERED).order_by("name"),
        empty_label="All jobs",
    )


def dashboard(request, site: AdminSite):
    """Every job's latest status and success rate, recent runs, their durations."""
    if not request.user.has_perm("history.view_run"):
        raise PermissionDenied
    filters = DashboardFilter(request.GET or None)
    status, job = "", None
    if filters.is_valid():
        status, job = filters.cleaned_data["status"], filters.cleaned_data["job"]
    job_id = job.pk if job else None
    now = clock_now()
    summaries = job_summaries()
    shown = [s for s in summaries if job_id is None or s.job.pk == job_id]
    context = {
        **site.each_context(request),
        "title": "History dashboard",
        "filters": filters,
        "filtered": bool(status or job_id),
        "summaries": summaries,
        # core.charts escapes every text it puts in the SVG.
        "chart": mark_safe(duration_chart(chart_rows(shown, now=now))),
        "runs": [
            (run, run_status(run), run_seconds(run, now=now))
            for run in recent_runs(status=status, job_id=job_id)
        ],
        "scheduler_jobs": (
            scheduler_summaries()
            if request.user.has_perm("scheduler.view_job")
            else None
        ),
        "legend": ["Success", "Failed", "Running", "Aborted"],
    }
    return TemplateResponse(request, "portal/dashboard.html", context)
