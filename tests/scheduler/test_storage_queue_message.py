"""The StorageQueue action's pure parts: the message the real Scheduler put on
the queue (byte for byte the shape of the captured samples), the queueMessage's
validation, and the settings that say where an account lives."""

from __future__ import annotations

import base64
import subprocess
import xml.etree.ElementTree as ET
from datetime import UTC, datetime

import pytest

from core.recurrence import RecurrenceError
from core.storage_queue import (
    DEV_QUEUE_ENDPOINT,
    MAX_MESSAGE_BYTES,
    Envelope,
    connection_string_endpoint,
    envelope_xml,
    parse_azurite_accounts,
    queue_text,
    region_name,
    storage_accounts,
    validate_queue_message,
)
from tests.instance import BASE_DIR, MANAGE, instance_env

SAS = "sv=2026-10-06&se=2031-01-01T00%3A00%3A00Z&sp=a&sig=c2lnbmF0dXJl"
QUEUE = {
    "storageAccount": "devstoreaccount1",
    "queueName": "orders",
    "sasToken": SAS,
    "message": "hi",
}

# Azure/azure-webjobs-sdk issue 85: what the real Scheduler put on a queue for
# the message "test" (line breaks as XmlSerializer writes them: CRLF).
SAMPLE = "\r\n".join(
    [
        '<?xml version="1.0" encoding="utf-16"?>',
        '<StorageQueueMessage xmlns:xsd="http://www.w3.org/2001/XMLSchema" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">',
        "  <ExecutionTag>53d0bfb54125e2c3fba3040f86b7323c</ExecutionTag>",
        "  <ClientRequestId>d7737f7c-0880-4072-8b95-f5db2f8ad572</ClientRequestId>",
        "  <ExpectedExecutionTime>2014-01-30T20:31:13</ExpectedExecutionTime>",
        "  <SchedulerJobId>Test</SchedulerJobId>",
        "  <SchedulerJobCollectionId>WebJobs-SouthCentralUS</SchedulerJobCollectionId>",
        "  <Region>Central US</Region>",
        "  <Message>test</Message>",
        "</StorageQueueMessage>",
    ]
)


def envelope(**changes) -> Envelope:
    values = {
        "execution_tag": "53d0bfb54125e2c3fba3040f86b7323c",
        "client_request_id": "d7737f7c-0880-4072-8b95-f5db2f8ad572",
        "expected_execution_time": datetime(2014, 1, 30, 20, 31, 13, 400, tzinfo=UTC),
        "job": "Test",
        "collection": "WebJobs-SouthCentralUS",
        "region": "centralus",
        "message": "test",
    }
    return Envelope(**{**values, **changes})


def test_it_writes_the_message_the_real_scheduler_wrote():
    assert envelope_xml(envelope()) == SAMPLE


def test_it_escapes_what_xml_must_and_writes_an_empty_message_as_xmlserializer():
    xml = envelope_xml(envelope(message='<a href="x">&</a>', job="j&b"))
    assert '  <Message>&lt;a href="x"&gt;&amp;&lt;/a&gt;</Message>\r\n' in xml
    assert ET.fromstring(xml).findtext("Message") == '<a href="x">&</a>'
    assert ET.fromstring(xml).findtext("SchedulerJobId") == "j&b"
    assert "  <Message />\r\n" in envelope_xml(envelope(message=""))


def test_it_puts_base64_of_the_utf8_bytes_on_the_queue_by_default():
    xml = envelope_xml(envelope(message="ünïcode"))
    text = queue_text(xml, encoding="base64")
    assert base64.b64decode(text).decode("utf-8") == xml
    assert queue_text(xml, encoding="none") == xml


@pytest.mark.parametrize(
    ("location", "shown"),
    [
        ("westus", "West US"),
        ("West US", "West US"),
        ("northeurope", "North Europe"),
        ("eastus2", "East US 2"),
        ("moonbase1", "moonbase1"),
        ("", ""),
    ],
)
def test_it_shows_the_region_as_the_service_did(location, shown):
    assert region_name(location) == shown


def test_it_keeps_the_fields_and_matches_keys_without_case():
    queue = {"STORAGEACCOUNT": "acct01", "queuename": "q-1-x", "SasToken": "?" + SAS}
    assert validate_queue_message(
        {**queue, "Message": ""}, path="properties.action"
    ) == {
        "storageAccount": "acct01",
        "queueName": "q-1-x",
        "sasToken": "?" + SAS,
        "message": "",
    }


