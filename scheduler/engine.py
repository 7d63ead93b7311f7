"""The scheduling engine: step functions that fire what is due.

`engine_step(now)` is one pass: claim due jobs (SELECT ... FOR UPDATE SKIP
LOCKED on PostgreSQL; SQLite serialises writers), write one Attempt per job and
due time (unique: a second engine cannot fire it again), advance next_fire_at
from the recurrence, and enqueue the action, in one transaction with the ORM
broker. Then hand pending retries that fell due to the queue. It returns True
when there was work ("call me again now").

Misfire policy (named, tested): when a job is found with occurrences missed
(downtime, a clock jump), only the latest missed one runs, and only if it is
no older than SCHEDULER_MISFIRE_GRACE; the others are recorded as one
Postponed history entry. Occurrences still count towards `count`, so
Completed and nextExecutionTime stay right.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import BooleanField, ExpressionWrapper, Q

from scheduler.models import (
    ActionName,
    Attempt,
    CollectionState,
    HistoryStatus,
    Job,
    JobState,
)
from scheduler.services import (
    attempt_enqueue,
    attempts_enqueue,
    history_add,
    history_postponed,
    job_occurrences,
)

log = logging.getLogger("scheduler.engine")
BATCH = 200
MSG_BROKEN = "The job's schedule could not be evaluated ({error}); it is Faulted."


def _locked(queryset):
    """Rows another engine holds are skipped, not waited for (PostgreSQL);
    only the claimed table's rows are locked, not the joined collection."""
    if connection.features.has_select_for_update_skip_locked:
        return queryset.select_for_update(skip_locked=True, of=("self",))
    return queryset


def armed_jobs():
    """Jobs the engine fires: enabled, in an enabled collection, and scheduled
    WebJobs only while WEBJOBS_DISABLE_SCHEDULE is off (Kudu's setting)."""
    jobs = Job.objects.filter(
        state=JobState.ENABLED,
        next_fire_at__isnull=False,
        collection__state=CollectionState.ENABLED,
    )
    if settings.WEBJOBS_DISABLE_SCHEDULE:
        jobs = jobs.filter(webjob__isnull=True)
    return jobs


def engine_step(now: datetime) -> int:
    """One pass; returns how many jobs fired and attempts went to the queue. A
    full batch (>= BATCH) means more may be due: call again at once."""
    fired = fire_due_jobs(now)
    dispatched = dispatch_due_attempts(now)
    resend_unclaimed()
    return fired + dispatched


# Done attempts older than this are deleted (history keeps the record); the
# unique (job, due time) guard only matters while next_fire_at could revisit a
# time, and it never moves backwards.
ATTEMPT_RETENTION = timedelta(hours=1)


def prune_attempts() -> int:
    from django.utils import timezone

    cutoff = timezone.now() - ATTEMPT_RETENTION
    done = Attempt.objects.filter(status=Attempt.Status.DONE, created_at__lt=cutoff)
    return done.delete()[0]


def resend_unclaimed() -> int:
    """The outbox: send again what the queue lost (a Redis restart, a crash
    between commit and send). Real time, not the emulator clock."""
    from django.utils import timezone

    cutoff = timezone.now() - timedelta(seconds=settings.SCHEDULER_RESEND_AFTER)
    count = 0
    with transaction.atomic():
        stale = _locked(
            Attempt.objects.filter(status=Attempt.Status.QUEUED, queued_at__lt=cutoff)
        )[:BATCH]
        for attempt in stale:
            log.info("re-sending unclaimed attempt %s", attempt.pk)
            attempt_enqueue(attempt)
            count += 1
    return count


# Jobs claimed per transaction. One per transaction made every fire pay a
# commit (measured: due -> claimed 54 ms p50 at 10 per second, against 20 ms
# batched); one batch for everything made the first send wait for the last
# claim (~200 ms with 100 due together). Small batches sit between.
CLAIM_BATCH = 20


# WebJob actions are claimed SCHEDULER_LEAD ahead of their due instant: their
# run's monitor waits for it (scheduler/actions.py), Http actions are sent when due.
AHEAD = Q(action__type="WebJob")


def _claimable(now: datetime):
    lead = timedelta(seconds=settings.SCHEDULER_LEAD)
    # The range on next_fire_at first, so the index bounds the scan.
    return (
        armed_jobs()
        .filter(next_fire_at__lte=now + lead)
        .filter(Q(next_fire_at__lte=now) | AHEAD)
    )


def fire_due_jobs(now: datetime) -> int:
    """Fire due jobs, CLAIM_BATCH per transaction; sends follow each commit.
    The batch's WebJob fires go to the queue as one task (attempts_enqueue)."""
    count = 0
    while count < BATCH:
        with transaction.atomic():
            due = list(_locked(_claimable(now).order_by("next_fire_at"))[:CLAIM_BATCH])
            if not _fire_together(due, now):
                webjob_fires = []
                for job in due:
                    webjob_fires += _fire_or_fault(job, now)
                attempts_enqueue(webjob_fires)
        count += len(due)
        if len(due) < CLAIM_BATCH:
            break
    return count


def _fire_or_fault(job: Job, now: datetime) -> list[Attempt]:
    """A job whose schedule or action raises is Faulted and pushed aside: it can
    never crash-loop the engine. Returns its WebJob fires, to send together."""
    try:
        with transaction.atomic():
            return _fire(job, now)
    except Exception as exc:
        log.exception("job %s could not be fired", job.pk)
        Job.objects.filter(pk=job.pk).update(state=JobState.FAULTED, next_fire_at=None)
        history_add(
            job=job,
            action_name=ActionName.MAIN,
            status=HistoryStatus.FAILED,
            message=MSG_BROKEN.format(error=exc),
            start=now,
            end=now,
            expected=job.next_fire_at,
        )
        return []


