"""Executing a scheduler job's action in a django-q2 worker, with Azure's retries.

One Attempt row = one execution of the main action or of the error action. The
task claims it before acting (an Http call Queued -> Running, concluded with
Running -> Done; a WebJob fire Queued -> Done at its instant), so a second
delivery of the same task does nothing. After a failure, the retry is a new
Attempt due retryInterval later, which the engine hands to the queue; once the
retries are spent the occurrence counts as faulted and the errorAction (with
its own retry policy) runs, as Azure's high-availability doc describes.
"""

from __future__ import annotations

import base64
import os
import urllib.error
import urllib.request
from collections.abc import Callable
from datetime import timedelta
from typing import NamedTuple
from urllib.parse import urlsplit

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Max
from django.utils import timezone

from config import statements
from config.clock import clock_now, clock_offset
from core.definitions import parse_retry_policy
from history.models import Run, RunStatus
from history.services import (
    ERR_RUNNING,
    RunConflict,
    RunRequestError,
    run_insert,
    run_insert_many,
    run_rehearse,
    run_trim,
    runs_stamp,
)
from jobs.launcher.inbox import hand_over
from jobs.models import WebJob
from jobs.runner import run_when_due
from jobs.services import run_prepare
from scheduler.attempts import attempt_lease
from scheduler.deadline import http_deadline
from scheduler.job_history import history_add
from scheduler.models import ActionName, Attempt, HistoryStatus, Job
from scheduler.queues import queue_send
from scheduler.redirects import CredentialSafeRedirects
from scheduler.secrets import SealError, action_open
from scheduler.webjobs import scheduler_log, trigger_text

MSG_HTTP = "Http Action - Response from host '{host}': '{status} {reason}' Body: {body}"
MSG_HTTP_ERROR = "Http Action - Request to host '{host}' failed: {error}"
MSG_DEADLINE = "no complete response within {seconds} s"
MSG_HTTP_LOST = (
    "Http Action - Request to host '{host}' was interrupted: the worker sending "
    "it stopped before the call ended, so its outcome is unknown."
)
MSG_WEBJOB = "WebJob Action - Run {run_id} of WebJob '{name}' started: {url}"
MSG_SKIPPED = (
    "WebJob is still running; this schedule was skipped (Kudu ignores a "
    "scheduled invocation while a run is in progress)."
)
MSG_WEBJOB_ERROR = "WebJob Action - WebJob '{name}' could not be run: {error}"


REHEARSE_IF_AHEAD = timedelta(milliseconds=50)


class _Result:
    def __init__(self, ok: bool, message: str, *, status: str | None = None) -> None:
        self.ok, self.message = ok, message
        # Completed/Failed by default; Postponed for a skipped scheduled WebJob.
        self.status = status or (
            HistoryStatus.COMPLETED if ok else HistoryStatus.FAILED
        )


_DELIVERABLE = (Attempt.Status.QUEUED, Attempt.Status.RUNNING)


def attempt_execute(attempt_pk: int) -> str:
    """The queue task of one attempt. An Http call is claimed Running, made
    within SCHEDULER_HTTP_TIMEOUT (a total deadline), and concluded with
    Running -> Done in one transaction: exactly once. A delivery that finds it
    still Running past its lease (its worker was killed mid-call; the outbox
    sent it again) concludes it as interrupted, which retries it as a failure."""
    attempt = (
        Attempt.objects.select_related("job", "job__collection")
        .filter(pk=attempt_pk, status__in=_DELIVERABLE)
        .first()
    )
    if attempt is None:
        return "already done"
    action = _action_of(attempt)
    if attempt.status == Attempt.Status.RUNNING:
        return _conclude_lost(attempt, action)
    if action is not None and action["type"] == "WebJob":
        return _webjob_when_due(attempt, action)  # claimed at the due instant
    if action is None:
        return "no error action" if _claim(attempt) else "already done"
    claimed_at = _claim_running(attempt)
    if claimed_at is None:  # a second delivery of the task
        return "already done"
    start = clock_now()
    try:
        opened = action_open(action)  # its credentials, to send
    except SealError as exc:
        result = _Result(False, str(exc))
    else:
        if action["type"] == "StorageQueue":  # scheduler/queues.py
            result = _Result(*queue_send(attempt=attempt, action=opened))
        else:
            result = _http(opened["request"])
    concluded = _conclude(attempt, action, result, start=start, claimed_at=claimed_at)
    if not concluded:
        return "concluded elsewhere"
    return "Completed" if result.ok else "Failed"


