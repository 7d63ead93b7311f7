"""Writes for the scheduler: collections, jobs, their state, and a run now
(scheduler/attempts.py hands attempts to the queue, scheduler/job_history.py
keeps each job's history).

Every function takes `now` from the emulator clock (config.clock) so that
time travel moves everything together.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction

from config.clock import clock_now
from core.definitions import validate_action
from core.ncrontab import CronSeries
from core.recurrence import (
    EARLIEST,
    FREQUENCIES,
    RecurrenceError,
    RecurrenceQuotaError,
    Series,
    validate_recurrence,
)
from core.recurrence_json import recurrence_from_json, recurrence_to_json
from scheduler.attempts import attempt_enqueue
from scheduler.models import (
    PLAN_DEFAULTS,
    Attempt,
    CollectionState,
    Job,
    JobCollection,
    JobState,
    Sku,
)
from scheduler.secrets import action_seal

FieldError = RecurrenceError  # a 400 naming the JSON field
ERR_QUOTA_JOBS = (
    "The job collection {name!r} already holds {count} jobs, its quota maxJobCount; "
    "delete a job or raise properties.quota.maxJobCount."
)
ERR_STATE_READONLY = (
    "properties.state cannot be set to {state}: only Enabled and Disabled can be "
    "set; Completed and Faulted are the service's to set."
)
ERR_STATE_FINAL = (
    "The job is {state}; its state cannot be changed (delete it and create it again)."
)
ERR_STATE = "properties.state must be Enabled or Disabled, not {value!r}."
ERR_SKU = "properties.sku.name must be one of Free, Standard, P10Premium, P20Premium, not {value!r}."  # noqa: E501
ERR_COLLECTION_STATE = (
    "properties.state must be Enabled, Disabled or Suspended, not {value!r}."
)
_SETTABLE_COLLECTION_STATES = ("Enabled", "Disabled", "Suspended")
ERR_MAX_RECURRENCE = (
    "properties.quota.maxRecurrence.frequency must be one of {choices}."
)
ERR_START_TIME = "properties.startTime {value!r} is not an ISO 8601 date-time."
ERR_TIME_RANGE = (
    "{path} {value!r} is out of range: date-times run from 1900-01-01T00:00:00Z "
    "to 9999-12-31T23:59:59Z."
)
# Microsoft.Scheduler names, job collections and jobs alike: 1 to 100 characters
# (the classic API's limit), a letter first, then letters, digits, '-' and '_'
# (as Terraform's azurerm provider checked them for ARM). Azure's resource group
# rule: 1 to 90 letters, digits, '-', '_', '.', '(' and ')', not ending in '.'.
ARM_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,99}")
RESOURCE_GROUP = re.compile(r"[\w.()-]{0,89}[\w()-]")
SUBSCRIPTION = re.compile(r"[A-Za-z0-9_-]{1,100}")
ERR_ARM_NAME = (
    "The {what} name {name!r} is invalid: use 1 to 100 characters, a letter first, "
    "then letters, digits, '-' or '_'."
)
ERR_RESOURCE_GROUP = (
    "The resource group name {name!r} is invalid: use 1 to 90 letters, digits, "
    "'-', '_', '.', '(' or ')', not ending in '.'."
)
ERR_SUBSCRIPTION = (
    "The subscription id {name!r} is invalid: use 1 to 100 letters, digits, '-' or "
    "'_' (Azure's are GUIDs)."
)
ERR_LOCATION = "location must be a string of at most 100 characters."
ERR_TAGS = (
    "tags must be an object of at most 50 string values, names of at most 512 "
    "characters and values of at most 256."
)
ERR_QUOTA_INT = "{path} must be a whole number from 1 to 2147483647, not {value!r}."
MAX_INT32 = 2**31 - 1
# Azure's limit "time to start time: 18 months".
MAX_START_AHEAD = timedelta(days=548)
ERR_START_AHEAD = (
    "properties.startTime {value!r} is more than 18 months ahead; Azure Scheduler "
    "allows a start at most 18 months in the future."
)
ERR_QUOTA_OVER_PLAN = (
    "{what} is above what the {sku} plan allows ({limit}); a quota can only be "
    "set lower than the plan's."
)
ERR_PLAN_JOBS = (
    "The collection holds {count} jobs but the new plan or quota allows {limit}; "
    "delete jobs first."
)
ERR_PLAN_RECURRENCE = (
    "Job {job!r} recurs more often than the new plan or quota allows; change it first."
)
ERR_NOT_FOUND = "The {what} {name!r} was not found."


class Conflict(Exception):
    """409 with a message."""


class NotFound(LookupError):
    pass


# --- collections ---------------------------------------------------------------


def collection_put(
    *,
    subscription_id: str,
    resource_group: str,
    name: str,
    body: dict[str, Any],
    partial: bool = False,
) -> tuple[JobCollection, bool]:
    """Create or replace (PUT) or update (PATCH, partial) a job collection."""
    collection = JobCollection.objects.filter(
        subscription_id=subscription_id, resource_group=resource_group, name=name
    ).first()
    created = collection is None
    if created and partial:
        raise NotFound(ERR_NOT_FOUND.format(what="job collection", name=name))
    if created:
        validate_names(
            subscription_id=subscription_id, resource_group=resource_group, name=name
        )
    collection = collection or JobCollection(
        subscription_id=subscription_id,
        resource_group=resource_group,
        name=name,
        created_at=clock_now(),
    )
    props = _lower_keys(body.get("properties") or {})
    if "location" in body or not partial:
        collection.location = _location(body.get("location") or collection.location)
    if "tags" in body or not partial:
        collection.tags = _tags(body.get("tags"))
    sku = _lower_keys(props.get("sku") or {}).get("name")
    if sku is not None or not partial:
        collection.sku = _enum(
            sku or Sku.STANDARD, Sku.values, "properties.sku.name", ERR_SKU
        )
    state = props.get("state")
    if state is not None:
        collection.state = _enum(
            state, _SETTABLE_COLLECTION_STATES, "properties.state", ERR_COLLECTION_STATE
        )
    quota = props.get("quota")
    if quota is not None or not partial:
        _apply_quota(collection, _lower_keys(quota or {}))
    with transaction.atomic():
        _check_plan(collection)
        collection.save()
        if state is not None:
            _cascade_collection_state(collection)
    return collection, created


def _minutes(frequency: str, interval: int) -> int:
    return _FREQUENCY_MINUTES[frequency] * interval


_FREQUENCY_MINUTES = {
    "Minute": 1,
    "Hour": 60,
    "Day": 1440,
    "Week": 10080,
    "Month": 43200,
}


def _check_plan(collection: JobCollection) -> None:
    """Quotas can be set lower than the plan's, never higher (Azure's limits
    table), and a plan change must fit the jobs already there (a downgrade to
    Free fails with more than 5 jobs or a job recurring more than hourly)."""
    plan_count, plan_recurrence = PLAN_DEFAULTS[collection.sku]
    if collection.max_job_count and collection.max_job_count > plan_count:
        raise FieldError(
            "properties.quota.maxJobCount",
            ERR_QUOTA_OVER_PLAN.format(
                what=f"maxJobCount {collection.max_job_count}",
                sku=collection.sku,
                limit=plan_count,
            ),
        )
    if collection.max_recurrence_frequency and _minutes(
        *collection.effective_max_recurrence
    ) < _minutes(*plan_recurrence):
        frequency, interval = collection.effective_max_recurrence
        raise FieldError(
            "properties.quota.maxRecurrence",
            ERR_QUOTA_OVER_PLAN.format(
                what=f"maxRecurrence every {interval} {frequency}",
                sku=collection.sku,
                limit=f"every {plan_recurrence[1]} {plan_recurrence[0]}",
            ),
        )
    if collection.pk is None:
        return
    jobs = list(collection.jobs.all())
    if len(jobs) > collection.effective_max_job_count:
        raise Conflict(
            ERR_PLAN_JOBS.format(
                count=len(jobs), limit=collection.effective_max_job_count
            )
        )
    for job in jobs:
        if job.recurrence:
            try:
                validate_recurrence(
                    recurrence_from_json(job.recurrence),
                    start_time=job.start_time,
                    created_at=job.created_at,
                    max_recurrence=collection.effective_max_recurrence,
                )
            except RecurrenceQuotaError:
                raise Conflict(ERR_PLAN_RECURRENCE.format(job=job.name)) from None


def _apply_quota(collection: JobCollection, quota: dict[str, Any]) -> None:
    for key, attr in (
        ("maxjobcount", "max_job_count"),
        ("maxjoboccurrence", "max_job_occurrence"),
    ):
        value = quota.get(key)
        if value is not None:
            _int32(value, f"properties.quota.{key}")
        setattr(collection, attr, value)
    recurrence = _lower_keys(quota.get("maxrecurrence") or {})
    frequency = recurrence.get("frequency")
    if frequency is None:
        collection.max_recurrence_frequency, collection.max_recurrence_interval = (
            "",
            None,
        )
        return
    collection.max_recurrence_frequency = _enum(
        frequency,
        FREQUENCIES,
        "properties.quota.maxRecurrence.frequency",
        ERR_MAX_RECURRENCE.replace("{choices}", ", ".join(FREQUENCIES)),
    )
    interval = recurrence.get("interval") or 1
    _int32(interval, "properties.quota.maxRecurrence.interval")
    collection.max_recurrence_interval = interval


def _int32(value: Any, path: str) -> None:
    """1 to 2^31-1: a whole number the columns (and Azure's Int32) hold."""
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or not 1 <= value <= MAX_INT32
    ):
        raise FieldError(path, ERR_QUOTA_INT.format(path=path, value=value))


