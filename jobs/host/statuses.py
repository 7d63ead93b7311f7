"""A continuous job's status on this instance, written as InstanceStatus rows."""

from __future__ import annotations

from datetime import datetime

from django.db import IntegrityError, transaction

from jobs.host.children import Child
from jobs.models import InstanceStatus


def statuses_write(children: list[Child], *, instance_id: str, now: datetime) -> None:
    """Write the children's statuses in one transaction (a burst of starts is
    one commit).

    Foreign keys are checked at commit, so a row for a job deleted meanwhile
    fails the whole batch: then each row is written on its own, and the
    deleted job's is dropped.
    """
    try:
        with transaction.atomic():
            for child in children:
                _write(child, instance_id=instance_id, now=now)
    except IntegrityError:
        for child in children:
            try:
                with transaction.atomic():
                    _write(child, instance_id=instance_id, now=now)
            except IntegrityError:
                pass  # the job was deleted meanwhile


def _write(child: Child, *, instance_id: str, now: datetime) -> None:
    values = {
        "status": child.state,
        "pid": child.proc.pid if child.proc is not None else None,
        "revision": child.spec.revision,
        "updated_at": now,
    }
    rows = InstanceStatus.objects.filter(job_id=child.spec.pk, instance_id=instance_id)
    if not rows.update(**values):
        InstanceStatus.objects.create(
            job_id=child.spec.pk, instance_id=instance_id, **values
        )
