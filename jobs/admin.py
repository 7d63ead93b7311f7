"""The portal's WebJobs blade, customised through admin hooks."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.db.models import Prefetch
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from history.services import RunConflict, RunRequestError, run_request
from jobs import selectors
from jobs.models import InstanceStatus, WebJob
from jobs.packaging import PackageError, validate_name
from jobs.services import (
    upload_spool,
    webjob_delete,
    webjob_deploy,
    webjob_start,
    webjob_stop,
)


class WebJobAddForm(forms.ModelForm):
    """Name, how to run, and the package; validated by the same code as the API."""

    package = forms.FileField(
        help_text="A zip, or a single script "
        "(.sh .py .js .php .jar .ps1 .cmd .bat .exe)."
    )
    arguments_help = None

    class Meta:
        model = WebJob
        fields = ["name", "kind"]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["kind"].label = "How to run"
        self.fields["kind"].choices = [
            ("triggered", "On demand (triggered)"),
            ("continuous", "Continuous"),
        ]
        if self.instance.pk:
            self.fields["name"].disabled = True
            self.fields["kind"].disabled = True
            self.fields["package"].help_text += " Uploading replaces the whole package."

    def clean_name(self) -> str:
        try:
            return validate_name(self.cleaned_data["name"])
        except PackageError as exc:
            raise forms.ValidationError(str(exc)) from None

    def _post_clean(self) -> None:
        """Deploy once the form itself is valid (a new name must be free; a new
        package for an existing job is uploaded on its change page)."""
        super()._post_clean()
        cleaned = self.cleaned_data
        package = cleaned.get("package")
        if self.errors or package is None:
            return
        upload = upload_spool(package)
        try:
            self.deployed = webjob_deploy(
                name=cleaned["name"],
                kind=cleaned["kind"],
                filename=package.name,
                upload=upload,
                is_zip=package.name.lower().endswith(".zip"),
                deployed_by=getattr(self, "username", ""),
            )
        except PackageError as exc:
            self.add_error("package", str(exc))
        finally:
            upload.unlink(missing_ok=True)


@admin.register(WebJob)
class WebJobAdmin(admin.ModelAdmin):
    form = WebJobAddForm
    list_display = ["name", "type_display", "status", "latest_run", "logs"]
    search_fields = ["name"]
    actions = [
        "run_selected",
        "start_selected",
        "stop_selected",
        "delete_selected_jobs",
    ]
    readonly_fields = [
        "run_command",
        "script_host",
        "error",
        "settings",
        "deployed_at",
        "deployed_by",
        "recent_runs",
        "instances",
    ]

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        form.username = request.user.get_username()
        return form

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["name", "kind", "package"]
        hidden = "recent_runs" if obj.kind == WebJob.Kind.CONTINUOUS else "instances"
        shown = [f for f in self.readonly_fields if f != hidden]
        return ["name", "kind", "package", *shown]

    def get_queryset(self, request):
        # The live instances' statuses of every job on the page, in one query.
        return (
            super()
            .get_queryset(request)
            .prefetch_related(
                Prefetch(
                    "instance_statuses",
                    queryset=InstanceStatus.objects.filter(
                        instance_id__in=selectors.live_instances().values("instance_id")
                    ),
                    to_attr="live_statuses",
                )
            )
        )

    def _instance_statuses(self, obj: WebJob) -> list[tuple[str, str]]:
        rows = getattr(obj, "live_statuses", None)
        if rows is None:
            return selectors.instance_statuses([obj])[obj.pk]
        return [(row.instance_id, row.status) for row in rows]

    def save_model(self, request, obj, form, change) -> None:
        obj.pk = form.deployed.pk  # webjob_deploy already saved it
        obj.refresh_from_db()

    def delete_model(self, request, obj) -> None:
        webjob_delete(name=obj.name, kind=obj.kind)

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    @admin.display(description="Type")
    def type_display(self, obj: WebJob) -> str:
        return obj.type_label

    def _latest(self, obj: WebJob):
        return selectors.webjob_latest_run(obj)

    @admin.display(description="Status")
    def status(self, obj: WebJob) -> str:
        if obj.error:
            return format_html(
                '<span style="color:#ba2121">Error: {}</span>', obj.error
            )
        if obj.kind == WebJob.Kind.CONTINUOUS:
            _, detailed = selectors.continuous_status(obj, self._instance_statuses(obj))
            return format_html_join(
                mark_safe("<br>"), "{}", ((line,) for line in detailed.splitlines())
            )
        latest = self._latest(obj)
        return selectors.run_status(latest) if latest else "Ready"

    @admin.display(description="Status on each instance")
    def instances(self, obj: WebJob) -> str:
        _, detailed = selectors.continuous_status(obj, self._instance_statuses(obj))
        state = "Stopped (until started)" if obj.is_stopped else "Started"
        return format_html(
            "{}<br>{}",
            state,
            format_html_join(
                mark_safe("<br>"), "{}", ((line,) for line in detailed.splitlines())
            ),
        )

    @admin.display(description="Latest run")
    def latest_run(self, obj: WebJob) -> str:
        if obj.kind == WebJob.Kind.CONTINUOUS:
            return "-"
        latest = self._latest(obj)
        if latest is None:
            return "-"
        url = reverse("admin:history_run_change", args=[latest.pk])
        return format_html(
            '<a href="{}">{}</a>',
            url,
            latest.start_time.strftime("%Y-%m-%d %H:%M:%S UTC"),
        )

    @admin.display(description="Logs")
    def logs(self, obj: WebJob) -> str:
        if obj.kind == WebJob.Kind.CONTINUOUS:
            return format_html('<a href="{}">Logs</a>', selectors.job_log_path(obj))
        url = reverse("admin:history_run_changelist") + f"?job__id__exact={obj.pk}"
        return format_html('<a href="{}">Logs</a>', url)

    @admin.display(description="Recent runs")
    def recent_runs(self, obj: WebJob) -> str:
        rows = [
            format_html(
                '<li><a href="{}">{}</a> {} {}</li>',
                reverse("admin:history_run_change", args=[r.pk]),
                r.run_id,
                selectors.run_status(r),
                r.trigger,
            )
            for r in obj.runs.order_by("-run_id")[:10]
        ]
        return format_html("<ul>{}</ul>", format_html("".join(rows))) if rows else "-"

    @admin.action(description="Run selected WebJobs")
    def run_selected(self, request, queryset) -> None:
        for job in queryset:
            try:
                run = run_request(
                    job=job,
                    trigger=f"External - {request.user.get_username()} (portal)",
                )
            except (RunConflict, RunRequestError) as exc:
                self.message_user(request, f"{job.name}: {exc}", messages.ERROR)
            else:
                self.message_user(request, f"{job.name}: run {run.run_id} started.")

    @admin.action(
        description="Start selected continuous WebJobs", permissions=["change"]
    )
    def start_selected(self, request, queryset) -> None:
        self._set_state(request, queryset, webjob_start, "started")

    @admin.action(
        description="Stop selected continuous WebJobs", permissions=["change"]
    )
    def stop_selected(self, request, queryset) -> None:
        self._set_state(request, queryset, webjob_stop, "stopped")

    def _set_state(self, request, queryset, service, done: str) -> None:
        for job in queryset:
            if job.kind != WebJob.Kind.CONTINUOUS:
                self.message_user(
                    request,
                    f"{job.name}: only continuous WebJobs are started and stopped; "
                    "run a triggered one.",
                    messages.WARNING,
                )
                continue
            service(job=job)
            self.message_user(request, f"{job.name}: {done}.")

    @admin.action(description="Delete selected WebJobs (with their history)")
    def delete_selected_jobs(self, request, queryset) -> None:
        for job in queryset:
            webjob_delete(name=job.name, kind=job.kind)
        self.message_user(request, f"Deleted {len(queryset)} WebJob(s).")
