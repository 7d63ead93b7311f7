"""A StorageQueue action fired by the engine puts the real Scheduler's message on
a real Azurite queue; failures, retries and the error action land in the job's
history as an Http action's do. The engine runs in this process (the queue's
tasks run inline), the storage service is a real Azurite."""

from __future__ import annotations

import base64
import json
import re

import pytest

from config.clock import clock_now, clock_set
from core.storage_queue import DEV_ACCOUNT, DEV_ACCOUNT_KEY, storage_accounts
from scheduler.engine import engine_step
from scheduler.models import JobHistory
from scheduler.queues import (
    HINT_AZURITE_ACCOUNTS,
    HINT_AZURITE_DOWN,
    REASON_ACCOUNT_NOT_FOUND,
    REASON_AUTHENTICATION,
    REASON_PERMISSION,
    REASON_QUEUE_NOT_FOUND,
)
from scheduler.services import job_put
from tests.azurite import Azurite, envelope, require_azurite, sas_token
from tests.instance import free_port

pytestmark = pytest.mark.django_db(transaction=True)

EVERY_MINUTE = {"frequency": "Minute", "interval": 1}
NO_RETRY = {"retryType": "None"}


def queue_action(queue, *, sas, message="hello", account=DEV_ACCOUNT, retry=None):
    action = {
        "type": "StorageQueue",
        "queueMessage": {
            "storageAccount": account,
            "queueName": queue,
            "sasToken": sas,
            "message": message,
        },
    }
    if retry is not None:
        action["retryPolicy"] = retry
    return action


def put_job(collection, name, action, *, recurrence=None, start=None):
    props = {"action": action}
    if recurrence:
        props["recurrence"] = recurrence
    if start:
        props["startTime"] = start
    job, _ = job_put(collection=collection, name=name, body={"properties": props})
    return job


def step_at(instant: str) -> None:
    clock_set(instant)
    engine_step(clock_now())


def history(job) -> list[tuple[str, str, int, str]]:
    return [
        (h.action_name, h.status, h.retry_count, h.message)
        for h in JobHistory.objects.filter(job=job).order_by("start_time", "pk")
    ]


def test_it_puts_the_schedulers_message_on_the_queue(azurite, collection, queue_name):
    azurite.create_queue(queue_name)
    sas = sas_token(queue_name)
    text = 'Rebuild <index> & "stats" — ünïcode'
    job = put_job(
        collection,
        "every-minute",
        queue_action(queue_name, sas=sas, message=text),
        recurrence=EVERY_MINUTE,
        start="2031-01-30T12:00:30Z",
    )
    for instant in ("12:00:31", "12:01:31", "12:02:31"):
        step_at(f"2031-01-30T{instant}Z")

    raw = azurite.messages(queue_name)
    assert len(raw) == 3
    xml = base64.b64decode(raw[0]).decode("utf-8")  # base64 of the UTF-8 XML
    assert xml.startswith(
        '<?xml version="1.0" encoding="utf-16"?>\r\n<StorageQueueMessage '
        'xmlns:xsd="http://www.w3.org/2001/XMLSchema" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">\r\n'
        "  <ExecutionTag>"
    )
    bodies = [envelope(message) for message in raw]
    assert [b["ExpectedExecutionTime"] for b in bodies] == [
        "2031-01-30T12:00:30",
        "2031-01-30T12:01:30",
        "2031-01-30T12:02:30",
    ]
    for body in bodies:
        assert re.fullmatch(r"[0-9a-f]{32}", body["ExecutionTag"])
        assert re.fullmatch(
            r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
            body["ClientRequestId"],
        )
        assert body["SchedulerJobId"] == "every-minute"
        assert body["SchedulerJobCollectionId"] == "nightly-jobs"
        assert body["Region"] == "West US"
        assert body["Message"] == text
    assert len({b["ExecutionTag"] for b in bodies}) == 3

    entries = history(job)
    assert [e[:3] for e in entries] == [("MainAction", "Completed", 0)] * 3
    assert entries[0][3].startswith("StorageQueue Action - Message ")
    assert f"was put on queue '{queue_name}' of storage account " in entries[0][3]
    assert sas not in entries[0][3]
    job.refresh_from_db()
    assert (job.execution_count, job.failure_count) == (3, 0)


