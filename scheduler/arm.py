"""The ARM routes of Microsoft.Scheduler, api-version 2016-03-01.

Shapes, codes and semantics per the spec and the recordings of the real service
(../shared/reference/azure-scheduler.md); the unmodified azure-mgmt-scheduler
7.0.0 client is the acceptance test. Errors use ARM's body,
{"error": {"code", "message"}}, with the message naming the field.
"""

from __future__ import annotations

import json
import re
from urllib.parse import urlencode

from django.db import transaction
from rest_framework.response import Response

from config.arm import ArmBaseView, ArmError, arm_error
from core.definitions import format_duration, parse_duration, redact
from core.kudu import iso_utc
from core.recurrence import RecurrenceError, RecurrenceQuotaError
from core.storable import json_problem
from scheduler.models import (
    CollectionState,
    HistoryStatus,
    Job,
    JobCollection,
    JobHistory,
    JobState,
)
from scheduler.selectors import field_message
from scheduler.services import (
    Conflict,
    NotFound,
    collection_get,
    collection_put,
    collection_set_state,
    job_delete,
    job_get,
    job_put,
    job_run_now,
)

# The spec's 2016-03-01 and the two older versions Microsoft's samples and the
# older SDKs pin: the same paths, operations and shapes (docs/behaviour.md).
API_VERSIONS = ("2016-03-01", "2016-01-01", "2014-08-01-preview")
API_VERSION = API_VERSIONS[0]
ERR_JSON = "The request body is not valid JSON: {detail}."
ERR_BODY_OBJECT = "The request body must be a JSON object."
ERR_TOP = "$top must be a whole number from 1 to 100, not {value!r}."
ERR_SKIP = "$skip must be a whole number from 0 to 2147483647, not {value!r}."
ERR_FILTER = "$filter {value!r} is not supported; use \"state eq 'Enabled'\" or \"status eq 'Failed'\"."  # noqa: E501
PROVIDER = "providers/Microsoft.Scheduler"
_FILTER = re.compile(r"^\s*(state|status)\s+eq\s+'?([A-Za-z]+)'?\s*$", re.I)


# Azure's limit: a job definition over 16,000 characters is refused with 400.
MAX_JOB_CHARS = 16_000
ERR_JOB_SIZE = "The job definition is {size} characters; the limit is 16,000."


class ArmView(ArmBaseView):
    """An ARM route. ``resource`` names the model whose permissions guard it
    (config/permissions.py): GET view, PUT add or change (by whether the
    resource exists), PATCH change, DELETE delete, POST ``post_permission``."""

    resource = ""  # "jobcollection" or "job"
    arm_type = "Microsoft.Scheduler/jobCollections"
    api_versions = API_VERSIONS
    post_permission = "change"

    def required_permissions(self, request) -> tuple[str, ...]:
        method = request.method if request.method not in ("HEAD", "OPTIONS") else "GET"
        verb = {
            "GET": "view",
            "PATCH": "change",
            "DELETE": "delete",
            "POST": self.post_permission,
        }.get(method)
        if method == "PUT":
            verb = "change" if self.exists() else "add"
        if verb is None:
            return ("(no such method)",)
        return (f"scheduler.{verb}_{self.resource}",)

    def exists(self) -> bool:
        """Whether a PUT replaces (change) or creates (add)."""
        return False

    def handle_exception(self, exc):
        if isinstance(exc, RecurrenceQuotaError):
            return arm_error(409, "Conflict", f"{exc.field}: {exc.message}")
        if isinstance(exc, RecurrenceError):
            return arm_error(400, "BadRequest", field_message(exc))
        if isinstance(exc, Conflict):
            return arm_error(409, "Conflict", str(exc))
        if isinstance(exc, NotFound):
            return arm_error(404, "ResourceNotFound", str(exc))
        return super().handle_exception(exc)

    def body(self, request) -> dict:
        raw = request._request.body
        try:
            data = json.loads(raw or b"{}")
        except (ValueError, RecursionError) as exc:  # 5,000-digit numbers too
            detail = str(exc)[:200] or type(exc).__name__
            raise ArmError(400, "BadRequest", ERR_JSON.format(detail=detail)) from None
        if not isinstance(data, dict):
            raise ArmError(400, "BadRequest", ERR_BODY_OBJECT)
        # Tags, actions and recurrences are stored as jsonb: a NUL or a lone
        # surrogate anywhere is refused here, named, rather than by PostgreSQL.
        problem = json_problem("", data)
        if problem:
            raise ArmError(400, "BadRequest", problem)
        if request.query_params.get("api-version") != API_VERSION:
            _older_sku(data)
        return data


