"""The Scheduler blade of the admin: collections, jobs (with Run now / Enable /
Disable actions; their recurrence form is tested in tests/portal) and read-only
history."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse

from config.clock import clock_now, clock_refresh, clock_set
from scheduler.models import Job, JobHistory
from tests.helpers import later
from tests.scheduler_cmd.test_schedule_command import http_target

pytestmark = pytest.mark.django_db(transaction=True)

NOW = later("2031-03-01T00:00:00Z")
JOBS = "/admin/scheduler/job/"
COLLECTIONS = "/admin/scheduler/jobcollection/"
HISTORY = "/admin/scheduler/jobhistory/"


@pytest.fixture(autouse=True)
def _clock():
    clock_refresh()
    clock_set(NOW)
    yield
    clock_refresh()


def create(*args: str) -> None:
    call_command("schedule", "create", *args, stdout=StringIO(), stderr=StringIO())


@pytest.fixture
def daily(client, user) -> Job:
    create(
        "reports/daily",
        "--action-url",
        "http://127.0.0.1:9/never-called",
        "--frequency",
        "Day",
        "--hours",
        "9,17",
        "--start-time",
        NOW,
    )
    client.force_login(user)
    return Job.objects.get(name="daily")


def test_it_lists_collections_with_their_quota_usage(client, daily):
    response = client.get(COLLECTIONS)
    assert response.status_code == 200
    page = response.content.decode()
    for text in ("reports", "local", "Standard", "Enabled", "1 / 50"):
        assert f">{text}<" in page, text


def test_it_lists_jobs_with_their_schedule_in_words(client, daily):
    timer = Job.objects.create(
        collection=daily.collection,
        name="timer",
        action=daily.action,
        cron="0 */15 * * * *",
        created_at=clock_now(),
    )
    response = client.get(JOBS)
    assert response.status_code == 200
    page = response.content.decode()
    assert "Every day at 09:00, 17:00 UTC" in page
    assert later("2031-03-01T09:00:00Z") in page
    assert "Schedule - 0 0,15,30,45 * * * *" in page
    assert timer.name in page


def test_it_shows_the_next_5_occurrences_on_the_job_page(client, daily):
    response = client.get(reverse("admin:scheduler_job_change", args=[daily.pk]))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Next 5 occurrences" in page
    assert (
        later(
            '<ul class="portal-upcoming"><li>2031-03-01T09:00:00Z</li>'
            "<li>2031-03-01T17:00:00Z</li>"
            "<li>2031-03-02T09:00:00Z</li><li>2031-03-02T17:00:00Z</li>"
            "<li>2031-03-03T09:00:00Z</li></ul>"
        )
    ) in page


def test_it_runs_a_job_now_from_the_changelist(client, daily):
    with http_target() as (url, seen):
        create(
            "reports/ping",
            "--action-url",
            url,
            "--start-time",
            later("2031-04-01T00:00Z"),
        )
        ping = Job.objects.get(name="ping")
        response = client.post(
            JOBS, {"action": "run_now", "_selected_action": [ping.pk]}
        )
    assert response.status_code == 302
    assert [(method, path) for method, path, _, _ in seen] == [("GET", "/hook")]
    entry = JobHistory.objects.get()
    assert (entry.job, entry.status, entry.action_name) == (
        ping,
        "Completed",
        "MainAction",
    )
    page = client.get(HISTORY).content.decode()
    assert "Http Action - Response from host" in page
    assert ">Completed<" in page


def test_it_disables_and_enables_jobs_from_the_changelist(client, daily):
    client.post(JOBS, {"action": "disable_selected", "_selected_action": [daily.pk]})
    daily.refresh_from_db()
    assert daily.state == "Disabled"
    client.post(JOBS, {"action": "enable_selected", "_selected_action": [daily.pk]})
    daily.refresh_from_db()
    assert daily.state == "Enabled"


def test_it_keeps_history_read_only(client, daily):
    assert client.get(reverse("admin:scheduler_jobhistory_add")).status_code == 403
    history = client.get(HISTORY)
    assert history.status_code == 200
    assert reverse("admin:scheduler_jobhistory_add") not in history.content.decode()


def test_it_sends_a_non_staff_user_to_the_login_page(client, django_user_model):
    visitor = django_user_model.objects.create_user("visitor", password="pw-12345")
    client.force_login(visitor)
    response = client.get(JOBS)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('admin:login')}?next={JOBS}"


def test_it_disables_a_collection_with_its_jobs_from_the_changelist(client, daily):
    response = client.post(
        COLLECTIONS,
        {"action": "disable_selected", "_selected_action": [daily.collection.pk]},
    )
    assert response.status_code == 302
    daily.refresh_from_db()
    assert (daily.collection.state, daily.state) == ("Disabled", "Disabled")
