"""Time work is bounded whatever the input or the clock (issue 16's first cases).

A clock jump of years over per-second schedules, a count of 10^9 from a start a
century back, a clock moved to the calendar's end: each used to cost hours,
gigabytes or every later request. The bounds asserted here are generous (a
loaded 2-core machine); bench/bounded_work.py measures the real cost.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, timedelta
from itertools import islice

import pytest
from django.core.management import CommandError, call_command

from config.clock import clock_now, clock_refresh, clock_set
from config.models import EmulatorClock
from core.ncrontab import cron_next
from scheduler.engine import engine_step
from scheduler.models import Attempt, Job, JobHistory, JobState
from scheduler.selectors import job_upcoming
from scheduler.services import job_put
from tests.helpers import make_zip
from tests.scheduler_engine.conftest import new_collection

pytestmark = pytest.mark.django_db(transaction=True)

# Far above the real cost (milliseconds), far below what the cases used to take.
BOUND = 20.0


@pytest.fixture
def collection(db):
    """The collection at the clock's current time (real time: not moved)."""
    clock_refresh()
    return new_collection("P20Premium")


def iso(moment) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def per_second_jobs(collection, url: str, count: int) -> list[Job]:
    now = clock_now()
    first = cron_next("* * * * * *", after=now)
    return [
        Job.objects.create(
            collection=collection,
            name=f"tick{i}",
            cron="* * * * * *",
            created_at=now,
            next_fire_at=first,
            action={
                "type": "Http",
                "retryPolicy": {"retryType": "None"},
                "request": {"uri": url, "method": "GET", "headers": {}},
            },
        )
        for i in range(count)
    ]


def test_a_jump_of_ten_years_over_per_second_schedules_is_counted_not_listed(
    collection, target, settings
):
    settings.SCHEDULER_MISFIRE_GRACE = 600
    jobs = per_second_jobs(collection, target.url, 5)
    first = jobs[0].next_fire_at
    target_time = (clock_now() + timedelta(days=3652)).replace(microsecond=0)
    clock_set(iso(target_time))
    started = time.monotonic()
    now = clock_now()
    while engine_step(now):  # until the engine is current again
        pass
    assert time.monotonic() - started < BOUND
    latest = now.replace(microsecond=0)
    for job in jobs:
        job.refresh_from_db()
        entries = list(JobHistory.objects.filter(job=job).order_by("pk"))
        postponed = [e for e in entries if e.status == "Postponed"]
        assert len(postponed) == 1
        # Every second from the first due one to now, but the latest, which runs.
        missed = int((latest - first).total_seconds())
        assert postponed[0].repeat_count == missed
        assert f"{missed} occurrence(s) missed" in postponed[0].message
        assert postponed[0].expected_execution_time == latest - timedelta(seconds=1)
        [attempt] = Attempt.objects.filter(job=job)
        assert attempt.expected_time == latest
        assert job.next_fire_at == latest + timedelta(seconds=1)
    assert len(target.calls) == len(jobs)  # the latest, once per job