def _location(value: Any) -> str:
    if value is None:
        return ""
    if not isinstance(value, str) or len(value) > 100:
        raise FieldError("location", ERR_LOCATION)
    return value


def _tags(value: Any) -> dict[str, str]:
    """Azure's tag limits: 50 per resource, names 512 characters, values 256."""
    if value is None:
        return {}
    if (
        not isinstance(value, dict)
        or len(value) > 50
        or not all(
            isinstance(k, str)
            and isinstance(v, str)
            and 1 <= len(k) <= 512
            and len(v) <= 256
            for k, v in value.items()
        )
    ):
        raise FieldError("tags", ERR_TAGS)
    return value


def validate_names(
    *, subscription_id: str, resource_group: str, name: str, job: str | None = None
) -> None:
    """The names a new collection (or job) is stored under, by Azure's rules."""
    if not SUBSCRIPTION.fullmatch(subscription_id):
        raise FieldError(
            "subscriptionId", ERR_SUBSCRIPTION.format(name=_shown(subscription_id))
        )
    if not RESOURCE_GROUP.fullmatch(resource_group):
        raise FieldError(
            "resourceGroupName", ERR_RESOURCE_GROUP.format(name=_shown(resource_group))
        )
    for what, value in (("job collection", name), ("job", job)):
        if value is not None and not ARM_NAME.fullmatch(value):
            raise FieldError("name", ERR_ARM_NAME.format(what=what, name=_shown(value)))


