"""Reads for the scheduler shared by the ARM API, the admin and the commands."""

from __future__ import annotations

from datetime import datetime
from itertools import islice

from django.db.models import Count, OuterRef, Q, QuerySet, Subquery

from core.ncrontab import cron_expand
from core.recurrence import RecurrenceError, occurrences, validate_recurrence
from core.recurrence_json import recurrence_from_json
from core.recurrence_words import describe_recurrence
from scheduler.models import ActionName, HistoryStatus, Job, JobHistory, JobState
from scheduler.services import job_occurrences, parse_time


def job_description(job: Job) -> str:
    """The schedule in words: Kudu's ``Schedule - <expanded CRON>`` for a scheduled
    WebJob's timer, else the Azure recurrence described."""
    if job.cron:
        return f"Schedule - {cron_expand(job.cron)}"
    return describe_recurrence(recurrence_from_json(job.recurrence), job.start_time)


def job_upcoming(job: Job, *, now: datetime, count: int) -> list[datetime]:
    """The job's next ``count`` occurrences after ``now``; none once it is over."""
    if job.state in (JobState.COMPLETED, JobState.FAULTED):
        return []
    return list(islice(job_occurrences(job, after=now), count))


def field_message(exc: RecurrenceError) -> str:
    """``properties.recurrence.interval: interval must be at least 1, got 0.``"""
    if exc.field in exc.message:
        return exc.message
    return f"{exc.field}: {exc.message}"


def job_summaries() -> QuerySet[Job]:
    """Jobs with their kept history counted (main action only: an error action's
    entry is not the job's result; Postponed is not an execution) and their
    latest result, for the dashboard: ``completed``, ``failed``, ``latest``."""
    main = Q(history__action_name=ActionName.MAIN)
    latest = (
        JobHistory.objects.filter(job=OuterRef("pk"), action_name=ActionName.MAIN)
        .exclude(status=HistoryStatus.POSTPONED)
        .order_by("-start_time", "-pk")
        .values("status")[:1]
    )
    return (
        Job.objects.select_related("collection")
        .annotate(
            completed=Count(
                "history", filter=main & Q(history__status=HistoryStatus.COMPLETED)
            ),
            failed=Count(
                "history", filter=main & Q(history__status=HistoryStatus.FAILED)
            ),
            latest=Subquery(latest),
        )
        .order_by("collection__name", "name")
    )


def recurrence_preview(
    *,
    start_time: str | None,
    recurrence: dict | None,
    now: datetime,
    max_recurrence: tuple[str, int] | None,
    count: int,
) -> tuple[str, list[datetime]]:
    """A recurrence in words and the next `count` occurrences of a job created
    `now` with it, validated as job_put validates (raises RecurrenceError)."""
    start = parse_time(start_time, "properties.startTime")
    rec = recurrence_from_json(recurrence)
    validate_recurrence(
        rec, start_time=start, created_at=now, max_recurrence=max_recurrence
    )
    times = occurrences(start_time=start, recurrence=rec, created_at=now)
    return describe_recurrence(rec, start), list(islice(times, count))


def job_state_counts(jobs: QuerySet[Job]) -> list[tuple[str, int]]:
    """How many of the jobs are in each state, in JobState's order."""
    states = list(jobs.values_list("state", flat=True))
    return [
        (state, states.count(state)) for state in JobState.values if state in states
    ]
