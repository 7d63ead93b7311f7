"""What each API operation takes and answers, by view class and method.

The views are APIViews without serializers, so drf-spectacular finds their
routes (every alias) but not their bodies: each entry here is the operation's
parameters (path parameters come from the route), request body, responses,
and its OpenAPI links (``x-links``: what a client calls next with what this
answer names; resolved to operation ids by `hooks.py`). A link target is a path
relative to the operation's own: ``""`` the same path, ``"+/run"`` the path with
``/run`` added, ``"^/history"`` the last part replaced by ``/history``.

Errors are in their API family's shape (emulator/errors.py): Kudu's plain text,
ARM's ``{"error": {"code", "message"}}`` (the emulator's own API uses ARM's).
"""

from __future__ import annotations

from django.conf import settings

from core.packaging import NAME_MAX, NAME_RE
from emulator.api import ClockView
from emulator.openapi.components import STRING, ref
from emulator.openapi.views import OpenApiView
from jobs import api as kudu_api
from jobs import arm as web
from jobs import site_api
from scheduler import arm as scheduler
from scheduler.arm import API_VERSIONS
from scheduler.services import ARM_NAME, RESOURCE_GROUP, SUBSCRIPTION

# Statuses any API route may answer besides its own: a bad request, no login,
# no permission, nothing there, a method the route lacks, a conflict, a body
# too large, a lock-out after failed logins.
ERROR_STATUSES = (400, 401, 403, 404, 405, 409, 413, 429)
TEXT = {"text/plain": {"schema": STRING}}
BINARY = {"schema": {"type": "string", "format": "binary"}}


def path_parameters() -> dict[str, dict]:
    """The schema of each path parameter, by name: the names the emulator
    takes (a request with another name is answered 400 or 404, described)."""
    return {
        "name": {
            "type": "string",
            "pattern": NAME_RE.pattern,
            "maxLength": NAME_MAX,
            "description": "The WebJob's name",
        },
        "kind": {"type": "string", "enum": ["triggered", "continuous"]},
        "sub": {"type": "string", "pattern": f"^{SUBSCRIPTION.pattern}$"},
        "rg": {"type": "string", "pattern": f"^{RESOURCE_GROUP.pattern}$"},
        "jc": {"type": "string", "pattern": f"^{ARM_NAME.pattern}$"},
        "job": {"type": "string", "pattern": f"^{ARM_NAME.pattern}$"},
        # The emulator is one site (WEBSITE_SITE_NAME).
        "site": {"type": "string", "enum": [settings.WEBSITE_SITE_NAME]},
    }


def kudu_errors(**special: dict) -> dict:
    """Kudu's plain-text errors; `special` replaces one status's description
    (``_404={...}``), e.g. Kudu's `{"Message"}` bodies."""
    out = {
        str(s): {"description": "Kudu's message", "content": TEXT}
        for s in ERROR_STATUSES
    }
    out.update({key.lstrip("_"): value for key, value in special.items()})
    return out


def arm_errors() -> dict:
    body = {"application/json": {"schema": ref("ArmError")}}
    return {
        str(s): {"description": "ARM's error", "content": body} for s in ERROR_STATUSES
    }


def json_body(schema: str, description: str = "") -> dict:
    return {
        "description": description or schema,
        "content": {"application/json": {"schema": ref(schema)}},
    }


def empty(description: str) -> dict:
    return {"description": description}


def query(name: str, schema: dict, description: str, *, required: bool = False) -> dict:
    return {
        "name": name,
        "in": "query",
        "required": required,
        "schema": schema,
        "description": description,
    }


def kudu(responses: dict, *, errors: dict | None = None, **extra) -> dict:
    return {"responses": {**responses, **(errors or kudu_errors())}, **extra}


def link(target: str, method: str, **parameters: str) -> tuple:
    return (target, method, parameters)


# --- Kudu ---------------------------------------------------------------------------

_NAME = {"name": "$request.path.name"}


def job_chain(parameters: dict[str, str]) -> dict[str, dict]:
    """The chain a client follows on a job: create -> get -> run -> history ->
    delete (the history's own links lead on to delete): the links of its
    PUT ("created") and of its GET ("read")."""
    return {
        "created": {
            "GetJob": link("", "get", **parameters),
            "RunJob": link("+/run", "post", **parameters),
        },
        "read": {
            "RunJob": link("+/run", "post", **parameters),
            "JobHistory": link("+/history", "get", **parameters),
            "DeleteJob": link("", "delete", **parameters),
        },
    }


