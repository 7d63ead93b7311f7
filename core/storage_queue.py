"""Storage queue actions (pure): the queueMessage's validation, the message the
Scheduler put on the queue, and where a storage account lives.

The body is the real service's `StorageQueueMessage` (Microsoft.WindowsAzure.
Scheduler.Models, DataMember order 1-7), as .NET's XmlSerializer wrote it: the
`xsd`/`xsi` declarations, no default namespace, two-space indent, CRLF, and the
`encoding="utf-16"` declaration XmlSerializer writes into a string (the bytes on
the queue are UTF-8 all the same). Three captures of real messages show exactly
this shape (azure-webjobs-sdk issue 85 among them).
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlsplit
from xml.sax.saxutils import escape

from core.recurrence_types import RecurrenceError

# Azure Storage's naming rules: an account is 3-24 lowercase letters and
# digits; a queue 3-63 lowercase letters, digits and single dashes, a letter
# or digit first and last ("Naming Queues and Metadata").
ACCOUNT_NAME = re.compile(r"^[a-z0-9]{3,24}$")
QUEUE_NAME = re.compile(r"^(?=.{3,63}$)[a-z0-9]+(-[a-z0-9]+)*$")
# A queue message is at most 64 KiB as sent. Base64 (the default encoding)
# makes 3 bytes 4, and the envelope around the user's message takes ~450
# bytes plus the job's and collection's names: 47 KiB of (escaped) message
# always fits. The size of the real message is checked again before a send.
MAX_QUEUE_MESSAGE_BYTES = 64 * 1024
MAX_MESSAGE_BYTES = 47 * 1024
# Characters XML 1.0 cannot carry (a consumer's parser would refuse the body).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
ENCODINGS = ("base64", "none")

# Azurite's development account (the same name and key in every Azurite).
DEV_ACCOUNT = "devstoreaccount1"
DEV_ACCOUNT_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/"
    "KBHBeksoGMGw=="
)
DEV_QUEUE_ENDPOINT = "http://127.0.0.1:10001/devstoreaccount1"  # UseDevelopmentStorage

ERR_QUEUE_MESSAGE = (
    "{path}.queueMessage is required for a StorageQueue action: an object with "
    "storageAccount, queueName, sasToken and message."
)
ERR_FIELD_REQUIRED = "{path}.queueMessage.{field} is required (a string)."
ERR_ACCOUNT = (
    "{path}.queueMessage.storageAccount {value!r} is not a storage account name: "
    "3 to 24 lowercase letters and digits."
)
ERR_QUEUE = (
    "{path}.queueMessage.queueName {value!r} is not a queue name: 3 to 63 "
    "lowercase letters, digits and dashes, starting and ending with a letter or "
    "digit, no two dashes in a row."
)
ERR_SAS = (
    "{path}.queueMessage.sasToken is not a shared access signature: give the "
    "query string of a SAS that may add messages (sv=...&se=...&sp=a&sig=...), "
    "not an account key or a URL."
)
ERR_MESSAGE_XML = (
    "{path}.queueMessage.message contains {char!r}, a character an XML message "
    "cannot carry."
)
ERR_MESSAGE_SIZE = (
    "{path}.queueMessage.message is {size:,} bytes; a queue message holds 64 KiB, "
    "which leaves {limit:,} bytes (XML-escaped) for the message in the "
    "Scheduler's envelope, base64-encoded."
)
ERR_CONNECTION_STRING = (
    "{text!r} is not a storage connection string: {reason}; use "
    "DefaultEndpointsProtocol=https;AccountName=NAME;EndpointSuffix=core.windows.net, "
    "QueueEndpoint=http://host:port/NAME or UseDevelopmentStorage=true."
)
ERR_STORAGE_ACCOUNTS = (
    "must be a JSON object mapping storage account names to connection strings, "
    'e.g. {{"myaccount": "DefaultEndpointsProtocol=https;AccountName=myaccount;'
    'EndpointSuffix=core.windows.net"}} ({reason}).'
)
ERR_AZURITE_ACCOUNTS = (
    "{text!r} is not Azurite's account list: use NAME:KEY[:KEY2] separated by ';', "
    "names of 3 to 24 lowercase letters and digits, keys in base64 ({reason})."
)

_FIELDS = ("storageAccount", "queueName", "sasToken", "message")

# ARM location names as the Region element shows them (the service wrote the
# display name: "West US", "Central US", "West Europe").
REGIONS = {
    name.replace(" ", "").lower(): name
    for name in (
        "West US",
        "West US 2",
        "West US 3",
        "West Central US",
        "East US",
        "East US 2",
        "Central US",
        "North Central US",
        "South Central US",
        "Canada Central",
        "Canada East",
        "Brazil South",
        "North Europe",
        "West Europe",
        "UK South",
        "UK West",
        "France Central",
        "Germany West Central",
        "Switzerland North",
        "Norway East",
        "Sweden Central",
        "East Asia",
        "Southeast Asia",
        "Japan East",
        "Japan West",
        "Korea Central",
        "Korea South",
        "Central India",
        "South India",
        "West India",
        "Australia East",
        "Australia Southeast",
        "South Africa North",
        "UAE North",
    )
}


def validate_queue_message(data: Any, *, path: str) -> dict:
    """The queueMessage of a StorageQueue action, canonical; raises
    RecurrenceError (a 400 naming the field). Keys are matched without regard
    to case, as ARM does."""
    if not isinstance(data, dict):
        raise RecurrenceError(
            f"{path}.queueMessage", ERR_QUEUE_MESSAGE.format(path=path)
        )
    lowered = {str(k).lower(): v for k, v in data.items()}
    values = {}
    for field in _FIELDS:
        value = lowered.get(field.lower())
        if not isinstance(value, str) or (field != "message" and not value):
            raise RecurrenceError(
                f"{path}.queueMessage.{field}",
                ERR_FIELD_REQUIRED.format(path=path, field=field),
            )
        values[field] = value
    if not ACCOUNT_NAME.match(values["storageAccount"]):
        raise RecurrenceError(
            f"{path}.queueMessage.storageAccount",
            ERR_ACCOUNT.format(path=path, value=values["storageAccount"]),
        )
    if not QUEUE_NAME.match(values["queueName"]):
        raise RecurrenceError(
            f"{path}.queueMessage.queueName",
            ERR_QUEUE.format(path=path, value=values["queueName"]),
        )
    if not is_sas_token(values["sasToken"]):
        raise RecurrenceError(
            f"{path}.queueMessage.sasToken", ERR_SAS.format(path=path)
        )
    _check_message(values["message"], path=path)
    return values


def is_sas_token(text: str) -> bool:
    """A SAS's query string (a leading '?' allowed): key=value pairs, one of
    them the signature. An account key or a URL is not one."""
    query = text[1:] if text.startswith("?") else text
    if not query or "://" in query or "=" not in query:
        return False
    try:
        pairs = parse_qsl(query, keep_blank_values=True, strict_parsing=True)
    except ValueError:
        return False
    return any(key == "sig" and value for key, value in pairs)


def _check_message(message: str, *, path: str) -> None:
    bad = _NOT_XML.search(message)
    if bad:
        raise RecurrenceError(
            f"{path}.queueMessage.message",
            ERR_MESSAGE_XML.format(path=path, char=bad.group()),
        )
    size = len(escape(message).encode("utf-8"))
    if size > MAX_MESSAGE_BYTES:
        raise RecurrenceError(
            f"{path}.queueMessage.message",
            ERR_MESSAGE_SIZE.format(path=path, size=size, limit=MAX_MESSAGE_BYTES),
        )


# --- the message on the queue ---------------------------------------------------------


@dataclass(frozen=True)
class Envelope:
    """One execution's StorageQueueMessage (its elements, in their order)."""

    execution_tag: str  # 32 lowercase hex digits (a GUID, "N" format)
    client_request_id: str  # a GUID, "D" format
    expected_execution_time: datetime  # the occurrence, UTC
    job: str  # SchedulerJobId: the job's name
    collection: str  # SchedulerJobCollectionId: the collection's name
    region: str  # the collection's location
    message: str  # the action's queueMessage.message