def _older_sku(body: dict) -> None:
    """2016-01-01 and 2014-08-01-preview name a Premium plan that 2016-03-01
    split in two: it is taken as P10Premium (docs/behaviour.md)."""
    sku = (
        (body.get("properties") or {}).get("sku")
        if isinstance(body.get("properties"), dict)
        else None
    )
    if isinstance(sku, dict) and str(sku.get("name", "")).lower() == "premium":
        sku["name"] = "P10Premium"


# --- JSON ---------------------------------------------------------------------------


def collection_id(c: JobCollection) -> str:
    return (
        f"/subscriptions/{c.subscription_id}/resourceGroups/{c.resource_group}/"
        f"{PROVIDER}/jobCollections/{c.name}"
    )


def collection_json(c: JobCollection) -> dict:
    frequency, interval = c.effective_max_recurrence
    quota = {
        "maxJobCount": c.effective_max_job_count,
        "maxRecurrence": {"frequency": frequency, "interval": interval},
    }
    if c.max_job_occurrence:
        quota["maxJobOccurrence"] = c.max_job_occurrence
    return {
        "id": collection_id(c),
        "type": "Microsoft.Scheduler/jobCollections",
        "name": c.name,
        "location": c.location,
        "tags": c.tags or {},
        "properties": {"sku": {"name": c.sku}, "state": c.state, "quota": quota},
    }


def job_json(job: Job) -> dict:
    action = redact(job.action)
    _echo_retry_format(action, job.retry_interval_format)
    status = {
        "executionCount": job.execution_count,
        "failureCount": job.failure_count,
        "faultedCount": job.faulted_count,
    }
    if job.last_execution_time:
        status["lastExecutionTime"] = iso_utc(job.last_execution_time)
    if job.next_fire_at and job.state == JobState.ENABLED:  # only what will run
        status["nextExecutionTime"] = iso_utc(job.next_fire_at)
    props: dict = {"action": action, "state": job.state, "status": status}
    if job.start_time:
        props["startTime"] = iso_utc(job.start_time)
    if job.recurrence:
        props["recurrence"] = job.recurrence
    return {
        "id": f"{collection_id(job.collection)}/jobs/{job.name}",
        "type": "Microsoft.Scheduler/jobCollections/jobs",
        "name": f"{job.collection.name}/{job.name}",
        "properties": props,
    }


def _echo_retry_format(action: dict, wire: str) -> None:
    for part in (action, action.get("errorAction") or {}):
        policy = part.get("retryPolicy") or {}
        if "retryInterval" in policy:
            value, _ = parse_duration(policy["retryInterval"])
            policy["retryInterval"] = format_duration(value, wire)


def history_json(entry: JobHistory) -> dict:
    job = entry.job
    props = {
        "startTime": iso_utc(entry.start_time),
        "endTime": iso_utc(entry.end_time),
        "expectedExecutionTime": iso_utc(entry.expected_execution_time),
        "actionName": entry.action_name,
        "status": entry.status,
        "message": entry.message,
        "retryCount": entry.retry_count,
        "repeatCount": entry.repeat_count,
    }
    return {
        "id": f"{collection_id(job.collection)}/jobs/{job.name}/history/{entry.pk}",
        "type": "Microsoft.Scheduler/jobCollections/jobs/history",
        "name": f"{job.collection.name}/{job.name}/{entry.pk}",
        "properties": props,
    }


