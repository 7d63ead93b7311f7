"""Run history in the portal: read-only run details, with the output shown
inline (Toggle output), downloadable, and followed live while the run goes on.

The live view polls ``<run>/log/?offset=N`` (``RunAdmin.log_view``): the log
from byte N and the run's status, so a page never reloads and never re-reads
what it already shows.
"""

from __future__ import annotations

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import Http404, JsonResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from config.clock import clock_now
from config.portal import status_pill
from core.charts import duration_text
from history.logs import log_read
from history.models import Run
from history.selectors import run_seconds, run_status

FOLLOWING = (
    '<span class="portal-live" data-live="following">Following the output live</span>'  # noqa: E501
)
MSG_TRUNCATED = (
    "The first {skipped} bytes of this log are not shown here; download the whole log."
)


@admin.register(Run)
class RunAdmin(admin.ModelAdmin):
    list_display = [
        "run_id",
        "job",
        "status_display",
        "trigger",
        "started",
        "duration",
        "exit_code",
    ]
    list_filter = ["status", "job"]
    list_select_related = ["job"]
    search_fields = ["job__name", "run_id", "trigger"]
    fields = [
        "job_link",
        "run_id",
        "status_display",
        "trigger",
        "arguments",
        "started",
        "ended",
        "duration",
        "exit_code_display",
        "instance_id",
        "message",
        "output",
    ]
    readonly_fields = fields

    class Media:
        js = ["portal/portal.js"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # history is read-only; retention keeps the last runs

    def get_urls(self):
        log = self.admin_site.admin_view(self.log_view)
        return [
            path("<path:object_id>/log/", log, name="history_run_log"),
            *super().get_urls(),
        ]

    def log_view(self, request, object_id: str) -> JsonResponse:
        """The log from byte ``offset`` and the run's state, for the live view."""
        run = self.get_object(request, object_id)
        if run is None:
            raise Http404("No such run.")
        if not self.has_view_permission(request, run):
            raise PermissionDenied
        try:
            offset = int(request.GET.get("offset", "0"))
        except ValueError:
            offset = 0
        piece = log_read(run.output_path, offset=offset)
        status = run_status(run)
        return JsonResponse(
            {
                "status": status,
                "active": _following(run, status),
                "text": piece.text,
                "offset": piece.end,
                "size": piece.size,
                "ended": self._ended_text(run),
                "duration": self._duration_text(run),
                "exit_code": self._exit_code_text(run),
            }
        )

    @admin.display(description="WebJob", ordering="job__name")
    def job_link(self, obj: Run) -> str:
        url = reverse("admin:jobs_webjob_change", args=[obj.job_id])
        return format_html('<a href="{}">{}</a>', url, obj.job.name)

    @admin.display(description="Status", ordering="status")
    def status_display(self, obj: Run) -> str:
        return format_html(
            '<span data-live="status">{}</span>', status_pill(run_status(obj))
        )

    @admin.display(description="Started", ordering="start_time")
    def started(self, obj: Run) -> str:
        return _when(obj.start_time)

    @admin.display(description="Ended", ordering="end_time")
    def ended(self, obj: Run) -> str:
        return format_html('<span data-live="ended">{}</span>', self._ended_text(obj))

    @admin.display(description="Duration")
    def duration(self, obj: Run) -> str:
        return format_html(
            '<span data-live="duration">{}</span>', self._duration_text(obj)
        )

    @admin.display(description="Exit code", ordering="exit_code")
    def exit_code_display(self, obj: Run) -> str:
        return format_html(
            '<span data-live="exit_code">{}</span>', self._exit_code_text(obj)
        )

    @admin.display(description="Output")
    def output(self, obj: Run) -> str:
        download = (
            reverse("output-log", args=[obj.job.kind, obj.job.name, obj.run_id])
            + "?download=1"
        )
        piece = log_read(obj.output_path, offset=None)  # its tail
        active = _following(obj, run_status(obj))
        return format_html(
            '<div class="portal-output" data-log-url="{}" data-offset="{}" '
            'data-active="{}">'
            '<button type="button" class="portal-button" data-toggle-output '
            'aria-controls="run-output" aria-expanded="false">Toggle output</button>'
            '<a class="portal-button" href="{}" download>Download</a>'
            "{}{}"
            '<pre id="run-output" class="portal-log" hidden>{}</pre></div>',
            reverse("admin:history_run_log", args=[obj.pk]),
            piece.end,
            "1" if active else "0",
            download,
            mark_safe(FOLLOWING) if active else "",
            format_html(
                '<p class="portal-note">{}</p>',
                MSG_TRUNCATED.format(skipped=piece.start),
            )
            if piece.start
            else "",
            piece.text,
        )

    def _ended_text(self, obj: Run) -> str:
        return _when(obj.end_time) if obj.end_time else "-"

    def _duration_text(self, obj: Run) -> str:
        if obj.end_time is None:
            return "-"
        return duration_text(run_seconds(obj, now=clock_now()))

    def _exit_code_text(self, obj: Run) -> str:
        return "-" if obj.exit_code is None else str(obj.exit_code)


def _when(value) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S UTC")


def _following(run: Run, status: str) -> bool:
    """The page keeps reading the log: the run is active and not abandoned
    (run_status, read as Kudu does, says so when its monitor went silent)."""
    return run.is_active and status == run.status