def _claim_running(attempt: Attempt):
    """Queued -> Running, once; the claim's time (real), or None when lost."""
    now = timezone.now()
    claimed = Attempt.objects.filter(
        pk=attempt.pk, status=Attempt.Status.QUEUED
    ).update(status=Attempt.Status.RUNNING, claimed_at=now)
    return now if claimed else None


def _conclude_lost(attempt: Attempt, action: dict | None) -> str:
    """A Running attempt delivered again: concluded as interrupted once its
    lease is over (its worker died mid-call), else left to its worker."""
    if attempt.claimed_at and attempt.claimed_at > timezone.now() - attempt_lease():
        return "in progress"
    if action is None:
        Attempt.objects.filter(pk=attempt.pk, status=Attempt.Status.RUNNING).update(
            status=Attempt.Status.DONE
        )
        return "no error action"
    host = urlsplit(action["request"]["uri"]).netloc
    result = _Result(False, MSG_HTTP_LOST.format(host=host))
    start = (attempt.claimed_at or timezone.now()) + timedelta(seconds=clock_offset())
    if _conclude(attempt, action, result, start=start, claimed_at=attempt.claimed_at):
        return "Failed (interrupted)"
    return "concluded elsewhere"


def _action_of(attempt: Attempt) -> dict | None:
    """The action an attempt executes: the job's, or its error action."""
    main = attempt.job.action
    return main if attempt.action_name == ActionName.MAIN else main.get("errorAction")


def attempts_hand_over(pks: list[int]) -> str:
    """The queue task of WebJob fires sent together (attempts_enqueue): each goes
    to this instance's launcher; one no launcher takes is executed here, as
    attempt_execute does (a run monitor forked for it)."""
    here = [pk for pk in pks if not hand_over(pk)]
    for pk in here:
        attempt_execute(pk)
    return f"{len(pks) - len(here)} handed to the launcher, {len(here)} prepared here"


def _claim(attempt: Attempt) -> bool:
    """Queued -> Done, once: the execution happens in whoever wins this."""
    return bool(
        Attempt.objects.filter(pk=attempt.pk, status=Attempt.Status.QUEUED).update(
            status=Attempt.Status.DONE
        )
    )


def _conclude(
    attempt: Attempt, action: dict, result: _Result, *, start, claimed_at=None
) -> bool:
    """Record an execution: history entry, counters, the retry or error action.
    With `claimed_at` (an Http call), in one transaction with Running -> Done,
    so that it is recorded once: False when another delivery concluded it."""
    end = clock_now()
    with transaction.atomic():
        if claimed_at is not None and not (
            Attempt.objects.filter(
                pk=attempt.pk, status=Attempt.Status.RUNNING, claimed_at=claimed_at
            ).update(status=Attempt.Status.DONE)
        ):
            return False
        history_add(
            job=attempt.job,
            action_name=attempt.action_name,
            status=result.status,
            message=result.message,
            start=start,
            end=end,
            expected=attempt.expected_time,
            retry_count=attempt.retry_count,
        )
        _account(attempt, ok=result.ok, start=start)
        if not result.ok:
            _after_failure(attempt, action, now=end)
    return True


