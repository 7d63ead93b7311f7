"""StorageQueue actions over the raw ARM API: what is accepted, what is refused
(400 naming the field, the stored job untouched), and what is never echoed."""

from __future__ import annotations

import copy

import pytest

from tests.scheduler_api.conftest import (
    assert_arm_error,
    collection_path,
    job_path,
    soon,
)

pytestmark = pytest.mark.django_db(transaction=True)

SAS = "?sv=2026-10-06&se=2031-01-01T00%3A00%3A00Z&sp=a&sig=c2lnbmF0dXJl"
QUEUE = {
    "storageAccount": "devstoreaccount1",
    "queueName": "orders",
    "sasToken": SAS,
    "message": "nightly",
}


def body(queue: dict | None = None, **action) -> dict:
    return {
        "properties": {
            "startTime": soon().strftime("%Y-%m-%dT%H:%M:%SZ"),
            "action": {
                "type": "StorageQueue",
                "queueMessage": QUEUE if queue is None else queue,
                **action,
            },
        }
    }


@pytest.fixture
def jc(arm) -> str:
    response = arm.put(
        collection_path("jc"),
        {"location": "westus", "properties": {"sku": {"name": "Standard"}}},
    )
    assert response.status_code == 201, response.text
    return "jc"


def test_it_accepts_a_storage_queue_action_and_never_returns_the_token(arm, jc):
    sent = body(
        errorAction={
            "type": "storagequeue",  # enums are matched without regard to case
            "queueMessage": {**QUEUE, "queueName": "orders-poison"},
        }
    )
    response = arm.put(job_path(jc, "enqueue"), sent)
    assert response.status_code == 201, response.text
    for answer in (response, arm.get(job_path(jc, "enqueue"))):
        action = answer.json()["properties"]["action"]
        assert action["type"] == "StorageQueue"
        assert action["queueMessage"] == {
            "storageAccount": "devstoreaccount1",
            "queueName": "orders",
            "message": "nightly",
        }
        assert action["errorAction"]["type"] == "StorageQueue"
        assert action["errorAction"]["queueMessage"]["queueName"] == "orders-poison"
        assert "sig=" not in answer.text and "sasToken" not in answer.text
    listed = arm.get(collection_path(jc) + "/jobs")
    assert "sasToken" not in listed.text


def test_it_accepts_an_empty_message(arm, jc):
    response = arm.put(job_path(jc, "empty"), body({**QUEUE, "message": ""}))
    assert response.status_code == 201, response.text
    assert response.json()["properties"]["action"]["queueMessage"]["message"] == ""


@pytest.mark.parametrize(
    "field", ["storageAccount", "queueName", "sasToken", "message"]
)
def test_it_names_a_missing_field(arm, jc, field):
    queue = {k: v for k, v in QUEUE.items() if k != field}
    message = assert_arm_error(
        arm.put(job_path(jc, "j"), body(queue)), 400, "BadRequest"
    )
    assert message == f"properties.action.queueMessage.{field} is required (a string)."
    assert_arm_error(arm.get(job_path(jc, "j")), 404, "ResourceNotFound")


def test_it_requires_the_queue_message_itself(arm, jc):
    sent = body()
    del sent["properties"]["action"]["queueMessage"]
    message = assert_arm_error(arm.put(job_path(jc, "j"), sent), 400, "BadRequest")
    assert message.startswith("properties.action.queueMessage is required")


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("storageAccount", "myStorageAccount", "3 to 24 lowercase letters and digits"),
        ("storageAccount", "ab", "3 to 24 lowercase letters and digits"),
        ("storageAccount", "a" * 25, "3 to 24 lowercase letters and digits"),
        ("queueName", "Orders", "3 to 63 lowercase letters"),
        ("queueName", "or--ders", "no two dashes in a row"),
        ("queueName", "-orders", "starting and ending with a letter or digit"),
        ("queueName", "q" * 64, "3 to 63 lowercase letters"),
        (
            "sasToken",
            "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50u==",
            "not an account key",
        ),
        ("sasToken", "https://a.queue.core.windows.net/q?sig=x", "not an account key"),
        ("message", "bell \x07", "a character an XML message cannot carry"),
        ("message", 42, "is required (a string)"),
    ],
)
def test_it_refuses_what_azure_storage_would_not_take(arm, jc, field, value, words):
    queue = {**QUEUE, field: value}
    message = assert_arm_error(
        arm.put(job_path(jc, "j"), body(queue)), 400, "BadRequest"
    )
    assert message.startswith(f"properties.action.queueMessage.{field} ")
    assert words in message


def test_it_checks_the_error_actions_queue_too(arm, jc):
    sent = body(
        errorAction={
            "type": "StorageQueue",
            "queueMessage": {**QUEUE, "queueName": "x"},
        }
    )
    message = assert_arm_error(arm.put(job_path(jc, "j"), sent), 400, "BadRequest")
    assert message.startswith(
        "properties.action.errorAction.queueMessage.queueName 'x'"
    )


@pytest.mark.parametrize("kind", ["ServiceBusQueue", "ServiceBusTopic"])
def test_it_refuses_service_bus_actions_saying_why(arm, jc, kind):
    sent = copy.deepcopy(body())
    sent["properties"]["action"] = {"type": kind, "serviceBusQueueMessage": {}}
    message = assert_arm_error(arm.put(job_path(jc, "j"), sent), 400, "BadRequest")
    assert message == (
        f"properties.action.type {kind!r} is not supported: the emulator does not "
        "send Service Bus messages (there is no local Service Bus it could start "
        "here); use Http, Https, StorageQueue or WebJob."
    )


def test_a_refused_update_keeps_the_queue_job_as_it_was(arm, jc):
    assert arm.put(job_path(jc, "j"), body()).status_code == 201
    before = arm.get(job_path(jc, "j")).json()
    bad = {
        "properties": {
            "action": body({**QUEUE, "queueName": "BAD"})["properties"]["action"]
        }
    }
    assert_arm_error(arm.patch(job_path(jc, "j"), bad), 400, "BadRequest")
    assert arm.get(job_path(jc, "j")).json() == before