def _shown(text: str) -> str:
    return text if len(text) <= 60 else text[:60] + "..."


def _cascade_collection_state(collection: JobCollection) -> None:
    """Azure's enable/disable act on all of the collection's jobs."""
    if collection.state == CollectionState.ENABLED:
        for job in collection.jobs.filter(state=JobState.DISABLED):
            job_set_state(job=job, state=JobState.ENABLED)
    elif collection.state in (CollectionState.DISABLED, CollectionState.SUSPENDED):
        collection.jobs.filter(state=JobState.ENABLED).update(state=JobState.DISABLED)


def collection_get(
    *, subscription_id: str, resource_group: str, name: str
) -> JobCollection:
    collection = JobCollection.objects.filter(
        subscription_id=subscription_id, resource_group=resource_group, name=name
    ).first()
    if collection is None:
        raise NotFound(ERR_NOT_FOUND.format(what="job collection", name=name))
    return collection


def collection_set_state(*, collection: JobCollection, state: str) -> None:
    with transaction.atomic():
        collection.state = state
        collection.save(update_fields=["state"])
        _cascade_collection_state(collection)


# --- jobs ----------------------------------------------------------------------


def job_put(
    *,
    collection: JobCollection,
    name: str,
    body: dict[str, Any],
    partial: bool = False,
    webjob=None,
) -> tuple[Job, bool]:
    """Create or replace (PUT) or update (PATCH) a scheduler job.

    1. Parse and validate the definition (one validator for every entry point);
       on PATCH unspecified fields keep their values, as Azure's Update Job.
    2. Check quotas (409): job count, and no recurrence more frequent than the
       collection's maxRecurrence.
    3. Compute next_fire_at from the emulator clock, and save.
    """
    now = clock_now()
    job = collection.jobs.filter(name=name).first()
    created = job is None
    if created and partial:
        raise NotFound(ERR_NOT_FOUND.format(what="job", name=name))
    props = _lower_keys((body or {}).get("properties") or {})
    if created and webjob is None:
        if not ARM_NAME.fullmatch(name):
            raise FieldError("name", ERR_ARM_NAME.format(what="job", name=_shown(name)))
    job = job or Job(collection=collection, name=name, created_at=now, webjob=webjob)
    if "starttime" in props or not partial:
        job.start_time = parse_time(props.get("starttime"), "properties.startTime")
        if job.start_time and job.start_time > now + MAX_START_AHEAD:
            raise FieldError(
                "properties.startTime",
                ERR_START_AHEAD.format(value=props.get("starttime")),
            )
    if "action" in props or not partial:
        # Credentials are stored sealed (scheduler/secrets.py).
        job.action = action_seal(validate_action(props.get("action")))
        job.retry_interval_format = _retry_format(props.get("action"))
    schedule_changed = "recurrence" in props or "starttime" in props or not partial
    if schedule_changed:
        # The start and the recurrence are validated together whichever changed:
        # a new start can make an endTime come first, or a schedule never fire.
        raw = (
            props.get("recurrence")
            if "recurrence" in props or not partial
            else job.recurrence
        )
        recurrence = recurrence_from_json(raw)
        validate_recurrence(
            recurrence,
            start_time=job.start_time,
            created_at=job.created_at,
            max_recurrence=collection.effective_max_recurrence,
        )
        job.recurrence = recurrence_to_json(recurrence)
    state = props.get("state")
    if state is not None:
        state = _enum(state, JobState.values, "properties.state", ERR_STATE)
        if state in (JobState.COMPLETED, JobState.FAULTED):
            raise Conflict(ERR_STATE_READONLY.format(state=state))
        if job.state in (JobState.COMPLETED, JobState.FAULTED) and state != job.state:
            raise Conflict(ERR_STATE_FINAL.format(state=job.state))
    if collection.state != CollectionState.ENABLED and created:
        state = state or JobState.DISABLED
    with transaction.atomic():
        if created:
            # Lock the collection row: two concurrent creates cannot both pass the
            # quota check (SQLite serialises writers anyway; PostgreSQL needs it).
            locked = JobCollection.objects.select_for_update().get(pk=collection.pk)
            if locked.jobs.count() >= locked.effective_max_job_count:
                raise Conflict(
                    ERR_QUOTA_JOBS.format(
                        name=collection.name, count=locked.effective_max_job_count
                    )
                )
        if job.state not in (JobState.COMPLETED, JobState.FAULTED):
            job.state = state or job.state or JobState.ENABLED
        if created or schedule_changed or state:
            job.next_fire_at = job_next_after(job, now - timedelta(microseconds=1))
            if job.next_fire_at is None and job.state == JobState.ENABLED:
                job.state = JobState.COMPLETED  # nothing is left to run
        try:
            job.save()
        except IntegrityError:
            raise Conflict(
                f"A job named {name!r} is being created concurrently."
            ) from None
    return job, created