def _fire_together(jobs: list[Job], now: datetime) -> bool:
    """Fire a claimed batch in a few statements: one insert of every Attempt,
    one update of every next_fire_at, one task for the WebJob fires (per job,
    _fire takes ~7 round trips: 3 ms of engine CPU a fire at 100 a second).
    Only the common case: each job has exactly one occurrence due and not
    past the grace. Anything else (missed occurrences, a schedule or an
    action that raises, an insert refused) returns False with nothing
    written, and the batch goes through _fire_or_fault one job at a time."""
    grace = timedelta(seconds=settings.SCHEDULER_MISFIRE_GRACE)
    before = [(job.next_fire_at, job.state) for job in jobs]
    http_fires, webjob_fires = [], []
    try:
        for job in jobs:
            missed, upcoming = _due_occurrences(job, now)
            if len(missed) != 1 or now - missed[0] > grace:
                raise _OneByOne
            job.next_fire_at = upcoming
            if upcoming is None:
                job.state = JobState.COMPLETED  # its last occurrence has fired
            attempt = Attempt(
                job=job,
                expected_time=missed[0],
                retry_count=0,
                action_name=ActionName.MAIN,
                manual=False,
                due_at=missed[0],
                status=Attempt.Status.QUEUED,
            )
            webjob = job.action.get("type") == "WebJob"
            (webjob_fires if webjob else http_fires).append(attempt)
        with transaction.atomic():
            Attempt.objects.bulk_create(http_fires + webjob_fires)
            Job.objects.bulk_update(jobs, ["next_fire_at", "state"])
            for attempt in http_fires:
                attempt_enqueue(attempt)
            attempts_enqueue(webjob_fires)
    except Exception as exc:
        if not isinstance(exc, _OneByOne):
            log.warning("firing %d jobs together failed (%s)", len(jobs), exc)
        for job, (next_fire_at, state) in zip(jobs, before, strict=True):
            job.next_fire_at, job.state = next_fire_at, state
        return False
    for attempt in http_fires + webjob_fires:
        log.debug("fired %s due %s", attempt.job, attempt.due_at.isoformat())
    return True


class _OneByOne(Exception):
    """A batch that _fire_together leaves to _fire_or_fault."""


def _due_occurrences(job: Job, now: datetime):
    """(occurrences due by now, from next_fire_at on; the first one after now)."""
    missed = [job.next_fire_at]
    upcoming = None
    for when in job_occurrences(job, after=job.next_fire_at):
        if when > now:
            upcoming = when
            break
        missed.append(when)
    return missed, upcoming


def _fire(job: Job, now: datetime) -> list[Attempt]:
    """Fire the job's due occurrence(s) under the misfire policy. An Http action
    is sent at once; a WebJob action is returned, for attempts_enqueue."""
    grace = timedelta(seconds=settings.SCHEDULER_MISFIRE_GRACE)
    missed, upcoming = _due_occurrences(job, now)
    latest = missed[-1]
    runs = [latest] if now - latest <= grace else []
    skipped = missed[:-1] if runs else missed
    if skipped:
        history_postponed(job=job, missed=skipped, grace=grace.total_seconds(), now=now)
    webjob_fires = []
    for due in runs:
        attempt, created = Attempt.objects.get_or_create(
            job=job,
            expected_time=due,
            retry_count=0,
            action_name="MainAction",
            manual=False,
            defaults={"due_at": due, "status": Attempt.Status.QUEUED},
        )
        if not created:
            continue
        log.debug("fired %s due %s", job, due.isoformat())
        if job.action.get("type") == "WebJob":
            webjob_fires.append(attempt)
        else:
            attempt_enqueue(attempt)
    job.next_fire_at = upcoming
    fields = ["next_fire_at"]
    if upcoming is None:
        job.state = JobState.COMPLETED  # its last occurrence has fired
        fields.append("state")
    job.save(update_fields=fields)
    return webjob_fires


def dispatch_due_attempts(now: datetime) -> int:
    """Retries (and error actions) that fell due go to the queue, once each."""
    count = 0
    with transaction.atomic():
        pending = _locked(
            Attempt.objects.filter(
                status=Attempt.Status.PENDING, due_at__lte=now
            ).order_by("due_at")
        )[:BATCH]
        for attempt in pending:
            Attempt.objects.filter(pk=attempt.pk).update(status=Attempt.Status.QUEUED)
            attempt_enqueue(attempt)
            count += 1
    return count


def next_wake(now: datetime) -> datetime | None:
    """The earliest instant anything is due (WebJob actions: claimable), for the
    loop's sleep.

    Only the jobs due within SCHEDULER_LEAD of the first one can be claimable
    first, so those are read: two short index range scans, where asking for
    the first WebJob action read every armed job when there was none
    (measured: lateness grew from 10,000 to 100,000 enabled Http jobs)."""
    lead = timedelta(seconds=settings.SCHEDULER_LEAD)
    armed = armed_jobs().order_by("next_fire_at")
    first = armed.values_list("next_fire_at", flat=True).first()
    job = None
    if first is not None:
        soon = armed.filter(next_fire_at__lte=first + lead)
        job = min(
            (when - lead if ahead else when)
            for when, ahead in soon.annotate(
                ahead=ExpressionWrapper(AHEAD, BooleanField())
            ).values_list("next_fire_at", "ahead")[:BATCH]
        )
    attempt = (
        Attempt.objects.filter(status=Attempt.Status.PENDING)
        .order_by("due_at")
        .values_list("due_at", flat=True)
        .first()
    )
    candidates = [t for t in (job, attempt) if t is not None]
    return min(candidates) if candidates else None
