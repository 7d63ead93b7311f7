"""The engine's step: fire once, advance, retry, error action, Completed, misfire."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from config.clock import clock_now, clock_set
from scheduler.engine import engine_step, next_wake
from scheduler.models import Attempt, Job, JobHistory, JobState
from scheduler.services import job_put
from tests.helpers import later

pytestmark = pytest.mark.django_db(transaction=True)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def http_job(
    collection, name, url, *, recurrence=None, start=None, retry=None, error_url=None
):
    action = {"type": "Http", "request": {"uri": url, "method": "POST", "body": "hi"}}
    if retry is not None:
        action["retryPolicy"] = retry
    if error_url:
        action["errorAction"] = {
            "type": "Http",
            "request": {"uri": error_url},
            "retryPolicy": {"retryType": "None"},
        }
    props = {"action": action}
    if recurrence:
        props["recurrence"] = recurrence
    if start:
        props["startTime"] = start
    job, _ = job_put(collection=collection, name=name, body={"properties": props})
    return job


def statuses(job) -> list[tuple[str, str, int]]:
    return [
        (h.action_name, h.status, h.retry_count)
        for h in JobHistory.objects.filter(job=job).order_by("start_time", "pk")
    ]


def test_it_fires_a_due_occurrence_once_and_advances(collection, target):
    job = http_job(
        collection,
        "every-minute",
        target.url,
        recurrence={"frequency": "Minute", "interval": 1},
        start=later("2031-01-30T12:00:30Z"),
    )
    assert job.next_fire_at == at(later("2031-01-30T12:00:30Z"))
    clock_set(later("2031-01-30T12:00:31Z"))
    engine_step(clock_now())
    engine_step(clock_now())  # a second pass (or engine) finds nothing to fire
    job.refresh_from_db()
    assert len(target.calls) == 1
    assert target.calls[0][:2] == ("POST", "hi")
    assert job.next_fire_at == at(later("2031-01-30T12:01:30Z"))
    assert job.execution_count == 1
    assert statuses(job) == [("MainAction", "Completed", 0)]
    entry = JobHistory.objects.get(job=job)
    assert entry.expected_execution_time == at(later("2031-01-30T12:00:30Z"))
    assert "answer 200" in entry.message


def test_it_retries_with_the_policy_then_runs_the_error_action(collection, target):
    job = http_job(
        collection,
        "flaky",
        target.url,
        retry={"retryType": "Fixed", "retryInterval": "PT20S", "retryCount": 2},
        error_url=target.url + "/error",
    )
    target.status = 500
    engine_step(clock_now())  # no start time: runs once immediately
    assert statuses(job) == [("MainAction", "Failed", 0)]
    retry = Attempt.objects.get(job=job, retry_count=1)
    assert retry.due_at - clock_now() > timedelta(seconds=15)
    engine_step(clock_now())  # not due yet
    assert len(target.calls) == 1
    for _ in range(2):
        clock_set((clock_now() + timedelta(seconds=21)).isoformat())
        engine_step(clock_now())
    target.status = 200  # the error endpoint is healthy
    engine_step(clock_now())  # the error action, due at once
    job.refresh_from_db()
    assert statuses(job) == [
        ("MainAction", "Failed", 0),
        ("MainAction", "Failed", 1),
        ("MainAction", "Failed", 2),
        ("ErrorAction", "Completed", 0),
    ]
    assert target.calls[-1][0] == "GET" and len(target.calls) == 4
    assert (job.execution_count, job.failure_count, job.faulted_count) == (3, 3, 1)
    assert job.state == JobState.COMPLETED  # a one-time job is done after its run


def test_it_completes_after_count_occurrences(collection, target):
    job = http_job(
        collection,
        "thrice",
        target.url,
        recurrence={"frequency": "Minute", "interval": 1, "count": 3},
        start=later("2031-01-30T12:01:00Z"),
    )
    for minute in (1, 2, 3):
        clock_set(later(f"2031-01-30T12:0{minute}:00Z"))
        engine_step(clock_now())
    job.refresh_from_db()
    assert len(target.calls) == 3
    assert job.state == JobState.COMPLETED
    assert job.next_fire_at is None


def test_it_runs_only_the_latest_missed_occurrence_within_the_grace(
    collection, target, settings
):
    settings.SCHEDULER_MISFIRE_GRACE = 120
    job = http_job(
        collection,
        "minutely",
        target.url,
        recurrence={"frequency": "Minute", "interval": 1},
        start=later("2031-01-30T12:01:00Z"),
    )
    clock_set(later("2031-01-30T12:05:30Z"))  # 12:01..12:05 missed (downtime, a jump)
    engine_step(clock_now())
    job.refresh_from_db()
    assert len(target.calls) == 1  # once, not five times
    history = list(JobHistory.objects.filter(job=job).order_by("pk"))
    assert [(h.status, h.repeat_count) for h in history] == [
        ("Postponed", 4),
        ("Completed", 0),
    ]
    assert history[1].expected_execution_time == at(later("2031-01-30T12:05:00Z"))
    assert job.next_fire_at == at(later("2031-01-30T12:06:00Z"))


def test_it_postpones_occurrences_missed_beyond_the_grace(collection, target, settings):
    settings.SCHEDULER_MISFIRE_GRACE = 60
    job = http_job(
        collection,
        "hourly",
        target.url,
        recurrence={"frequency": "Hour", "interval": 1},
        start=later("2031-01-30T13:00:00Z"),
    )
    clock_set(later("2031-01-30T15:30:00Z"))
    engine_step(clock_now())
    job.refresh_from_db()
    assert target.calls == []
    entry = JobHistory.objects.get(job=job)
    assert entry.status == "Postponed"
    assert entry.repeat_count == 3
    assert "missed" in entry.message
    assert job.next_fire_at == at(later("2031-01-30T16:00:00Z"))


def test_it_follows_the_clock_across_a_month_end(collection, target):
    job = http_job(
        collection,
        "month-end",
        target.url,
        recurrence={
            "frequency": "Month",
            "interval": 1,
            "schedule": {"monthDays": [-1], "hours": [0], "minutes": [0]},
        },
        start=later("2031-01-01T00:00:00Z"),
    )
    assert job.next_fire_at == at(later("2031-01-31T00:00:00Z"))
    clock_set(later("2031-01-31T00:00:01Z"))
    engine_step(clock_now())
    job.refresh_from_db()
    assert job.execution_count == 1
    assert job.last_execution_time >= at(later("2031-01-31T00:00:01Z"))
    assert job.next_fire_at == at(later("2031-02-28T00:00:00Z"))
    clock_set(later("2031-02-28T00:00:02Z"))
    engine_step(clock_now())
    job.refresh_from_db()
    assert job.execution_count == 2
    assert job.next_fire_at == at(later("2031-03-31T00:00:00Z"))


def test_it_pushes_a_broken_job_aside_and_fires_the_others(collection, target):
    broken = http_job(
        collection,
        "broken",
        target.url,
        recurrence={"frequency": "Minute", "interval": 1},
    )
    broken.recurrence = {"frequency": "Fortnight"}  # corrupted behind the API's back
    broken.save()
    good = http_job(collection, "good", target.url)
    clock_set((clock_now() + timedelta(seconds=1)).isoformat())
    engine_step(clock_now())
    broken.refresh_from_db()
    good.refresh_from_db()
    assert broken.state == JobState.FAULTED
    assert "could not be evaluated" in JobHistory.objects.get(job=broken).message
    assert good.execution_count == 1


def test_it_does_not_fire_disabled_jobs_or_collections(collection, target):
    from scheduler.services import collection_set_state, job_set_state

    job = http_job(
        collection,
        "quiet",
        target.url,
        recurrence={"frequency": "Minute", "interval": 1},
        start=later("2031-01-30T12:01:00Z"),
    )
    job_set_state(job=job, state=JobState.DISABLED)
    clock_set(later("2031-01-30T12:01:05Z"))
    engine_step(clock_now())
    assert target.calls == []
    job_set_state(job=job, state=JobState.ENABLED)
    job.refresh_from_db()
    assert job.next_fire_at == at(later("2031-01-30T12:02:00Z"))  # re-armed from now
    collection_set_state(collection=collection, state="Disabled")
    clock_set(later("2031-01-30T12:02:05Z"))
    engine_step(clock_now())
    assert target.calls == []


def test_it_refuses_a_start_more_than_18_months_ahead(collection, target):
    from scheduler.services import FieldError

    with pytest.raises(FieldError) as info:
        http_job(collection, "far", target.url, start=later("2032-12-01T00:00:00Z"))
    assert info.value.field == "properties.startTime"
    assert not collection.jobs.exists()


def test_it_keeps_the_newest_history_entries_up_to_the_size(
    collection, target, settings
):
    settings.SCHEDULER_HISTORY_SIZE = 3
    job = http_job(
        collection,
        "chatty",
        target.url,
        recurrence={"frequency": "Minute", "interval": 1},
        start=later("2031-01-30T12:01:00Z"),
    )
    for minute in range(1, 6):
        clock_set(later(f"2031-01-30T12:0{minute}:00Z"))
        engine_step(clock_now())
    kept = JobHistory.objects.filter(job=job).order_by("expected_execution_time")
    assert [entry.expected_execution_time for entry in kept] == [
        at(later(f"2031-01-30T12:0{minute}:00Z")) for minute in (3, 4, 5)
    ]
    job.refresh_from_db()
    assert job.execution_count == 5  # the counters go on counting


def test_it_wakes_for_the_first_fire_a_webjob_action_claimed_ahead(
    collection, target, settings
):
    settings.SCHEDULER_LEAD = 0.5
    now = clock_now()
    http = http_job(
        collection, "plain", target.url, start=later("2031-02-01T00:00:00Z")
    )
    other = http_job(
        collection, "run-a-webjob", target.url, start=later("2031-02-01T00:00:00Z")
    )
    webjob_action = {"type": "WebJob", "webJob": {"name": "w"}}
    first = now + timedelta(minutes=2)
    Job.objects.filter(pk=http.pk).update(next_fire_at=first)
    # A WebJob action is claimed SCHEDULER_LEAD ahead: just after the Http job,
    # it is the first thing to wake for.
    Job.objects.filter(pk=other.pk).update(
        next_fire_at=first + timedelta(seconds=0.3), action=webjob_action
    )
    assert next_wake(now) == first - timedelta(seconds=0.2)
    # Further than the lead after the first job: the first job decides.
    Job.objects.filter(pk=other.pk).update(next_fire_at=first + timedelta(seconds=3))
    assert next_wake(now) == first
    Job.objects.filter(pk=http.pk).delete()
    assert next_wake(now) == first + timedelta(seconds=2.5)
