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


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def ahead(clock, **delta) -> datetime:
    """An instant ahead of the emulator's current time (whole seconds): every
    clock target here is relative to the clock, never a fixed date."""
    return (clock.now() + timedelta(**delta)).replace(microsecond=0)


def test_it_moves_the_clock_forward(clock):
    target = ahead(clock, days=400)
    response = clock.put({"now": iso(target)})
    assert response.status_code == 200, response.text
    now = _assert_shape(response.json())
    assert abs(now - target) < SLACK
    assert response.json()["offset_seconds"] > 3600

    later = clock.get().json()
    assert abs(parse_time(later["now"]) - target) < SLACK
    assert later["offset_seconds"] == pytest.approx(
        response.json()["offset_seconds"], abs=0.01
    )


def test_it_refuses_to_move_the_clock_backwards(clock):
    moved = clock.set(iso(ahead(clock, days=540)))
    response = clock.put({"now": iso(moved - timedelta(hours=1))})
    assert response.status_code == 409
    assert response.text.strip()  # a message says why
    assert abs(clock.now() - moved) < SLACK

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
    noon = ahead(clock, days=5 * 365).replace(hour=12, minute=0, second=0)
    clock.set(iso(noon))
    sdk.job_collections.create_or_update(RG, "jc", collection_model())
    # Past for the emulated clock, future for the real one: runs are counted
    # from the start, and the ones before the emulated now are skipped.
    job = sdk.jobs.create_or_update(
        RG,
        "jc",
        "hourly",
        job_model(
            start_time=noon - timedelta(days=31, minutes=30),
            recurrence=JobRecurrence(frequency="Hour", interval=1),
        ),
    )
    assert job.properties.status.next_execution_time == noon + timedelta(minutes=30)


def test_it_follows_the_clock_for_jobs_created_before_a_move(clock, sdk, target):
    """Created first, then the clock moves past its start by two days and a
    half minute: the latest missed occurrence runs (it is within the misfire
    grace), the two before it are one Postponed entry, and the next one is in
    the emulated future."""
    from scheduler.engine import engine_step

    start = ahead(clock, days=1).replace(hour=8, minute=0, second=0)
    uri = target.reply("/daily", (200, "done"))
    sdk.job_collections.create_or_update(RG, "jc", collection_model())
    sdk.jobs.create_or_update(
        RG,
        "jc",
        "daily",
        job_model(
            action=http_action(uri),
            start_time=start,
            recurrence=JobRecurrence(frequency="Day", interval=1),
        ),
    )
    assert sdk.jobs.get(RG, "jc", "daily").properties.status.next_execution_time == (
        start
    )
    clock.set(iso(start + timedelta(days=2, seconds=30)))
    engine_step(clock.now())
    entries = sorted(
        wait_for_history(sdk, "jc", "daily", 2),
        key=lambda entry: entry.properties.expected_execution_time,
    )
    postponed, ran = entries
    assert (postponed.properties.status, postponed.properties.repeat_count) == (
        "Postponed",
        2,
    )
    assert postponed.properties.expected_execution_time == start + timedelta(days=1)
    assert ran.properties.status == "Completed"
    assert ran.properties.expected_execution_time == start + timedelta(days=2)
    status = sdk.jobs.get(RG, "jc", "daily").properties.status
    assert status.next_execution_time == start + timedelta(days=3)
    assert status.next_execution_time > clock.now()
    assert status.execution_count == 1


def test_it_records_runs_at_the_emulated_time(clock, sdk, target):
    emulated = clock.set(iso(ahead(clock, days=5 * 365)))
    uri = target.reply("/tick", (200, "tock"))
    sdk.job_collections.create_or_update(RG, "jc", collection_model())
    sdk.jobs.create_or_update(
        RG,
        "jc",
        "tick",
        job_model(action=http_action(uri), start_time=emulated + timedelta(days=30)),
    )
    sdk.jobs.run(RG, "jc", "tick")
    [entry] = wait_for_history(sdk, "jc", "tick", 1)
    assert entry.properties.status == "Completed"
    assert emulated <= entry.properties.start_time < emulated + timedelta(minutes=1)
    assert emulated <= entry.properties.end_time < emulated + timedelta(minutes=1)
    status = sdk.jobs.get(RG, "jc", "tick").properties.status
    assert emulated <= status.last_execution_time < emulated + timedelta(minutes=1)
