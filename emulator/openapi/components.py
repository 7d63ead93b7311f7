"""The JSON shapes of the APIs, with the real services' field names (Kudu's
snake_case, ARM's camelCase): `#/components/schemas/...` of the description.

Responses are described as the emulator writes them (the fuzz test checks every
answer against them); request bodies as the real services take them, loose
where the views validate (a wrong value must be answered 400, not refused by
the description).
"""

from __future__ import annotations

from core.definitions import HTTP_METHODS
from jobs.models import WebHook

STRING = {"type": "string"}
NULLABLE_STRING = {"type": "string", "nullable": True}
INTEGER = {"type": "integer"}
SETTINGS = {"type": "object", "additionalProperties": True}
TIME = {"type": "string"}  # ISO 8601, as Kudu writes it (0001-01-01T00:00:00 too)
_COUNT = {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}


def ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def obj(properties: dict, *, required: tuple[str, ...] = (), **extra) -> dict:
    schema = {"type": "object", "properties": properties, **extra}
    if required:
        schema["required"] = list(required)
    return schema


def closed(properties: dict, *, required: tuple[str, ...] = ()) -> dict:
    """A request object whose keys are these only."""
    return obj(properties, required=required, additionalProperties=False)


def array(items: dict) -> dict:
    return {"type": "array", "items": items}


_RUN = obj(
    {
        "id": STRING,
        "name": STRING,
        "status": STRING,
        "start_time": TIME,
        "end_time": TIME,
        "duration": NULLABLE_STRING,
        "output_url": NULLABLE_STRING,
        "error_url": NULLABLE_STRING,
        "url": STRING,
        "job_name": STRING,
        "trigger": STRING,
        "arguments": STRING,
        "exit_code": {"type": "integer", "nullable": True},
        "instance_id": STRING,
        "message": STRING,
    },
    required=("id", "name", "status", "start_time", "end_time", "url", "job_name"),
)
_JOB_COMMON = {
    "name": STRING,
    "run_command": STRING,
    "url": STRING,
    "extra_info_url": STRING,
    "type": {"type": "string", "enum": ["triggered", "continuous"]},
    "error": NULLABLE_STRING,
    "using_sdk": {"type": "boolean"},
    "settings": SETTINGS,
}
_TRIGGERED_JOB = obj(
    {
        **_JOB_COMMON,
        "latest_run": {**ref("KuduRun"), "nullable": True},
        "history_url": STRING,
        "scheduler_logs_url": NULLABLE_STRING,
    },
    required=("name", "type", "url", "history_url", "settings"),
)
_CONTINUOUS_JOB = obj(
    {
        **_JOB_COMMON,
        "status": STRING,
        "detailed_status": STRING,
        "log_url": STRING,
    },
    required=("name", "type", "url", "status", "log_url", "settings"),
)
_DEPLOYMENT = obj(
    {
        "id": STRING,
        "status": INTEGER,
        "status_text": STRING,
        "author_email": STRING,
        "author": STRING,
        "deployer": STRING,
        "message": STRING,
        "progress": STRING,
        "received_time": TIME,
        "start_time": {**TIME, "nullable": True},
        "end_time": {**TIME, "nullable": True},
        "last_success_end_time": {**TIME, "nullable": True},
        "complete": {"type": "boolean"},
        "active": {"type": "boolean"},
        "is_temp": {"type": "boolean"},
        "is_readonly": {"type": "boolean"},
        "url": NULLABLE_STRING,
        "log_url": NULLABLE_STRING,
        "site_name": STRING,
        "provisioningState": STRING,
        "deployed_by": STRING,
    },
    required=("id", "status", "complete", "active", "received_time"),
)
_LOG_ENTRY = obj(
    {
        "log_time": TIME,
        "id": STRING,
        "message": STRING,
        "type": INTEGER,
        "details_url": NULLABLE_STRING,
    },
    required=("log_time", "id", "message", "type"),
)
_HOOK = obj(
    {
        "id": STRING,
        "event": STRING,
        "url": STRING,
        "insecure_ssl": {"type": "boolean"},
        "last_status": NULLABLE_STRING,
        "last_reason": NULLABLE_STRING,
        "last_datetime": TIME,
        "last_context": NULLABLE_STRING,
    },
    required=("id", "event", "url"),
)
_HOOK_REQUEST = obj(
    {
        "url": {"type": "string", "format": "uri"},
        "event": {"type": "string", "enum": list(WebHook.Event.values)},
        "insecure_ssl": {"type": "boolean"},
    },
    required=("url", "event"),
)

