"""Run history in the portal: read-only, with the output shown and downloadable."""

from __future__ import annotations

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from history.kudu import timespan
from history.models import Run
from jobs import selectors

SHOW_BYTES = 256 * 1024


@admin.register(Run)
class RunAdmin(admin.ModelAdmin):
    list_display = [
        "run_id",
        "job",
        "status_display",
        "trigger",
        "start_time",
        "duration",
        "exit_code",
    ]
    list_filter = ["status", "job"]
    list_select_related = ["job"]
    fields = [
        "job",
        "run_id",
        "status_display",
        "trigger",
        "arguments",
        "start_time",
        "end_time",
        "duration",
        "exit_code",
        "instance_id",
        "message",
        "output",
    ]
    readonly_fields = fields

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="Status")
    def status_display(self, obj: Run) -> str:
        status = selectors.run_status(obj)
        colour = {
            "Success": "#2e7d32",
            "Failed": "#c62828",
            "Running": "#1565c0",
            "Aborted": "#ef6c00",
        }.get(status, "#555")
        return format_html('<b style="color:{}">{}</b>', colour, status)

    @admin.display(description="Duration")
    def duration(self, obj: Run) -> str:
        return timespan(obj.end_time - obj.start_time) if obj.end_time else "-"

    @admin.display(description="Output")
    def output(self, obj: Run) -> str:
        url = reverse("output-log", args=[obj.job.kind, obj.job.name, obj.run_id])
        if not obj.output_path.exists():
            return "-"
        with open(obj.output_path, "rb") as f:
            data = f.read(SHOW_BYTES + 1)
        more = (
            "\n… (truncated here; download the whole log)"
            if len(data) > SHOW_BYTES
            else ""
        )
        return format_html(
            '<a href="{}?download=1">Download</a>'
            '<pre style="max-height:40em;overflow:auto;white-space:pre-wrap;'
            'word-break:break-all">{}{}</pre>',
            url,
            data[:SHOW_BYTES].decode("utf-8", "replace"),
            more,
        )