def _account(attempt: Attempt, *, ok: bool, start) -> None:
    """Counters: an execution per main attempt; a failure per failed main attempt."""
    if attempt.action_name != ActionName.MAIN:
        return
    add = {"execution_count": 1} if ok else {"execution_count": 1, "failure_count": 1}
    # Every fire counts: written out, not compiled (config/statements.py).
    statements.update(
        Job, {"last_execution_time": start}, "{id} = %s", [attempt.job_id], add=add
    )


def _after_failure(attempt: Attempt, action: dict, *, now) -> None:
    policy = parse_retry_policy(action.get("retryPolicy"), "action")
    with transaction.atomic():
        if attempt.retry_count < policy.retries:
            Attempt.objects.get_or_create(
                job=attempt.job,
                expected_time=attempt.expected_time,
                retry_count=attempt.retry_count + 1,
                action_name=attempt.action_name,
                manual=attempt.manual,
                defaults={"due_at": now + policy.interval},
            )
            return
        if attempt.action_name == ActionName.MAIN:
            Job.objects.filter(pk=attempt.job_id).update(
                faulted_count=F("faulted_count") + 1
            )
            if attempt.job.action.get("errorAction"):
                Attempt.objects.get_or_create(
                    job=attempt.job,
                    expected_time=attempt.expected_time,
                    retry_count=0,
                    action_name=ActionName.ERROR,
                    manual=attempt.manual,
                    defaults={"due_at": now},
                )


def _http(request: dict) -> _Result:
    """One HTTP call; 2xx is success; history keeps the first 2,048 bytes."""
    headers = dict(request.get("headers") or {})
    auth = request.get("authentication")
    if auth and auth.get("type") == "Basic":
        pair = f"{auth.get('username', '')}:{auth.get('password', '')}".encode()
        headers["Authorization"] = "Basic " + base64.b64encode(pair).decode()
    body = request.get("body")
    data = body.encode() if body is not None else None
    host = urlsplit(request["uri"]).netloc
    req = urllib.request.Request(
        request["uri"], data=data, headers=headers, method=request.get("method", "GET")
    )
    limit = settings.SCHEDULER_HISTORY_BODY_BYTES
    seconds = settings.SCHEDULER_HTTP_TIMEOUT
    with http_deadline(seconds) as deadline:  # the whole call, not each read
        try:
            # Credentials never follow a redirect elsewhere (scheduler/redirects.py).
            opener = deadline.opener(CredentialSafeRedirects)
            with opener.open(req, timeout=seconds) as resp:
                text = resp.read(limit).decode("utf-8", "replace")
                if deadline.expired:  # cut off: what was read is not an answer
                    raise TimeoutError
                return _Result(
                    True,
                    MSG_HTTP.format(
                        host=host, status=resp.status, reason=resp.reason, body=text
                    ),
                )
        except urllib.error.HTTPError as exc:
            text = exc.read(limit).decode("utf-8", "replace")
            return _Result(
                False,
                MSG_HTTP.format(
                    host=host, status=exc.code, reason=exc.reason, body=text
                ),
            )
        except Exception as exc:  # timeouts, refused connections, bad hosts
            error = (
                MSG_DEADLINE.format(seconds=f"{seconds:g}") if deadline.expired else exc
            )
            return _Result(False, MSG_HTTP_ERROR.format(host=host, error=error))


