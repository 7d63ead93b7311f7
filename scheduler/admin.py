"""The portal's Scheduler blade: collections, jobs and their history.

A job is created and edited with a recurrence form (scheduler.forms.JobForm)
that builds the ARM body and calls job_put, the API's own validator; its state
changes through Run now / Enable / Disable, the same services as the ARM API.
Collections are created with a plan; history is read-only, as everywhere.
"""

from __future__ import annotations

import json

from django.contrib import admin, messages
from django.db.models import Count, QuerySet
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from config.clock import clock_now
from config.portal import Tool, object_action, schedule_html, status_pill
from core.definitions import redact
from core.kudu import iso_utc
from core.ncrontab import cron_words_or_text
from scheduler.forms import CollectionForm, JobForm
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
class JobCollectionAdmin(admin.ModelAdmin):
    """Collections are created here with their plan (collection_put); a plan or
    quota change goes through the API, state through the actions."""

    form = CollectionForm
    list_display = [
        "name",
        "subscription_id",
        "resource_group",
        "sku",
        "state_display",
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
    add_fields = ["subscription_id", "resource_group", "name", "location", "sku"]

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # no change form: the plan and quota change through the API

    def has_state_permission(self, request) -> bool:
        """Enable / Disable: the model's change permission, without a form."""
        opts = self.opts
        return request.user.has_perm(f"{opts.app_label}.change_{opts.model_name}")

    def get_fields(self, request, obj=None):
        return self.add_fields if obj is None else self.fields

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else self.readonly_fields

    def save_model(self, request, obj, form, change) -> None:
        obj.pk = form.saved.pk  # collection_put already saved it
        obj.refresh_from_db()

    def get_queryset(self, request) -> QuerySet[JobCollection]:
        return super().get_queryset(request).annotate(job_count=Count("jobs"))

    @admin.display(description="State", ordering="state")
    def state_display(self, obj: JobCollection) -> str:
        return status_pill(obj.state)

    @admin.display(description="Quota usage", ordering="job_count")
    def quota_usage(self, obj: JobCollection) -> str:
        return f"{obj.job_count} / {obj.effective_max_job_count}"

    @admin.display(description="Most frequent recurrence")
    def max_recurrence(self, obj: JobCollection) -> str:
        frequency, interval = obj.effective_max_recurrence
        return f"every {interval} {frequency.lower()}{'s' if interval != 1 else ''}"

    @admin.display(description="Jobs")
    def jobs_link(self, obj: JobCollection) -> str:
        return format_html(
            '<a href="{}?collection__id__exact={}">Jobs</a> · '
            '<a href="{}?collection={}">Add a job</a>',
            reverse("admin:scheduler_job_changelist"),
            obj.pk,
            reverse("admin:scheduler_job_add"),
            obj.pk,
        )

    @admin.action(
        description="Enable selected collections (and their jobs)",
        permissions=["state"],
    )
    def enable_selected(self, request, queryset) -> None:
        self._set_state(request, queryset, CollectionState.ENABLED)

    @admin.action(
        description="Disable selected collections (and their jobs)",
        permissions=["state"],
    )
    def disable_selected(self, request, queryset) -> None:
        self._set_state(request, queryset, CollectionState.DISABLED)

    def _set_state(self, request, queryset, state: str) -> None:
        for collection in queryset:
            collection_set_state(collection=collection, state=state)
        self.message_user(request, f"{len(queryset)} collection(s) {state}.")


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    """Jobs with a recurrence form (scheduler.forms.JobForm builds the ARM body and
    calls job_put); a scheduled WebJob's timer (a CRON job) is read-only here,
    its schedule lives in the WebJob's settings.job."""

    form = JobForm
    change_form_template = "portal/change_form.html"
    list_display = [
        "name",
        "collection",
        "state_display",
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
    status_fields = [
        "state_display",
        "schedule",
        "start_display",
        "next_execution",
        "upcoming",
        "execution_count",
        "failure_count",
        "faulted_count",
        "last_execution_time",
        "history_link",
        "created_at",
        "updated_at",
    ]
    definition_fields = ["action_json", "recurrence_json", "cron", "cron_time_zone"]
    readonly_fields = [*status_fields, *definition_fields, "collection", "name"]
    form_fieldsets = [
        (None, {"fields": ["collection", "name"]}),
        ("When", {"fields": ["schedule_type", "start", "start_at"]}),
        (
            "Repeat",
            {
                "fields": [
                    ("interval", "frequency"),
                    "hours",
                    "minutes",
                    "week_days",
                    "month_days",
                    "month_weeks",
                    "month_weekdays",
                ],
                "description": "For a recurring job; leave what you do not need.",
            },
        ),
        ("End", {"fields": ["end", "end_at", "count"]}),
        (
            "Action",
            {
                "fields": [
                    "action_type",
                    "url",
                    "method",
                    "body",
                    "webjob_name",
                    "arguments",
                    "queue_account",
                    "queue_name",
                    "queue_sas_token",
                    "queue_message",
                ]
            },
        ),
    ]

    def has_change_permission(self, request, obj=None) -> bool:
        if obj is not None and obj.cron:
            return False  # a WebJob's timer: change the WebJob's schedule instead
        return super().has_change_permission(request, obj)

    def has_state_permission(self, request, obj=None) -> bool:
        """Enable / Disable: the change permission, timers included."""
        return super().has_change_permission(request, obj)

    def has_run_permission(self, request, obj=None) -> bool:
        """Run now executes the action: the run permission (config/permissions.py)."""
        return request.user.has_perm("scheduler.run_job")

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        if self.has_change_permission(request, obj):
            return [*self.status_fields, *self.definition_fields]
        return self.readonly_fields

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return self.form_fieldsets
        status = ("Status", {"fields": self.status_fields})
        if not self.has_change_permission(request, obj):
            return [
                (None, {"fields": ["collection", "name"]}),
                status,
                ("Definition", {"fields": self._definition_fields(obj)}),
            ]
        return [*self.form_fieldsets, status]

    def _definition_fields(self, obj: Job) -> list[str]:
        if obj.cron:
            return ["cron", "cron_time_zone", "webjob", "action_json"]
        return ["action_json", "recurrence_json"]

    def get_urls(self):
        def view(perform, permission="state"):
            def handler(request, object_id):
                return object_action(
                    self,
                    request,
                    object_id,
                    lambda job: perform(request, job),
                    permission=permission,
                )

            return self.admin_site.admin_view(handler)

        return [
            path(
                "<path:object_id>/run-now/",
                view(self._run_now, permission="run"),
                name="scheduler_job_run_now",
            ),
            path(
                "<path:object_id>/enable/",
                view(self._enable),
                name="scheduler_job_enable",
            ),
            path(
                "<path:object_id>/disable/",
                view(self._disable),
                name="scheduler_job_disable",
            ),
            *super().get_urls(),
        ]

    def render_change_form(
        self, request, context, add=False, change=False, form_url="", obj=None
    ):
        context["portal_tools"] = self._tools(request, obj) if obj else []
        return super().render_change_form(request, context, add, change, form_url, obj)

    def _tools(self, request, obj: Job) -> list[Tool]:
        tools = []
        if self.has_run_permission(request, obj):
            url = reverse("admin:scheduler_job_run_now", args=[obj.pk])
            tools.append(Tool("Run now", url))
        if not self.has_state_permission(request, obj):
            return tools
        if obj.state == JobState.ENABLED:
            tools.append(
                Tool("Disable", reverse("admin:scheduler_job_disable", args=[obj.pk]))
            )
        elif obj.state == JobState.DISABLED:
            tools.append(
                Tool("Enable", reverse("admin:scheduler_job_enable", args=[obj.pk]))
            )
        return tools

    def _run_now(self, request, job: Job) -> None:
        job_run_now(job=job)
        self.message_user(request, f"{job}: run requested.")

    def _enable(self, request, job: Job) -> None:
        self._set_state(request, Job.objects.filter(pk=job.pk), JobState.ENABLED)

    def _disable(self, request, job: Job) -> None:
        self._set_state(request, Job.objects.filter(pk=job.pk), JobState.DISABLED)

    def save_model(self, request, obj, form, change) -> None:
        obj.pk = form.saved.pk  # job_put already saved it, validated
        obj.refresh_from_db()

    def delete_model(self, request, obj: Job) -> None:
        job_delete(job=obj)

    def delete_queryset(self, request, queryset) -> None:
        for job in queryset:
            job_delete(job=job)

    @admin.display(description="State", ordering="state")
    def state_display(self, obj: Job) -> str:
        return status_pill(obj.state)

    @admin.display(description="Schedule")
    def schedule(self, obj: Job) -> str:
        if not obj.cron:
            return job_description(obj)
        # A WebJob's timer: its CRON in words, then Kudu's expanded form.
        return schedule_html(
            cron_words_or_text(obj.cron), obj.cron_time_zone, job_description(obj)
        )

    @admin.display(description="Start time", ordering="start_time")
    def start_display(self, obj: Job) -> str:
        if obj.start_time is not None:
            return iso_utc(obj.start_time)
        if obj.cron:
            return "-"
        return "None: the job ran once when created, then follows its schedule"

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
        return format_html('<ul class="portal-upcoming">{}</ul>{}', items, note)

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

    @admin.action(description="Run now", permissions=["run"])
    def run_now(self, request, queryset) -> None:
        for job in queryset.select_related("collection"):
            job_run_now(job=job)
            self.message_user(request, f"{job}: run requested.")

    @admin.action(description="Enable selected jobs", permissions=["state"])
    def enable_selected(self, request, queryset) -> None:
        self._set_state(request, queryset, JobState.ENABLED)

    @admin.action(description="Disable selected jobs", permissions=["state"])
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
        "status_display",
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
        "status_display",
        "retry_count",
        "repeat_count",
        "message",
    ]
    readonly_fields = fields

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="Status", ordering="status")
    def status_display(self, obj: JobHistory) -> str:
        return status_pill(obj.status)

    @admin.display(description="Message")
    def short_message(self, obj: JobHistory) -> str:
        text = " ".join(obj.message.split())
        return text if len(text) <= MESSAGE_CHARS else text[: MESSAGE_CHARS - 1] + "…"


def _pre(value: object) -> str:
    return format_html('<pre class="portal-json">{}</pre>', json.dumps(value, indent=2))
