"""manage.py schedule, as a user runs it: create, preview, list, show, run,
enable, disable, delete and history.

Every test first moves the emulator clock to a fixed instant ahead of real time
(a Saturday), so next executions are exact.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from config.clock import clock_refresh, clock_set
from scheduler.models import Job, JobCollection, JobHistory
from tests.helpers import later

pytestmark = pytest.mark.django_db(transaction=True)

NOW = later("2031-03-01T00:00:00Z")  # a Saturday
START = ["--start-time", NOW]
UNUSED = ["--action-url", "http://127.0.0.1:9/never-called"]


@pytest.fixture(autouse=True)
def _clock():
    """The clock caches its offset per process; each test starts at NOW."""
    clock_refresh()
    clock_set(NOW)
    yield
    clock_refresh()


def schedule(*args: str) -> str:
    out = StringIO()
    call_command("schedule", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


@contextmanager
def http_target() -> Iterator[tuple[str, list[tuple[str, str, dict, bytes]]]]:
    """A tiny HTTP server answering 200 "ok"; yields its URL and what it saw."""
    seen: list[tuple[str, str, dict, bytes]] = []

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            seen.append((self.command, self.path, dict(self.headers), body))
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        do_GET = do_POST = _answer

        def log_message(self, format, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        host, port = server.server_address[:2]
        yield f"http://{host}:{port}/hook", seen
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.mark.parametrize(
    ("flags", "words", "first"),
    [
        (
            [
                "--frequency",
                "Minute",
                "--interval",
                "15",
                "--start-time",
                later("2031-03-01T00:10:00Z"),
            ],
            "Every 15 minutes",
            later("2031-03-01T00:10:00Z"),
        ),
        (
            ["--frequency", "hour", "--minutes", "30", *START],
            "Every hour at minute 30",
            later("2031-03-01T00:30:00Z"),
        ),
        (
            ["--frequency", "Day", "--hours", "9,17", *START],
            "Every day at 09:00, 17:00 UTC",
            later("2031-03-01T09:00:00Z"),
        ),
        (
            [
                "--frequency",
                "Week",
                "--week-days",
                "Monday,Friday",
                "--hours",
                "9",
                "--minutes",
                "30",
                *START,
            ],
            "Every week on Monday and Friday at 09:30 UTC",
            later("2031-03-03T09:30:00Z"),
        ),
        (
            [
                "--frequency",
                "Month",
                "--month-days",
                "15,-1",
                "--hours",
                "6",
                "--minutes",
                "0",
                *START,
            ],
            "Every month on day 15 and the last day of the month at 06:00 UTC",
            later("2031-03-15T06:00:00Z"),
        ),
        (
            [
                "--frequency",
                "Month",
                "--monthly-occurrences",
                "Friday:-1",
                "--hours",
                "6",
                "--minutes",
                "0",
                *START,
            ],
            "Every month on the last Friday of the month at 06:00 UTC",
            later("2031-03-28T06:00:00Z"),
        ),
        (
            [
                "--frequency",
                "Day",
                "--interval",
                "2",
                "--count",
                "3",
                "--end-time",
                later("2031-12-31T00:00:00Z"),
                "--start-time",
                later("2031-02-20T07:45:00Z"),
            ],
            later(
                "Every 2 days at 07:45 UTC, 3 times or until 2031-12-31T00:00:00Z, "
                "whichever comes first"
            ),
            later("2031-03-02T07:45:00Z"),
        ),
        (
            [
                "--recurrence-json",
                '{"frequency": "Week", "interval": 2,'
                ' "schedule": {"weekDays": ["tuesday"]}}',
                "--start-time",
                later("2031-03-04T08:00:00Z"),
            ],
            "Every 2 weeks on Tuesday at 08:00 UTC",
            later("2031-03-04T08:00:00Z"),
        ),
        (
            ["--start-time", later("2031-03-05T12:00:00Z")],
            later("Once at 2031-03-05T12:00:00Z"),
            later("2031-03-05T12:00:00Z"),
        ),
    ],
    ids=[
        "minute",
        "hour",
        "day",
        "week",
        "month-days",
        "monthly-occurrences",
        "count-and-end",
        "recurrence-json",
        "one-time",
    ],
)
def test_it_creates_a_job_and_prints_its_next_execution(flags, words, first):
    out = schedule("create", "reports/job", *UNUSED, *flags)
    assert out.splitlines() == [
        "Created job 'job' in new job collection local/local/reports (Standard).",
        "State: Enabled",
        f"Schedule: {words}",
        f"Next execution: {first}",
    ]
    job = Job.objects.select_related("collection").get()
    assert (job.collection.subscription_id, job.collection.resource_group) == (
        "local",
        "local",
    )
    assert job.collection.sku == "Standard"


def test_it_adds_to_an_existing_collection_and_replaces_a_job():
    schedule("create", "reports/a", *UNUSED, "--sku", "P20Premium", *START)
    out = schedule("create", "reports/b", *UNUSED, *START)
    assert out.splitlines()[0] == (
        "Created job 'b' in job collection local/local/reports."
    )
    out = schedule("create", "reports/b", *UNUSED, "--frequency", "Day", *START)
    assert out.splitlines()[0] == (
        "Replaced job 'b' in job collection local/local/reports."
    )
    assert JobCollection.objects.get().sku == "P20Premium"
    assert Job.objects.count() == 2


def test_it_prints_the_next_5_occurrences_without_creating_anything():
    flags = [
        "--frequency",
        "Week",
        "--week-days",
        "Monday,Friday",
        "--hours",
        "9",
        "--minutes",
        "30",
        *START,
        "--next",
        "5",
    ]
    out = schedule("create", "reports/weekly", *UNUSED, *flags)
    assert out.splitlines() == [
        "Every week on Monday and Friday at 09:30 UTC",
        "Next 5 occurrences (nothing was created):",
        later("  2031-03-03T09:30:00Z"),
        later("  2031-03-07T09:30:00Z"),
        later("  2031-03-10T09:30:00Z"),
        later("  2031-03-14T09:30:00Z"),
        later("  2031-03-17T09:30:00Z"),
    ]
    assert not JobCollection.objects.exists()
    assert not Job.objects.exists()
    assert schedule("preview", *flags) == out


def test_it_says_when_a_preview_runs_out_of_occurrences():
    out = schedule(
        "preview",
        "--frequency",
        "Month",
        "--month-days",
        "-1",
        "--count",
        "2",
        *START,
        "--next",
        "3",
    )
    assert out.splitlines()[1:] == [
        "Next 3 occurrences (nothing was created):",
        later("  2031-03-31T00:00:00Z"),
        later("  2031-04-30T00:00:00Z"),
        "  (no more occurrences)",
    ]


def test_it_refuses_a_bad_recurrence_and_stores_nothing():
    with pytest.raises(CommandError) as error:
        schedule(
            "create", "reports/bad", *UNUSED, "--frequency", "Day", "--interval", "0"
        )
    assert str(error.value) == (
        "properties.recurrence.interval: interval must be at least 1, got 0."
    )
    assert not JobCollection.objects.exists()
    assert not Job.objects.exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--frequency", "Day", "--week-days", "Monday"],
            "properties.recurrence.schedule.weekDays: weekDays can be used only with "
            "frequency Week; this recurrence has frequency Day.",
        ),
        (
            ["--hours", "9"],
            "properties.recurrence.frequency: frequency is required in a recurrence; "
            "use Minute, Hour, Day, Week or Month.",
        ),
        (
            ["--frequency", "Day", "--next", "2", "--start-time", "tomorrow"],
            "properties.startTime 'tomorrow' is not an ISO 8601 date-time.",
        ),
        (
            ["--frequency", "Minute", "--sku", "Free"],
            "properties.recurrence: The job recurs every 1 minute, more often than its "
            "job collection allows (maxRecurrence: once every 1 hour).",
        ),
        (
            ["--retry-interval", "PT1S"],
            "properties.action.retryPolicy.retryInterval must be between 15 seconds "
            "and 18 months, not PT1S.",
        ),
        (
            ["--recurrence-json", '{"frequency": "Day"}', "--interval", "2"],
            "--recurrence-json cannot be combined with --interval; put everything in "
            "the JSON.",
        ),
    ],
    ids=[
        "week-days-on-day",
        "no-frequency",
        "start-time",
        "quota",
        "retry",
        "json-and-flags",
    ],
)
def test_it_reports_bad_input_with_the_field_name(args, message):
    with pytest.raises(CommandError) as error:
        schedule("create", "reports/bad", *UNUSED, *args)
    assert str(error.value) == message
    assert not JobCollection.objects.exists()


def test_it_refuses_bad_addresses_and_unknown_jobs():
    with pytest.raises(CommandError, match="'nojob' is not a job address"):
        schedule("create", "nojob", *UNUSED)
    with pytest.raises(
        CommandError, match=re.escape("The job collection 'ghost' was not found.")
    ):
        schedule("show", "ghost/job")
    schedule("create", "reports/a", *UNUSED, *START)
    with pytest.raises(CommandError, match=re.escape("The job 'b' was not found.")):
        schedule("run", "reports/b")


def test_it_lists_shows_runs_and_reads_history():
    with http_target() as (url, seen):
        schedule(
            "create",
            "reports/ping",
            "--action-url",
            url,
            "--method",
            "POST",
            "--body",
            "hello",
            "--header",
            "X-Test: yes",
            "--frequency",
            "Day",
            "--hours",
            "9,17",
            *START,
            "--retry-count",
            "2",
            "--retry-interval",
            "PT1M",
        )
        schedule(
            "create",
            "reports/once",
            *UNUSED,
            "--start-time",
            later("2031-03-05T12:00:00Z"),
        )

        listed = schedule("list", "reports").splitlines()
        assert listed[0] == (
            "Job collection local/local/reports: Standard, Enabled, 2 / 50 jobs"
        )
        assert re.split(r"\s{2,}", listed[1]) == [
            "NAME",
            "STATE",
            "RECURRENCE",
            "NEXT EXECUTION",
            "EXEC/FAIL/FAULT",
        ]
        assert re.split(r"\s{2,}", listed[2]) == [
            "reports/once",
            "Enabled",
            later("Once at 2031-03-05T12:00:00Z"),
            later("2031-03-05T12:00:00Z"),
            "0/0/0",
        ]
        assert re.split(r"\s{2,}", listed[3]) == [
            "reports/ping",
            "Enabled",
            "Every day at 09:00, 17:00 UTC",
            later("2031-03-01T09:00:00Z"),
            "0/0/0",
        ]

        shown = schedule("show", "reports/ping")
        document, rest = shown.split("\nSchedule: ")
        body = json.loads(document)
        assert body["name"] == "reports/ping"
        assert body["properties"]["action"] == {
            "type": "Http",
            "request": {
                "uri": url,
                "method": "POST",
                "headers": {"X-Test": "yes"},
                "body": "hello",
            },
            "retryPolicy": {
                "retryType": "Fixed",
                "retryInterval": "PT1M",
                "retryCount": 2,
            },
        }
        assert body["properties"]["status"]["nextExecutionTime"] == (
            later("2031-03-01T09:00:00Z")
        )
        assert rest.splitlines() == [
            "Every day at 09:00, 17:00 UTC",
            "Next 5 occurrences:",
            later("  2031-03-01T09:00:00Z"),
            later("  2031-03-01T17:00:00Z"),
            later("  2031-03-02T09:00:00Z"),
            later("  2031-03-02T17:00:00Z"),
            later("  2031-03-03T09:00:00Z"),
        ]

        ran = schedule("run", "reports/ping").splitlines()
        host = url.split("/")[2]
        assert re.fullmatch(
            later(r"Run of reports/ping requested at 2031-03-01T00:00:\d\d(\.\d+)?Z\."),
            ran[0],
        )
        assert ran[1] == (
            f"Completed: Http Action - Response from host '{host}': '200 OK' Body: ok"
        )
        assert [(m, p, h.get("X-Test"), b) for m, p, h, b in seen] == [
            ("POST", "/hook", "yes", b"hello")
        ]

    history = schedule("history", "reports/ping").splitlines()
    assert re.split(r"\s{2,}", history[0]) == [
        "START TIME",
        "ACTION",
        "STATUS",
        "RETRY",
        "MESSAGE",
    ]
    cells = re.split(r"\s{2,}", history[1])
    assert re.fullmatch(later(r"2031-03-01T00:00:\d\d(\.\d+)?Z"), cells[0])
    assert cells[1:4] == ["MainAction", "Completed", "0"]
    assert (
        cells[4]
        == f"Http Action - Response from host '{host}': '200 OK' Body: ok"[:59] + "…"
    )
    assert len(history) == 2
    assert schedule("history", "reports/ping", "--status", "Failed") == "No history.\n"
    assert "1/0/0" in schedule("list", "reports").splitlines()[3]


def test_it_disables_and_enables_a_job_and_a_collection():
    schedule(
        "create", "reports/a", *UNUSED, "--frequency", "Day", "--hours", "9", *START
    )
    schedule(
        "create", "reports/b", *UNUSED, "--frequency", "Day", "--hours", "10", *START
    )

    assert schedule("disable", "reports/a") == "Job reports/a is Disabled.\n"
    row = schedule("list").splitlines()[1]
    assert re.split(r"\s{2,}", row)[1::2] == ["Disabled", "-"]
    assert schedule("enable", "reports/a").splitlines() == [
        "Job reports/a is Enabled.",
        later("Next execution: 2031-03-01T09:00:00Z"),
    ]

    assert schedule("disable", "reports") == (
        "Job collection reports is Disabled; its jobs: 2 Disabled.\n"
    )
    assert set(Job.objects.values_list("state", flat=True)) == {"Disabled"}
    assert schedule("enable", "reports") == (
        "Job collection reports is Enabled; its jobs: 2 Enabled.\n"
    )
    assert JobCollection.objects.get().state == "Enabled"


def test_it_refuses_to_enable_a_completed_job():
    schedule(
        "create",
        "reports/past",
        *UNUSED,
        "--frequency",
        "Day",
        "--end-time",
        later("2031-01-01T00:00:00Z"),
    )
    assert Job.objects.get().state == "Completed"
    with pytest.raises(CommandError, match="The job is Completed; its state cannot"):
        schedule("enable", "reports/past")


def test_it_deletes_a_job_with_its_history():
    with http_target() as (url, _):
        schedule("create", "reports/a", "--action-url", url, *START)
        schedule("run", "reports/a")
    assert JobHistory.objects.count() == 1
    assert schedule("delete", "reports/a") == "Deleted job reports/a.\n"
    assert not Job.objects.exists()
    assert not JobHistory.objects.exists()
    assert schedule("list") == "No jobs.\n"
    with pytest.raises(CommandError, match=re.escape("The job 'a' was not found.")):
        schedule("delete", "reports/a")


def test_it_addresses_subscriptions_and_resource_groups():
    out = schedule("create", "sub1/rg1/jc/job", *UNUSED, *START)
    assert "in new job collection sub1/rg1/jc (Standard)." in out
    schedule("create", "rg2/jc/job", *UNUSED, "--subscription", "sub1", *START)
    assert list(
        JobCollection.objects.values_list("subscription_id", "resource_group", "name")
    ) == [("sub1", "rg1", "jc"), ("sub1", "rg2", "jc")]
    assert "jc/job" in schedule("list", "sub1/rg1/jc")
    assert "jc/job" in schedule(
        "list", "jc", "--subscription", "sub1", "--resource-group", "rg2"
    )
    assert schedule("list") == "No jobs.\n"  # local/local holds none
    shown = schedule("show", "sub1/rg1/jc/job")
    assert '"/subscriptions/sub1/resourceGroups/rg1/providers/' in shown


def test_it_creates_a_webjob_action():
    schedule(
        "create",
        "reports/nightly",
        "--webjob",
        "report",
        "--arguments=--full",
        "--retry-interval",
        "none",
        *START,
    )
    action = json.loads(schedule("show", "reports/nightly").split("\nSchedule:")[0])[
        "properties"
    ]["action"]
    assert action == {
        "type": "WebJob",
        "webJob": {"name": "report", "arguments": "--full"},
        "retryPolicy": {"retryType": "None"},
    }


def test_it_creates_a_disabled_job_in_a_disabled_collection():
    schedule("create", "reports/a", *UNUSED, "--frequency", "Day", *START)
    schedule("disable", "reports")
    out = schedule("create", "reports/b", *UNUSED, "--frequency", "Day", *START)
    assert out.splitlines()[1:] == [
        "State: Disabled",
        "Schedule: Every day at 00:00 UTC",
        "Next execution: none while the job is Disabled",
    ]