def _webjob_when_due(attempt: Attempt, action: dict) -> str:
    """A WebJob action starts its run at the attempt's due instant.

    The engine hands WebJob fires to the queue SCHEDULER_LEAD seconds ahead.
    The fire goes on to this instance's launcher (`manage.py runlauncher`, one
    process that starts every run at its due instant, jobs/launcher/); with
    no launcher listening, a run monitor is forked here instead
    (jobs.runner.run_when_due). Either prepares everything but the run's insert
    and waits for the due instant, where it inserts the run and starts the
    process. So the process starts on time whatever the queue's backlog, and a
    previous run that ends before the due instant still lets this one run:
    Kudu's lock is taken at the due instant, not ahead. The attempt is claimed
    there too, so a launcher or monitor that dies while it waits loses nothing:
    the attempt is still Queued, and the engine's outbox sends it again (a
    second fire prepared for it loses the claim and does nothing).
    """
    if hand_over(attempt.pk):
        return "Run handed to the launcher"
    fire = webjob_fire(attempt, action)
    if fire is None:
        return "Failed"

    run_when_due(
        fire.webjob,
        not_before=fire.not_before,
        prepare=fire.prepare,
        release=fire.release,
    )
    return "Run prepared"


class WebJobFire(NamedTuple):
    """A WebJob action's fire, before its due instant: `prepare()` (in whoever
    starts the run) returns `begin` (see _webjob_prepare); `release()` gives
    the fire back to the engine."""

    webjob: object
    not_before: float  # the due instant, real time (epoch seconds)
    prepare: Callable
    release: Callable


def webjob_fire(
    attempt: Attempt,
    action: dict,
    *,
    webjob=...,
    last_run_id=...,
    rehearse: bool = True,
):
    """The fire of a Queued WebJob attempt, or None when its WebJob is gone
    (recorded as failed). `webjob` and `last_run_id`: already read (...: not)."""
    name = action["webJob"]["name"]
    if webjob is ...:
        webjob = WebJob.objects.filter(kind=WebJob.Kind.TRIGGERED, name=name).first()
    if webjob is None:
        if _claim(attempt):
            error = MSG_WEBJOB_ERROR.format(name=name, error="no such WebJob")
            _conclude(attempt, action, _Result(False, error), start=clock_now())
        return None
    return WebJobFire(
        webjob=webjob,
        not_before=attempt.due_at.timestamp() - clock_offset(),  # real time
        prepare=lambda: _webjob_prepare(
            attempt, action, webjob, rehearse=rehearse, last_run_id=last_run_id
        ),
        release=lambda: _release(attempt),
    )


def webjob_fires(pks: list[int]) -> list[WebJobFire]:
    """The fires of those Queued WebJob attempts, read together (the launcher's
    batch of hand-overs): a query for the attempts, one for their WebJobs, one
    for those WebJobs' newest run ids. Done or unknown attempts are left out."""
    attempts = Attempt.objects.select_related("job", "job__collection").filter(
        pk__in=pks, status=Attempt.Status.QUEUED
    )
    actions = {}
    for attempt in attempts:
        action = _action_of(attempt)
        if action is not None and action["type"] == "WebJob":
            actions[attempt] = action
    names = {action["webJob"]["name"] for action in actions.values()}
    webjobs = {
        w.name: w
        for w in WebJob.objects.filter(kind=WebJob.Kind.TRIGGERED, name__in=names)
    }
    newest = dict(
        Run.objects.filter(job__in=list(webjobs.values()))
        .values_list("job")
        .annotate(Max("run_id"))
    )
    fires = []
    for attempt, action in actions.items():
        webjob = webjobs.get(action["webJob"]["name"])
        last = newest.get(webjob.pk) if webjob is not None else None
        fire = webjob_fire(
            attempt, action, webjob=webjob, last_run_id=last, rehearse=False
        )
        if fire is not None:
            fires.append(fire)
    return fires


def release_attempts(pks: list[int]) -> None:
    """Fires handed over but not started, stopped before their due instant
    (the instance shuts down): back to Pending, which an engine (this
    instance's next one, or another's) hands to the queue again at once, rather
    than after the outbox's SCHEDULER_RESEND_AFTER."""
    Attempt.objects.filter(pk__in=pks, status=Attempt.Status.QUEUED).update(
        status=Attempt.Status.PENDING
    )


def _release(attempt: Attempt) -> None:
    release_attempts([attempt.pk])