# --- ARM ---------------------------------------------------------------------------

_ARM_ERROR = obj(
    {"error": obj({"code": STRING, "message": STRING}, required=("code", "message"))},
    required=("error",),
)
_ARM_ENTRY = obj(  # Kudu's ARM envelope (jobs/arm.py)
    {
        "id": STRING,
        "name": NULLABLE_STRING,
        "type": NULLABLE_STRING,
        "location": STRING,
        "properties": SETTINGS,
    },
    required=("id", "name", "type", "location", "properties"),
)
_ARM_LIST = obj({"value": array(ref("ArmEntry"))}, required=("value",))
_FREQUENCY = {"type": "string", "enum": ["Minute", "Hour", "Day", "Week", "Month"]}
_COLLECTION = obj(
    {
        "id": STRING,
        "type": STRING,
        "name": STRING,
        "location": STRING,
        "tags": {"type": "object", "additionalProperties": STRING},
        "properties": obj(
            {
                "sku": obj({"name": STRING}),
                "state": STRING,
                "quota": obj(
                    {
                        "maxJobCount": INTEGER,
                        "maxJobOccurrence": INTEGER,
                        "maxRecurrence": obj(
                            {"frequency": STRING, "interval": INTEGER}
                        ),
                    }
                ),
            }
        ),
    },
    required=("id", "type", "name", "location", "properties"),
)
# A PUT or PATCH body: what azure-mgmt-scheduler sends; the views check values.
# Closed (no other keys) so that generated bodies are mostly valid ones: the
# emulator ignores keys it does not know, as Azure did.
_COLLECTION_REQUEST = closed(
    {
        "location": STRING,
        "tags": {"type": "object", "additionalProperties": STRING},
        "properties": closed(
            {
                "sku": closed(
                    {
                        "name": {
                            "type": "string",
                            "enum": ["Standard", "Free", "P10Premium", "P20Premium"],
                        }
                    }
                ),
                "state": {
                    "type": "string",
                    "enum": ["Enabled", "Disabled", "Suspended"],
                },
                "quota": closed(
                    {
                        "maxJobCount": _COUNT,
                        "maxJobOccurrence": _COUNT,
                        "maxRecurrence": closed(
                            {"frequency": _FREQUENCY, "interval": _COUNT}
                        ),
                    }
                ),
            }
        ),
    }
)
_RETRY_POLICY = closed(
    {
        "retryType": {"type": "string", "enum": ["None", "Fixed"]},
        "retryInterval": {"type": "string", "example": "PT30S"},
        "retryCount": INTEGER,
    }
)
_HTTP_REQUEST = closed(
    {
        "uri": {"type": "string", "example": "http://127.0.0.1:9/never-called"},
        "method": {"type": "string", "enum": list(HTTP_METHODS)},
        "body": STRING,
        "headers": {"type": "object", "additionalProperties": STRING},
        # Basic is the one the emulator sends (the others are refused, 400).
        "authentication": closed(
            {
                "type": {"type": "string", "enum": ["Basic"]},
                "username": STRING,
                "password": STRING,
            },
            required=("type",),
        ),
    },
    required=("uri", "method"),
)
_ACTION_PARTS = {
    "type": {
        "type": "string",
        "enum": ["Http", "Https", "StorageQueue", "WebJob"],
    },
    "request": _HTTP_REQUEST,
    "queueMessage": closed(
        {
            "storageAccount": STRING,
            "queueName": STRING,
            "sasToken": STRING,
            "message": STRING,
        }
    ),
    "webJob": closed({"name": STRING, "arguments": STRING}),
    "retryPolicy": _RETRY_POLICY,
}
_SCHEDULE = closed(
    {
        "minutes": array(INTEGER),
        "hours": array(INTEGER),
        "weekDays": array(STRING),
        "monthDays": array(INTEGER),
        "monthlyOccurrences": array(closed({"day": STRING, "occurrence": INTEGER})),
    }
)
_RECURRENCE = closed(
    {
        "frequency": _FREQUENCY,
        "interval": INTEGER,
        "count": INTEGER,
        "endTime": {"type": "string", "format": "date-time"},
        "schedule": _SCHEDULE,
    }
)
_JOB_REQUEST = closed(
    {
        "properties": closed(
            {
                "startTime": {"type": "string", "format": "date-time"},
                "action": closed(
                    {**_ACTION_PARTS, "errorAction": closed(_ACTION_PARTS)},
                    required=("type", "request"),
                ),
                "recurrence": _RECURRENCE,
                "state": {
                    "type": "string",
                    "enum": ["Enabled", "Disabled", "Faulted", "Completed"],
                },
            },
            required=("action",),
        )
    },
    required=("properties",),
)
_JOB = obj(
    {
        "id": STRING,
        "type": STRING,
        "name": STRING,
        "properties": obj(
            {
                "action": SETTINGS,
                "state": STRING,
                "status": obj(
                    {
                        "executionCount": INTEGER,
                        "failureCount": INTEGER,
                        "faultedCount": INTEGER,
                        "lastExecutionTime": STRING,
                        "nextExecutionTime": STRING,
                    },
                    required=("executionCount", "failureCount", "faultedCount"),
                ),
                "startTime": STRING,
                "recurrence": SETTINGS,
            },
            required=("action", "state", "status"),
        ),
    },
    required=("id", "type", "name", "properties"),
)
_HISTORY = obj(
    {
        "id": STRING,
        "type": STRING,
        "name": STRING,
        "properties": obj(
            {
                "startTime": STRING,
                "endTime": STRING,
                "expectedExecutionTime": STRING,
                "actionName": STRING,
                "status": STRING,
                "message": STRING,
                "retryCount": INTEGER,
                "repeatCount": INTEGER,
            }
        ),
    },
    required=("id", "type", "name", "properties"),
)


