"""Azure Scheduler job definitions: actions, retry policies, durations (pure).

Validation of the ARM JSON other than the recurrence (scheduler/recurrence.py).
Each error names the JSON field, so the ARM API can answer with it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from core.recurrence_types import RecurrenceError
from core.storage_queue import validate_queue_message

ACTION_TYPES = ("Http", "Https", "WebJob", "StorageQueue")
UNSUPPORTED_ACTION_TYPES = ("ServiceBusQueue", "ServiceBusTopic")
RETRY_TYPES = ("None", "Fixed")
# Latest Azure docs: "retries the job four more times at 30-second intervals",
# interval at least 15 s and at most 18 months, count at most 20.
DEFAULT_RETRY_COUNT = 4
DEFAULT_RETRY_INTERVAL = timedelta(seconds=30)
MIN_RETRY_INTERVAL = timedelta(seconds=15)
MAX_RETRY_INTERVAL = timedelta(days=548)
MAX_RETRY_COUNT = 20
SECRET_KEYS = ("password", "pfx", "secret", "sasToken", "sasKey")
# Request headers whose values are credentials (issue 15): stored sealed, never
# returned, dropped on a redirect to another origin.
SECRET_HEADER = re.compile(
    r"^(authorization|proxy-authorization|cookie)$|-key$|token", re.IGNORECASE
)

ERR_ACTION_REQUIRED = "properties.action is required: say what the job does."
ERR_ACTION_TYPE = (
    "{path}.type {value!r} is not supported; use Http, Https, StorageQueue or WebJob."
)
ERR_SERVICE_BUS = (
    "{path}.type {value!r} is not supported: the emulator does not send Service Bus "
    "messages (there is no local Service Bus it could start here); use Http, Https, "
    "StorageQueue or WebJob."
)
ERR_REQUEST_REQUIRED = "{path}.request with a uri is required for an {kind} action."
ERR_URI = "{path}.request.uri {value!r} must be an absolute {scheme} URL."
ERR_METHOD = "{path}.request.method {value!r} is not an HTTP method."
ERR_HEADERS = "{path}.request.headers must be an object of strings."
ERR_BODY = "{path}.request.body must be a string."
ERR_AUTH = (
    "{path}.request.authentication.type {value!r} is not supported; use Basic "
    "(ClientCertificate and ActiveDirectoryOAuth are not emulated)."
)
ERR_WEBJOB = "{path}.webJob.name must name a triggered WebJob."
ERR_RETRY_TYPE = "{path}.retryPolicy.retryType must be None or Fixed, not {value!r}."
ERR_RETRY_INTERVAL = (
    "{path}.retryPolicy.retryInterval {value!r} is not a duration; use ISO 8601 "
    "(PT30S) or a TimeSpan (00:00:30)."
)
ERR_RETRY_INTERVAL_RANGE = (
    "{path}.retryPolicy.retryInterval must be between 15 seconds and 18 months, "
    "not {value}."
)
ERR_RETRY_COUNT = (
    "{path}.retryPolicy.retryCount must be between 0 and 20, not {value!r}."
)
ERR_OBJECT = "{path} must be a JSON object."
ERR_RETRY_INTERVAL_SIZE = (
    "{path}.retryPolicy.retryInterval {value!r} is out of range; it must be between "
    "15 seconds and 18 months."
)
ERR_ARGUMENTS = "{path}.webJob.arguments must be a string."
# Azure Scheduler's limits on an Http action's request (limits table).
MAX_URI = 2048
MAX_BODY = 8192
MAX_HEADERS = 50
MAX_HEADER_CHARS = 4096
ERR_URI_LENGTH = (
    "{path}.request.uri is {length} characters; Azure Scheduler allows 2,048."
)
ERR_URI_CHARACTERS = (
    "{path}.request.uri holds spaces or control characters; encode them (%20)."
)
ERR_BODY_LENGTH = (
    "{path}.request.body is {length} characters; Azure Scheduler allows 8,192."
)
ERR_HEADER_COUNT = (
    "{path}.request.headers holds {count} headers; Azure Scheduler allows 50."
)
ERR_HEADER_SIZE = (
    "{path}.request.headers take {size} characters (names and values); Azure "
    "Scheduler allows 4,096 in all."
)
ERR_HEADER_NAME = (
    "{path}.request.headers: {name!r} is not an HTTP header name (letters, digits "
    "and !#$%&'*+-.^_`|~ only)."
)
ERR_HEADER_VALUE = (
    "{path}.request.headers: the value of {name!r} holds a line break or a control "
    "character; a header value is one line of text."
)

_ISO = re.compile(
    r"^P(?:(?P<w>\d+(?:\.\d+)?)W)?(?:(?P<d>\d+(?:\.\d+)?)D)?"
    r"(?:T(?:(?P<h>\d+(?:\.\d+)?)H)?(?:(?P<m>\d+(?:\.\d+)?)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?)?$",
    re.I,
)
_TIMESPAN = re.compile(
    r"^(?:(?P<d>\d+)\.)?(?P<h>\d{1,2}):(?P<m>\d{2}):(?P<s>\d{2}(?:\.\d+)?)$"
)
HTTP_METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS")
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
# CR, LF, NUL and the other controls but tab: what would split or end a header.
_HEADER_VALUE_BAD = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_URI_BAD = re.compile(r"[\x00-\x20\x7f]")


@dataclass(frozen=True)
class RetryPolicy:
    retry_type: str
    interval: timedelta
    count: int
    wire_format: str  # "iso" or "timespan", echoed back to the client

    @property
    def retries(self) -> int:
        return self.count if self.retry_type == "Fixed" else 0


def parse_duration(text: str) -> tuple[timedelta, str]:
    """An ISO 8601 duration (PT30S) or a .NET TimeSpan (00:00:30), and which.

    ValueError when it is neither; OverflowError when it is one but past what a
    timedelta holds (PT999999999999H), so that callers can say "out of range".
    """
    if not isinstance(text, str) or not text or len(text) > 100:
        raise ValueError(text)
    match = _ISO.match(text)
    if match and any(match.groupdict().values()):
        parts = {k: float(v or 0) for k, v in match.groupdict().items()}
        return _timedelta(
            weeks=parts["w"],
            days=parts["d"],
            hours=parts["h"],
            minutes=parts["m"],
            seconds=parts["s"],
        ), "iso"
    match = _TIMESPAN.match(text)
    if match:
        parts = {k: float(v or 0) for k, v in match.groupdict().items()}
        return _timedelta(
            days=parts["d"], hours=parts["h"], minutes=parts["m"], seconds=parts["s"]
        ), "timespan"
    raise ValueError(text)


def _timedelta(**parts: float) -> timedelta:
    try:
        return timedelta(**parts)
    except (OverflowError, ValueError):  # past 999,999,999 days, or infinite
        raise OverflowError(parts) from None


def format_duration(value: timedelta, wire_format: str) -> str:
    total = int(value.total_seconds())
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    if wire_format == "timespan":
        text = f"{hours:02d}:{minutes:02d}:{seconds:02d}"
        return f"{days}.{text}" if days else text
    text = "P" + (f"{days}D" if days else "")
    time = (f"{hours}H" if hours else "") + (f"{minutes}M" if minutes else "")
    time += f"{seconds}S" if seconds or not (days or hours or minutes) else ""
    return text + ("T" + time if time else "")


def parse_retry_policy(data: Any, path: str) -> RetryPolicy:
    """Azure's defaults when absent: Fixed, 4 retries, 30 s apart."""
    if data is None:
        return RetryPolicy("Fixed", DEFAULT_RETRY_INTERVAL, DEFAULT_RETRY_COUNT, "iso")
    if not isinstance(data, dict):
        raise RecurrenceError(
            f"{path}.retryPolicy", ERR_OBJECT.format(path=f"{path}.retryPolicy")
        )
    values = {k.lower(): v for k, v in data.items()}
    retry_type = _choice(values.get("retrytype", "Fixed"), RETRY_TYPES)
    if retry_type is None:
        raise RecurrenceError(
            f"{path}.retryPolicy.retryType",
            ERR_RETRY_TYPE.format(path=path, value=values.get("retrytype")),
        )
    if retry_type == "None":
        return RetryPolicy("None", DEFAULT_RETRY_INTERVAL, 0, "iso")
    interval, wire = DEFAULT_RETRY_INTERVAL, "iso"
    raw_interval = values.get("retryinterval")
    if raw_interval is not None:
        try:
            interval, wire = parse_duration(raw_interval)
        except ValueError:
            raise RecurrenceError(
                f"{path}.retryPolicy.retryInterval",
                ERR_RETRY_INTERVAL.format(path=path, value=_shown(raw_interval)),
            ) from None
        except OverflowError:
            raise RecurrenceError(
                f"{path}.retryPolicy.retryInterval",
                ERR_RETRY_INTERVAL_SIZE.format(path=path, value=_shown(raw_interval)),
            ) from None
        if not MIN_RETRY_INTERVAL <= interval <= MAX_RETRY_INTERVAL:
            raise RecurrenceError(
                f"{path}.retryPolicy.retryInterval",
                ERR_RETRY_INTERVAL_RANGE.format(path=path, value=raw_interval),
            )
    count = values.get("retrycount", DEFAULT_RETRY_COUNT)
    if count is None:
        count = DEFAULT_RETRY_COUNT
    if (
        isinstance(count, bool)
        or not isinstance(count, int)
        or not 0 <= count <= MAX_RETRY_COUNT
    ):
        raise RecurrenceError(
            f"{path}.retryPolicy.retryCount",
            ERR_RETRY_COUNT.format(path=path, value=count),
        )
    return RetryPolicy("Fixed", interval, count, wire)


