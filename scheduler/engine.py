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
Completed and nextExecutionTime stay right. The missed occurrences are
counted, never listed (core.recurrence.Series, core.ncrontab.cron_count): a
jump of years over a per-second schedule costs what a jump of a second does.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import NamedTuple

from django.conf import settings
from django.db import connection, transaction
from django.db.models import BooleanField, ExpressionWrapper, Q

from jobs.alwayson import site_asleep
from scheduler.attempts import attempt_enqueue, attempt_lease, attempts_enqueue
from scheduler.job_history import histories_add, history_add, history_postponed
from scheduler.models import (
    ActionName,
    Attempt,
    CollectionState,
    HistoryStatus,
    Job,
    JobState,
)
from scheduler.services import job_series

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
    WebJobs only while WEBJOBS_DISABLE_SCHEDULE is off (Kudu's setting) and
    the site is awake (jobs/alwayson.py)."""
    jobs = Job.objects.filter(
        state=JobState.ENABLED,
        next_fire_at__isnull=False,
        collection__state=CollectionState.ENABLED,
    )
    if settings.WEBJOBS_DISABLE_SCHEDULE or site_asleep():
        jobs = jobs.filter(webjob__isnull=True)  # Always On off and nobody awake
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
    between commit and send), and the Http calls still Running past their lease
    (their worker was killed mid-call: the task concludes them as
    interrupted). Real time, not the emulator clock."""
    from django.utils import timezone

    now = timezone.now()
    cutoff = now - timedelta(seconds=settings.SCHEDULER_RESEND_AFTER)
    lost = Q(status=Attempt.Status.RUNNING, claimed_at__lt=now - attempt_lease())
    count = 0
    with transaction.atomic():
        stale = _locked(
            Attempt.objects.filter(Q(status=Attempt.Status.QUEUED) | lost).filter(
                queued_at__lt=cutoff
            )
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
    """Fire due jobs, CLAIM_BATCH at a time; returns how many were fired.

    1. Read a batch of due jobs (no lock, no transaction) and plan each: how
       many occurrences it missed, the latest, the next (_plan). That is
       arithmetic on the schedule, bounded whatever the clock jumped over, and
       it happens outside the write transaction, where SQLite would hold every
       other writer.
    2. In a short transaction, claim the planned jobs whose row is still as
       planned (_claim: locked, SKIP LOCKED on PostgreSQL, next_fire_at and
       updated_at unchanged), write their attempts and history, advance them.
    3. The batch's WebJob fires go to the queue as one task (attempts_enqueue).
    """
    fired = 0
    for _ in range(BATCH // CLAIM_BATCH):
        due = list(_claimable(now).order_by("next_fire_at")[:CLAIM_BATCH])
        plans = []
        for job in due:
            try:
                plans.append(_plan(job, now))
            except Exception as exc:
                _fault(job, exc, now)
        with transaction.atomic():
            mine = _claim(plans)
            if mine and not _fire_together(mine, now):
                webjob_fires = []
                for plan in mine:
                    webjob_fires += _fire_or_fault(plan, now)
                attempts_enqueue(webjob_fires)
        fired += len(mine)
        if len(due) < CLAIM_BATCH or not mine:
            break
    return fired


class _Plan(NamedTuple):
    """What firing a due job means now, computed before its row is claimed."""

    job: Job
    due: datetime  # next_fire_at as read: the first occurrence due
    updated_at: datetime
    run: datetime | None  # the occurrence that runs: the latest, within the grace
    skipped: int  # the others, recorded as one Postponed entry
    last_skipped: datetime | None
    upcoming: datetime | None  # the new next_fire_at; None: the job is done


_MICROSECOND = timedelta(microseconds=1)


def _plan(job: Job, now: datetime) -> _Plan:
    """The misfire policy, counted: next_fire_at and every later occurrence up to
    now are due; the latest runs if it is within SCHEDULER_MISFIRE_GRACE, the
    rest are skipped. Occurrences count towards `count` either way."""
    grace = timedelta(seconds=settings.SCHEDULER_MISFIRE_GRACE)
    series = job_series(job)
    due = job.next_fire_at
    later = series.count_between(due + _MICROSECOND, now)
    latest = series.last_at_or_before(now) if later else due
    runs = now - latest <= grace
    if not runs:
        last_skipped = latest
    elif later:
        last_skipped = series.last_at_or_before(latest - _MICROSECOND)
    else:
        last_skipped = None
    return _Plan(
        job=job,
        due=due,
        updated_at=job.updated_at,
        run=latest if runs else None,
        skipped=later if runs else later + 1,
        last_skipped=last_skipped,
        # A WebJob fire is claimed SCHEDULER_LEAD ahead: due may be after now.
        upcoming=series.first_after(max(now, due)),
    )


def _claim(plans: list[_Plan]) -> list[_Plan]:
    """The plans whose job is still armed and unchanged since it was read, their
    rows locked until the transaction ends (another engine skips them)."""
    by_pk = {plan.job.pk: plan for plan in plans}
    rows = _locked(armed_jobs().filter(pk__in=list(by_pk))).values_list(
        "pk", "next_fire_at", "updated_at"
    )
    mine = [
        by_pk[pk]
        for pk, next_fire_at, updated_at in rows
        if next_fire_at == by_pk[pk].due and updated_at == by_pk[pk].updated_at
    ]
    return sorted(mine, key=lambda plan: plan.due)


def _fire_or_fault(plan: _Plan, now: datetime) -> list[Attempt]:
    """A job whose firing raises is Faulted and pushed aside: it can never
    crash-loop the engine. Returns its WebJob fires, to send together."""
    try:
        with transaction.atomic():
            return _fire(plan, now)
    except Exception as exc:
        _fault(plan.job, exc, now)
        return []


def _fault(job: Job, exc: Exception, now: datetime) -> None:
    log.error("job %s could not be fired", job.pk, exc_info=exc)
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


def _fire_together(plans: list[_Plan], now: datetime) -> bool:
    """Fire a claimed batch in a few statements: one insert of every Attempt,
    one of every Postponed entry, one update of every next_fire_at, one task
    for the WebJob fires (per job, _fire takes ~7 round trips: 3 ms of engine
    CPU a fire at 100 a second, and 1,000 jobs found late after a clock jump
    took seconds). Anything that raises (an attempt already there, an action
    that cannot be read) returns False with nothing written, and the batch
    goes through _fire_or_fault one job at a time."""
    jobs = [plan.job for plan in plans]
    before = [(job.next_fire_at, job.state) for job in jobs]
    http_fires, webjob_fires, entries = [], [], []
    try:
        for plan in plans:
            job = plan.job
            if plan.skipped:
                entries.append(_postponed(plan, now))
            if plan.run is not None:
                attempt = Attempt(
                    job=job,
                    expected_time=plan.run,
                    retry_count=0,
                    action_name=ActionName.MAIN,
                    manual=False,
                    due_at=plan.run,
                    status=Attempt.Status.QUEUED,
                )
                webjob = job.action.get("type") == "WebJob"
                (webjob_fires if webjob else http_fires).append(attempt)
            job.next_fire_at = plan.upcoming
            if plan.upcoming is None:
                job.state = JobState.COMPLETED  # its last occurrence has fired
        with transaction.atomic():
            Attempt.objects.bulk_create(http_fires + webjob_fires)
            histories_add(entries)
            Job.objects.bulk_update(jobs, ["next_fire_at", "state"])
            for attempt in http_fires:
                attempt_enqueue(attempt)
            attempts_enqueue(webjob_fires)
    except Exception as exc:
        log.warning("firing %d jobs together failed (%s)", len(jobs), exc)
        for job, (next_fire_at, state) in zip(jobs, before, strict=True):
            job.next_fire_at, job.state = next_fire_at, state
        return False
    for attempt in http_fires + webjob_fires:
        log.debug("fired %s due %s", attempt.job, attempt.due_at.isoformat())
    return True


def _postponed(plan: _Plan, now: datetime):
    return history_postponed(
        job=plan.job,
        count=plan.skipped,
        last=plan.last_skipped,
        grace=settings.SCHEDULER_MISFIRE_GRACE,
        now=now,
    )


def _fire(plan: _Plan, now: datetime) -> list[Attempt]:
    """Fire a job's due occurrences as planned. An Http action is sent at once;
    a WebJob action is returned, for attempts_enqueue."""
    job = plan.job
    if plan.skipped:
        histories_add([_postponed(plan, now)])
    webjob_fires = []
    if plan.run is not None:
        attempt, created = Attempt.objects.get_or_create(
            job=job,
            expected_time=plan.run,
            retry_count=0,
            action_name="MainAction",
            manual=False,
            defaults={"due_at": plan.run, "status": Attempt.Status.QUEUED},
        )
        if created:
            log.debug("fired %s due %s", job, plan.run.isoformat())
            if job.action.get("type") == "WebJob":
                webjob_fires.append(attempt)
            else:
                attempt_enqueue(attempt)
    job.next_fire_at = plan.upcoming
    fields = ["next_fire_at"]
    if plan.upcoming is None:
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
