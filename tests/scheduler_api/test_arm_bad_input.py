"""Bad requests to the ARM API, sent raw: api-version, JSON, and what is kept.

Every error answers the ARM shape ``{"error": {"code", "message"}}``, and a
refused PUT or PATCH leaves the stored resource as it was.
"""

from __future__ import annotations

import pytest

from tests.scheduler_api.conftest import (
    PROVIDER,
    SUB,
    UNUSED_URI,
    assert_arm_error,
    collection_path,
    job_path,
    soon,
)

pytestmark = pytest.mark.django_db(transaction=True)

COLLECTION = {"location": "westus", "properties": {"sku": {"name": "Standard"}}}


def _job(**recurrence) -> dict:
    body = {
        "properties": {
            "startTime": soon().strftime("%Y-%m-%dT%H:%M:%SZ"),
            "action": {"type": "Http", "request": {"uri": UNUSED_URI, "method": "GET"}},
        }
    }
    if recurrence:
        body["properties"]["recurrence"] = recurrence
    return body


@pytest.fixture
def jc(arm) -> str:
    response = arm.put(collection_path("jc"), COLLECTION)
    assert response.status_code == 201, response.text
    return "jc"


@pytest.mark.parametrize(
    "path",
    [
        f"/subscriptions/{SUB}/{PROVIDER}/jobCollections",
        collection_path("jc"),
        collection_path("jc") + "/jobs",
    ],
    ids=["subscription list", "collection", "job list"],
)
def test_it_requires_an_api_version(arm, jc, path):
    response = arm.get(path, api_version=None)
    assert_arm_error(response, 400, "MissingApiVersionParameter")


def test_it_refuses_an_unknown_api_version(arm, jc):
    response = arm.get(collection_path("jc"), api_version="2099-01-01")
    message = assert_arm_error(response, 400, "InvalidApiVersionParameter")
    assert "2099-01-01" in message


def test_it_creates_nothing_without_an_api_version(arm, jc):
    response = arm.put(collection_path("other"), COLLECTION, api_version=None)
    assert_arm_error(response, 400, "MissingApiVersionParameter")
    response = arm.put(job_path("jc", "j"), _job(), api_version="2014-01-01")
    assert_arm_error(response, 400, "InvalidApiVersionParameter")
    assert arm.get(collection_path("other")).status_code == 404
    assert arm.get(job_path("jc", "j")).status_code == 404


@pytest.mark.parametrize(
    "data", ['{"properties": {', "not json at all", '{"a": 1,}'], ids=repr
)
def test_it_refuses_malformed_json(arm, jc, data):
    response = arm.put(job_path("jc", "j"), data=data)
    message = assert_arm_error(response, 400, "BadRequest")
    assert "json" in message.lower()
    assert_arm_error(arm.get(job_path("jc", "j")), 404, "ResourceNotFound")

    response = arm.put(collection_path("broken"), data=data)
    assert "json" in assert_arm_error(response, 400, "BadRequest").lower()
    assert arm.get(collection_path("broken")).status_code == 404


@pytest.mark.parametrize("body", [[1, 2], "a string", 42], ids=repr)
def test_it_refuses_a_body_that_is_not_an_object(arm, jc, body):
    response = arm.put(job_path("jc", "j"), body)
    assert_arm_error(response, 400, "BadRequest")
    assert arm.get(job_path("jc", "j")).status_code == 404


def test_it_names_the_field_of_a_bad_value(arm, jc):
    response = arm.put(job_path("jc", "j"), _job(frequency="Hour", interval="two"))
    message = assert_arm_error(response, 400, "BadRequest")
    assert "properties.recurrence.interval" in message
    assert arm.get(job_path("jc", "j")).status_code == 404


def test_it_stores_nothing_after_a_refused_put(arm, jc):
    response = arm.put(job_path("jc", "j"), _job(frequency="Day", interval=0))
    assert_arm_error(response, 400, "BadRequest")
    assert_arm_error(arm.get(job_path("jc", "j")), 404, "ResourceNotFound")
    listed = arm.get(collection_path("jc") + "/jobs")
    assert listed.status_code == 200 and listed.json()["value"] == []


def test_it_keeps_the_previous_version_after_a_refused_update(arm, jc):
    good = _job(frequency="Hour", interval=2)
    assert arm.put(job_path("jc", "j"), good).status_code == 201
    before = arm.get(job_path("jc", "j")).json()

    bad = _job(frequency="Hour", interval=2, schedule={"minutes": [60]})
    message = assert_arm_error(arm.put(job_path("jc", "j"), bad), 400, "BadRequest")
    assert "properties.recurrence.schedule.minutes" in message
    bad_patch = {"properties": {"recurrence": {"frequency": "Month", "interval": 0}}}
    response = arm.patch(job_path("jc", "j"), bad_patch)
    assert "properties.recurrence.interval" in assert_arm_error(
        response, 400, "BadRequest"
    )
    response = arm.patch(job_path("jc", "j"), data="{oops")
    assert_arm_error(response, 400, "BadRequest")

    after = arm.get(job_path("jc", "j")).json()
    assert after == before
    assert after["properties"]["recurrence"]["interval"] == 2
    assert "schedule" not in after["properties"]["recurrence"]


