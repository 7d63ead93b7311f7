"""Which instance may run an `is_singleton` continuous job (Kudu's
singleton.job.lock): a row per job, taken and renewed by a conditional UPDATE,
lapsing at `expires_at` (database time, so hosts with skewed clocks agree)
when its holder stops renewing, e.g. after a kill -9."""

from __future__ import annotations

from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.db.models.functions import Now

from jobs.models import SingletonLease


def _expiry(lease_time: float):
    return Now() + timedelta(seconds=lease_time)


def lease_take(*, job_pk: int, holder: str, lease_time: float) -> bool:
    """Take or renew the job's lease: a conditional UPDATE, one winner.

    The row is created free on first use; then the UPDATE succeeds only if
    the lease is free, already ours, or expired (database time).
    """
    try:
        with transaction.atomic():
            SingletonLease.objects.get_or_create(job_id=job_pk)
    except IntegrityError:  # the job was just deleted
        return False
    return bool(
        SingletonLease.objects.filter(job_id=job_pk)
        .filter(
            Q(holder=holder)
            | Q(holder="")
            | Q(expires_at__isnull=True)
            | Q(expires_at__lt=Now())
        )
        .update(holder=holder, expires_at=_expiry(lease_time))
    )


def leases_renew(*, job_pks: set[int], holder: str, lease_time: float) -> set[int]:
    """Renew the holder's leases of these jobs; returns those still held."""
    leases = SingletonLease.objects.filter(job_id__in=job_pks, holder=holder)
    leases.update(expires_at=_expiry(lease_time))
    return set(leases.values_list("job_id", flat=True))


def lease_release(*, job_pk: int, holder: str) -> None:
    SingletonLease.objects.filter(job_id=job_pk, holder=holder).update(
        holder="", expires_at=None
    )


def leases_release_all(*, holder: str) -> None:
    SingletonLease.objects.filter(holder=holder).update(holder="", expires_at=None)
