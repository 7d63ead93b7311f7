"""WebJobs through Azure Resource Manager: Kudu's ARM envelope and the
Microsoft.Web routes of azure-mgmt-web.

Azure answers `…/providers/Microsoft.Web/sites/{site}/triggeredwebjobs/…` by
forwarding the call to the site's Kudu with an `x-ms-geo-location` header (and
the ARM URL as `Referer`); Kudu then wraps its own JSON in an envelope
(`Kudu.Services/Arm/ArmUtils.cs`): `{"id", "name", "type", "location",
"properties"}`, lists as `{"value": [...]}` without a nextLink. This module
builds that envelope for both ways in: Kudu's routes called in ARM mode
(jobs/api.py) and the Microsoft.Web routes below.

The SDK's models read a few keys under other names than Kudu writes them
(`web_job_type` for `type`, `web_job_id`/`web_job_name` for a run's `id`/`name`,
a history's `runs`). Inside an envelope both are sent, Kudu's and the SDK's,
so azure-mgmt-web's fields hold the real values and a client that reads
Kudu's keys (as the real service's answers have them) finds them too.
"""

from __future__ import annotations

import json
from urllib.parse import urlparse

from django.conf import settings
from django.http import HttpResponse
from rest_framework.response import Response

from config.arm import ArmBaseView, ArmError, arm_error
from core.packaging import PackageError
from history.models import Run
from history.services import RunConflict, RunRequestError
from jobs import selectors
from jobs.models import WebJob
from jobs.services import (
    JobNotFound,
    run_request,
    webjob_delete,
    webjob_get,
    webjob_settings_put,
    webjob_start,
    webjob_stop,
)

# Every api-version an azure-mgmt-web release has shipped WebJobs operations in
# (the package's v20xx_xx_xx folders, 0.40.0 to 7.3.1, then the single version
# of 8.0.0 to 11.0.1), newest first: the first is the one an error suggests.
WEB_API_VERSIONS = (
    "2025-05-01",
    "2025-03-01",
    "2024-11-01",
    "2024-04-01",
    "2023-12-01",
    "2023-01-01",
    "2022-09-01",
    "2022-03-01",
    "2021-03-01",
    "2021-02-01",
    "2021-01-15",
    "2021-01-01",
    "2020-12-01",
    "2020-09-01",
    "2020-06-01",
    "2019-08-01",
    "2018-02-01",
    "2016-08-01",
)
ARM_HEADER = "x-ms-geo-location"
ERR_SITE = (
    "The Resource 'Microsoft.Web/sites/{site}' under resource group '{rg}' was not "
    "found. This emulator is the one site '{ours}' (WEBSITE_SITE_NAME)."
)
ERR_PATH = (
    "The Resource '{resource}' under resource group '{rg}' was not found: this "
    "emulator serves the WebJobs of site '{ours}' (no slots)."
)
ERR_ARM_SETTINGS = (
    'An ARM PUT of a WebJob sets its settings: send {{"properties": {{"settings": '
    "{{...}}}}}} ({detail})."
)


# --- the envelope -----------------------------------------------------------------


def is_arm_request(request) -> bool:
    """Kudu's ArmUtils.IsArmRequest: the header is there, whatever its value."""
    return ARM_HEADER in request.headers


def arm_id(request) -> str:
    """The resource id: the Referer's path when ARM sent one, else the request's."""
    referer = request.headers.get("Referer")
    path = urlparse(referer).path if referer else request.path
    return path.rstrip("/")


def arm_location(request) -> str:
    return request.headers.get(ARM_HEADER) or settings.REGION_NAME


def arm_entry(resource_id: str, properties: dict, *, location: str) -> dict:
    """One resource: `type` and `name` from the id's tokens after
    `Microsoft.Web` (odd ones the types, even ones the names), as Kudu does."""
    tokens = resource_id.split("/")
    kind = name = None
    if len(tokens) > 8 and tokens[6].lower() == "microsoft.web":
        kind = "/".join(["Microsoft.Web", *tokens[7::2]])
        name = "/".join(tokens[8::2])
    return {
        "id": resource_id,
        "name": name,
        "type": kind,
        "location": location,
        "properties": properties,
    }


def arm_list(resource_id: str, items: list[dict], *, location: str) -> dict:
    """Kudu's ArmListEntry: each child's id is the list's id + its name."""
    return {
        "value": [
            arm_entry(f"{resource_id}/{_child_name(item)}", item, location=location)
            for item in items
        ]
    }


def _child_name(item: dict) -> str:
    return str(item.get("name") or item.get("id"))


def sdk_job(job: dict) -> dict:
    """A job's JSON with the keys azure-mgmt-web reads beside Kudu's."""
    out = {**job, "web_job_type": str(job.get("type", "")).capitalize() or None}
    if out.get("latest_run"):
        out["latest_run"] = sdk_run(out["latest_run"])
    return out


