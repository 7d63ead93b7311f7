"""The Django side of fire_lateness, imported once Django is set up
(bench/lateness/tasks.py): the product's rows read back, django-q2 Schedules and
scheduler jobs created."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django_q.models import Schedule

from bench.lateness.plan import FIRING, firing_offset
from config.clock import clock_now
from history.models import Run
from scheduler.models import Attempt
from scheduler.services import NotFound, collection_get, collection_put, job_put


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
    their own second; the others are idle (a start two days ahead). Through
    job_put, the service every entry point uses; 1,000 jobs per P20Premium
    collection, Azure's limit."""
    now = clock_now().replace(microsecond=0)
    minute = now - timedelta(seconds=now.second, minutes=1)
    collections = {}
    for i in range(start, stop):
        firing = i < FIRING
        group = "fire" if firing else f"idle{(i - FIRING) // 1000:02d}"
        if group not in collections:
            where = {"subscription_id": "bench", "resource_group": "bench"}
            try:
                collections[group] = collection_get(**where, name=group)
            except NotFound:
                collections[group], _ = collection_put(
                    **where,
                    name=group,
                    body={"properties": {"sku": {"name": "P20Premium"}}},
                )
        if firing:
            name = f"f{i:03d}"
            begin = minute + timedelta(seconds=firing_offset(i))
            recurrence = {"frequency": "Minute", "interval": 1}
        else:
            name = f"i{i:05d}"
            begin = now + timedelta(days=2, seconds=(i * 37) % 86_400)
            recurrence = idle_recurrence(i)
        action = {
            "type": "Http",
            "request": {
                "uri": f"http://127.0.0.1:{port}/{'f' if firing else 'i'}/{name}",
                "method": "GET",
            },
            "retryPolicy": {"retryType": "None"},
        }
        job_put(
            collection=collections[group],
            name=name,
            body={
                "properties": {
                    "startTime": begin.isoformat(),
                    "action": action,
                    "recurrence": recurrence,
                }
            },
        )
    return stop - start


TASKS = {
    "stages": task_stages,
    "djq_schedules": task_djq_schedules,
    "create_jobs": task_create_jobs,
}