def job_put_creating_collection(
    *,
    subscription_id: str,
    resource_group: str,
    collection_name: str,
    name: str,
    body: dict[str, Any],
    sku: str,
) -> tuple[JobCollection, Job, bool]:
    """job_put into a collection created first (with plan `sku`) when it does
    not exist yet; a job refused leaves no new collection behind. Returns the
    collection, the job and whether the job was created."""
    with transaction.atomic():
        collection = JobCollection.objects.filter(
            subscription_id=subscription_id,
            resource_group=resource_group,
            name=collection_name,
        ).first()
        if collection is None:
            collection, _ = collection_put(
                subscription_id=subscription_id,
                resource_group=resource_group,
                name=collection_name,
                body={"properties": {"sku": {"name": sku}}},
            )
        job, created = job_put(collection=collection, name=name, body=body)
    return collection, job, created


def job_time_zone(job: Job) -> str | None:
    """The zone a CRON job is read in: its own, else for a WebJob's timer the
    site's WEBSITE_TIME_ZONE (read now, so a changed setting applies at once);
    None is UTC."""
    if job.cron_time_zone:
        return job.cron_time_zone
    return (settings.WEBSITE_TIME_ZONE or None) if job.webjob_id else None


def job_series(job: Job) -> Series | CronSeries:
    """The job's occurrences, CRON or Azure recurrence, answered without walking
    them (the next, the latest, how many in a span)."""
    if job.cron:
        return CronSeries(job.cron, tz=job_time_zone(job), created_at=job.created_at)
    return Series(
        start_time=job.start_time,
        recurrence=recurrence_from_json(job.recurrence),
        created_at=job.created_at,
    )


