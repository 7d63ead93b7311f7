"""Attempts handed to django-q2: one task for an Http or StorageQueue action, one
task for the WebJob fires of a claim batch, and how long a call may stay Running
before the next delivery concludes it."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_q.conf import Conf
from django_q.tasks import async_task

from config.queue import queue_broker
from scheduler.models import Attempt

logger = logging.getLogger("scheduler.engine")


def attempt_lease() -> timedelta:
    """How long an Http call may stay Running: its total deadline, then the
    outbox's delay before it sends a lost task again (scheduler/actions.py)."""
    return timedelta(
        seconds=settings.SCHEDULER_HTTP_TIMEOUT + settings.SCHEDULER_RESEND_AFTER
    )


def attempt_enqueue(attempt: Attempt) -> None:
    """Hand an attempt to django-q2. With the ORM broker the task row is written in
    the caller's transaction, so a crash cannot lose or double it; with Redis it is
    sent after commit, and the engine re-sends what no worker claimed (outbox)."""
    _enqueue([attempt], "scheduler.actions.attempt_execute", attempt.pk)


def attempts_enqueue(attempts: list[Attempt]) -> None:
    """Hand WebJob attempts to django-q2 as one task (attempts_hand_over), the
    way attempt_enqueue hands one. Their task only passes each fire on to the
    instance's launcher, so one task serves many: at 100 fires a second a task
    per fire cost ~4 ms of queue CPU each (the qcluster's share of a per-process
    CPU sample taken during bench/fire_lateness.py's 100-per-second window)."""
    if attempts:
        pks = [a.pk for a in attempts]
        _enqueue(attempts, "scheduler.actions.attempts_hand_over", pks)


def _enqueue(attempts: list[Attempt], func: str, arg) -> None:
    Attempt.objects.filter(pk__in=[a.pk for a in attempts]).update(
        queued_at=timezone.now()
    )
    more = len(attempts) - 1
    name = f"attempt-{attempts[0].pk}" + (f"+{more}" if more else "")
    in_transaction = "orm" in settings.Q_CLUSTER and not Conf.SYNC

    def send() -> None:
        try:
            async_task(func, arg, task_name=name, broker=queue_broker())
        except Exception:  # the broker is down: the outbox re-sends it later
            if in_transaction:
                raise  # in the claim's transaction: roll the claim back
            logger.warning("attempts %s not sent; they will be re-sent", name)

    if in_transaction:
        send()
    else:  # Redis (the outbox is the engine issue's), or tests' inline queue
        transaction.on_commit(send)
