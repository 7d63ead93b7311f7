"""Reads for the scheduler shared by the ARM API, the admin and the commands."""

from __future__ import annotations

from datetime import datetime
from itertools import islice

from scheduler.models import Job, JobState
from scheduler.ncrontab import cron_expand
from scheduler.recurrence import (
    RecurrenceError,
    describe_recurrence,
    recurrence_from_json,
)
from scheduler.services import job_occurrences


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