def _webjob_prepare(
    attempt: Attempt, action: dict, webjob, *, rehearse: bool = True, last_run_id=...
):
    """Ahead of the due instant (in the run's monitor or the launcher): check
    the request and build the run (recorded in the WebJob's history as
    triggered by this job). Returns the fire's `Begin`; called at the due
    instant it claims the attempt and inserts the run."""
    begin = Begin(attempt, action, webjob)
    try:
        begin.run = run_prepare(
            job=webjob,
            trigger=begin.trigger(),
            arguments=action["webJob"].get("arguments", ""),
            scheduled_time=None if attempt.manual else attempt.expected_time,
            monitor_pid=os.getpid(),  # this process is the run's monitor
            last_run_id=last_run_id,
        )
    except (RunConflict, RunRequestError) as exc:
        begin.error = exc
        return begin
    if rehearse and attempt.due_at - clock_now() > REHEARSE_IF_AHEAD:
        run_rehearse(begin.run)  # not when late already: it would only add work
    return begin


class Begin:
    """A prepared WebJob fire at its due instant. Called, it claims the attempt
    and inserts the run: (run, after_start) when the run starts, where
    after_start() records the fire; None when no run starts (the outcome is
    recorded). `begin_together` does the same for many fires at once."""

    def __init__(self, attempt: Attempt, action: dict, webjob) -> None:
        self.attempt, self.action, self.webjob = attempt, action, webjob
        self.scheduled = attempt.job.webjob_id is not None
        self.run = None
        self.error: Exception | None = None  # refused when prepared
        self.start = None

    def trigger(self) -> str:
        job = self.attempt.job
        if self.scheduled:
            return trigger_text(job)  # Kudu's `Schedule - <expanded cron>`
        return f"Scheduler - {job.collection.name}/{job.name}"

    def __call__(self):
        self.start = clock_now()
        if not _claim(self.attempt):
            return None  # another monitor prepared for it has it
        return self.inserted()

    def inserted(self, *, done: bool = False):
        """After the claim: insert the run (unless `done`, inserted already)."""
        if self.error is not None:
            return self.refused(self.error)
        if not done:
            try:
                run_insert(self.run)
            except (RunConflict, RunRequestError) as exc:
                return self.refused(exc)
            if self.run.status == RunStatus.FAILED:  # its log could not be written
                return self.refused(RunRequestError(self.run.message))
        return self.run, self.after_start

    def refused(self, exc: Exception) -> None:
        job = self.attempt.job
        if not Job.objects.filter(pk=job.pk).exists():
            return None  # deleted with its WebJob since the hand-over
        if self.scheduled and str(exc) == ERR_RUNNING:
            # Kudu ignores a schedule that falls due while a run is going; the
            # history says so instead of counting it as a failure.
            scheduler_log(self.webjob, MSG_SKIPPED)
            result = _Result(True, MSG_SKIPPED, status=HistoryStatus.POSTPONED)
        else:
            error = MSG_WEBJOB_ERROR.format(name=self.webjob.name, error=exc)
            result = _Result(False, error)
        _conclude(self.attempt, self.action, result, start=clock_now())
        return None

    def after_start(self) -> None:
        run, name = self.run, self.webjob.name
        run_trim(job=self.webjob)
        if self.scheduled:
            scheduler_log(self.webjob, "WebJob invoked")
        url = f"/api/triggeredwebjobs/{name}/history/{run.run_id}"
        message = MSG_WEBJOB.format(run_id=run.run_id, name=name, url=url)
        _conclude(self.attempt, self.action, _Result(True, message), start=self.start)


