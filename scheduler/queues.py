"""Executing a StorageQueue action: the Scheduler's message put on the queue.

The message (core/storage_queue.py: the real service's StorageQueueMessage XML,
base64 by default) goes through the official azure-storage-queue client to the
account's queue endpoint: the local Azurite's (http://127.0.0.1:AZURITE_QUEUE_PORT/
<account>) unless SCHEDULER_STORAGE_ACCOUNTS maps the account elsewhere. The
action's sasToken authenticates, as in Azure. The client never retries and
waits at most SCHEDULER_STORAGE_QUEUE_TIMEOUT to connect and as long for the
answer: the job's retry policy does the retrying, as for an Http action
(scheduler/actions.py records the outcome). Nothing here raises: every failure
is a message saying what happened.
"""

from __future__ import annotations

import os
import uuid
from typing import NamedTuple

from azure.core.credentials import AzureSasCredential
from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ServiceRequestError,
    ServiceRequestTimeoutError,
    ServiceResponseError,
    ServiceResponseTimeoutError,
)
from azure.storage.queue import QueueClient
from django.conf import settings

from core.storage_queue import (
    MAX_QUEUE_MESSAGE_BYTES,
    Envelope,
    envelope_xml,
    local_queue_endpoint,
    queue_text,
)
from scheduler.models import Attempt

MSG_SENT = (
    "StorageQueue Action - Message {id} was put on queue '{queue}' of storage "
    "account '{account}' ({endpoint})."
)
MSG_FAILED = (
    "StorageQueue Action - The message could not be put on queue '{queue}' of "
    "storage account '{account}' ({endpoint}): {reason}"
)
REASON_QUEUE_NOT_FOUND = (
    "404 QueueNotFound: the queue does not exist (the Scheduler does not create "
    "queues; create it first)."
)
REASON_ACCOUNT_NOT_FOUND = (
    "404 ResourceNotFound: the storage service has no account '{account}'."
)
HINT_AZURITE_ACCOUNTS = (
    " Azurite serves devstoreaccount1 and the accounts of AZURITE_ACCOUNTS; "
    "SCHEDULER_STORAGE_ACCOUNTS sends an account elsewhere."
)
REASON_AUTHENTICATION = (
    "403 AuthenticationFailed: the storage service refused the sasToken (a wrong "
    "signature, an expired token, or one made for another queue or account)."
)
REASON_PERMISSION = (
    "403 AuthorizationPermissionMismatch: the sasToken does not allow adding "
    "messages (it needs the add permission, sp=a)."
)
REASON_UNREACHABLE = "the queue endpoint cannot be reached ({error})."
HINT_AZURITE_DOWN = (
    " Is Azurite running? `AZURITE=1 manage.py runinstance` starts it on "
    "AZURITE_QUEUE_PORT."
)
REASON_TIMEOUT = "no answer within {timeout:g} s ({error})."
REASON_BROKEN = "the connection broke before the answer ({error})."
REASON_API_VERSION = (
    " Azurite refuses the client's newer API version unless started with "
    "--skipApiVersionCheck (runinstance starts it so)."
)
REASON_TOO_LARGE = (
    "MessageTooLarge: the message would be {size:,} bytes on the queue, over the "
    "64 KiB a queue message holds."
)

# One client per (endpoint, queue, token) and process: its HTTP connection is
# kept alive between fires. A client whose send failed is dropped, so a
# restarted endpoint gets a fresh connection.
_CLIENTS: dict[tuple, QueueClient] = {}
_CLIENTS_PID = [0]
MAX_CLIENTS = 64


class Delivery(NamedTuple):
    ok: bool
    message: str


def queue_sas_token(queue_message: dict) -> str:
    """The action's SAS token, the only place it is read: the action arrives
    opened (stored sealed, scheduler/secrets.py; attempt_execute opens it)."""
    return queue_message["sasToken"]


def queue_endpoint(account: str) -> tuple[str, bool]:
    """The account's queue endpoint, and whether it is the local Azurite's."""
    mapped = settings.SCHEDULER_STORAGE_ACCOUNTS.get(account)
    if mapped:
        return mapped, False
    return local_queue_endpoint(account, port=settings.AZURITE_QUEUE_PORT), True


