"""A scheduler job whose action runs a triggered WebJob."""

from __future__ import annotations

import time

import pytest

from config.clock import clock_now
from scheduler.engine import engine_step
from scheduler.services import job_put
from tests.helpers import history_entry, later

pytestmark = pytest.mark.django_db(transaction=True)


def test_it_runs_the_webjob_with_arguments_and_records_the_trigger(collection, api):
    api.deploy_fixture("hello", "hello.sh")
    job, _ = job_put(
        collection=collection,
        name="nightly",
        body={
            "properties": {
                "action": {
                    "type": "WebJob",
                    "webJob": {"name": "hello", "arguments": "x 'y z'"},
                },
            }
        },
    )
    engine_step(clock_now())
    entry = history_entry(job=job)
    assert entry.status == "Completed"
    assert "WebJob Action - Run" in entry.message
    latest = api.get("/api/triggeredwebjobs/hello").json()["latest_run"]
    run = api.wait(latest["url"])
    assert run["trigger"] == "Scheduler - jc/nightly"
    assert run["status"] == "Success"
    assert "args: x y z" in api.output(run)
    assert run["start_time"].startswith(later("2031-01-30"))  # the emulated time


def test_it_fails_the_action_when_the_webjob_is_already_running(collection, api):
    api.deploy("slow", b"sleep 3\n", filename="run.sh")
    first = api.run("slow")
    job, _ = job_put(
        collection=collection,
        name="clash",
        body={
            "properties": {
                "action": {
                    "type": "WebJob",
                    "webJob": {"name": "slow"},
                    "retryPolicy": {"retryType": "None"},
                },
            }
        },
    )
    engine_step(clock_now())
    entry = history_entry(job=job)
    assert entry.status == "Failed"
    assert "Cannot start a new run since job is already running." in entry.message
    api.wait(first["Location"])
    time.sleep(0.1)