def envelope_xml(envelope: Envelope) -> str:
    """The StorageQueueMessage as XmlSerializer wrote it (see the module doc)."""
    expected = envelope.expected_execution_time.astimezone(UTC)
    elements = (
        ("ExecutionTag", envelope.execution_tag),
        ("ClientRequestId", envelope.client_request_id),
        ("ExpectedExecutionTime", expected.strftime("%Y-%m-%dT%H:%M:%S")),
        ("SchedulerJobId", envelope.job),
        ("SchedulerJobCollectionId", envelope.collection),
        ("Region", region_name(envelope.region)),
        ("Message", envelope.message),
    )
    lines = [
        '<?xml version="1.0" encoding="utf-16"?>',
        '<StorageQueueMessage xmlns:xsd="http://www.w3.org/2001/XMLSchema" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">',
    ]
    for name, value in elements:
        text = escape(_NOT_XML.sub("", value))
        # XmlSerializer writes an empty string as an empty element.
        lines.append(f"  <{name}>{text}</{name}>" if text else f"  <{name} />")
    lines.append("</StorageQueueMessage>")
    return "\r\n".join(lines)


def queue_text(xml: str, *, encoding: str) -> str:
    """What goes on the queue: base64 of the UTF-8 bytes (what the classic
    storage SDK's CloudQueueMessage(string) stored, and what queue triggers
    decode by default), or the XML itself ("none")."""
    if encoding == "base64":
        return base64.b64encode(xml.encode("utf-8")).decode("ascii")
    return xml


