"""The emulator clock API: read "now", move it forward, and jobs follow it.

``GET/PUT /api/emulator/clock`` answer ``{"now": "...Z", "offset_seconds": x}``.
The clock only moves forward; its row lives in the database, so every
transactional test starts at real time.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from azure.mgmt.scheduler.models import JobRecurrence

from tests.scheduler_api.conftest import (
    RG,
    at,
    collection_model,
    http_action,
    job_model,
    parse_time,
    wait_for_history,
)

pytestmark = pytest.mark.django_db(transaction=True)

SLACK = timedelta(seconds=2)


def _assert_shape(body: dict) -> datetime:
    assert set(body) == {"now", "offset_seconds"}, body
    assert body["now"].endswith("Z"), body
    assert isinstance(body["offset_seconds"], float), body
    now = parse_time(body["now"])
    real = datetime.now(UTC)
    assert abs(now - (real + timedelta(seconds=body["offset_seconds"]))) < SLACK
    return now


def test_it_starts_each_test_at_real_time(clock):
    response = clock.get()
    assert response.status_code == 200
    now = _assert_shape(response.json())
    assert abs(now - datetime.now(UTC)) < SLACK
    assert abs(response.json()["offset_seconds"]) < 1


def test_it_moves_the_clock_forward(clock):
    response = clock.put({"now": "2027-01-30T12:00:00Z"})
    assert response.status_code == 200, response.text
    now = _assert_shape(response.json())
    assert abs(now - at("2027-01-30T12:00:00Z")) < SLACK
    assert response.json()["offset_seconds"] > 3600

    later = clock.get().json()
    assert abs(parse_time(later["now"]) - at("2027-01-30T12:00:00Z")) < SLACK
    assert later["offset_seconds"] == pytest.approx(
        response.json()["offset_seconds"], abs=0.01
    )


def test_it_refuses_to_move_the_clock_backwards(clock):
    clock.set("2028-06-01T00:00:00Z")
    response = clock.put({"now": "2028-05-31T23:00:00Z"})
    assert response.status_code == 409
    assert response.text.strip()  # a message says why
    assert abs(clock.now() - at("2028-06-01T00:00:00Z")) < SLACK

    real_past = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    assert clock.put({"now": real_past}).status_code == 409


@pytest.mark.parametrize(
    "body",
    ['{"now": ', "[]", "{}", '{"now": "next tuesday"}', '{"now": 12}'],
    ids=repr,
)
def test_it_refuses_a_bad_body(clock, body):
    response = clock.put(body, raw=True)
    assert response.status_code == 400, response.text
    assert response.text.strip()
    assert abs(clock.get().json()["offset_seconds"]) < 1


def test_it_computes_the_next_run_from_the_emulated_now(clock, sdk):
    clock.set("2031-06-01T12:00:00Z")
    sdk.job_collections.create_or_update(RG, "jc", collection_model())
    # Past for the emulated clock, future for the real one: runs are counted
    # from the start, and the ones before the emulated now are skipped.
    job = sdk.jobs.create_or_update(
        RG,
        "jc",
        "hourly",
        job_model(
            start_time=at("2031-05-01T00:30:00Z"),
            recurrence=JobRecurrence(frequency="Hour", interval=1),
        ),
    )
    assert job.properties.status.next_execution_time == at("2031-06-01T12:30:00Z")


def test_it_follows_the_clock_for_jobs_created_before_a_move(clock, sdk):
    clock.set("2031-06-01T12:00:00Z")
    sdk.job_collections.create_or_update(RG, "jc", collection_model())
    sdk.jobs.create_or_update(
        RG,
        "jc",
        "daily",
        job_model(
            start_time=at("2031-06-02T08:00:00Z"),
            recurrence=JobRecurrence(frequency="Day", interval=1),
        ),
    )
    job = sdk.jobs.get(RG, "jc", "daily")
    assert job.properties.status.next_execution_time == at("2031-06-02T08:00:00Z")


def test_it_records_runs_at_the_emulated_time(clock, sdk, target):
    emulated = clock.set("2031-06-01T12:00:00Z")
    uri = target.reply("/tick", (200, "tock"))
    sdk.job_collections.create_or_update(RG, "jc", collection_model())
    sdk.jobs.create_or_update(
        RG,
        "jc",
        "tick",
        job_model(action=http_action(uri), start_time=at("2031-07-01T00:00:00Z")),
    )
    sdk.jobs.run(RG, "jc", "tick")
    [entry] = wait_for_history(sdk, "jc", "tick", 1)
    assert entry.properties.status == "Completed"
    assert emulated <= entry.properties.start_time < emulated + timedelta(minutes=1)
    assert emulated <= entry.properties.end_time < emulated + timedelta(minutes=1)
    status = sdk.jobs.get(RG, "jc", "tick").properties.status
    assert emulated <= status.last_execution_time < emulated + timedelta(minutes=1)
