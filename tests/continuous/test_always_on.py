"""Always On, opt-in: with WEBSITE_ALWAYS_ON=false an instance that saw no
request for WEBJOBS_SITE_IDLE_TIME stops its continuous jobs and scheduled
fires until the next request; Kudu's warnings go to the jobs' logs."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from config.clock import clock_set
from jobs import alwayson
from jobs.models import InstanceActivity, InstanceStatus
from scheduler.engine import armed_jobs
from tests.continuous.conftest import SH_LOOP, job_log, wait_for
from tests.helpers import make_zip

pytestmark = pytest.mark.django_db(transaction=True)

IDLE = "3"  # seconds of silence before the instance is idle


@pytest.fixture
def always_off(settings, monkeypatch):
    """This process's requests are the instance's: they keep `idle01` awake."""
    settings.WEBSITE_ALWAYS_ON = False
    settings.WEBJOBS_SITE_IDLE_TIME = float(IDLE)
    settings.WEBSITE_INSTANCE_ID = "idle01"
    monkeypatch.setattr(alwayson, "_last_written", 0.0)


def _status() -> str | None:
    row = InstanceStatus.objects.filter(job__name="worker", instance_id="idle01")
    return row.values_list("status", flat=True).first()


def test_it_stops_continuous_jobs_when_idle_and_starts_them_on_a_request(
    always_off, cont, api, start_host
):
    cont.deploy("worker", "run.sh", SH_LOOP)
    start_host("idle01", WEBSITE_ALWAYS_ON="false", WEBJOBS_SITE_IDLE_TIME=IDLE)
    wait_for(lambda: _status() == "Running", "the worker to run")
    assert "SYS WARN] 'Always On' doesn't appear to be enabled" in job_log("worker")

    # No request now (the test reads the database, not the API).
    wait_for(lambda: _status() == "Stopped", "the idle instance to stop the worker")
    assert "WebJob is stopping due to website shutting down" in job_log("worker")

    assert api.get("/api/continuouswebjobs/worker").status_code == 200  # a request
    wait_for(lambda: _status() == "Running", "the worker to run again")


def test_it_fires_no_schedule_while_every_instance_is_idle(
    always_off, api, monkeypatch
):
    clock_set(timezone.now().isoformat())
    data = make_zip(
        {"run.sh": "echo hi\n", "settings.job": '{"schedule": "0 0 * * * *"}'}
    )
    assert api.deploy("hourly", data, filename="h.zip").status_code == 200
    assert armed_jobs().filter(webjob__name="hourly").exists()  # just started

    monkeypatch.setattr(
        alwayson, "_process_started", timezone.now() - timedelta(minutes=1)
    )
    InstanceActivity.objects.update(
        last_request_at=timezone.now() - timedelta(minutes=1)
    )
    assert not armed_jobs().filter(webjob__name="hourly").exists()

    monkeypatch.setattr(alwayson, "_last_written", 0.0)
    api.get("/api/triggeredwebjobs/hourly")  # a request wakes the site
    assert armed_jobs().filter(webjob__name="hourly").exists()