def begin_together(begins: list[Begin]) -> list:
    """Begin fires due in the same instant with a few statements for all: one
    claim of every attempt, one insert of every run, committed together (on
    PostgreSQL one statement, _claim_insert). Returns each one's outcome, as
    Begin() would. A run the multi-row insert cannot take (Kudu's lock, a run id
    taken meanwhile) is inserted on its own, as Begin() does. The runs inserted
    together have no log yet (run_log_initializing)."""
    start = clock_now()
    for begin in begins:
        begin.start = start
    if (
        connection.vendor == "postgresql"
        and not connection.in_atomic_block
        and all(b.error is None for b in begins)
    ):
        claimed = _claim_insert(begins, start)
        if claimed is not None:
            return [
                b.inserted(done=True) if b.attempt.pk in claimed else None
                for b in begins
            ]
    with transaction.atomic():
        claimed = _claim_many([b.attempt.pk for b in begins])
        ready = [b for b in begins if b.attempt.pk in claimed and b.error is None]
        inserted = run_insert_many([b.run for b in ready], now=start)
        return [
            b.inserted(done=id(b.run) in inserted) if b.attempt.pk in claimed else None
            for b in begins
        ]


def _claim_insert(begins: list[Begin], start) -> set[int] | None:
    """PostgreSQL: claim the attempts and insert the runs of those claimed in
    one statement, which is its own transaction. At the due instant every round
    trip to the server delays the start of every job due then; this is one, the
    commit included, where a transaction of claim, insert and commit was five
    (savepoint and its release included). Returns the pks of the attempts
    claimed (their runs inserted), or None when a unique index refused a run
    (Kudu's lock, a run id taken meanwhile): then nothing was done, and the
    caller takes the slower path that tells which run and why."""
    runs = [b.run for b in begins]
    runs_stamp(runs, now=start)
    quote = connection.ops.quote_name
    fields = [f for f in Run._meta.concrete_fields if not f.primary_key]
    names = ", ".join(quote(f.column) for f in fields)
    casts = ", ".join(
        f"CAST(v.{quote(f.column)} AS {f.cast_db_type(connection)})" for f in fields
    )
    row = "(" + ", ".join(["%s"] * (len(fields) + 1)) + ")"
    claim, params = _claim_sql([b.attempt.pk for b in begins])
    sql = (
        f"WITH claimed AS ({claim}), "
        f"inserted AS (INSERT INTO {quote(Run._meta.db_table)} ({names}) "
        f"SELECT {casts} FROM (VALUES {', '.join([row] * len(runs))}) "
        f"AS v(attempt_id, {names}) JOIN claimed ON claimed.id = v.attempt_id "
        "RETURNING id, job_id, run_id) "
        "SELECT id, job_id, run_id FROM inserted"
    )
    for begin, run in zip(begins, runs, strict=True):
        params.append(begin.attempt.pk)
        params += [
            f.get_db_prep_save(getattr(run, f.attname), connection) for f in fields
        ]
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
    except IntegrityError:
        return None
    pks = {(job, run_id): pk for pk, job, run_id in rows}
    claimed = set()
    for begin, run in zip(begins, runs, strict=True):
        pk = pks.get((run.job_id, run.run_id))
        if pk is not None:
            run.pk, run._state.adding, run._state.db = pk, False, connection.alias
            claimed.add(begin.attempt.pk)
    return claimed


def _claim_many(pks: list[int]) -> set[int]:
    """Queued -> Done for many attempts in one statement; the ones this call
    claimed (UPDATE ... RETURNING: PostgreSQL, SQLite >= 3.35)."""
    if not pks:
        return set()
    with connection.cursor() as cursor:
        cursor.execute(*_claim_sql(pks))
        return {row[0] for row in cursor.fetchall()}


def _claim_sql(pks: list[int]) -> tuple[str, list]:
    """The claim of many attempts, returning the ids it claimed: (sql, params)."""
    table = connection.ops.quote_name(Attempt._meta.db_table)
    marks = ", ".join(["%s"] * len(pks))
    sql = f"UPDATE {table} SET status = %s WHERE status = %s AND id IN ({marks}) "
    return sql + "RETURNING id", [Attempt.Status.DONE, Attempt.Status.QUEUED, *pks]
