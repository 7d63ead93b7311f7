"""Kudu's job lists: each job with its newest run, in as many queries for a
thousand jobs as for one."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from config.clock import clock_now
from history.models import Run
from jobs.models import WebJob

pytestmark = pytest.mark.django_db


def add_jobs(api, first: int, count: int, runs: int) -> None:
    """Jobs deployed over the API, each with `runs` finished runs."""
    now = clock_now()
    for i in range(first, first + count):
        api.deploy(f"job{i:03d}", b"echo hi\n", filename="run.sh")
        job = WebJob.objects.get(name=f"job{i:03d}")
        Run.objects.bulk_create(
            Run(
                job=job,
                run_id=(now - timedelta(minutes=k)).strftime("%Y%m%d%H%M%S%f")[:18],
                status="Success",
                trigger="test",
                start_time=now - timedelta(minutes=k),
                end_time=now - timedelta(minutes=k) + timedelta(seconds=1),
            )
            for k in range(runs)
        )


def queries(api, path: str) -> tuple[int, list]:
    api.get(path)  # the credentials' cache, warm
    with CaptureQueriesContext(connection) as captured:
        response = api.get(path)
    assert response.status_code == 200
    return len(captured.captured_queries), response.json()


@pytest.mark.parametrize("path", ["/api/triggeredwebjobs", "/api/webjobs"])
def test_it_lists_jobs_with_their_newest_run_in_a_fixed_number_of_queries(api, path):
    add_jobs(api, 0, 2, runs=3)
    few, body = queries(api, path)
    add_jobs(api, 2, 38, runs=30)
    many, body = queries(api, path)
    assert many == few
    assert len(body) == 40
    for job in body:
        newest = Run.objects.filter(job__name=job["name"]).order_by("-run_id").first()
        assert job["latest_run"]["id"] == newest.run_id
        assert job["latest_run"]["job_name"] == job["name"]


def test_a_job_with_no_run_is_listed_without_one(api):
    api.deploy("fresh", b"echo hi\n", filename="run.sh")
    (job,) = api.get("/api/triggeredwebjobs").json()
    assert job["name"] == "fresh" and job["latest_run"] is None
