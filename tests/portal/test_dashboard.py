"""The history dashboard: every job's latest status and success rate over its
kept runs, the most recent runs with filters, and the duration chart."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.urls import reverse

from core.kudu import run_id_for
from history.models import Run
from jobs.models import WebJob
from scheduler.models import JobHistory
from scheduler.services import job_put
from tests.helpers import later, later_at

pytestmark = pytest.mark.django_db(transaction=True)

DASHBOARD = reverse("admin:dashboard")
START = later_at("2031-02-01T09:00:00Z")


def add_runs(job: WebJob, statuses: list[str], *, seconds: int = 2) -> list[Run]:
    runs = []
    for index, status in enumerate(statuses):
        start = START + timedelta(hours=index)
        runs.append(
            Run.objects.create(
                job=job,
                run_id=run_id_for(start),
                status=status,
                trigger="External - deployer",
                start_time=start,
                end_time=start + timedelta(seconds=seconds * (index + 1)),
                exit_code=0 if status == "Success" else 1,
            )
        )
    return runs


@pytest.fixture
def jobs(api):
    api.deploy_fixture("hello", "hello.sh")
    api.deploy_fixture("report", "report.py")
    hello = WebJob.objects.get(name="hello")
    add_runs(hello, ["Success", "Failed", "Success", "Aborted", "Success"])
    return hello, WebJob.objects.get(name="report")


def test_it_shows_each_jobs_latest_status_and_success_rate(portal, jobs):
    response = portal.get(DASHBOARD)
    assert response.status_code == 200
    by_name = {s.job.name: s for s in response.context["summaries"]}
    hello, report = by_name["hello"], by_name["report"]
    assert (hello.latest_status, hello.succeeded, hello.finished) == ("Success", 3, 5)
    assert hello.success_rate == 0.6
    assert (report.latest, report.success_rate) == (None, None)
    page = response.content.decode()
    row = re.search(r'<tr data-job="hello">.*?</tr>', page, re.S).group(0)
    assert "60% (3/5)" in row
    assert 'class="status-pill status-success"' in row
    assert later("2031-02-01 13:00:00 UTC") in row  # the latest run's start
    row = re.search(r'<tr data-job="report">.*?</tr>', page, re.S).group(0)
    assert "never run" in row


def test_it_draws_each_run_as_a_bar_coloured_by_status(portal, jobs):
    page = portal.get(DASHBOARD).content.decode()
    svg = re.search(r"<svg [^>]*class=\"portal-chart\".*?</svg>", page, re.S).group(0)
    assert svg.count('class="bar status-success"') == 3
    assert svg.count('class="bar status-failed"') == 1
    assert svg.count('class="bar status-aborted"') == 1
    assert "max 10.0 s" in svg  # the longest kept run of hello
    assert "no runs yet" in svg  # report
    assert "http" not in svg.replace("http://www.w3.org/2000/svg", "")


def test_it_filters_the_recent_runs_by_status_and_job(portal, jobs):
    hello, report = jobs
    add_runs(report, ["Failed"])
    runs = portal.get(DASHBOARD).context["runs"]
    assert len(runs) == 6
    failed = portal.get(DASHBOARD, {"status": "Failed"}).context["runs"]
    assert sorted(run.job.name for run, _, _ in failed) == ["hello", "report"]
    only = portal.get(DASHBOARD, {"status": "Failed", "job": hello.pk})
    assert [(run.job.name, status) for run, status, _ in only.context["runs"]] == [
        ("hello", "Failed")
    ]
    assert "Clear filters" in only.content.decode()


def test_it_shows_scheduler_jobs_with_their_success_rate(portal, collection):
    job, _ = job_put(
        collection=collection,
        name="ping",
        body={
            "properties": {
                "action": {"type": "Http", "request": {"uri": "http://127.0.0.1:9/"}},
                "recurrence": {"frequency": "Hour", "interval": 1},
            }
        },
    )
    for index, status in enumerate(["Completed", "Failed", "Completed", "Postponed"]):
        JobHistory.objects.create(
            job=job,
            status=status,
            start_time=START + timedelta(hours=index),
            action_name="MainAction",
        )
    JobHistory.objects.create(  # an error action's entry is not the job's result
        job=job, status="Failed", start_time=START, action_name="ErrorAction"
    )
    response = portal.get(DASHBOARD)
    (summary,) = response.context["scheduler_jobs"]
    assert (summary.completed, summary.failed, summary.latest) == (2, 1, "Completed")
    assert "67% (2/3)" in response.content.decode()


def test_it_is_linked_from_the_admin_index(portal):
    page = portal.get(reverse("admin:index")).content.decode()
    assert f'href="{DASHBOARD}">History dashboard</a>' in page


def test_it_shows_a_continuous_jobs_status(portal, api):
    from tests.helpers import make_zip

    response = api.client.put(
        "/api/continuouswebjobs/worker",
        data=make_zip({"run.sh": "sleep 60"}),
        content_type="application/zip",
        HTTP_CONTENT_DISPOSITION='attachment; filename="worker.zip"',
        **api.headers,
    )
    assert response.status_code == 200
    api.post("/api/continuouswebjobs/worker/stop")
    page = portal.get(DASHBOARD).content.decode()
    row = re.search(r'<tr data-job="worker">.*?</tr>', page, re.S).group(0)
    assert ">Continuous<" in row and 'data-status="Stopped">Stopped<' in row