def test_it_keeps_a_collection_after_a_refused_update(arm, jc):
    before = arm.get(collection_path("jc")).json()
    response = arm.put(
        collection_path("jc"),
        {"location": "westus", "properties": {"sku": {"name": "Platinum"}}},
    )
    message = assert_arm_error(response, 400, "BadRequest")
    assert "properties.sku.name" in message
    assert arm.get(collection_path("jc")).json() == before


def test_it_answers_not_found_in_the_arm_shape(arm, jc):
    assert_arm_error(arm.get(collection_path("nope")), 404, "ResourceNotFound")
    assert_arm_error(arm.get(job_path("jc", "nope")), 404, "ResourceNotFound")
    assert_arm_error(arm.get(job_path("nope", "j")), 404, "ResourceNotFound")
    assert_arm_error(arm.put(job_path("nope", "j"), _job()), 404, "ResourceNotFound")
    assert_arm_error(arm.delete(job_path("jc", "nope")), 404, "ResourceNotFound")
    assert_arm_error(arm.post(job_path("jc", "nope") + "/run"), 404, "ResourceNotFound")
    assert_arm_error(
        arm.get(job_path("jc", "nope") + "/history"), 404, "ResourceNotFound"
    )
    assert_arm_error(
        arm.post(collection_path("nope") + "/disable"), 404, "ResourceNotFound"
    )


def test_it_answers_wire_shapes_and_status_codes(arm, jc):
    created = arm.put(job_path("jc", "j"), _job(frequency="Week"))
    assert created.status_code == 201
    assert created.headers["Content-Type"].startswith("application/json")
    assert created.json()["name"] == "jc/j"
    assert arm.put(job_path("jc", "j"), _job(frequency="Week")).status_code == 200

    disabled = arm.post(collection_path("jc") + "/disable")
    assert disabled.status_code == 200
    assert arm.get(job_path("jc", "j")).json()["properties"]["state"] == "Disabled"
    assert arm.post(collection_path("jc") + "/enable").status_code == 200

    page = arm.get(collection_path("jc") + "/jobs", params={"$top": "1"}).json()
    assert [job["name"] for job in page["value"]] == ["jc/j"]
    assert not page.get("nextLink")

    assert arm.delete(job_path("jc", "j")).status_code == 200
    assert arm.delete(collection_path("jc")).status_code == 200
    assert arm.get(collection_path("jc")).status_code == 404


def test_it_refuses_a_quota_overrun_with_conflict(arm):
    free = {"location": "westus", "properties": {"sku": {"name": "Free"}}}
    assert arm.put(collection_path("free"), free).status_code == 201
    for number in range(5):
        assert arm.put(job_path("free", f"j{number}"), _job()).status_code == 201
    assert_arm_error(arm.put(job_path("free", "j5"), _job()), 409, "Conflict")
    response = arm.put(job_path("free", "often"), _job(frequency="Minute"))
    assert_arm_error(response, 409, "Conflict")
    assert arm.get(job_path("free", "j5")).status_code == 404


@pytest.mark.parametrize(
    "action",
    [
        {
            "type": "ServiceBusQueue",
            "serviceBusQueueMessage": {"queueName": "q", "namespace": "ns"},
        },
        {
            "type": "serviceBusTopic",
            "serviceBusTopicMessage": {"topicPath": "t", "namespace": "ns"},
        },
    ],
    ids=["queue", "topic"],
)
def test_it_refuses_service_bus_actions(arm, jc, action):
    body = _job()
    body["properties"]["action"] = action
    message = assert_arm_error(arm.put(job_path("jc", "j"), body), 400, "BadRequest")
    assert "properties.action.type" in message
    assert action["type"] in message
    assert arm.get(job_path("jc", "j")).status_code == 404


@pytest.mark.parametrize(
    "authentication",
    [
        {"type": "ClientCertificate", "pfx": "AAAA", "password": "pfx-secret"},
        {
            "type": "ActiveDirectoryOAuth",
            "tenant": "contoso.onmicrosoft.com",
            "audience": "https://management.core.windows.net/",
            "clientId": "client",
            "secret": "oauth-secret",
        },
    ],
    ids=["ClientCertificate", "ActiveDirectoryOAuth"],
)
def test_it_refuses_certificate_and_oauth_authentication(arm, jc, authentication):
    body = _job()
    body["properties"]["action"]["request"]["authentication"] = authentication
    response = arm.put(job_path("jc", "j"), body)
    message = assert_arm_error(response, 400, "BadRequest")
    assert "properties.action.request.authentication.type" in message
    assert authentication["type"] in message
    assert "secret" not in response.text  # the refusal echoes no secret
    assert arm.get(job_path("jc", "j")).status_code == 404
