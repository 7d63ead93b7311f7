"""The scheduler job form: a recurrence filled in without JSON, built into the ARM
body and validated by job_put, whose errors land on the right field."""

from __future__ import annotations

import pytest
from django.urls import reverse

from scheduler.models import Job, JobHistory
from scheduler.secrets import action_open
from scheduler.services import collection_put, job_put
from tests.helpers import later
from tests.scheduler_cmd.test_schedule_command import http_target

pytestmark = pytest.mark.django_db(transaction=True)

ADD = reverse("admin:scheduler_job_add")


def form_data(collection, **overrides) -> dict:
    data = {
        "collection": collection.pk,
        "name": "weekly",
        "schedule_type": "recurring",
        "start": "at",
        "start_at": later("2031-03-03T08:00"),
        "interval": "1",
        "frequency": "Week",
        "hours": "9",
        "minutes": "30",
        "week_days": ["Monday", "Wednesday", "Friday"],
        "end": "after",
        "count": "10",
        "action_type": "http",
        "url": "http://127.0.0.1:9/hook",
        "method": "POST",
        "body": "",
        "webjob_name": "",
        "arguments": "",
        "_save": "Save",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def errors(response) -> dict[str, list[str]]:
    assert response.status_code == 200, response
    form = response.context["adminform"].form
    return {
        field or "__all__": list(messages) for field, messages in form.errors.items()
    }


def test_it_creates_a_weekly_job_and_shows_its_next_occurrences(portal, collection):
    response = portal.post(ADD, form_data(collection))
    assert response.status_code == 302, errors(response)
    job = Job.objects.get(name="weekly")
    assert job.start_time.isoformat() == later("2031-03-03T08:00:00+00:00")
    assert job.recurrence == {
        "frequency": "Week",
        "interval": 1,
        "count": 10,
        "schedule": {
            "minutes": [30],
            "hours": [9],
            "weekDays": ["Monday", "Wednesday", "Friday"],
        },
    }
    assert job.action["request"] == {
        "uri": "http://127.0.0.1:9/hook",
        "method": "POST",
        "headers": {},
    }
    page = portal.get(reverse("admin:scheduler_job_change", args=[job.pk]))
    text = page.content.decode()
    assert "Every week on Monday, Wednesday and Friday at 09:30 UTC, 10 times" in text
    assert (
        later(
            '<ul class="portal-upcoming"><li>2031-03-03T09:30:00Z</li>'
            "<li>2031-03-05T09:30:00Z</li><li>2031-03-07T09:30:00Z</li>"
            "<li>2031-03-10T09:30:00Z</li><li>2031-03-12T09:30:00Z</li></ul>"
        )
    ) in text


def test_it_creates_a_monthly_job_on_the_last_day(portal, collection):
    data = form_data(
        collection,
        name="month-end",
        frequency="Month",
        week_days=None,
        month_days=["-1"],
        hours="6",
        minutes="0",
        end="never",
    )
    response = portal.post(ADD, data)
    assert response.status_code == 302, errors(response)
    job = Job.objects.get(name="month-end")
    assert job.recurrence["schedule"] == {
        "minutes": [0],
        "hours": [6],
        "monthDays": [-1],
    }
    text = portal.get(reverse("admin:scheduler_job_change", args=[job.pk])).content
    assert (
        later(
            "<li>2031-03-31T06:00:00Z</li><li>2031-04-30T06:00:00Z</li>"
            "<li>2031-05-31T06:00:00Z</li><li>2031-06-30T06:00:00Z</li>"
            "<li>2031-07-31T06:00:00Z</li>"
        ).encode()
    ) in text
    assert b"Every month on the last day of the month at 06:00 UTC" in text


def test_it_creates_a_job_on_the_last_friday_of_the_month(portal, collection):
    data = form_data(
        collection,
        name="last-friday",
        frequency="Month",
        week_days=None,
        month_weeks=["-1"],
        month_weekdays=["Friday"],
        hours="17",
        minutes="0",
        end="at",
        end_at=later("2031-06-30T00:00"),
        count=None,
    )
    response = portal.post(ADD, data)
    assert response.status_code == 302, errors(response)
    job = Job.objects.get(name="last-friday")
    assert job.recurrence["endTime"] == later("2031-06-30T00:00:00Z")
    assert job.recurrence["schedule"]["monthlyOccurrences"] == [
        {"day": "Friday", "Occurrence": -1}
    ]
    text = portal.get(reverse("admin:scheduler_job_change", args=[job.pk])).content
    assert (
        later(
            "<li>2031-03-28T17:00:00Z</li><li>2031-04-25T17:00:00Z</li>"
            "<li>2031-05-30T17:00:00Z</li><li>2031-06-27T17:00:00Z</li></ul>"
        ).encode()
    ) in text


def test_it_creates_a_one_time_job_that_runs_a_webjob(portal, collection, api):
    api.deploy_fixture("report", "report.py")
    data = form_data(
        collection,
        name="once",
        schedule_type="once",
        start_at=later("2031-03-05T10:00"),
        action_type="webjob",
        webjob_name="report",
        arguments="--quick",
        url="",
    )
    response = portal.post(ADD, data)
    assert response.status_code == 302, errors(response)
    job = Job.objects.get(name="once")
    assert job.recurrence is None
    assert job.action["webJob"] == {"name": "report", "arguments": "--quick"}
    text = portal.get(reverse("admin:scheduler_job_change", args=[job.pk])).content
    assert later("Once at 2031-03-05T10:00:00Z").encode() in text
    upcoming = '<ul class="portal-upcoming"><li>2031-03-05T10:00:00Z</li></ul>'
    assert later(upcoming).encode() in text


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"minutes": "0, 75"}, "minutes", "75 is not a minute; minutes are 0 to 59."),
        (
            {"hours": "9, nine"},
            "hours",
            "Enter whole numbers separated by commas, such as 0, 30.",
        ),
        ({"interval": "0"}, "interval", "interval must be at least 1, got 0."),
        ({"count": "0"}, "count", "count must be at least 1, got 0."),
        (
            {"end": "at", "end_at": later("2031-03-02T00:00")},
            "end_at",
            later(
                "endTime 2031-03-02T00:00:00Z is before startTime "
                "2031-03-03T08:00:00Z; the job would never run."
            ),
        ),
        (
            {"frequency": "Day"},
            "week_days",
            "weekDays can be used only with frequency Week; "
            "this recurrence has frequency Day.",
        ),
        (
            {"url": ""},
            "url",
            "properties.action.request with a uri is required for an Http action.",
        ),
        (
            {"url": "ftp://example.com/x"},
            "url",
            "properties.action.request.uri 'ftp://example.com/x' must be an "
            "absolute HTTP URL.",
        ),
        (
            {"start_at": ""},
            "start_at",
            "Enter the start time, or choose to start now.",
        ),
        (
            {"month_weeks": ["1"], "frequency": "Month", "week_days": None},
            "month_weekdays",
            "Choose the days of the week too (the last Friday: Last + Fri).",
        ),
        (
            {"action_type": "webjob", "webjob_name": ""},
            "webjob_name",
            "properties.action.webJob.name must name a triggered WebJob.",
        ),
    ],
)
def test_it_shows_job_put_errors_on_the_right_field(
    portal, collection, overrides, field, message
):
    response = portal.post(ADD, form_data(collection, **overrides))
    assert errors(response) == {field: [message]}
    assert not Job.objects.exists()


