"""Kudu's web hooks (/api/hooks): a POST to each subscriber when a triggered
run ends (`TriggeredJobFinished`, the run's JSON) or a zip deployment succeeds
(`PostDeployment`, the deployment's JSON).

A run ends in a run monitor or a launcher (history.services.run_finish); the
hook there only looks whether anybody subscribed and, if so, enqueues one
django-q2 task per subscriber: nothing is posted inline, so a slow subscriber
never holds up a run's bookkeeping. The task posts (Kudu's 10 s timeout); a
failure (no answer, not 2xx) is tried again after each delay of
WEBJOBS_HOOK_RETRY_DELAYS, as a django-q2 schedule, so a retry survives a
restart. Kudu itself does not retry. A 410 Gone removes the subscription, as
Kudu does.
"""

from __future__ import annotations

import base64
import json
import logging
import ssl
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django_q.models import Schedule
from django_q.tasks import async_task, schedule

from config import statements
from config.clock import clock_now
from core.kudu import iso_utc
from core.storable import text_problem
from jobs.models import WebHook
from jobs.selectors import run_json

log = logging.getLogger("jobs.webhooks")

EVENTS = tuple(WebHook.Event.values)
ERR_URL = (
    "The hooks address received - '{url}' is invalid: use an absolute http(s) URL."
)
ERR_EVENT = "Unknown hook event {event!r}; use one of: {events}."
ERR_BODY = 'The body must be a JSON object such as {"url": "http://...", "event": "TriggeredJobFinished"}.'  # noqa: E501
KUDU_NO_DATE = "0001-01-01T00:00:00"
TASK = "jobs.webhooks.hook_deliver"


class HookConflict(Exception):
    """409: the URL is subscribed to another event (Kudu's rule)."""


class HookError(ValueError):
    """400: what to fix in a subscription."""


# --- subscriptions ----------------------------------------------------------------


def hook_subscribe(
    *, url: object, event: object, insecure_ssl: object, base_url: str
) -> tuple[WebHook, bool]:
    """Kudu's rules: the same URL (any case) and event again answers the
    existing hook; the same URL for another event is a conflict."""
    if not isinstance(event, str) or event not in EVENTS:
        raise HookError(ERR_EVENT.format(event=event, events=", ".join(EVENTS)))
    if not isinstance(url, str) or not _absolute(url):
        raise HookError(ERR_URL.format(url=url))
    limit = WebHook._meta.get_field("url").max_length
    problem = text_problem("url", url, limit=limit)  # before the column says so
    if problem:
        raise HookError(problem)
    existing = WebHook.objects.filter(url__iexact=url).first()
    if existing is not None:
        if existing.event != event:
            raise HookConflict(f"{url} is subscribed to {existing.event} already.")
        return existing, False
    for _ in range(3):  # Kudu's id: DateTime.UtcNow.Ticks, unique here
        ticks = _ticks()
        try:
            with transaction.atomic():
                hook = WebHook.objects.create(
                    id=ticks,
                    event=event,
                    url=url,
                    insecure_ssl=insecure_ssl is True,
                    base_url=base_url,
                )
            return hook, True
        except IntegrityError:
            continue
    raise HookConflict("Could not give the hook an id; try again.")


