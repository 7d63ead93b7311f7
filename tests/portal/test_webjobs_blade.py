"""The WebJobs blade: one list with type, status, schedule in words and row
actions; Add with "How to run" (On demand / Continuous / Scheduled + CRON);
Run with arguments; Delete with confirmation; the job's details page."""

from __future__ import annotations

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from core.kudu import iso_utc
from history.models import Run
from jobs.models import WebJob
from scheduler.models import Job
from tests.helpers import FIXTURES, make_zip

pytestmark = pytest.mark.django_db(transaction=True)

CHANGELIST = reverse("admin:jobs_webjob_changelist")
ADD = reverse("admin:jobs_webjob_add")
TICK = make_zip(
    {"run.sh": "echo tick", "settings.job": '{"schedule": "0 */15 * * * *"}'}
)


def hello_upload() -> SimpleUploadedFile:
    return SimpleUploadedFile("hello.sh", (FIXTURES / "hello.sh").read_bytes())


def errors(response) -> dict[str, list[str]]:
    assert response.status_code == 200
    form = response.context["adminform"].form
    return {field or "__all__": list(msgs) for field, msgs in form.errors.items()}


def test_it_lists_type_status_schedule_in_words_and_row_actions(portal, api):
    api.deploy_fixture("hello", "hello.sh")
    api.deploy("ticker", TICK, filename="ticker.zip")
    api.run_and_wait("hello")
    page = portal.get(CHANGELIST).content.decode()
    ticker = WebJob.objects.get(name="ticker")
    hello = WebJob.objects.get(name="hello")
    assert ">Scheduled<" in page and ">Triggered<" in page
    assert "Every 15 minutes (UTC)" in page
    assert 'class="status-pill status-success" data-status="Success">Success<' in page
    for job in (hello, ticker):
        assert f'href="{reverse("admin:jobs_webjob_run", args=[job.pk])}">Run…' in page
        assert f'href="{reverse("admin:jobs_webjob_delete", args=[job.pk])}"' in page


def test_it_adds_a_scheduled_webjob_with_a_cron_schedule(portal):
    response = portal.post(
        ADD,
        {
            "name": "nightly",
            "kind": "scheduled",
            "schedule": "0 30 2 * * *",
            "package": hello_upload(),
        },
    )
    assert response.status_code == 302, errors(response)
    job = WebJob.objects.get(name="nightly")
    assert (job.kind, job.schedule, job.type_label) == (
        "triggered",
        "0 30 2 * * *",
        "Scheduled",
    )
    assert Job.objects.get(webjob=job).cron == "0 30 2 * * *"  # its timer
    timer = Job.objects.get(webjob=job)
    page = portal.get(reverse("admin:jobs_webjob_change", args=[job.pk])).content
    assert b"At 02:30 (UTC)" in page
    assert iso_utc(timer.next_fire_at).encode() in page
    assert reverse("admin:scheduler_job_change", args=[timer.pk]).encode() in page


@pytest.mark.parametrize(
    ("schedule", "message"),
    [
        (
            "",
            "Enter a CRON schedule (six fields, seconds first: 0 */15 * * * * is "
            "every 15 minutes), or choose another way to run.",
        ),
        (
            "*/15 * * * *",
            'settings.job schedule is invalid: CRON expression "*/15 * * * *" has 5 '
            "fields; a WebJob schedule needs 6: {second} {minute} {hour} {day} "
            "{month} {day-of-week}.",
        ),
    ],
)
def test_it_refuses_a_scheduled_webjob_without_a_valid_cron(portal, schedule, message):
    response = portal.post(
        ADD,
        {
            "name": "bad",
            "kind": "scheduled",
            "schedule": schedule,
            "package": hello_upload(),
        },
    )
    assert errors(response) == {"schedule": [message]}
    assert not WebJob.objects.exists()