def page(request, items, render) -> Response:
    """$top/$skip paging with a nextLink, as ARM lists page."""
    top_raw = request.query_params.get("$top")
    skip_raw = request.query_params.get("$skip", "0")
    top = 100 if top_raw is None else _whole(top_raw)
    if top is None or not 1 <= top <= 100:
        raise ArmError(400, "BadRequest", ERR_TOP.format(value=top_raw[:40]))
    skip = _whole(skip_raw)
    if skip is None:  # a skip the database column types cannot hold either
        raise ArmError(400, "BadRequest", ERR_SKIP.format(value=skip_raw[:40]))
    chunk = list(items[skip : skip + top + 1])
    body: dict = {"value": [render(x) for x in chunk[:top]]}
    if len(chunk) > top:
        params = request.query_params.copy()
        params["$skip"] = str(skip + top)
        params["$top"] = str(top)
        body["nextLink"] = (
            request.build_absolute_uri(request.path)
            + "?"
            + urlencode(params, doseq=True)
        )
    return Response(body)


def _whole(text: str) -> int | None:
    """0 to 2^31-1 written in digits, else None."""
    if not re.fullmatch(r"[0-9]{1,10}", text) or int(text) > 2**31 - 1:
        return None
    return int(text)


def parse_filter(request, field: str, choices) -> str | None:
    raw = request.query_params.get("$filter")
    if not raw:
        return None
    match = _FILTER.match(raw)
    if not match or match.group(1).lower() != field:
        raise ArmError(400, "BadRequest", ERR_FILTER.format(value=raw))
    for choice in choices:
        if choice.lower() == match.group(2).lower():
            return choice
    raise ArmError(400, "BadRequest", ERR_FILTER.format(value=raw))


class ArmNotFound(ArmView):
    """Any other path under /subscriptions/: ARM's 404 body, not an HTML page."""

    def required_permissions(self, request) -> tuple[str, ...]:
        return ()  # nothing is there to guard: a login sees the 404

    def missing(self, request, *args, **kwargs):
        raise NotFound(f"No resource at {request.path}.")

    get = post = put = patch = delete = missing


# --- views --------------------------------------------------------------------------


class CollectionsBySubscription(ArmView):
    resource = "jobcollection"

    def get(self, request, sub: str):
        items = JobCollection.objects.filter(subscription_id=sub).order_by("name")
        return page(request, items, collection_json)


class CollectionsByGroup(ArmView):
    resource = "jobcollection"

    def get(self, request, sub: str, rg: str):
        items = JobCollection.objects.filter(subscription_id=sub, resource_group=rg)
        return page(request, items.order_by("name"), collection_json)


class CollectionDetail(ArmView):
    resource = "jobcollection"

    def exists(self) -> bool:
        kw = self.kwargs
        return JobCollection.objects.filter(
            subscription_id=kw["sub"], resource_group=kw["rg"], name=kw["jc"]
        ).exists()

    def get(self, request, sub: str, rg: str, jc: str):
        return Response(
            collection_json(
                collection_get(subscription_id=sub, resource_group=rg, name=jc)
            )
        )

    def put(self, request, sub: str, rg: str, jc: str):
        collection, created = collection_put(
            subscription_id=sub, resource_group=rg, name=jc, body=self.body(request)
        )
        return Response(collection_json(collection), status=201 if created else 200)

    def patch(self, request, sub: str, rg: str, jc: str):
        collection, _ = collection_put(
            subscription_id=sub,
            resource_group=rg,
            name=jc,
            body=self.body(request),
            partial=True,
        )
        return Response(collection_json(collection))

    def delete(self, request, sub: str, rg: str, jc: str):
        JobCollection.objects.filter(
            subscription_id=sub, resource_group=rg, name=jc
        ).delete()
        return Response(status=200)