def queue_send(*, attempt: Attempt, action: dict) -> Delivery:
    """Put one execution's message on the action's queue; never raises."""
    queue_message = action["queueMessage"]
    account, queue = queue_message["storageAccount"], queue_message["queueName"]
    endpoint, local = queue_endpoint(account)
    job = attempt.job
    envelope = Envelope(
        execution_tag=uuid.uuid4().hex,
        client_request_id=str(uuid.uuid4()),
        expected_execution_time=attempt.expected_time,
        job=job.name,
        collection=job.collection.name,
        region=job.collection.location,
        message=queue_message["message"],
    )
    text = queue_text(
        envelope_xml(envelope), encoding=settings.SCHEDULER_STORAGE_QUEUE_ENCODING
    )
    where = {"queue": queue, "account": account, "endpoint": endpoint}
    size = len(text.encode("utf-8"))
    if size > MAX_QUEUE_MESSAGE_BYTES:
        reason = REASON_TOO_LARGE.format(size=size)
        return Delivery(False, MSG_FAILED.format(**where, reason=reason))
    key = (endpoint, queue, queue_sas_token(queue_message))
    try:
        sent = _client(key).send_message(
            text, client_request_id=envelope.client_request_id
        )
    except Exception as exc:  # whatever happened is the execution's outcome
        _CLIENTS.pop(key, None)
        reason = failure_reason(exc, account=account, local=local)
        return Delivery(False, MSG_FAILED.format(**where, reason=reason))
    return Delivery(True, MSG_SENT.format(**where, id=sent.id))


def _client(key: tuple[str, str, str]) -> QueueClient:
    if _CLIENTS_PID[0] != os.getpid():  # never share a connection across fork()
        _CLIENTS.clear()
        _CLIENTS_PID[0] = os.getpid()
    client = _CLIENTS.get(key)
    if client is None:
        if len(_CLIENTS) >= MAX_CLIENTS:
            _CLIENTS.clear()
        endpoint, queue, token = key
        timeout = settings.SCHEDULER_STORAGE_QUEUE_TIMEOUT
        client = QueueClient(
            endpoint,
            queue,
            # Always a SAS: the client would take a plain string that does not
            # look like one for an account key.
            credential=AzureSasCredential(token.lstrip("?")),
            retry_total=0,  # the job's retry policy retries, not the client
            connection_timeout=timeout,
            read_timeout=timeout,
        )
        _CLIENTS[key] = client
    return client


def failure_reason(exc: Exception, *, account: str, local: bool) -> str:
    """What a failed send means to the job's owner (the storage error code,
    which Azure and Azurite share, and what to do about it)."""
    error = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if isinstance(exc, ServiceRequestTimeoutError | ServiceResponseTimeoutError):
        timeout = settings.SCHEDULER_STORAGE_QUEUE_TIMEOUT
        return REASON_TIMEOUT.format(timeout=timeout, error=error)
    if isinstance(exc, ServiceRequestError):
        return REASON_UNREACHABLE.format(error=error) + (
            HINT_AZURITE_DOWN if local else ""
        )
    if isinstance(exc, ServiceResponseError):
        return REASON_BROKEN.format(error=error)
    if not isinstance(exc, HttpResponseError):
        return f"{type(exc).__name__}: {error}"
    code = getattr(exc.error_code, "value", exc.error_code) or ""
    if code == "QueueNotFound":
        return REASON_QUEUE_NOT_FOUND
    if code == "ResourceNotFound":
        return REASON_ACCOUNT_NOT_FOUND.format(account=account) + (
            HINT_AZURITE_ACCOUNTS if local else ""
        )
    if code == "AuthorizationPermissionMismatch":
        return REASON_PERMISSION
    if code == "AuthenticationFailed" or isinstance(exc, ClientAuthenticationError):
        return REASON_AUTHENTICATION
    reason = f"{exc.status_code} {code or exc.reason}: {error}"
    if code == "InvalidHeaderValue" and "API version" in str(exc):
        reason += REASON_API_VERSION
    return reason