def job_occurrences(job: Job, *, after: datetime | None):
    """The job's occurrences strictly after `after`: CRON or Azure recurrence."""
    return job_series(job).after(after)


def job_next_after(job: Job, after: datetime) -> datetime | None:
    """The next occurrence strictly after `after` (an edit re-arms from now: what
    lies in the past is not caught up)."""
    return next(iter(job_occurrences(job, after=after)), None)


def job_get(*, collection: JobCollection, name: str) -> Job:
    job = collection.jobs.filter(name=name).first()
    if job is None:
        raise NotFound(ERR_NOT_FOUND.format(what="job", name=name))
    return job


def job_set_state(*, job: Job, state: str) -> Job:
    """Enable or disable; enabling re-arms at the next occurrence from now."""
    if job.state in (JobState.COMPLETED, JobState.FAULTED):
        raise Conflict(ERR_STATE_FINAL.format(state=job.state))
    job.state = state
    if state == JobState.ENABLED:
        job.next_fire_at = job_next_after(job, clock_now() - timedelta(microseconds=1))
        if job.next_fire_at is None:
            job.state = JobState.COMPLETED
    job.save(update_fields=["state", "next_fire_at", "updated_at"])
    return job


def job_delete(*, job: Job) -> None:
    job.delete()


def job_run_now(*, job: Job) -> Attempt:
    """Azure's Jobs_Run: execute the action once now, outside the recurrence."""
    now = clock_now()
    with transaction.atomic():
        attempt = Attempt.objects.create(
            job=job,
            expected_time=now,
            due_at=now,
            manual=True,
            status=Attempt.Status.QUEUED,
        )
        attempt_enqueue(attempt)
    return attempt


# --- helpers -------------------------------------------------------------------


def _lower_keys(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        return {}
    return {str(k).lower(): v for k, v in data.items()}


def _enum(value: Any, choices, path: str, message: str) -> str:
    if isinstance(value, str):
        for choice in choices:
            if choice.lower() == value.lower():
                return choice
    raise FieldError(path, message.format(value=value))


def parse_time(value: Any, path: str) -> datetime | None:
    """An ISO 8601 date-time (no offset: UTC, as Azure), as aware UTC, from
    1900 to the end of year 9999 in UTC."""
    if value is None:
        return None
    text = value if isinstance(value, str) else str(value)
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise FieldError(path, ERR_START_TIME.format(value=_shown(text))) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)  # Azure: no offset means UTC
    try:
        parsed = parsed.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00:00+01:00 is in year 0 in UTC
        parsed = None
    if parsed is None or parsed < EARLIEST:
        raise FieldError(path, ERR_TIME_RANGE.format(path=path, value=_shown(text)))
    return parsed


def _retry_format(action: Any) -> str:
    policy = _lower_keys(_lower_keys(action).get("retrypolicy"))
    interval = policy.get("retryinterval")
    return "timespan" if isinstance(interval, str) and ":" in interval else "iso"


__all__ = ["Conflict", "NotFound", "FieldError", "RecurrenceQuotaError"]