class CollectionState_(ArmView):
    resource = "jobcollection"
    state = CollectionState.ENABLED

    def post(self, request, sub: str, rg: str, jc: str):
        collection = collection_get(subscription_id=sub, resource_group=rg, name=jc)
        collection_set_state(collection=collection, state=self.state)
        return Response(status=200)


class CollectionEnable(CollectionState_):
    state = CollectionState.ENABLED


class CollectionDisable(CollectionState_):
    state = CollectionState.DISABLED


class JobList(ArmView):
    resource = "job"
    arm_type = "Microsoft.Scheduler/jobCollections/jobs"

    def get(self, request, sub: str, rg: str, jc: str):
        collection = collection_get(subscription_id=sub, resource_group=rg, name=jc)
        jobs = collection.jobs.select_related("collection").order_by("name")
        state = parse_filter(request, "state", JobState.values)
        if state:
            jobs = jobs.filter(state=state)
        return page(request, jobs, job_json)


class JobDetail(ArmView):
    resource = "job"
    arm_type = "Microsoft.Scheduler/jobCollections/jobs"

    def exists(self) -> bool:
        kw = self.kwargs
        return Job.objects.filter(
            collection__subscription_id=kw["sub"],
            collection__resource_group=kw["rg"],
            collection__name=kw["jc"],
            name=kw["job"],
        ).exists()

    def job_body(self, request) -> dict:
        size = len(request._request.body.decode("utf-8", "replace"))
        if size > MAX_JOB_CHARS:
            raise ArmError(400, "BadRequest", ERR_JOB_SIZE.format(size=size))
        return self.body(request)

    def _collection(self, sub, rg, jc) -> JobCollection:
        return collection_get(subscription_id=sub, resource_group=rg, name=jc)

    def get(self, request, sub: str, rg: str, jc: str, job: str):
        return Response(
            job_json(job_get(collection=self._collection(sub, rg, jc), name=job))
        )

    def put(self, request, sub: str, rg: str, jc: str, job: str):
        body = self.job_body(request)
        with transaction.atomic():
            collection = self._collection(sub, rg, jc)
            saved, created = job_put(collection=collection, name=job, body=body)
        return Response(job_json(saved), status=201 if created else 200)

    def patch(self, request, sub: str, rg: str, jc: str, job: str):
        body = self.job_body(request)
        with transaction.atomic():
            collection = self._collection(sub, rg, jc)
            saved, _ = job_put(collection=collection, name=job, body=body, partial=True)
        return Response(job_json(saved))

    def delete(self, request, sub: str, rg: str, jc: str, job: str):
        job_delete(job=job_get(collection=self._collection(sub, rg, jc), name=job))
        return Response(status=200)


class JobRun(ArmView):
    resource = "job"
    arm_type = "Microsoft.Scheduler/jobCollections/jobs"
    post_permission = "run"

    def post(self, request, sub: str, rg: str, jc: str, job: str):
        collection = collection_get(subscription_id=sub, resource_group=rg, name=jc)
        job_run_now(job=job_get(collection=collection, name=job))
        return Response(status=200)


class JobHistoryList(ArmView):
    resource = "job"  # a job's history is read with the job
    arm_type = "Microsoft.Scheduler/jobCollections/jobs/history"

    def get(self, request, sub: str, rg: str, jc: str, job: str):
        collection = collection_get(subscription_id=sub, resource_group=rg, name=jc)
        found = job_get(collection=collection, name=job)
        entries = found.history.select_related("job__collection").order_by(
            "-start_time", "-pk"
        )
        status = parse_filter(request, "status", HistoryStatus.values)
        if status:
            entries = entries.filter(status=status)
        return page(request, entries, history_json)
