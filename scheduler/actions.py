"""Executing a scheduler job's action in a django-q2 worker, with Azure's retries.

One Attempt row = one execution of the main action or of the error action. The
task claims it (Queued -> Done) before acting, so a second delivery of the same
task does nothing. After a failure, the retry is a new Attempt due retryInterval
later, which the engine hands to the queue; once the retries are spent the
occurrence counts as faulted and the errorAction (with its own retry policy)
runs, as Azure's high-availability doc describes.
"""

from __future__ import annotations

import base64
import urllib.error
import urllib.request
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.db.models import F

from history.services import ERR_RUNNING
from scheduler.clock import clock_now
from scheduler.definitions import parse_retry_policy
from scheduler.models import ActionName, Attempt, HistoryStatus, Job
from scheduler.services import history_add

MSG_HTTP = "Http Action - Response from host '{host}': '{status} {reason}' Body: {body}"
MSG_HTTP_ERROR = "Http Action - Request to host '{host}' failed: {error}"
MSG_WEBJOB = "WebJob Action - Run {run_id} of WebJob '{name}' started: {url}"
MSG_SKIPPED = (
    "WebJob is still running; this schedule was skipped (Kudu ignores a "
    "scheduled invocation while a run is in progress)."
)
MSG_WEBJOB_ERROR = "WebJob Action - WebJob '{name}' could not be run: {error}"


class _Result:
    def __init__(self, ok: bool, message: str, *, status: str | None = None) -> None:
        self.ok, self.message = ok, message
        # Completed/Failed by default; Postponed for a skipped scheduled WebJob.
        self.status = status or (
            HistoryStatus.COMPLETED if ok else HistoryStatus.FAILED
        )


def attempt_execute(attempt_pk: int) -> str:
    claimed = Attempt.objects.filter(
        pk=attempt_pk, status=Attempt.Status.QUEUED
    ).update(status=Attempt.Status.DONE)
    if not claimed:
        return "already done"
    attempt = Attempt.objects.select_related("job", "job__collection").get(
        pk=attempt_pk
    )
    job = attempt.job
    main = job.action
    action = main if attempt.action_name == ActionName.MAIN else main.get("errorAction")
    if action is None:
        return "no error action"
    start = clock_now()
    scheduled = None if attempt.manual else attempt.expected_time
    result = run_action(action, job=job, scheduled_time=scheduled)
    end = clock_now()
    history_add(
        job=job,
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
    return "Completed" if result.ok else "Failed"


def _account(attempt: Attempt, *, ok: bool, start) -> None:
    """Counters: an execution per main attempt; a failure per failed main attempt."""
    if attempt.action_name != ActionName.MAIN:
        return
    updates = {
        "execution_count": F("execution_count") + 1,
        "last_execution_time": start,
    }
    if not ok:
        updates["failure_count"] = F("failure_count") + 1
    Job.objects.filter(pk=attempt.job_id).update(**updates)


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


def run_action(action: dict, *, job: Job, scheduled_time=None) -> _Result:
    if action["type"] in ("Http", "Https"):
        return _http(action["request"])
    return _webjob(action["webJob"], job=job, scheduled_time=scheduled_time)


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
    try:
        with urllib.request.urlopen(
            req, timeout=settings.SCHEDULER_HTTP_TIMEOUT
        ) as resp:
            text = resp.read(limit).decode("utf-8", "replace")
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
            MSG_HTTP.format(host=host, status=exc.code, reason=exc.reason, body=text),
        )
    except Exception as exc:  # timeouts, refused connections, bad hosts
        return _Result(False, MSG_HTTP_ERROR.format(host=host, error=exc))


def _webjob(spec: dict, *, job: Job, scheduled_time=None) -> _Result:
    """Run a triggered WebJob, recorded in its history as triggered by this job."""
    from history.services import RunConflict, RunRequestError, run_request
    from jobs.models import WebJob

    name = spec["name"]
    webjob = WebJob.objects.filter(kind=WebJob.Kind.TRIGGERED, name=name).first()
    if webjob is None:
        return _Result(
            False, MSG_WEBJOB_ERROR.format(name=name, error="no such WebJob")
        )
    from scheduler.webjobs import scheduler_log, trigger_text

    scheduled = job.webjob_id is not None
    if scheduled:
        trigger = trigger_text(job)  # Kudu's `Schedule - <expanded cron>`
    else:
        trigger = f"Scheduler - {job.collection.name}/{job.name}"
    try:
        run = run_request(
            job=webjob,
            trigger=trigger,
            arguments=spec.get("arguments", ""),
            scheduled_time=scheduled_time,
            enqueue=False,
        )
    except RunConflict as exc:
        if scheduled and str(exc) == ERR_RUNNING:
            # Kudu ignores a schedule that falls due while a run is going; the
            # history says so instead of counting it as a failure.
            scheduler_log(webjob, MSG_SKIPPED)
            return _Result(True, MSG_SKIPPED, status=HistoryStatus.POSTPONED)
        return _Result(False, MSG_WEBJOB_ERROR.format(name=name, error=exc))
    except RunRequestError as exc:
        return _Result(False, MSG_WEBJOB_ERROR.format(name=name, error=exc))
    # This is already a queue worker: launch the run here rather than through a
    # second queue hop (it costs a task pick-up and a result save per fire).
    from jobs.runner import run_launch

    run_launch(run.pk)
    if scheduled:
        scheduler_log(webjob, "WebJob invoked")
    url = f"/api/triggeredwebjobs/{name}/history/{run.run_id}"
    return _Result(True, MSG_WEBJOB.format(run_id=run.run_id, name=name, url=url))