def _page(item: str) -> dict:
    return obj({"value": array(ref(item)), "nextLink": STRING}, required=("value",))


SCHEMAS: dict[str, dict] = {
    "KuduRun": _RUN,
    "TriggeredJob": _TRIGGERED_JOB,
    "ContinuousJob": _CONTINUOUS_JOB,
    "AnyJob": {"oneOf": [ref("TriggeredJob"), ref("ContinuousJob")]},
    "TriggeredHistory": obj({"runs": array(ref("KuduRun"))}, required=("runs",)),
    "Deployment": _DEPLOYMENT,
    "LogEntry": _LOG_ENTRY,
    "KuduMessage": obj({"Message": STRING}, required=("Message",)),
    "WebHook": _HOOK,
    "WebHookRequest": _HOOK_REQUEST,
    "JobSettings": SETTINGS,
    "Clock": obj(
        {"now": STRING, "offset_seconds": {"type": "number"}},
        required=("now", "offset_seconds"),
    ),
    "ClockRequest": obj(
        {"now": {"type": "string", "format": "date-time"}},
        required=("now",),
    ),
    "ArmError": _ARM_ERROR,
    "ArmEntry": _ARM_ENTRY,
    "ArmList": _ARM_LIST,
    "ArmSettingsRequest": obj(
        {"properties": obj({"settings": SETTINGS}, required=("settings",))},
        required=("properties",),
    ),
    "JobCollection": _COLLECTION,
    "JobCollectionRequest": _COLLECTION_REQUEST,
    "JobCollectionList": _page("JobCollection"),
    "SchedulerJob": _JOB,
    "SchedulerJobRequest": _JOB_REQUEST,
    "SchedulerJobList": _page("SchedulerJob"),
    "JobHistory": _HISTORY,
    "JobHistoryList": _page("JobHistory"),
}