def test_it_shows_the_quota_of_a_free_collection_on_the_interval(portal, clock):
    free = collection_put(
        subscription_id="sub1",
        resource_group="rg1",
        name="free",
        body={"properties": {"sku": {"name": "Free"}}},
    )[0]
    data = form_data(
        free, frequency="Minute", interval="5", hours="", minutes="", week_days=None
    )
    assert errors(portal.post(ADD, data)) == {
        "interval": [
            "The job recurs every 5 minutes, more often than its job collection "
            "allows (maxRecurrence: once every 1 hour)."
        ]
    }


def test_it_refuses_a_second_job_of_the_same_name(portal, collection):
    assert portal.post(ADD, form_data(collection)).status_code == 302
    assert errors(portal.post(ADD, form_data(collection))) == {
        "__all__": ["Job with this Collection and Name already exists."]
    }


def test_it_edits_a_job_and_keeps_what_the_form_does_not_show(portal, collection):
    job, _ = job_put(
        collection=collection,
        name="edited",
        body={
            "properties": {
                "startTime": later("2031-03-03T08:00:00Z"),
                "action": {
                    "type": "Http",
                    "request": {
                        "uri": "http://127.0.0.1:9/hook",
                        "method": "GET",
                        "headers": {"X-Token": "abc"},
                    },
                    "retryPolicy": {"retryType": "None"},
                },
                "recurrence": {
                    "frequency": "Week",
                    "interval": 2,
                    "schedule": {"weekDays": ["Tuesday"], "hours": [7]},
                },
            }
        },
    )
    url = reverse("admin:scheduler_job_change", args=[job.pk])
    form = portal.get(url).context["adminform"].form
    assert {
        k: form.initial[k] for k in ("interval", "frequency", "hours", "week_days")
    } == {
        "interval": 2,
        "frequency": "Week",
        "hours": "7",
        "week_days": ["Tuesday"],
    }
    data = form_data(
        collection,
        name="edited",
        interval="2",
        hours="7, 19",
        minutes="",
        week_days=["Tuesday"],
        end="never",
        method="GET",
    )
    response = portal.post(url, data)
    assert response.status_code == 302, errors(response)
    job.refresh_from_db()
    assert job.recurrence["schedule"] == {"hours": [7, 19], "weekDays": ["Tuesday"]}
    assert job.action["retryPolicy"] == {"retryType": "None"}
    # Kept, and still sealed at rest (a *Token* header is a credential).
    assert "abc" not in str(job.action["request"]["headers"])
    assert action_open(job.action)["request"]["headers"] == {"X-Token": "abc"}