def test_it_lets_a_message_fill_the_queue_message_and_no_more():
    validate_queue_message(
        {**QUEUE, "message": "x" * MAX_MESSAGE_BYTES}, path="properties.action"
    )
    longest = envelope_xml(
        envelope(message="x" * MAX_MESSAGE_BYTES, job="j" * 100, collection="c" * 100)
    )
    assert len(queue_text(longest, encoding="base64")) <= 64 * 1024
    with pytest.raises(RecurrenceError) as caught:
        # Escaped, '<' is 4 bytes: this message is over the limit.
        validate_queue_message(
            {**QUEUE, "message": "<" * (MAX_MESSAGE_BYTES // 4 + 1)},
            path="properties.action",
        )
    assert caught.value.field == "properties.action.queueMessage.message"
    assert "a queue message holds 64 KiB" in caught.value.message


@pytest.mark.parametrize(
    ("text", "endpoint"),
    [
        (
            "DefaultEndpointsProtocol=https;AccountName=contoso;AccountKey=a2V5;"
            "EndpointSuffix=core.windows.net",
            "https://contoso.queue.core.windows.net",
        ),
        (
            "AccountName=contoso;AccountKey=a2V5",
            "https://contoso.queue.core.windows.net",
        ),
        (
            "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;"
            "QueueEndpoint=http://127.0.0.1:10011/devstoreaccount1/;",
            "http://127.0.0.1:10011/devstoreaccount1",
        ),
        ("UseDevelopmentStorage=true", DEV_QUEUE_ENDPOINT),
    ],
)
def test_it_reads_the_queue_endpoint_of_a_connection_string(text, endpoint):
    assert connection_string_endpoint(text) == endpoint


def test_it_refuses_a_connection_string_without_showing_its_key():
    with pytest.raises(ValueError) as caught:
        storage_accounts('{"contoso": "AccountKey=s3cr3t;BlobEndpoint=x"}')
    assert "s3cr3t" not in str(caught.value)
    assert "no QueueEndpoint and no valid AccountName" in str(caught.value)
    with pytest.raises(ValueError, match="'Contoso' is not a storage account name"):
        storage_accounts('{"Contoso": "UseDevelopmentStorage=true"}')
    with pytest.raises(ValueError, match="not JSON"):
        storage_accounts("contoso=UseDevelopmentStorage=true")


def test_it_checks_azurites_account_list():
    assert parse_azurite_accounts("acct1:a2V5MQ==:a2V5Mg==;acct2:a2V5") == {
        "acct1": ["a2V5MQ==", "a2V5Mg=="],
        "acct2": ["a2V5"],
    }
    with pytest.raises(ValueError, match="a key of acct1 is not base64") as caught:
        parse_azurite_accounts("acct1:not base64!")
    assert "not base64!" not in str(caught.value)  # keys are never echoed
    with pytest.raises(ValueError, match="bad name 'Acct1'"):
        parse_azurite_accounts("Acct1:a2V5")


@pytest.mark.parametrize(
    ("name", "value", "words"),
    [
        (
            "SCHEDULER_STORAGE_ACCOUNTS",
            "[]",
            "SCHEDULER_STORAGE_ACCOUNTS: must be a JSON",
        ),
        ("SCHEDULER_STORAGE_QUEUE_ENCODING", "utf8", "must be one of base64, none"),
        ("AZURITE_QUEUE_PORT", "70000", "AZURITE_QUEUE_PORT must be at most 65535"),
        ("AZURITE_ACCOUNTS", "x:y", "AZURITE_ACCOUNTS: "),
        ("SCHEDULER_STORAGE_QUEUE_TIMEOUT", "50", "at most a third of Q_TIMEOUT (120)"),
    ],
)
def test_a_bad_setting_stops_start_up_naming_the_variable(name, value, words):
    done = subprocess.run(
        [*MANAGE, "check"],
        env=instance_env(**{name: value}),
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert words in done.stderr


def test_a_short_queue_timeout_shortens_the_storage_timeout_instead_of_failing():
    done = subprocess.run(
        [
            *MANAGE,
            "shell",
            "-c",
            "from django.conf import settings as s; "
            "print(s.SCHEDULER_STORAGE_QUEUE_TIMEOUT)",
        ],
        env=instance_env(Q_TIMEOUT="3"),
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "1.0"
