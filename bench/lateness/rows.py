"""The Django side of fire_lateness, imported once Django is set up
(bench/harness/tasks.py): the product's rows read back, django-q2 Schedules and
scheduler jobs created."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.db import connection
from django_q.models import Schedule

from bench.lateness.plan import FIRING, firing_offset
from config.clock import clock_now
from core.definitions import validate_action
from core.recurrence import validate_recurrence
from core.recurrence_json import recurrence_from_json, recurrence_to_json
from history.models import Run
from scheduler.models import Attempt, Job, JobState
from scheduler.services import (
    NotFound,
    collection_get,
    collection_put,
    job_next_after,
    job_put,
)


def task_stages(w0: float, w1: float) -> dict:
    """Per fire of [w0, w1): the product's own timestamps, as epoch seconds;
    and how many occurrences the engine fired (Attempt rows are never trimmed)."""
    lo = datetime.fromtimestamp(w0, UTC)
    hi = datetime.fromtimestamp(w1, UTC)
    runs = {
        (r.job.name, r.scheduled_time): r
        for r in Run.objects.filter(
            scheduled_time__gte=lo, scheduled_time__lt=hi
        ).select_related("job")
    }
    attempts = Attempt.objects.filter(
        expected_time__gte=lo, expected_time__lt=hi, retry_count=0, manual=False
    )
    out = []
    for a in attempts.select_related("job"):
        run = runs.get((a.job.name, a.expected_time))
        out.append(
            {
                "name": a.job.name,
                "due": a.expected_time.timestamp(),
                "created": a.created_at.timestamp(),
                "run": run.start_time.timestamp() if run else None,
            }
        )
    return {"records": out, "attempts": attempts.count()}


def task_djq_schedules(names: list[str], starts: str, first: float) -> int:
    for name in names:
        Schedule.objects.create(
            name=f"bench-{name}",
            func="bench.peers.djq.fire",
            args=repr((name, starts)),
            schedule_type=Schedule.MINUTES,
            minutes=1,
            repeats=-1,
            next_run=datetime.fromtimestamp(first, UTC),
            intended_date_kwarg="due",
        )
    return len(names)


WEEK_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")


def idle_recurrence(i: int) -> dict:
    """Mixed recurrences; with a start two days ahead none fires in the run."""
    day = WEEK_DAYS[i % 6]
    return [
        {"frequency": "Minute", "interval": 5 + i % 995},
        {"frequency": "Hour", "interval": 1 + i % 24},
        {
            "frequency": "Day",
            "interval": 1,
            "schedule": {"hours": [i % 24], "minutes": [i % 60]},
        },
        {
            "frequency": "Week",
            "interval": 1 + i % 4,
            "schedule": {"weekDays": [day, "Sunday"], "minutes": [0, 30]},
        },
        {"frequency": "Month", "interval": 1, "schedule": {"monthDays": [1 + i % 28]}},
        {
            "frequency": "Month",
            "interval": 1 + i % 3,
            "schedule": {"monthlyOccurrences": [{"day": day, "occurrence": -1}]},
        },
    ][i % 6]


def task_create_jobs(port: int, start: int, stop: int) -> int:
    """Jobs number `start` to `stop`: the first FIRING fire once a minute on
    their own second, through job_put (the service every entry point uses);
    the others are idle (a start two days ahead), checked by the same
    validators and armed by the same next-occurrence function as job_put, but
    saved 1,000 at a time (one P20Premium collection each, Azure's limit): a
    hundred thousand job_put calls would take an hour here."""
    now = clock_now().replace(microsecond=0)
    minute = now - timedelta(seconds=now.second, minutes=1)
    collections: dict[str, object] = {}
    idle: dict[str, list[Job]] = {}
    for i in range(start, stop):
        firing = i < FIRING
        group = "fire" if firing else f"idle{(i - FIRING) // 1000:03d}"
        if group not in collections:
            collections[group] = collection(group)
        name = f"f{i:03d}" if firing else f"i{i:06d}"
        action = {
            "type": "Http",
            "request": {
                "uri": f"http://127.0.0.1:{port}/{'f' if firing else 'i'}/{name}",
                "method": "GET",
            },
            "retryPolicy": {"retryType": "None"},
        }
        if firing:
            begin = minute + timedelta(seconds=firing_offset(i))
            body = {
                "properties": {
                    "startTime": begin.isoformat(),
                    "action": action,
                    "recurrence": {"frequency": "Minute", "interval": 1},
                }
            }
            job_put(collection=collections[group], name=name, body=body)
            continue
        begin = now + timedelta(days=2, seconds=(i * 37) % 86_400)
        recurrence = recurrence_from_json(idle_recurrence(i))
        job = Job(
            collection=collections[group],
            name=name,
            start_time=begin,
            action=validate_action(action),
            created_at=now,
            state=JobState.ENABLED,
        )
        validate_recurrence(
            recurrence,
            start_time=begin,
            created_at=now,
            max_recurrence=collections[group].effective_max_recurrence,
        )
        job.recurrence = recurrence_to_json(recurrence)
        job.next_fire_at = job_next_after(job, now - timedelta(microseconds=1))
        idle.setdefault(group, []).append(job)
    for jobs in idle.values():
        Job.objects.bulk_create(jobs, batch_size=1000)
    if idle and connection.vendor == "postgresql":
        # What autovacuum does within a minute of so many new rows: without
        # it the planner took the engine's claim (0.2 ms) through every job of
        # every collection (20 ms), and its next wake with it.
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE scheduler_job, scheduler_jobcollection")
    return stop - start


def collection(name: str):
    where = {"subscription_id": "bench", "resource_group": "bench"}
    try:
        return collection_get(**where, name=name)
    except NotFound:
        created, _ = collection_put(
            **where, name=name, body={"properties": {"sku": {"name": "P20Premium"}}}
        )
        return created


TASKS = {
    "stages": task_stages,
    "djq_schedules": task_djq_schedules,
    "create_jobs": task_create_jobs,
}