def test_it_turns_a_scheduled_webjob_into_an_on_demand_one(portal, api):
    api.deploy("ticker", TICK, filename="ticker.zip")
    job = WebJob.objects.get(name="ticker")
    url = reverse("admin:jobs_webjob_change", args=[job.pk])
    form = portal.get(url).context["adminform"].form
    assert (form.initial["kind"], form.initial["schedule"]) == (
        "scheduled",
        "0 */15 * * * *",
    )
    response = portal.post(url, {"kind": "triggered", "schedule": ""})
    assert response.status_code == 302, errors(response)
    job.refresh_from_db()
    assert (job.schedule, job.type_label) == (None, "Triggered")
    assert not Job.objects.filter(webjob=job).exists()


def test_it_runs_a_job_with_arguments_and_shows_the_run(portal, api):
    api.deploy_fixture("hello", "hello.sh")
    job = WebJob.objects.get(name="hello")
    url = reverse("admin:jobs_webjob_run", args=[job.pk])
    page = portal.get(url).content.decode()
    assert "bash hello.sh  (BashScriptHost)</code>" in page
    assert 'name="arguments"' in page
    response = portal.post(url, {"arguments": 'one "two words"'})
    run = Run.objects.get(job=job)
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:history_run_change", args=[run.pk])
    assert (run.arguments, run.trigger) == (
        'one "two words"',
        "External - deployer (portal)",
    )
    body = api.wait(f"/api/triggeredwebjobs/hello/history/{run.run_id}")
    assert "args: one two words" in api.output(body)


def test_it_shows_an_argument_error_on_the_run_page(portal, api):
    api.deploy_fixture("hello", "hello.sh")
    job = WebJob.objects.get(name="hello")
    response = portal.post(
        reverse("admin:jobs_webjob_run", args=[job.pk]), {"arguments": 'say "hi'}
    )
    assert response.status_code == 200
    assert response.context["form"].errors == {
        "arguments": [
            "The arguments cannot be split into a command line: No closing quotation."
        ]
    }
    assert not Run.objects.exists()


def test_it_deletes_a_job_after_confirmation(portal, api):
    api.deploy_fixture("hello", "hello.sh")
    api.run_and_wait("hello")
    job = WebJob.objects.get(name="hello")
    url = reverse("admin:jobs_webjob_delete", args=[job.pk])
    confirm = portal.get(url).content.decode()
    assert "Are you sure" in confirm
    assert WebJob.objects.filter(pk=job.pk).exists()  # nothing happened yet
    response = portal.post(url, {"post": "yes"})
    assert response.status_code == 302
    assert not WebJob.objects.exists() and not Run.objects.exists()
    assert not job.package_dir.exists() and not job.data_dir.exists()


def test_it_deletes_selected_jobs_only_after_confirmation(portal, api):
    api.deploy_fixture("hello", "hello.sh")
    job = WebJob.objects.get(name="hello")
    data = {"action": "delete_selected", "_selected_action": [job.pk]}
    confirm = portal.post(CHANGELIST, data)
    assert confirm.status_code == 200 and b"Are you sure" in confirm.content
    assert WebJob.objects.exists()
    portal.post(CHANGELIST, {**data, "post": "yes"})
    assert not WebJob.objects.exists() and not job.package_dir.exists()


def test_it_shows_the_command_the_last_run_and_recent_runs(portal, api):
    api.deploy_fixture("hello", "hello.sh")
    first = api.run_and_wait("hello")
    api.put_settings("hello", '{"stopping_wait_time": 5}')
    second = api.run_and_wait("hello", "again")
    job = WebJob.objects.get(name="hello")
    page = portal.get(reverse("admin:jobs_webjob_change", args=[job.pk])).content
    page = page.decode()
    assert "bash hello.sh  (BashScriptHost)" in page
    assert first["id"] in page and second["id"] in page  # recent runs
    last = re.search(r'field-last_run.*?<div class="readonly">(.*?)</div>', page, re.S)
    assert "status-success" in last.group(1)
    assert second["start_time"][:19].replace("T", " ") in last.group(1)
