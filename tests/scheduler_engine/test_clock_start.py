"""EMULATOR_CLOCK_START: an instance whose clock starts in the past."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from config.clock import clock_now, clock_refresh
from scheduler.services import collection_put, job_put

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def past_clock(monkeypatch):
    monkeypatch.setenv("EMULATOR_CLOCK_START", "2019-02-27T08:00:00Z")
    clock_refresh()
    yield
    clock_refresh()


def test_it_starts_the_clock_at_the_instant_and_runs_at_real_speed(past_clock):
    now = clock_now()
    assert datetime(2019, 2, 27, 8, 0, tzinfo=UTC) <= now
    assert now < datetime(2019, 2, 27, 8, 0, 5, tzinfo=UTC)


def test_it_computes_next_execution_from_the_past_instant(past_clock):
    collection, _ = collection_put(
        subscription_id="s", resource_group="rg", name="c", body={"properties": {}}
    )
    job, _ = job_put(
        collection=collection,
        name="month-end",
        body={
            "properties": {
                "startTime": "2019-01-01T00:00:00Z",
                "action": {"type": "Http", "request": {"uri": "http://127.0.0.1:9/"}},
                "recurrence": {
                    "frequency": "Month",
                    "schedule": {"monthDays": [-1], "hours": [12], "minutes": [0]},
                },
            }
        },
    )
    assert job.next_fire_at == datetime(2019, 2, 28, 12, 0, tzinfo=UTC)
    assert job.created_at - datetime(2019, 2, 27, 8, 0, tzinfo=UTC) < timedelta(
        seconds=5
    )