def region_name(location: str) -> str:
    """`westus` -> `West US`; a name the table lacks is kept as given."""
    return REGIONS.get(location.replace(" ", "").lower(), location)


# --- where an account lives -----------------------------------------------------------


def local_queue_endpoint(account: str, *, port: int) -> str:
    """The local Azurite's queue endpoint of an account (path-style URL)."""
    return f"http://127.0.0.1:{port}/{account}"


def connection_string_endpoint(text: str) -> str:
    """The queue endpoint a storage connection string names; raises ValueError.

    Only the endpoint is taken: a StorageQueue action authenticates with its
    own sasToken, as the real Scheduler did, whatever key the string holds."""
    parts: dict[str, str] = {}
    for item in text.split(";"):
        if not item.strip():
            continue
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise ValueError(
                ERR_CONNECTION_STRING.format(
                    text=_masked(text), reason=f"{key.strip()!r} has no value"
                )
            )
        parts[key.strip().lower()] = value.strip()
    if parts.get("usedevelopmentstorage", "").lower() == "true":
        return DEV_QUEUE_ENDPOINT
    endpoint = parts.get("queueendpoint")
    if endpoint:
        split = urlsplit(endpoint)
        if split.scheme not in ("http", "https") or not split.netloc:
            raise ValueError(
                ERR_CONNECTION_STRING.format(
                    text=_masked(text), reason="QueueEndpoint is not an http(s) URL"
                )
            )
        return endpoint.rstrip("/")
    account = parts.get("accountname")
    if not account or not ACCOUNT_NAME.match(account):
        raise ValueError(
            ERR_CONNECTION_STRING.format(
                text=_masked(text), reason="no QueueEndpoint and no valid AccountName"
            )
        )
    protocol = parts.get("defaultendpointsprotocol", "https").lower()
    if protocol not in ("http", "https"):
        raise ValueError(
            ERR_CONNECTION_STRING.format(
                text=_masked(text), reason="DefaultEndpointsProtocol is not http(s)"
            )
        )
    suffix = parts.get("endpointsuffix", "core.windows.net")
    return f"{protocol}://{account}.queue.{suffix}"


def storage_accounts(text: str) -> dict[str, str]:
    """SCHEDULER_STORAGE_ACCOUNTS: account name -> connection string, as a
    JSON object; returns account name -> queue endpoint. Raises ValueError."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        reason = f"not JSON: {exc}"
        raise ValueError(ERR_STORAGE_ACCOUNTS.format(reason=reason)) from None
    if not isinstance(data, dict):
        raise ValueError(ERR_STORAGE_ACCOUNTS.format(reason="not an object"))
    endpoints = {}
    for account, connection in data.items():
        if not ACCOUNT_NAME.match(account):
            reason = f"{account!r} is not a storage account name"
            raise ValueError(ERR_STORAGE_ACCOUNTS.format(reason=reason))
        if not isinstance(connection, str):
            reason = f"the value of {account!r} is not a string"
            raise ValueError(ERR_STORAGE_ACCOUNTS.format(reason=reason))
        endpoints[account] = connection_string_endpoint(connection)
    return endpoints


def _masked(text: str) -> str:
    """A connection string for an error message, its secrets hidden."""
    return re.sub(r"(?i)((?:AccountKey|SharedAccessSignature)=)[^;]*", r"\1***", text)


def parse_azurite_accounts(text: str) -> dict[str, list[str]]:
    """Azurite's AZURITE_ACCOUNTS (`name:key1[:key2];...`), checked as Azurite
    needs it; raises ValueError."""
    accounts: dict[str, list[str]] = {}
    for item in text.split(";"):
        if not item.strip():
            continue
        name, *keys = item.strip().split(":")
        reason = ""
        if not ACCOUNT_NAME.match(name):
            reason = f"bad name {name!r}"
        elif not 1 <= len(keys) <= 2:
            reason = f"{name} needs one or two keys"
        else:
            for key in keys:
                try:
                    base64.b64decode(key, validate=True)
                except ValueError:
                    reason = f"a key of {name} is not base64"
                if not key:
                    reason = f"a key of {name} is empty"
        if reason:
            raise ValueError(
                ERR_AZURITE_ACCOUNTS.format(text=_hidden(text), reason=reason)
            )
        accounts[name] = keys
    return accounts


def _hidden(text: str) -> str:
    return ";".join(item.split(":", 1)[0] + ":***" for item in text.split(";") if item)