def sdk_run(run: dict) -> dict:
    return {**run, "web_job_id": run.get("id"), "web_job_name": run.get("job_name")}


def sdk_history_run(run: dict) -> dict:
    """A history entry: the run's own keys (Kudu: each entry is one run) and the
    spec's `runs` list, of that one run, for TriggeredJobHistory.runs."""
    run = sdk_run(run)
    return {**run, "runs": [run]}


def arm_wrap(request, data, *, shape: str):
    """Kudu's response in ARM mode, by the shape of what the route answers."""
    location = arm_location(request)
    resource_id = arm_id(request)
    if shape == "jobs":
        return arm_list(resource_id, [sdk_job(j) for j in data], location=location)
    if shape == "job":
        return arm_entry(resource_id, sdk_job(data), location=location)
    if shape == "history":  # Kudu lists the runs, not {"runs": [...]}
        runs = [sdk_history_run(r) for r in data["runs"]]
        return arm_list(resource_id, runs, location=location)
    if shape == "run":
        return arm_entry(resource_id, sdk_history_run(data), location=location)
    if shape == "list":
        return arm_list(resource_id, list(data), location=location)
    return arm_entry(resource_id, data, location=location)


def arm_settings(request) -> object:
    """The settings of an ARM PUT (Kudu's Create*JobArm): body.properties.settings."""
    try:
        body = json.loads(request._request.body or b"null")
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise PackageError(ERR_ARM_SETTINGS.format(detail=exc)) from None
    properties = body.get("properties") if isinstance(body, dict) else None
    if not isinstance(properties, dict) or "settings" not in properties:
        raise PackageError(ERR_ARM_SETTINGS.format(detail="no properties.settings"))
    return properties["settings"]


# --- the Microsoft.Web routes -----------------------------------------------------

VIEW = ("jobs.view_webjob",)
CHANGE = ("jobs.change_webjob",)
DELETE = ("jobs.delete_webjob",)
RUN = ("jobs.run_webjob",)


def _scm_base(request) -> str:
    return f"{request.scheme}://{request.get_host()}"


class WebArmView(ArmBaseView):
    """A Microsoft.Web route of the one site; Kudu's answers in Kudu's envelope.

    Same authentication (HTTP Basic, bearer tokens) and permissions as the
    Kudu routes (config/permissions.py); refusals in ARM's body.
    """

    api_versions = WEB_API_VERSIONS
    arm_type = "Microsoft.Web/sites/webjobs"
    kind = WebJob.Kind.TRIGGERED
    permissions_required = {"GET": VIEW}

    def initial(self, request, *args, **kwargs) -> None:
        super().initial(request, *args, **kwargs)
        site = kwargs.get("site", "")
        if site.lower() != settings.WEBSITE_SITE_NAME.lower():
            raise ArmError(
                404,
                "ResourceNotFound",
                ERR_SITE.format(
                    site=site, rg=kwargs.get("rg"), ours=settings.WEBSITE_SITE_NAME
                ),
            )

    def handle_exception(self, exc):
        if isinstance(exc, JobNotFound):
            return arm_error(404, "NotFound", str(exc))
        if isinstance(exc, RunConflict):
            return arm_error(409, "Conflict", str(exc))
        if isinstance(exc, PackageError | RunRequestError):
            return arm_error(400, "BadRequest", str(exc))
        return super().handle_exception(exc)

    def entry(self, request, properties: dict) -> Response:
        return Response(
            arm_entry(arm_id(request), properties, location=arm_location(request))
        )

    def listing(self, request, items: list[dict]) -> Response:
        return Response(
            arm_list(arm_id(request), items, location=arm_location(request))
        )

    def job_json(self, request, job: WebJob) -> dict:
        base = _scm_base(request)
        if job.kind == WebJob.Kind.CONTINUOUS:
            return sdk_job(selectors.continuous_json(job, base=base))
        latest = selectors.webjob_latest_run(job)
        return sdk_job(selectors.job_json(job, base=base, latest=latest))


class WebJobs(WebArmView):
    """GET …/webjobs: triggered jobs, then continuous jobs (Kudu's ListAllJobs)."""

    def get(self, request, **kw):
        base = _scm_base(request)
        items = [
            sdk_job(selectors.job_json(job, base=base, latest=latest))
            for job, latest in selectors.webjob_list(kind=WebJob.Kind.TRIGGERED)
        ] + [sdk_job(j) for j in selectors.continuous_list(base=base)]
        return self.listing(request, items)


class WebJobDetail(WebArmView):
    """GET …/webjobs/{name}: Kudu has no such route; triggered first, then
    continuous."""

    def get(self, request, name: str, **kw):
        job = (
            WebJob.objects.filter(name=name)
            .order_by("-kind")  # "triggered" sorts after "continuous"
            .first()
        )
        if job is None:
            raise JobNotFound(f"No WebJob named {name!r}.")
        return self.entry(request, self.job_json(request, job))


