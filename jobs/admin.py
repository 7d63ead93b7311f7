"""The portal's WebJobs blade, customised through admin hooks.

One list of every WebJob (name, type, status, schedule in words, latest run,
logs) with row actions: Run (with arguments, on its own page), Start / Stop,
Delete (Django's confirmation page). Add and change take a package upload,
validated by the same code as the Kudu API; "How to run: Scheduled" is a
triggered job with a CRON schedule in its settings.job, as in Kudu.
"""

from __future__ import annotations

import shlex
from pathlib import PurePosixPath

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from config.clock import clock_now
from config.portal import Tool, object_action, schedule_html, status_pill
from core.charts import duration_text
from core.kudu import iso_utc
from core.ncrontab import cron_words_or_text
from core.packaging import PackageError, validate_name, validate_settings
from history.selectors import run_seconds, run_status
from history.services import RunConflict, RunRequestError
from jobs import selectors
from jobs.hooks import webjob_timer
from jobs.models import ApiToken, InstanceStatus, WebJob
from jobs.processes import job_runtime
from jobs.services import (
    run_request,
    upload_spool,
    webjob_delete,
    webjob_deploy,
    webjob_settings_put,
    webjob_start,
    webjob_stop,
)
from jobs.tokens import token_revoke

SCHEDULED = "scheduled"  # "How to run": triggered, with a CRON in settings.job
ERR_SCHEDULE_REQUIRED = (
    "Enter a CRON schedule (six fields, seconds first: 0 */15 * * * * is every "
    "15 minutes), or choose another way to run."
)
RECENT_RUNS = 10


def _run_trigger(request) -> str:
    return f"External - {request.user.get_username()} (portal)"


class WebJobAddForm(forms.ModelForm):
    """Name, how to run, and the package; validated by the same code as the API."""

    wants_schedule = False  # set by clean_kind: "Scheduled" was chosen

    package = forms.FileField(
        help_text="A zip, or a single script "
        "(.sh .py .js .php .jar .ps1 .cmd .bat .exe)."
    )
    schedule = forms.CharField(
        label="CRON schedule",
        required=False,
        widget=forms.TextInput(attrs={"placeholder": "0 */15 * * * *"}),
        help_text="For Scheduled: NCRONTAB, seconds first: {second} {minute} "
        "{hour} {day} {month} {day-of-week}, in UTC. Kept in the job's settings.job.",
    )

    class Meta:
        model = WebJob
        fields = ["name", "kind"]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # A view-only user's form has no editable fields: each one may be absent.
        kind = self.fields.get("kind")
        if kind is not None:
            kind.label = "How to run"
            kind.choices = [
                ("triggered", "On demand (triggered)"),
                ("continuous", "Continuous"),
                (SCHEDULED, "Scheduled (triggered on a CRON schedule)"),
            ]
        job = self.instance
        if not job.pk:
            return
        if "name" in self.fields:
            self.fields["name"].disabled = True
        if "package" in self.fields:
            self.fields["package"].required = False
            self.fields["package"].help_text += " Uploading replaces the whole package."
        if job.kind == WebJob.Kind.CONTINUOUS:
            self.fields.pop("schedule", None)
            if kind is not None:
                kind.disabled = True
        elif kind is not None:  # a triggered job switches on demand <-> scheduled
            kind.choices = [kind.choices[0], kind.choices[2]]
            self.initial["kind"] = SCHEDULED if job.schedule else "triggered"
            self.initial["schedule"] = job.schedule or ""

    def clean_name(self) -> str:
        try:
            return validate_name(self.cleaned_data["name"])
        except PackageError as exc:
            raise forms.ValidationError(str(exc)) from None

    def clean_kind(self) -> str:
        """Scheduled is a triggered job (the model's kind) with a schedule."""
        self.wants_schedule = self.cleaned_data["kind"] == SCHEDULED
        return (
            WebJob.Kind.TRIGGERED if self.wants_schedule else self.cleaned_data["kind"]
        )

    def clean_schedule(self) -> str:
        """The settings.job validator of the API: same rules, same messages."""
        cron = " ".join(self.cleaned_data.get("schedule", "").split())
        if self.wants_schedule:
            if not cron:
                raise forms.ValidationError(ERR_SCHEDULE_REQUIRED)
            try:
                validate_settings({"schedule": cron}, kind=WebJob.Kind.TRIGGERED)
            except PackageError as exc:
                raise forms.ValidationError(str(exc)) from None
        return cron

    def _post_clean(self) -> None:
        """Deploy once the form itself is valid, then apply how to run."""
        super()._post_clean()
        if self.errors:
            return
        cleaned = self.cleaned_data
        package = cleaned.get("package")
        self.deployed = self.instance if self.instance.pk else None
        if package is not None:
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
                return
            finally:
                upload.unlink(missing_ok=True)
        if self.deployed is not None and "schedule" in self.fields:
            self._apply_schedule(self.deployed, uploaded=package is not None)

    def _apply_schedule(self, job: WebJob, *, uploaded: bool) -> None:
        """Scheduled: the CRON goes into settings.job. On demand: a schedule is
        removed, unless a package just uploaded brought its own settings.job."""
        settings = dict(job.settings or {})
        if self.wants_schedule:
            settings["schedule"] = self.cleaned_data["schedule"]
        elif not uploaded:
            settings.pop("schedule", None)
        if settings != (job.settings or {}):
            try:
                webjob_settings_put(job=job, raw=settings)
            except PackageError as exc:
                self.add_error("schedule", str(exc))