_JOB_LINKS = job_chain(_NAME)
_CONTINUOUS_LINKS = {
    "created": {
        "GetJob": link("", "get", **_NAME),
        "StopJob": link("+/stop", "post", **_NAME),
    },
    "read": {
        "StopJob": link("+/stop", "post", **_NAME),
        "StartJob": link("+/start", "post", **_NAME),
        "DeleteJob": link("", "delete", **_NAME),
    },
}
# No link to .../settings: Kudu answers {} there for any name, deployed or
# not (JobSettingsView), which would read as a deleted job still there.
_DEPLOY = {
    "summary": "Deploy a script or a zip as this WebJob (Kudu's PUT with a file)",
    "parameters": [
        {
            "name": "Content-Disposition",
            "in": "header",
            "required": True,
            # Kudu takes any file name; the pattern is the form its clients
            # send, so that generated deploys mostly succeed (and runs follow).
            "schema": {
                "type": "string",
                "pattern": '^attachment; filename="[A-Za-z0-9_-]{1,20}[.](sh|py|zip)"$',
            },
            "description": "The file's name: a .zip is unpacked, else it is the script",
        }
    ],
    "requestBody": {
        "required": True,
        "content": {"application/octet-stream": BINARY, "application/zip": BINARY},
    },
}


def _detail(job_schema: str, links: dict) -> dict:
    return {
        "get": kudu({"200": {**json_body(job_schema), "links": links["read"]}}),
        "put": kudu(
            {"200": {**json_body(job_schema), "links": links["created"]}}, **_DEPLOY
        ),
        "delete": kudu({"200": empty("Deleted (also when there was no such job)")}),
    }


_SETTINGS = {
    "get": kudu({"200": json_body("JobSettings", "settings.job ({} when unknown)")}),
    "put": kudu(
        {"200": empty("Saved")},
        requestBody={"required": True, **json_body("JobSettings")},
    ),
}
_LOG_FILE = kudu(
    {"200": {"description": "The file", "content": TEXT}},
    parameters=[query("download", STRING, "Any value: served as an attachment")],
)


def json_list(schema: str, description: str = "") -> dict:
    return {
        "description": description or f"A list of {schema}",
        "content": {
            "application/json": {"schema": {"type": "array", "items": ref(schema)}}
        },
    }


def _listing(schema: str) -> dict:
    """A job list; a client deploys a job of a name of its choosing next."""
    return {**json_list(schema), "links": {"DeployJob": link("+/{name}", "put")}}


_RUN = kudu(
    {
        "202": {
            "description": "The run is started; Location: its history entry",
            "headers": {"Location": {"schema": STRING}},
            "links": {"JobHistory": link("^/history", "get", **_NAME)},
        },
        "200": empty("The run is started (Kudu's ARM mode)"),
    },
    parameters=[query("arguments", STRING, "The job's command-line arguments")],
)
_HISTORY = kudu(
    {
        "200": {
            **json_body("TriggeredHistory", "The runs, newest first"),
            "links": {
                "GetRun": link(
                    "+/{run_id}", "get", run_id="$response.body#/runs/0/id", **_NAME
                ),
                "DeleteJob": link("^", "delete", **_NAME),
            },
        }
    }
)
_STATE = kudu({"200": empty("Done")})
_ZIP = {
    "requestBody": {
        "required": True,
        "content": {"application/zip": BINARY, "application/octet-stream": BINARY},
    }
}
_DEPLOYMENT_404 = {
    "description": "Kudu's HttpError",
    "content": {"application/json": {"schema": ref("KuduMessage")}, **TEXT},
}

