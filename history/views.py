"""The history dashboard: a page of the admin site (config/portal.py adds it)."""

from __future__ import annotations

from django import forms
from django.contrib.admin import AdminSite
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.utils.safestring import mark_safe

from history import selectors
from history.charts import duration_chart
from history.models import RunStatus
from jobs.models import WebJob
from jobs.selectors import run_status
from scheduler.clock import clock_now
from scheduler.selectors import job_summaries as scheduler_summaries


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
    summaries = selectors.job_summaries()
    shown = [s for s in summaries if job_id is None or s.job.pk == job_id]
    context = {
        **site.each_context(request),
        "title": "History dashboard",
        "filters": filters,
        "filtered": bool(status or job_id),
        "summaries": summaries,
        # history.charts escapes every text it puts in the SVG.
        "chart": mark_safe(duration_chart(selectors.chart_rows(shown, now=now))),
        "runs": [
            (run, run_status(run), selectors.run_seconds(run, now=now))
            for run in selectors.recent_runs(status=status, job_id=job_id)
        ],
        "scheduler_jobs": (
            scheduler_summaries()
            if request.user.has_perm("scheduler.view_job")
            else None
        ),
        "legend": ["Success", "Failed", "Running", "Aborted"],
    }
    return TemplateResponse(request, "portal/dashboard.html", context)