class RunForm(forms.Form):
    arguments = forms.CharField(
        required=False,
        label="Arguments",
        widget=forms.TextInput(attrs={"size": 60, "autofocus": True}),
        help_text="Optional; split as a shell would (quotes group words), passed "
        "to the script after its name.",
    )


@admin.register(WebJob)
class WebJobAdmin(admin.ModelAdmin):
    form = WebJobAddForm
    change_form_template = "portal/change_form.html"
    list_display = [
        "name",
        "type_display",
        "status",
        "schedule_words",
        "latest_run",
        "source_display",
        "logs",
    ]
    list_display_links = ["name"]
    search_fields = ["name"]
    # Django's own delete_selected stays: it asks for confirmation, then calls
    # delete_queryset (webjob_delete: package, history and logs go too).
    actions = ["run_selected", "start_selected", "stop_selected"]
    readonly_fields = [
        "type_display",
        "status",
        "schedule_words",
        "next_run",
        "command",
        "error",
        "settings",
        "deployed",
        "source_display",
        "last_run",
        "recent_runs",
        "instances",
    ]

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        form.username = request.user.get_username()
        return form

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["name", "kind", "schedule", "package"]
        if obj.kind == WebJob.Kind.CONTINUOUS:
            hidden = {"schedule_words", "next_run", "last_run", "recent_runs"}
            head = ["name", "kind", "package"]
        else:
            hidden = {"instances"}
            head = ["name", "kind", "schedule", "package"]
        if not self.has_change_permission(request, obj):
            head = ["name", "kind"]
        return [*head, *(f for f in self.readonly_fields if f not in hidden)]

    def get_queryset(self, request):
        # The latest runs and the live instances' statuses of every job on the
        # page, a query each (not two per row).
        return (
            super()
            .get_queryset(request)
            .prefetch_related(
                selectors.runs_newest_first(),
                Prefetch(
                    "instance_statuses",
                    queryset=InstanceStatus.objects.filter(
                        instance_id__in=selectors.live_instances().values("instance_id")
                    ),
                    to_attr="live_statuses",
                ),
            )
        )

    def has_run_permission(self, request, obj=None) -> bool:
        """Running code is its own permission (config/permissions.py)."""
        return request.user.has_perm("jobs.run_webjob")

    def get_list_display(self, request):
        """Row actions, as far as the user's permissions go."""
        can = {
            "run": self.has_run_permission(request),
            "change": self.has_change_permission(request),
            "delete": self.has_delete_permission(request),
        }
        if not any(can.values()):
            return self.list_display

        @admin.display(description="Actions")
        def row_actions(obj: WebJob) -> str:
            return self._row_actions(obj, can)

        return [*self.list_display, row_actions]

    def _row_actions(self, obj: WebJob, can: dict[str, bool]) -> str:
        # The buttons sit inside the changelist's form: `formaction` posts it (and
        # its CSRF token) to the job's own Start / Stop view instead.
        buttons = []
        if obj.kind == WebJob.Kind.TRIGGERED:
            if can["run"]:
                url = reverse("admin:jobs_webjob_run", args=[obj.pk])
                buttons.append(format_html('<a href="{}">Run…</a>', url))
        elif can["change"]:
            verb = "start" if obj.is_stopped else "stop"
            url = reverse(f"admin:jobs_webjob_{verb}", args=[obj.pk]) + "?next=list"
            buttons.append(
                format_html(
                    '<button type="submit" formaction="{}" formmethod="post">'
                    "{}</button>",
                    url,
                    verb.capitalize(),
                )
            )
        if can["delete"]:
            url = reverse("admin:jobs_webjob_delete", args=[obj.pk])
            buttons.append(
                format_html('<a class="portal-danger" href="{}">Delete…</a>', url)
            )
        return format_html(
            '<span class="portal-actions">{}</span>', mark_safe("".join(buttons))
        )

    def get_urls(self):
        def state(service, done: str):
            def view(request, object_id):
                to_list = request.GET.get("next") == "list"
                return object_action(
                    self,
                    request,
                    object_id,
                    lambda job: self._set_one(request, job, service, done),
                    redirect_to=(
                        reverse("admin:jobs_webjob_changelist") if to_list else None
                    ),
                )

            return self.admin_site.admin_view(view)

        return [
            path(
                "<path:object_id>/run/",
                self.admin_site.admin_view(self.run_view),
                name="jobs_webjob_run",
            ),
            path(
                "<path:object_id>/start/",
                state(webjob_start, "started"),
                name="jobs_webjob_start",
            ),
            path(
                "<path:object_id>/stop/",
                state(webjob_stop, "stopped"),
                name="jobs_webjob_stop",
            ),
            *super().get_urls(),
        ]

    def run_view(self, request, object_id: str):
        """Run a triggered job with optional arguments, then show the run live."""
        job = self.get_object(request, object_id)
        if job is None or job.kind != WebJob.Kind.TRIGGERED:
            raise Http404("No triggered WebJob with that id.")
        if not self.has_run_permission(request, job):
            raise PermissionDenied
        form = RunForm(request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            try:
                run = run_request(
                    job=job,
                    trigger=_run_trigger(request),
                    arguments=form.cleaned_data["arguments"],
                )
            except RunRequestError as exc:
                form.add_error("arguments", str(exc))
            except RunConflict as exc:
                form.add_error(None, str(exc))
            else:
                self.message_user(request, f"{job.name}: run {run.run_id} started.")
                return redirect("admin:history_run_change", run.pk)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Run {job.name}",
            "opts": self.opts,
            "job": job,
            "form": form,
            "command": self.command(job),
        }
        return TemplateResponse(request, "portal/webjob_run.html", context)

    def render_change_form(
        self, request, context, add=False, change=False, form_url="", obj=None
    ):
        context["portal_tools"] = self._tools(request, obj) if obj else []
        return super().render_change_form(request, context, add, change, form_url, obj)

    def _tools(self, request, obj: WebJob) -> list[Tool]:
        if obj.kind == WebJob.Kind.TRIGGERED:
            if not self.has_run_permission(request, obj):
                return []
            url = reverse("admin:jobs_webjob_run", args=[obj.pk])
            return [Tool("Run…", url, post=False)]
        if not self.has_change_permission(request, obj):
            return []
        verb = "start" if obj.is_stopped else "stop"
        url = reverse(f"admin:jobs_webjob_{verb}", args=[obj.pk])
        return [Tool(verb.capitalize(), url)]

    def _instance_statuses(self, obj: WebJob) -> list[tuple[str, str]]:
        rows = getattr(obj, "live_statuses", None)
        if rows is None:
            return selectors.instance_statuses([obj])[obj.pk]
        return [(row.instance_id, row.status) for row in rows]

    def save_model(self, request, obj, form, change) -> None:
        obj.pk = form.deployed.pk  # webjob_deploy already saved it
        obj.refresh_from_db()

    def get_deleted_objects(self, objs, request):
        """A WebJob's runs, statuses and timer go with it, as through the API;
        read-only history needs no delete permission of its own for that."""
        deleted, counts, _, protected = super().get_deleted_objects(objs, request)
        return deleted, counts, set(), protected

    def delete_model(self, request, obj) -> None:
        webjob_delete(name=obj.name, kind=obj.kind)

    def delete_queryset(self, request, queryset) -> None:
        for job in queryset:
            webjob_delete(name=job.name, kind=job.kind)

    @admin.display(description="Type")
    def type_display(self, obj: WebJob) -> str:
        return obj.type_label

    @admin.display(description="Status")
    def status(self, obj: WebJob) -> str:
        if obj.error:
            return format_html(
                '<span class="status-pill status-error">Error: {}</span>', obj.error
            )
        if obj.kind == WebJob.Kind.CONTINUOUS:
            overall, detailed = selectors.continuous_status(
                obj, self._instance_statuses(obj)
            )
            return format_html(
                '{}<div class="portal-note">{}</div>',
                status_pill(overall),
                format_html_join(
                    mark_safe("<br>"), "{}", ((ln,) for ln in detailed.splitlines())
                ),
            )
        latest = selectors.webjob_latest_run(obj)
        return status_pill(run_status(latest)) if latest else "Ready"

    @admin.display(description="Schedule")
    def schedule_words(self, obj: WebJob) -> str:
        if not obj.schedule:
            return "-"
        zone = (obj.settings or {}).get("schedule_time_zone") or ""
        return schedule_html(cron_words_or_text(obj.schedule), zone, obj.schedule)

    @admin.display(description="Next scheduled run")
    def next_run(self, obj: WebJob) -> str:
        """From the job's timer: a scheduled WebJob is a scheduler job."""
        timer = webjob_timer(obj)
        if timer is None:
            return "-"
        when = iso_utc(timer.next_fire_at) if timer.next_fire_at else "none"
        return format_html(
            '{} (<a href="{}">the timer and its next occurrences</a>)', when, timer.url
        )

    @admin.display(description="Command")
    def command(self, obj: WebJob) -> str:
        """What runs: the interpreter and the script, from the package folder."""
        script = PurePosixPath(obj.run_command)
        runtime = job_runtime(obj.extension, script.name, obj.script_host)
        if runtime.error:
            return obj.run_command
        argv = shlex.join([*runtime.argv_prefix, obj.run_command])
        return f"{argv}  ({obj.script_host})"

    @admin.display(description="Deployed", ordering="deployed_at")
    def deployed(self, obj: WebJob) -> str:
        when = obj.deployed_at.strftime("%Y-%m-%d %H:%M:%S UTC")
        return f"{when} by {obj.deployed_by}" if obj.deployed_by else when

    @admin.display(description="From", ordering="source")
    def source_display(self, obj: WebJob) -> str:
        """A single upload, or an app package (zip deployment) and which one."""
        if obj.source == WebJob.Source.PACKAGE and obj.deployment_id:
            return f"App package (deployment {obj.deployment_id[:10]})"
        return obj.get_source_display()

    def changelist_view(self, request, extra_context=None):
        """The list says which App Service site this is (WEBSITE_SITE_NAME)."""
        extra_context = {
            "title": f"WebJobs of site {settings.WEBSITE_SITE_NAME}",
            **(extra_context or {}),
        }
        return super().changelist_view(request, extra_context=extra_context)

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
        latest = selectors.webjob_latest_run(obj)
        if latest is None:
            return "-"
        url = reverse("admin:history_run_change", args=[latest.pk])
        return format_html(
            '<a href="{}">{}</a>',
            url,
            latest.start_time.strftime("%Y-%m-%d %H:%M:%S UTC"),
        )

    @admin.display(description="Last run")
    def last_run(self, obj: WebJob) -> str:
        latest = selectors.webjob_latest_run(obj)
        if latest is None:
            return "Never run"
        return format_html(
            '{} <a href="{}">{}</a>, {}',
            status_pill(run_status(latest)),
            reverse("admin:history_run_change", args=[latest.pk]),
            latest.start_time.strftime("%Y-%m-%d %H:%M:%S UTC"),
            duration_text(run_seconds(latest, now=clock_now())),
        )

    @admin.display(description="Logs")
    def logs(self, obj: WebJob) -> str:
        if obj.kind == WebJob.Kind.CONTINUOUS:
            return format_html('<a href="{}">Logs</a>', selectors.job_log_path(obj))
        url = reverse("admin:history_run_changelist") + f"?job__id__exact={obj.pk}"
        return format_html('<a href="{}">Logs</a>', url)

    @admin.display(description=f"Recent runs (last {RECENT_RUNS})")
    def recent_runs(self, obj: WebJob) -> str:
        now = clock_now()
        rows = format_html_join(
            "",
            '<tr><td><a href="{}">{}</a></td><td>{}</td><td>{}</td>'
            '<td class="num">{}</td></tr>',
            (
                (
                    reverse("admin:history_run_change", args=[r.pk]),
                    r.run_id,
                    status_pill(run_status(r)),
                    r.trigger,
                    duration_text(run_seconds(r, now=now)),
                )
                for r in obj.runs.order_by("-run_id")[:RECENT_RUNS]
            ),
        )
        if not rows:
            return "-"
        return format_html(
            '<table class="portal-table"><thead><tr><th>Run</th><th>Status</th>'
            '<th>Trigger</th><th class="num">Duration</th></tr></thead>'
            "<tbody>{}</tbody></table>",
            rows,
        )

    @admin.action(description="Run selected WebJobs", permissions=["run"])
    def run_selected(self, request, queryset) -> None:
        for job in queryset:
            try:
                run = run_request(job=job, trigger=_run_trigger(request))
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
            self._set_one(request, job, service, done)

    def _set_one(self, request, job: WebJob, service, done: str) -> None:
        if job.kind != WebJob.Kind.CONTINUOUS:
            self.message_user(
                request,
                f"{job.name}: only continuous WebJobs are started and stopped; "
                "run a triggered one.",
                messages.WARNING,
            )
            return
        service(job=job)
        self.message_user(request, f"{job.name}: {done}.")


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Tokens are made by `manage.py apitoken create` (the token is shown
    once); here they are listed and revoked."""

    list_display = [
        "prefix_display",
        "user",
        "name",
        "created_at",
        "expires_at",
        "state",
    ]
    list_filter = ["revoked_at"]
    search_fields = ["name", "prefix", "user__username"]
    readonly_fields = [
        "prefix",
        "user",
        "name",
        "created_at",
        "expires_at",
        "revoked_at",
    ]
    fields = readonly_fields
    actions = ["revoke_selected"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # revoked, not deleted: the list says who had access

    @admin.display(description="Token")
    def prefix_display(self, obj: ApiToken) -> str:
        return f"{obj.prefix}…"

    @admin.display(description="State")
    def state(self, obj: ApiToken) -> str:
        return status_pill(obj.state(now=timezone.now()).capitalize())

    @admin.action(description="Revoke selected tokens", permissions=["change"])
    def revoke_selected(self, request, queryset) -> None:
        count = sum(token_revoke(token_id=row.pk) for row in queryset)
        self.message_user(request, f"Revoked {count} token(s).")