KUDU: dict = {
    kudu_api.WebJobList: {"get": kudu({"200": json_list("AnyJob")})},
    kudu_api.TriggeredList: {"get": kudu({"200": _listing("TriggeredJob")})},
    kudu_api.TriggeredDetail: _detail("TriggeredJob", _JOB_LINKS),
    kudu_api.TriggeredRun: {"post": _RUN},
    kudu_api.TriggeredHistory: {"get": _HISTORY},
    kudu_api.TriggeredRunDetail: {"get": kudu({"200": json_body("KuduRun")})},
    kudu_api.JobSettingsView: _SETTINGS,
    kudu_api.OutputLog: {"get": _LOG_FILE},
    kudu_api.ContinuousList: {"get": kudu({"200": _listing("ContinuousJob")})},
    kudu_api.ContinuousDetail: _detail("ContinuousJob", _CONTINUOUS_LINKS),
    kudu_api.ContinuousStart: {"post": _STATE},
    kudu_api.ContinuousStop: {"post": _STATE},
    kudu_api.ContinuousLog: {"get": _LOG_FILE},
    kudu_api.SchedulerLog: {"get": _LOG_FILE},
    site_api.ZipDeploy: dict.fromkeys(
        ("post", "put"),
        kudu(
            {
                "200": empty("Deployed"),
                "202": empty("Deployed (isAsync=true); Location: the deployment"),
            },
            parameters=[
                query("isAsync", STRING, "true: answer 202 with a Location"),
                query("author", STRING, "The deployment's author"),
                query("authorEmail", STRING, "The author's e-mail"),
                query("deployer", STRING, "Who deployed (default ZipDeploy)"),
                query("message", STRING, "The deployment's message"),
                query("trackDeploymentProgress", STRING, "true: SCM-DEPLOYMENT-ID"),
            ],
            **_ZIP,
        ),
    ),
    site_api.ZipPut: {"put": kudu({"200": empty("Unpacked")}, **_ZIP)},
    site_api.DeploymentList: {"get": kudu({"200": json_list("Deployment")})},
    site_api.DeploymentDetail: {
        "get": kudu(
            {
                "200": json_body("Deployment"),
                "202": json_body("Deployment", "In progress (/latest)"),
            },
            errors=kudu_errors(_404=_DEPLOYMENT_404),
        )
    },
    site_api.DeploymentLog: {
        "get": kudu(
            {"200": json_list("LogEntry")}, errors=kudu_errors(_404=_DEPLOYMENT_404)
        )
    },
    site_api.DeploymentLogEntry: {
        "get": kudu(
            {"200": json_list("LogEntry", "An entry's details (none)")},
            errors=kudu_errors(_404=_DEPLOYMENT_404),
        )
    },
    site_api.HookList: {
        "get": kudu({"200": json_list("WebHook")}),
        "post": kudu(
            {
                "201": {
                    **json_body("WebHook", "Subscribed"),
                    "links": {
                        "GetHook": link(
                            "+/{hook_id}", "get", hook_id="$response.body#/id"
                        ),
                        "DeleteHook": link(
                            "+/{hook_id}", "delete", hook_id="$response.body#/id"
                        ),
                    },
                }
            },
            errors=kudu_errors(_409=empty("Already subscribed (Kudu: empty)")),
            requestBody={"required": True, **json_body("WebHookRequest")},
        ),
    },
    site_api.HookDetail: {
        "get": kudu(
            {"200": json_body("WebHook")}, errors=kudu_errors(_404=_DEPLOYMENT_404)
        ),
        "delete": kudu({"200": empty("Unsubscribed (also when unknown)")}),
    },
}


# --- ARM ----------------------------------------------------------------------------


def arm(responses: dict, *, versions=API_VERSIONS, **extra) -> dict:
    parameters = [
        query(
            "api-version",
            {"type": "string", "enum": list(versions)},
            "The API version",
            required=True,
        ),
        *extra.pop("parameters", ()),
    ]
    return {
        "parameters": parameters,
        "responses": {**responses, **arm_errors()},
        **extra,
    }


_PAGING = [
    query("$top", {"type": "integer", "minimum": 1, "maximum": 100}, "Page size"),
    query(
        "$skip",
        {"type": "integer", "minimum": 0, "maximum": 2**31 - 1},
        "Entries to skip",
    ),
]
_FILTER = query("$filter", STRING, "\"state eq 'Enabled'\" or \"status eq 'Failed'\"")
_ARM_PATH = {"sub": "$request.path.sub", "rg": "$request.path.rg"}
_JC = {**_ARM_PATH, "jc": "$request.path.jc"}
_JOB = {**_JC, "job": "$request.path.job"}
_COLLECTION_LINKS = {
    "created": {
        "GetCollection": link("", "get", **_JC),
        "PutJob": link("+/jobs/{job}", "put", **_JC),
    },
    "read": {
        "PutJob": link("+/jobs/{job}", "put", **_JC),
        "ListJobs": link("+/jobs", "get", **_JC),
        "DisableCollection": link("+/disable", "post", **_JC),
        "EnableCollection": link("+/enable", "post", **_JC),
        "DeleteCollection": link("", "delete", **_JC),
    },
}
_SCHEDULER_JOB_LINKS = job_chain(_JOB)