def test_it_retries_a_missing_queue_then_fills_the_poison_queue(
    azurite, collection, queue_name
):
    poison = azurite.create_queue(f"{queue_name}-poison")
    action = queue_action(
        queue_name,  # never created
        sas=sas_token(queue_name),
        retry={"retryType": "Fixed", "retryInterval": "PT15S", "retryCount": 2},
    )
    action["errorAction"] = queue_action(
        poison, sas=sas_token(poison), message="nightly failed", retry=NO_RETRY
    )
    job = put_job(collection, "flaky", action, start="2031-01-30T12:00:10Z")
    step_at("2031-01-30T12:00:10Z")
    step_at("2031-01-30T12:00:26Z")
    step_at("2031-01-30T12:00:42Z")
    engine_step(clock_now())  # the error action, due at once

    entries = history(job)
    assert [e[:3] for e in entries] == [
        ("MainAction", "Failed", 0),
        ("MainAction", "Failed", 1),
        ("MainAction", "Failed", 2),
        ("ErrorAction", "Completed", 0),
    ]
    assert entries[0][3].endswith(REASON_QUEUE_NOT_FOUND)
    assert f"'{poison}'" in entries[3][3]
    [body] = [envelope(m) for m in azurite.messages(poison)]
    assert body["Message"] == "nightly failed"
    assert body["ExpectedExecutionTime"] == "2031-01-30T12:00:10"  # the occurrence
    assert body["SchedulerJobId"] == "flaky"
    job.refresh_from_db()
    assert (job.execution_count, job.failure_count, job.faulted_count) == (3, 3, 1)


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("read-only token", REASON_PERMISSION),
        ("another queue's token", REASON_AUTHENTICATION),
        ("expired token", REASON_AUTHENTICATION),
        (
            "unknown account",
            REASON_ACCOUNT_NOT_FOUND.format(account="contosodata")
            + HINT_AZURITE_ACCOUNTS,
        ),
    ],
)
def test_it_records_why_the_storage_service_refused(
    azurite, collection, queue_name, case, reason
):
    azurite.create_queue(queue_name)
    sas, account = sas_token(queue_name), DEV_ACCOUNT
    if case == "read-only token":
        sas = sas_token(queue_name, permission="r")
    elif case == "another queue's token":
        sas = sas_token("some-other-queue")
    elif case == "expired token":
        sas = sas_token(queue_name, hours=-1)
    else:
        account = "contosodata"
    action = queue_action(queue_name, sas=sas, account=account, retry=NO_RETRY)
    job = put_job(collection, "refused", action)
    engine_step(clock_now())  # no start time: it runs at once

    [(name, status, retry, message)] = history(job)
    assert (name, status) == ("MainAction", "Failed")
    assert message.endswith(reason)
    assert azurite.messages(queue_name) == []


def test_it_fails_with_the_reason_when_nothing_listens(collection, settings):
    settings.AZURITE_QUEUE_PORT = free_port()  # no Azurite there
    action = queue_action("orders", sas=sas_token("orders"), retry=NO_RETRY)
    job = put_job(collection, "nowhere", action)
    engine_step(clock_now())

    [(name, status, _, message)] = history(job)
    assert status == "Failed"
    assert f"http://127.0.0.1:{settings.AZURITE_QUEUE_PORT}/devstoreaccount1" in message
    assert "the queue endpoint cannot be reached (" in message
    assert "Connection refused" in message
    assert message.endswith(HINT_AZURITE_DOWN)


def test_it_loses_nothing_when_azurite_stops_and_comes_back_within_the_retries(
    collection, settings, tmp_path, queue_name
):
    require_azurite()
    server = Azurite(tmp_path / "azurite").start()  # its own: this test stops it
    try:
        settings.AZURITE_QUEUE_PORT = server.port
        server.create_queue(queue_name)
        action = queue_action(
            queue_name,
            sas=sas_token(queue_name),
            retry={"retryType": "Fixed", "retryInterval": "PT15S", "retryCount": 4},
        )
        job = put_job(
            collection,
            "steady",
            action,
            recurrence=EVERY_MINUTE,
            start="2031-01-30T12:00:30Z",
        )
        step_at("2031-01-30T12:00:31Z")
        server.stop()
        step_at("2031-01-30T12:01:31Z")  # the storage service is down
        step_at("2031-01-30T12:01:47Z")  # and still down for the first retry
        server.start()  # back, with its data (same folder and port)
        step_at("2031-01-30T12:02:03Z")  # the second retry
        step_at("2031-01-30T12:02:31Z")

        entries = history(job)
        assert [e[:3] for e in entries] == [
            ("MainAction", "Completed", 0),
            ("MainAction", "Failed", 0),
            ("MainAction", "Failed", 1),
            ("MainAction", "Completed", 2),
            ("MainAction", "Completed", 0),
        ]
        assert "the queue endpoint cannot be reached" in entries[1][3]
        bodies = [envelope(m) for m in server.messages(queue_name)]
        assert sorted(b["ExpectedExecutionTime"] for b in bodies) == [
            "2031-01-30T12:00:30",
            "2031-01-30T12:01:30",
            "2031-01-30T12:02:30",
        ]
    finally:
        server.stop()


def test_it_puts_the_xml_itself_with_encoding_none(
    azurite, collection, queue_name, settings
):
    settings.SCHEDULER_STORAGE_QUEUE_ENCODING = "none"
    azurite.create_queue(queue_name)
    action = queue_action(queue_name, sas=sas_token(queue_name), message="plain")
    put_job(collection, "plain", action)
    engine_step(clock_now())
    [text] = azurite.messages(queue_name)
    assert text.startswith('<?xml version="1.0" encoding="utf-16"?>\r\n')
    assert "\r\n  <Message>plain</Message>\r\n</StorageQueueMessage>" in text


def test_it_sends_a_mapped_account_to_its_connection_strings_endpoint(
    azurite, collection, queue_name, settings
):
    azurite.create_queue(queue_name)
    settings.AZURITE_QUEUE_PORT = free_port()  # the default place is empty
    connection = (
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
        f"AccountKey={DEV_ACCOUNT_KEY};QueueEndpoint={azurite.endpoint};"
    )
    settings.SCHEDULER_STORAGE_ACCOUNTS = storage_accounts(
        json.dumps({"contosoprod": connection})
    )
    action = queue_action(queue_name, sas=sas_token(queue_name), account="contosoprod")
    job = put_job(collection, "mapped", action)
    engine_step(clock_now())

    [(_, status, _, message)] = history(job)
    assert status == "Completed", message
    assert f"storage account 'contosoprod' ({azurite.endpoint})" in message
    assert [envelope(m)["SchedulerJobId"] for m in azurite.messages(queue_name)] == [
        "mapped"
    ]