def validate_action(
    data: Any, *, path: str = "properties.action", error_action: bool = False
) -> dict:
    """Validate an action (or errorAction) and return it in canonical ARM form."""
    if data is None:
        raise RecurrenceError(path, ERR_ACTION_REQUIRED)
    if not isinstance(data, dict):
        raise RecurrenceError(path, ERR_OBJECT.format(path=path))
    lowered = {k.lower(): (k, v) for k, v in data.items()}
    kind = _choice(lowered.get("type", (None, None))[1], ACTION_TYPES)
    if kind is None:
        value = lowered.get("type", (None, None))[1]
        refused = _choice(value, UNSUPPORTED_ACTION_TYPES)
        message = ERR_SERVICE_BUS if refused else ERR_ACTION_TYPE
        raise RecurrenceError(f"{path}.type", message.format(path=path, value=value))
    action: dict[str, Any] = {"type": kind}
    if kind in ("Http", "Https"):
        action["request"] = _validate_request(
            lowered.get("request", (None, None))[1], path=path, kind=kind
        )
    elif kind == "StorageQueue":
        action["queueMessage"] = validate_queue_message(
            lowered.get("queuemessage", (None, None))[1], path=path
        )
    else:
        web = lowered.get("webjob", (None, None))[1]
        if (
            not isinstance(web, dict)
            or not isinstance(web.get("name"), str)
            or not web["name"]
        ):
            raise RecurrenceError(f"{path}.webJob.name", ERR_WEBJOB.format(path=path))
        arguments = web.get("arguments", "")
        if arguments is not None and not isinstance(arguments, str):
            raise RecurrenceError(
                f"{path}.webJob.arguments", ERR_ARGUMENTS.format(path=path)
            )
        action["webJob"] = {"name": web["name"], "arguments": arguments or ""}
    policy = parse_retry_policy(lowered.get("retrypolicy", (None, None))[1], path)
    action["retryPolicy"] = retry_policy_json(policy)
    if not error_action and lowered.get("erroraction", (None, None))[1] is not None:
        action["errorAction"] = validate_action(
            lowered["erroraction"][1], path=f"{path}.errorAction", error_action=True
        )
    return action