def _resource(schema: str, links: dict) -> dict:
    """GET, PUT (201 created, 200 replaced), PATCH and DELETE of an ARM
    resource whose request body is the schema `<schema>Request`."""
    body = {"required": True, **json_body(f"{schema}Request")}
    return {
        "get": arm({"200": {**json_body(schema), "links": links["read"]}}),
        "put": arm(
            {
                "200": {**json_body(schema, "Replaced"), "links": links["created"]},
                "201": {**json_body(schema, "Created"), "links": links["created"]},
            },
            requestBody=body,
        ),
        "patch": arm({"200": json_body(schema)}, requestBody=body),
        "delete": arm({"200": empty("Done")}),
    }


_DONE = arm({"200": empty("Done")})
SCHEDULER: dict = {
    scheduler.CollectionsBySubscription: {
        "get": arm({"200": json_body("JobCollectionList")}, parameters=_PAGING)
    },
    scheduler.CollectionsByGroup: {
        "get": arm({"200": json_body("JobCollectionList")}, parameters=_PAGING)
    },
    scheduler.CollectionDetail: _resource("JobCollection", _COLLECTION_LINKS),
    scheduler.CollectionEnable: {"post": _DONE},
    scheduler.CollectionDisable: {"post": _DONE},
    scheduler.JobList: {
        "get": arm(
            {"200": json_body("SchedulerJobList")}, parameters=[*_PAGING, _FILTER]
        )
    },
    scheduler.JobDetail: _resource("SchedulerJob", _SCHEDULER_JOB_LINKS),
    # No link out of run: a POST with one is where schemathesis starts its
    # chains (with a job nobody created); the chain reads the history from
    # the job instead.
    scheduler.JobRun: {"post": _DONE},
    scheduler.JobHistoryList: {
        "get": arm(
            {
                "200": {
                    **json_body("JobHistoryList"),
                    "links": {"DeleteJob": link("^", "delete", **_JOB)},
                }
            },
            parameters=[*_PAGING, _FILTER],
        )
    },
}
_MISSING = dict.fromkeys(("get", "post", "put", "patch", "delete"), arm({}))
SCHEDULER[scheduler.ArmNotFound] = _MISSING


def web_arm(responses: dict, **extra) -> dict:
    return arm(responses, versions=web.WEB_API_VERSIONS, **extra)


_WEB_LIST = web_arm({"200": json_body("ArmList", "Kudu's ARM list")})
_WEB_ENTRY = web_arm({"200": json_body("ArmEntry", "Kudu's ARM envelope")})
_WEB_DONE = web_arm({"200": empty("Done")})
_WEB_DETAIL = {
    "get": _WEB_ENTRY,
    "put": web_arm(
        {"200": empty("Settings saved")},
        requestBody={"required": True, **json_body("ArmSettingsRequest")},
    ),
    "delete": web_arm({"200": empty("Deleted (also when there was no such job)")}),
}
WEB: dict = {
    web.WebJobs: {"get": _WEB_LIST},
    web.WebJobDetail: {"get": _WEB_ENTRY},
    web.TriggeredJobs: {"get": _WEB_LIST},
    web.TriggeredJobDetail: _WEB_DETAIL,
    web.TriggeredJobRun: {
        "post": web_arm(
            {
                "200": {
                    "description": "Started; Location: the run",
                    "headers": {"Location": {"schema": STRING}},
                }
            },
            parameters=[query("arguments", STRING, "The job's command-line arguments")],
        )
    },
    web.TriggeredJobHistory: {"get": _WEB_LIST},
    web.TriggeredJobHistoryDetail: {"get": _WEB_ENTRY},
    web.ContinuousJobs: {"get": _WEB_LIST},
    web.ContinuousJobDetail: _WEB_DETAIL,
    web.ContinuousJobStart: {"post": _WEB_DONE},
    web.ContinuousJobStop: {"post": _WEB_DONE},
    web.WebNotFound: dict.fromkeys(
        ("get", "post", "put", "patch", "delete"), web_arm({})
    ),
}

# --- the emulator's own API -----------------------------------------------------------

EMULATOR: dict = {
    ClockView: {
        "get": {"responses": {"200": json_body("Clock"), **arm_errors()}},
        "put": {
            "requestBody": {"required": True, **json_body("ClockRequest")},
            "responses": {"200": json_body("Clock"), **arm_errors()},
        },
    },
}

EMULATOR[OpenApiView] = {
    "get": kudu(
        {
            "200": {
                "description": "This description (OpenAPI 3)",
                "content": {"application/json": {"schema": {"type": "object"}}},
            }
        }
    )
}

OPERATIONS: dict = {**KUDU, **SCHEDULER, **WEB, **EMULATOR}