def test_it_runs_disables_and_enables_a_job_from_its_page(portal, collection):
    with http_target() as (target, seen):
        data = form_data(collection, url=target, method="GET")
        assert portal.post(ADD, data).status_code == 302
        job = Job.objects.get(name="weekly")
        page = portal.get(reverse("admin:scheduler_job_change", args=[job.pk]))
        assert b">Run now</button>" in page.content
        assert b">Disable</button>" in page.content
        response = portal.post(reverse("admin:scheduler_job_run_now", args=[job.pk]))
        assert response.status_code == 302
    assert [method for method, *_ in seen] == ["GET"]
    assert JobHistory.objects.get(job=job).status == "Completed"
    portal.post(reverse("admin:scheduler_job_disable", args=[job.pk]))
    job.refresh_from_db()
    assert job.state == "Disabled"
    page = portal.get(reverse("admin:scheduler_job_change", args=[job.pk]))
    assert b">Enable</button>" in page.content
    portal.post(reverse("admin:scheduler_job_enable", args=[job.pk]))
    job.refresh_from_db()
    assert job.state == "Enabled"
    assert (
        portal.get(reverse("admin:scheduler_job_enable", args=[job.pk])).status_code
        == 405
    )


def test_it_keeps_a_webjob_timer_read_only_but_runs_and_disables_it(portal, api, clock):
    from tests.helpers import make_zip

    api.deploy(
        "ticker",
        make_zip(
            {"run.sh": "echo tick", "settings.job": '{"schedule": "0 */5 * * * *"}'}
        ),
        filename="t.zip",
    )
    timer = Job.objects.get(name="ticker")
    url = reverse("admin:scheduler_job_change", args=[timer.pk])
    page = portal.get(url).content.decode()
    assert 'name="_save"' not in page  # its schedule is the WebJob's settings.job
    assert "Every 5 minutes (UTC)" in page
    assert "Schedule - 0 0,5,10,15,20,25,30,35,40,45,50,55 * * * *" in page
    assert ">Run now</button>" in page and ">Disable</button>" in page
    assert portal.post(url, {"name": "x"}).status_code == 403
    response = portal.post(reverse("admin:scheduler_job_disable", args=[timer.pk]))
    assert response.status_code == 302
    timer.refresh_from_db()
    assert timer.state == "Disabled"


def test_it_adds_a_collection_with_its_plan(portal, clock):
    response = portal.post(
        reverse("admin:scheduler_jobcollection_add"),
        {
            "subscription_id": "sub1",
            "resource_group": "rg1",
            "name": "nightly",
            "location": "westeurope",
            "sku": "Free",
        },
    )
    assert response.status_code == 302
    page = portal.get(reverse("admin:scheduler_jobcollection_changelist")).content
    assert b">nightly<" in page and b">Free<" in page and b">0 / 5<" in page
