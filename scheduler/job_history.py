"""A scheduler job's history: entries appended (one insert for many), the newest
SCHEDULER_HISTORY_SIZE kept per job, and the one Postponed entry that stands for
the occurrences a stopped scheduler or a clock jump skipped."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db.models import Count

from config import statements
from scheduler.models import ActionName, HistoryStatus, Job, JobHistory

MSG_POSTPONED = (
    "{count} occurrence(s) missed while the scheduler was not running or the clock "
    "jumped, the last due at {last}; they were past the misfire grace of {grace} s."
)


def history_add(
    *,
    job: Job,
    action_name: str,
    status: str,
    message: str,
    start: datetime,
    end: datetime | None,
    expected: datetime | None,
    retry_count: int = 0,
    repeat_count: int = 0,
) -> JobHistory:
    """Append a history entry; keep the newest SCHEDULER_HISTORY_SIZE per job."""
    entry = JobHistory(
        job=job,
        action_name=action_name,
        status=status,
        message=message,
        start_time=start,
        end_time=end,
        expected_execution_time=expected,
        retry_count=retry_count,
        repeat_count=repeat_count,
    )
    histories_add([entry])
    return entry


def histories_add(entries: list[JobHistory]) -> None:
    """Append history entries (of one job or many) in one insert, then trim the
    jobs past SCHEDULER_HISTORY_SIZE (one query finds them)."""
    if not entries:
        return
    JobHistory.objects.bulk_create(entries)
    keep = settings.SCHEDULER_HISTORY_SIZE
    jobs = {entry.job_id for entry in entries}
    if len(jobs) == 1:  # every fire: one statement, written out
        _trim_one(jobs.pop(), keep)
        return
    over = (
        JobHistory.objects.filter(job__in=jobs)
        .values("job")
        .annotate(kept=Count("pk"))
        .filter(kept__gt=keep)
        .values_list("job", flat=True)
    )
    for job_id in list(over):
        old = JobHistory.objects.filter(job_id=job_id).order_by("-start_time", "-pk")
        stale = list(old.values_list("pk", flat=True)[keep:])
        JobHistory.objects.filter(pk__in=stale).delete()


def _trim_one(job_id: int, keep: int) -> None:
    """One job's entries beyond its newest `keep` go, in one statement: every
    fire appends one, and the count, look and delete the ORM compiled for it
    were a quarter of a launcher's CPU per scheduled fire (issue 18;
    config/statements.py). The index history_job_newest answers the subquery."""
    statements.execute(
        JobHistory,
        "DELETE FROM {_table} WHERE {job} = %s AND {id} NOT IN ("
        "SELECT {id} FROM {_table} WHERE {job} = %s"
        " ORDER BY {start_time} DESC, {id} DESC LIMIT %s)",
        [job_id, job_id, keep],
    )


# repeatCount is an Int32 in Azure's API (and a 4-byte column here); a jump of
# decades over a per-second schedule misses more than that. The message keeps
# the exact count.
MAX_REPEAT_COUNT = 2**31 - 1


def history_postponed(
    *, job: Job, count: int, last: datetime, grace: float, now: datetime
) -> JobHistory:
    """The one entry (unsaved) that stands for `count` occurrences skipped, the
    last due at `last`: for histories_add."""
    return JobHistory(
        job=job,
        action_name=ActionName.MAIN,
        status=HistoryStatus.POSTPONED,
        message=MSG_POSTPONED.format(
            count=count,
            last=last.strftime("%Y-%m-%dT%H:%M:%SZ"),
            grace=int(grace),
        ),
        start_time=now,
        end_time=now,
        expected_execution_time=last,
        repeat_count=min(count, MAX_REPEAT_COUNT),
    )
