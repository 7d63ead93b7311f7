"""The portal's Scheduler blade: collections, jobs and their history.

Jobs are read-only here: their state changes through the Run now / Enable /
Disable actions, which call the same services as the ARM API. Creating and
editing a job's recurrence in a form is not offered yet (use the API or
`manage.py schedule create`); history is read-only, as everywhere.
"""

from __future__ import annotations

import json

from django.contrib import admin, messages
from django.db.models import Count, QuerySet
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from history.kudu import iso_utc
from scheduler.clock import clock_now
from scheduler.definitions import redact
from scheduler.models import CollectionState, Job, JobCollection, JobHistory, JobState
from scheduler.selectors import job_description, job_upcoming
from scheduler.services import (
    Conflict,
    collection_set_state,
    job_delete,
    job_run_now,
    job_set_state,
)

UPCOMING = 5
MESSAGE_CHARS = 80


class ReadOnlyMixin:
    """No add or change form: writes go through the services (actions, API)."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(JobCollection)
class JobCollectionAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = [
        "name",
        "subscription_id",
        "resource_group",
        "sku",
        "state",
        "quota_usage",
        "jobs_link",
    ]
    list_filter = ["state", "sku"]
    search_fields = ["name", "subscription_id", "resource_group"]
    actions = ["enable_selected", "disable_selected"]
    fields = [
        "name",
        "subscription_id",
        "resource_group",
        "location",
        "sku",
        "state",
        "quota_usage",
        "max_recurrence",
        "tags",
        "created_at",
        "jobs_link",
    ]
    readonly_fields = fields

    def get_queryset(self, request) -> QuerySet[JobCollection]:
        return super().get_queryset(request).annotate(job_count=Count("jobs"))

    @admin.display(description="Quota usage", ordering="job_count")
    def quota_usage(self, obj: JobCollection) -> str:
        return f"{obj.job_count} / {obj.effective_max_job_count}"

    @admin.display(description="Most frequent recurrence")
    def max_recurrence(self, obj: JobCollection) -> str:
        frequency, interval = obj.effective_max_recurrence
        return f"every {interval} {frequency.lower()}{'s' if interval != 1 else ''}"

    @admin.display(description="Jobs")
    def jobs_link(self, obj: JobCollection) -> str:
        url = reverse("admin:scheduler_job_changelist")
        return format_html(
            '<a href="{}?collection__id__exact={}">Jobs</a>', url, obj.pk
        )

    @admin.action(description="Enable selected collections (and their jobs)")
    def enable_selected(self, request, queryset) -> None:
        self._set_state(request, queryset, CollectionState.ENABLED)

    @admin.action(description="Disable selected collections (and their jobs)")
    def disable_selected(self, request, queryset) -> None:
        self._set_state(request, queryset, CollectionState.DISABLED)

    def _set_state(self, request, queryset, state: str) -> None:
        for collection in queryset:
            collection_set_state(collection=collection, state=state)
        self.message_user(request, f"{len(queryset)} collection(s) {state}.")


@admin.register(Job)
class JobAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = [
        "name",
        "collection",
        "state",
        "schedule",
        "next_execution",
        "execution_count",
        "failure_count",
        "faulted_count",
    ]
    list_filter = ["state", "collection"]
    list_select_related = ["collection"]
    search_fields = ["name", "collection__name"]
    actions = ["run_now", "enable_selected", "disable_selected"]
    fields = [
        "collection",
        "name",
        "state",
        "schedule",
        "start_time",
        "next_execution",
        "upcoming",
        "action_json",
        "recurrence_json",
        "cron",
        "cron_time_zone",
        "webjob",
        "execution_count",
        "failure_count",
        "faulted_count",
        "last_execution_time",
        "created_at",
        "updated_at",
        "history_link",
    ]
    readonly_fields = fields

    def delete_model(self, request, obj: Job) -> None:
        job_delete(job=obj)

    def delete_queryset(self, request, queryset) -> None:
        for job in queryset:
            job_delete(job=job)

    @admin.display(description="Schedule")
    def schedule(self, obj: Job) -> str:
        return job_description(obj)

    @admin.display(description="Next execution", ordering="next_fire_at")
    def next_execution(self, obj: Job) -> str:
        if obj.state != JobState.ENABLED or obj.next_fire_at is None:
            return "-"
        return iso_utc(obj.next_fire_at)

    @admin.display(description=f"Next {UPCOMING} occurrences")
    def upcoming(self, obj: Job) -> str:
        times = job_upcoming(obj, now=clock_now(), count=UPCOMING)
        if not times:
            return (
                "None: the job is over."
                if obj.state in (JobState.COMPLETED, JobState.FAULTED)
                else "None"
            )
        items = format_html_join("", "<li>{}</li>", ((iso_utc(t),) for t in times))
        note = (
            " (Disabled: these run only once it is enabled)"
            if (obj.state == JobState.DISABLED)
            else ""
        )
        return format_html("<ul>{}</ul>{}", items, note)

    @admin.display(description="Action")
    def action_json(self, obj: Job) -> str:
        return _pre(redact(obj.action))  # secrets never leave the emulator

    @admin.display(description="Recurrence")
    def recurrence_json(self, obj: Job) -> str:
        return _pre(obj.recurrence) if obj.recurrence else "-"

    @admin.display(description="History")
    def history_link(self, obj: Job) -> str:
        url = reverse("admin:scheduler_jobhistory_changelist")
        count = obj.history.count()
        return format_html(
            '<a href="{}?job__id__exact={}">{} entries</a>', url, obj.pk, count
        )

    @admin.action(description="Run now")
    def run_now(self, request, queryset) -> None:
        for job in queryset.select_related("collection"):
            job_run_now(job=job)
            self.message_user(request, f"{job}: run requested.")

    @admin.action(description="Enable selected jobs")
    def enable_selected(self, request, queryset) -> None:
        self._set_state(request, queryset, JobState.ENABLED)

    @admin.action(description="Disable selected jobs")
    def disable_selected(self, request, queryset) -> None:
        self._set_state(request, queryset, JobState.DISABLED)

    def _set_state(self, request, queryset, state: str) -> None:
        for job in queryset.select_related("collection"):
            try:
                job_set_state(job=job, state=state)
            except Conflict as exc:
                self.message_user(request, f"{job}: {exc}", messages.ERROR)
            else:
                self.message_user(request, f"{job}: {job.state}.")


@admin.register(JobHistory)
class JobHistoryAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = [
        "job",
        "start_time",
        "action_name",
        "status",
        "retry_count",
        "short_message",
    ]
    list_filter = ["status", "job"]
    list_select_related = ["job__collection"]
    fields = [
        "job",
        "start_time",
        "end_time",
        "expected_execution_time",
        "action_name",
        "status",
        "retry_count",
        "repeat_count",
        "message",
    ]
    readonly_fields = fields

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="Message")
    def short_message(self, obj: JobHistory) -> str:
        text = " ".join(obj.message.split())
        return text if len(text) <= MESSAGE_CHARS else text[: MESSAGE_CHARS - 1] + "…"


def _pre(value: object) -> str:
    return format_html("<pre>{}</pre>", json.dumps(value, indent=2))