class TriggeredJobs(WebArmView):
    arm_type = "Microsoft.Web/sites/triggeredwebjobs"

    def get(self, request, **kw):
        base = _scm_base(request)
        items = [
            sdk_job(selectors.job_json(job, base=base, latest=latest))
            for job, latest in selectors.webjob_list(kind=self.kind)
        ]
        return self.listing(request, items)


class TriggeredJobDetail(WebArmView):
    """GET, DELETE (200, also for an unknown name, as Kudu), and PUT of
    `{"properties": {"settings": {...}}}` (Kudu's Create*JobArm)."""

    arm_type = "Microsoft.Web/sites/triggeredwebjobs"
    permissions_required = {"GET": VIEW, "PUT": CHANGE, "DELETE": DELETE}

    def get(self, request, name: str, **kw):
        return self.entry(
            request, self.job_json(request, webjob_get(name=name, kind=self.kind))
        )

    def put(self, request, name: str, **kw):
        job = webjob_get(name=name, kind=self.kind)
        webjob_settings_put(job=job, raw=arm_settings(request))
        return HttpResponse(status=200)

    def delete(self, request, name: str, **kw):
        webjob_delete(name=name, kind=self.kind)
        return HttpResponse(status=200)


class TriggeredJobRun(WebArmView):
    """POST …/run: 200 (the SDK accepts nothing else), `Location` the run's
    history URL on the SCM host, as Kudu's ARM branch answers."""

    arm_type = "Microsoft.Web/sites/triggeredwebjobs"
    permissions_required = {"POST": RUN}

    def post(self, request, name: str, **kw):
        job = webjob_get(name=name, kind=self.kind)
        trigger = "External - " + request.headers.get("User-Agent", "")
        arguments = request.query_params.get("arguments", "")
        run = run_request(job=job, trigger=trigger, arguments=arguments)
        response = HttpResponse(status=200)
        response["Location"] = (
            f"{_scm_base(request)}/api/triggeredwebjobs/{job.name}/history/{run.run_id}"
        )
        return response


class TriggeredJobHistory(WebArmView):
    """GET …/history: Kudu's ARM mode lists the runs, newest first."""

    arm_type = "Microsoft.Web/sites/triggeredwebjobs/history"

    def get(self, request, name: str, **kw):
        job = webjob_get(name=name, kind=self.kind)
        base = _scm_base(request)
        runs = [
            sdk_history_run(selectors.run_json(r, base=base, job=job))
            for r in selectors.run_history(job)
        ]
        return self.listing(request, runs)


class TriggeredJobHistoryDetail(WebArmView):
    arm_type = "Microsoft.Web/sites/triggeredwebjobs/history"

    def get(self, request, name: str, run_id: str, **kw):
        job = webjob_get(name=name, kind=self.kind)
        run = Run.objects.filter(job=job, run_id=run_id).first()
        if run is None:
            raise JobNotFound(f"No run {run_id!r} of WebJob {name!r}.")
        run_json = selectors.run_json(run, base=_scm_base(request), job=job)
        return self.entry(request, sdk_history_run(run_json))


class ContinuousJobs(WebArmView):
    arm_type = "Microsoft.Web/sites/continuouswebjobs"
    kind = WebJob.Kind.CONTINUOUS

    def get(self, request, **kw):
        items = selectors.continuous_list(base=_scm_base(request))
        return self.listing(request, [sdk_job(j) for j in items])


class ContinuousJobDetail(TriggeredJobDetail):
    arm_type = "Microsoft.Web/sites/continuouswebjobs"
    kind = WebJob.Kind.CONTINUOUS


class ContinuousJobStart(WebArmView):
    arm_type = "Microsoft.Web/sites/continuouswebjobs"
    kind = WebJob.Kind.CONTINUOUS
    permissions_required = {"POST": CHANGE}

    def post(self, request, name: str, **kw):
        webjob_start(job=webjob_get(name=name, kind=self.kind))
        return HttpResponse(status=200)


class ContinuousJobStop(ContinuousJobStart):
    def post(self, request, name: str, **kw):
        webjob_stop(job=webjob_get(name=name, kind=self.kind))
        return HttpResponse(status=200)


class WebNotFound(WebArmView):
    """Any other Microsoft.Web path (a slot, another resource): ARM's 404 body."""

    def required_permissions(self, request) -> tuple[str, ...]:
        return ()  # nothing is there to guard: a login sees the 404

    def missing(self, request, rest: str = "", **kw):
        parts = [p for p in rest.split("/") if p][:4]
        resource = "/".join(["Microsoft.Web", *parts])
        raise ArmError(
            404,
            "ResourceNotFound",
            ERR_PATH.format(
                resource=resource, rg=kw.get("rg"), ours=settings.WEBSITE_SITE_NAME
            ),
        )

    get = post = put = patch = delete = missing

    def initial(self, request, *args, **kwargs) -> None:
        ArmBaseView.initial(self, request, *args, **kwargs)  # any site: all 404