def retry_policy_json(policy: RetryPolicy) -> dict:
    if policy.retry_type == "None":
        return {"retryType": "None"}
    return {
        "retryType": "Fixed",
        "retryInterval": format_duration(policy.interval, policy.wire_format),
        "retryCount": policy.count,
    }


def _validate_request(data: Any, *, path: str, kind: str) -> dict:
    if not isinstance(data, dict) or not data.get("uri"):
        raise RecurrenceError(
            f"{path}.request", ERR_REQUEST_REQUIRED.format(path=path, kind=kind)
        )
    uri = data["uri"]
    scheme = "https" if kind == "Https" else "http"
    if isinstance(uri, str) and len(uri) > MAX_URI:
        raise RecurrenceError(
            f"{path}.request.uri", ERR_URI_LENGTH.format(path=path, length=len(uri))
        )
    if not isinstance(uri, str) or not re.match(rf"^{scheme}://[^/\s]+", uri, re.I):
        raise RecurrenceError(
            f"{path}.request.uri",
            ERR_URI.format(path=path, value=uri, scheme=scheme.upper()),
        )
    if _URI_BAD.search(uri):
        raise RecurrenceError(
            f"{path}.request.uri", ERR_URI_CHARACTERS.format(path=path)
        )
    method = data.get("method") or "GET"
    if not isinstance(method, str) or method.upper() not in HTTP_METHODS:
        raise RecurrenceError(
            f"{path}.request.method", ERR_METHOD.format(path=path, value=method)
        )
    headers = data.get("headers") or {}
    if not isinstance(headers, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in headers.items()
    ):
        raise RecurrenceError(f"{path}.request.headers", ERR_HEADERS.format(path=path))
    _check_headers(headers, path)
    body = data.get("body")
    if body is not None and not isinstance(body, str):
        raise RecurrenceError(f"{path}.request.body", ERR_BODY.format(path=path))
    if body is not None and len(body) > MAX_BODY:
        raise RecurrenceError(
            f"{path}.request.body", ERR_BODY_LENGTH.format(path=path, length=len(body))
        )
    request: dict[str, Any] = {"uri": uri, "method": method.upper(), "headers": headers}
    if body is not None:
        request["body"] = body
    auth = data.get("authentication")
    if auth is not None:
        auth_type = auth.get("type") if isinstance(auth, dict) else None
        if str(auth_type).lower() != "basic":
            raise RecurrenceError(
                f"{path}.request.authentication.type",
                ERR_AUTH.format(path=path, value=auth_type),
            )
        request["authentication"] = {
            "type": "Basic",
            "username": str(auth.get("username") or ""),
            "password": str(auth.get("password") or ""),
        }
    return request