def test_a_count_of_a_billion_from_a_start_a_century_back_is_arithmetic(
    collection, target
):
    now = clock_now().replace(microsecond=0)
    start = now - timedelta(days=36524, seconds=30)
    started = time.monotonic()
    job, created = job_put(
        collection=collection,
        name="old",
        body={
            "properties": {
                "startTime": iso(start),
                "action": {"type": "Http", "request": {"uri": target.url}},
                "recurrence": {"frequency": "Minute", "count": 10**9},
            }
        },
    )
    assert created
    assert time.monotonic() - started < BOUND
    # The grid of the start (its second), the first instance not in the past.
    following = start + timedelta(minutes=(now - start) // timedelta(minutes=1) + 1)
    assert job.next_fire_at == following
    upcoming = job_upcoming(job, now=now, count=5)
    assert upcoming == [following + timedelta(minutes=n) for n in range(5)]

    # Three months later the engine counts what it missed; the count goes on
    # from creation, so the job is not Completed and knows its next minute.
    clock_set(iso(now + timedelta(days=91)))
    engine_step(clock_now())
    job.refresh_from_db()
    postponed = JobHistory.objects.get(job=job, status="Postponed")
    assert postponed.repeat_count == 91 * 1440 - 1
    assert job.state == JobState.ENABLED
    assert job.next_fire_at > clock_now()


def test_a_count_ends_the_job_exactly_across_a_jump(collection, target, settings):
    settings.SCHEDULER_MISFIRE_GRACE = 0
    now = clock_now().replace(microsecond=0)
    job, _ = job_put(
        collection=collection,
        name="ten",
        body={
            "properties": {
                "startTime": iso(now - timedelta(days=400)),
                "action": {"type": "Http", "request": {"uri": target.url}},
                "recurrence": {"frequency": "Minute", "count": 10},
            }
        },
    )
    clock_set(iso(now + timedelta(days=3650)))
    engine_step(clock_now())
    job.refresh_from_db()
    entry = JobHistory.objects.get(job=job)
    assert (entry.status, entry.repeat_count) == ("Postponed", 10)
    assert job.state == JobState.COMPLETED
    assert job.next_fire_at is None


def test_the_clock_refuses_a_target_beyond_its_limit_and_keeps_serving(api):
    response = api.client.put(
        "/api/emulator/clock",
        data='{"now": "9999-12-31T23:59:55Z"}',
        content_type="application/json",
        **api.headers,
    )
    assert response.status_code == 400, response.content
    message = response.json()["error"]["message"]
    assert "at most 100 years past real time" in message
    assert "9999-12-31T23:59:55Z" in message
    for path in ("/api/emulator/clock", "/api/webjobs", "/api/triggeredwebjobs"):
        assert api.get(path).status_code == 200, path
    with pytest.raises(CommandError, match="at most 100 years"):
        call_command("clock", "set", "9999-12-31T23:59:55Z")


@pytest.mark.parametrize(
    "body",
    [
        '{"now": ' + "9" * 5000 + "}",
        '{"now": "' + "9" * 5000 + '"}',
        "[" * 100_000,
        '{"now": "9999-12-31T23:00:00-05:00"}',
    ],
    ids=["5000-digit number", "5000-digit string", "deep nesting", "year 10000 UTC"],
)
def test_the_clock_refuses_hostile_bodies_with_400(api, body):
    response = api.client.put(
        "/api/emulator/clock", data=body, content_type="application/json", **api.headers
    )
    assert response.status_code == 400, response.content[:300]
    assert api.get("/api/emulator/clock").status_code == 200


def test_an_offset_stored_beyond_the_limit_is_read_within_it(api, collection, target):
    EmulatorClock.objects.update_or_create(pk=1, defaults={"offset_seconds": 1e13})
    clock_refresh()
    response = api.get("/api/emulator/clock")
    assert response.status_code == 200
    assert response.json()["now"] < "2200"
    per_second_jobs(collection, target.url, 1)
    engine_step(clock_now())  # the engine goes on too
    moved = api.client.put(
        "/api/emulator/clock",
        data=json.dumps({"now": iso(clock_now() + timedelta(seconds=5))}),
        content_type="application/json",
        **api.headers,
    )
    assert moved.status_code == 400  # at the limit already: refused, not a 500
    assert api.get("/api/emulator/clock").status_code == 200


def test_the_portal_lists_the_next_runs_of_a_per_second_schedule_after_a_jump(
    collection, target
):
    [job] = per_second_jobs(collection, target.url, 1)
    clock_set(iso(clock_now() + timedelta(days=3652)))
    now = clock_now()
    engine_step(now)
    job.refresh_from_db()
    upcoming = job_upcoming(job, now=now, count=5)
    first = now.replace(microsecond=0) + timedelta(seconds=1)
    assert upcoming == [first + timedelta(seconds=n) for n in range(5)]
    assert list(islice(upcoming, 1)) == [job.next_fire_at]


def test_a_minutely_webjob_found_three_months_late_fires_once_at_once(api, settings):
    """The issue's own case: a WebJob scheduled every minute, the clock moved 3
    months forward. The engine used to list 129,598 missed minutes inside its
    write transaction (a settings PUT meanwhile took 4.65 s)."""
    settings.SCHEDULER_MISFIRE_GRACE = 600
    data = make_zip(
        {"run.sh": "echo tick\n", "settings.job": '{"schedule": "0 * * * * *"}'}
    )
    assert api.deploy("minutely", data, filename="m.zip").status_code == 200
    timer = Job.objects.get(webjob__name="minutely")
    first = timer.next_fire_at
    clock_set(iso(clock_now() + timedelta(days=91)))
    now = clock_now()
    started = time.monotonic()
    engine_step(now)
    assert time.monotonic() - started < BOUND
    latest = now.replace(second=0, microsecond=0)
    postponed = JobHistory.objects.get(job=timer, status="Postponed")
    assert postponed.repeat_count == (latest - first) // timedelta(minutes=1)
    timer.refresh_from_db()
    assert timer.next_fire_at == latest + timedelta(minutes=1)
    [attempt] = Attempt.objects.filter(job=timer)
    assert attempt.expected_time == latest  # the latest, within the grace, runs
    response = api.put_settings("minutely", '{"schedule": "0 0 * * * *"}')
    assert response.status_code == 200  # and a settings change goes through