def _absolute(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def _ticks() -> str:
    """.NET ticks (100 ns since 0001-01-01) of now, as Kudu numbers hooks."""
    delta = timezone.now() - datetime(1, 1, 1, tzinfo=UTC)
    return str((delta.days * 86400 + delta.seconds) * 10**7 + delta.microseconds * 10)


def hook_json(hook: WebHook) -> dict:
    return {
        "id": hook.id,
        "event": hook.event,
        "url": hook.url,
        "insecure_ssl": hook.insecure_ssl,
        "last_status": hook.last_status or None,
        "last_reason": hook.last_reason or None,
        "last_datetime": (
            iso_utc(hook.last_datetime) if hook.last_datetime else KUDU_NO_DATE
        ),
        "last_context": hook.last_context or None,
    }


# --- publishing -------------------------------------------------------------------


def hooks_publish(event: str, payload_for) -> int:
    """Enqueue one delivery per subscriber of `event`; returns how many.

    `payload_for(base_url)` builds the body for a subscriber (URLs in it use
    the base of the request that subscribed). With no subscriber this is one
    indexed query.
    """
    hooks = list(WebHook.objects.filter(event=event).values_list("pk", "base_url"))
    bodies: dict[str, str] = {}
    for pk, base in hooks:
        if base not in bodies:
            bodies[base] = json.dumps(_kudu_json(payload_for(base)), indent=2)
        try:
            async_task(TASK, pk, bodies[base], 0, task_name=f"hook-{pk}")
        except Exception:  # the broker is down: the run is recorded all the same
            log.exception("could not enqueue web hook %s", pk)
    return len(hooks)


def _kudu_json(value):
    """Kudu's serializer for hooks leaves out nulls and defaults (false)."""
    if isinstance(value, dict):
        return {
            k: _kudu_json(v)
            for k, v in value.items()
            if v is not None and v is not False
        }
    return value


def run_finished(run) -> None:
    """history.hooks.run_finished_hooks: a triggered run ended (any status).

    After the run's transaction commits (at once outside one); never raises
    into the run's bookkeeping.
    """
    transaction.on_commit(lambda: _publish_run(run))


def _publish_run(run) -> None:
    try:
        event = WebHook.Event.TRIGGERED_JOB_FINISHED
        # Every run's end asks, mostly to hear "none": written out, not
        # compiled (config/statements.py; it was a tenth of a launcher's CPU
        # per run).
        if not statements.select_rows(
            WebHook, ("pk",), "{event} = %s LIMIT 1", [event.value]
        ):
            return
        run.refresh_from_db()
        job = run.job
        hooks_publish(event, lambda base: run_json(run, base=base, job=job))
    except Exception:
        log.exception("could not publish the end of run %s", run.pk)


# --- delivering (the queue task) ------------------------------------------------------


def hook_deliver(hook_pk: str, body: str, attempt: int) -> bool:
    """POST `body` to the hook; on failure schedule the next attempt. True
    when delivered (or the hook is gone)."""
    hook = WebHook.objects.filter(pk=hook_pk).first()
    if hook is None:
        return True  # unsubscribed meanwhile
    status, reason = _post(hook, body)
    if status == 410:  # Kudu: Gone removes the subscription
        WebHook.objects.filter(pk=hook.pk).delete()
        return True
    WebHook.objects.filter(pk=hook.pk).update(
        last_status=_status_name(status),
        last_reason=reason[:2000],
        last_datetime=clock_now(),
        last_context=body,
    )
    if status is not None and 200 <= status < 300:
        return True
    delays = settings.WEBJOBS_HOOK_RETRY_DELAYS
    if attempt < len(delays):
        schedule(
            TASK,
            hook.pk,
            body,
            attempt + 1,
            name=f"hook-{hook.pk}-retry-{attempt + 1}-{timezone.now().timestamp()}",
            schedule_type=Schedule.ONCE,
            repeats=-1,  # a ONCE schedule is deleted once its task is made
            next_run=timezone.now() + timedelta(seconds=delays[attempt]),
        )
    else:
        log.warning("web hook %s gave up after %d attempts", hook.url, attempt + 1)
    return False


def _post(hook: WebHook, body: str) -> tuple[int | None, str]:
    """(HTTP status or None, reason): URL credentials become Basic auth, as
    Kudu turns them into a NetworkCredential."""
    parts = urlsplit(hook.url)
    netloc = parts.hostname or ""
    if parts.port:
        netloc += f":{parts.port}"
    request = urllib.request.Request(
        urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, "")),
        data=body.encode("utf-8"),
        method="POST",
        headers={"Content-Type": "application/json; charset=utf-8"},
    )
    if parts.username is not None:
        token = f"{parts.username}:{parts.password or ''}".encode()
        request.add_header("Authorization", "Basic " + base64.b64encode(token).decode())
    context = None
    if hook.insecure_ssl and parts.scheme == "https":
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    try:
        with urllib.request.urlopen(  # noqa: S310 (a subscriber's own URL)
            request, timeout=settings.WEBJOBS_HOOK_TIMEOUT, context=context
        ) as response:
            return response.status, response.reason or ""
    except urllib.error.HTTPError as exc:
        return exc.code, exc.reason or ""
    except (OSError, ValueError) as exc:
        return None, str(exc)


def _status_name(status: int | None) -> str:
    """Kudu stores .NET's HttpStatusCode name (OK, InternalServerError) or Failure."""
    if status is None:
        return "Failure"
    try:
        return HTTPStatus(status).phrase.replace(" ", "").replace("-", "")
    except ValueError:
        return str(status)