def _check_headers(headers: dict[str, str], path: str) -> None:
    """Azure's limits (50 headers, 4,096 characters), and one line each: a CR or
    LF would split the request when sent, so it is refused when defined."""
    field = f"{path}.request.headers"
    if len(headers) > MAX_HEADERS:
        raise RecurrenceError(
            field, ERR_HEADER_COUNT.format(path=path, count=len(headers))
        )
    size = sum(len(name) + len(value) for name, value in headers.items())
    if size > MAX_HEADER_CHARS:
        raise RecurrenceError(field, ERR_HEADER_SIZE.format(path=path, size=size))
    for name, value in headers.items():
        if not _HEADER_NAME.fullmatch(name):
            raise RecurrenceError(field, ERR_HEADER_NAME.format(path=path, name=name))
        if _HEADER_VALUE_BAD.search(value):
            raise RecurrenceError(field, ERR_HEADER_VALUE.format(path=path, name=name))


def _shown(value: Any) -> Any:
    """A value for a message: long text cut (a 5,000-digit duration)."""
    return value[:40] + "..." if isinstance(value, str) and len(value) > 40 else value


def redact(action: dict) -> dict:
    """The action as the API returns it: secrets never leave the emulator
    (secret fields and the headers SECRET_HEADER names are left out)."""

    def walk(value: Any, key: str = "") -> Any:
        if isinstance(value, dict):
            return {
                k: walk(v, k)
                for k, v in value.items()
                if k not in SECRET_KEYS
                and not (key == "headers" and SECRET_HEADER.search(k))
            }
        if isinstance(value, list):
            return [walk(v) for v in value]
        return value

    return walk(action)


def secrets_map(action: dict, change: Callable[[Any], Any]) -> dict:
    """A copy of the action (and its errorAction) with `change` applied to each
    secret value: the Basic password, secret headers, a queue's SAS token."""
    action = dict(action)
    request = action.get("request")
    if isinstance(request, dict):
        request = dict(request)
        auth = request.get("authentication")
        if isinstance(auth, dict) and "password" in auth:
            request["authentication"] = {**auth, "password": change(auth["password"])}
        headers = request.get("headers")
        if isinstance(headers, dict):
            request["headers"] = {
                name: change(value) if SECRET_HEADER.search(name) else value
                for name, value in headers.items()
            }
        action["request"] = request
    queue = action.get("queueMessage")
    if isinstance(queue, dict) and "sasToken" in queue:
        action["queueMessage"] = {**queue, "sasToken": change(queue["sasToken"])}
    if isinstance(action.get("errorAction"), dict):
        action["errorAction"] = secrets_map(action["errorAction"], change)
    return action


def _choice(value: Any, choices: tuple[str, ...]) -> str | None:
    if not isinstance(value, str):
        return None
    for choice in choices:
        if choice.lower() == value.lower():
            return choice
    return None
