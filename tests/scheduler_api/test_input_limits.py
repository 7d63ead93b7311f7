"""Azure Scheduler's input limits, and 4xx for every hostile value (issue 16).

Names by Azure's rules, an Http action's request within Azure's limits (URL
2,048, body 8,192, 50 headers, 4,096 header characters, no line break in a
header), and numbers, dates and durations range-checked before use: each is a
400 naming what to fix, never a 500, and the instance keeps serving.
"""

from __future__ import annotations

import pytest

from tests.scheduler_api.conftest import (
    UNUSED_URI,
    assert_arm_error,
    collection_path,
    job_path,
    soon,
)

pytestmark = pytest.mark.django_db(transaction=True)

COLLECTION = {"location": "westus", "properties": {"sku": {"name": "Standard"}}}
BIG = "9" * 5000  # past Python's int-from-string limit (4,300 digits)


def job(request: dict | None = None, **props) -> dict:
    action = {"type": "Http", "request": {"uri": UNUSED_URI, "method": "GET"}}
    action["request"].update(request or {})
    body = {"properties": {"startTime": soon().strftime("%Y-%m-%dT%H:%M:%SZ")}}
    body["properties"]["action"] = action
    body["properties"].update(props)
    return body


@pytest.fixture
def jc(arm) -> str:
    assert arm.put(collection_path("jc"), COLLECTION).status_code == 201
    return "jc"


def still_serving(arm) -> None:
    assert arm.get(collection_path("jc")).status_code == 200
    assert arm.get(collection_path("jc") + "/jobs").status_code == 200


@pytest.mark.parametrize(
    "name", ["<img src=x>", "x" * 1000, "9lives", "a.b", "a b", "x" * 101]
)
def test_it_refuses_collection_and_job_names_outside_azures_rule(arm, jc, name):
    from urllib.parse import quote

    rule = "1 to 100 characters, a letter first, then letters, digits, '-' or '_'"
    response = arm.put(collection_path(quote(name, safe="")), COLLECTION)
    assert rule in assert_arm_error(response, 400, "BadRequest")
    response = arm.put(job_path("jc", quote(name, safe="")), job())
    assert rule in assert_arm_error(response, 400, "BadRequest")
    assert arm.get(collection_path("jc") + "/jobs").json()["value"] == []
    still_serving(arm)


def test_it_takes_a_name_of_100_characters(arm, jc):
    name = "a" + "-_9" * 33
    assert len(name) == 100
    assert arm.put(job_path("jc", name), job()).status_code == 201
    assert arm.put(collection_path(name), COLLECTION).status_code == 201


def test_it_refuses_a_resource_group_outside_azures_rule(arm):
    path = collection_path("jc", rg="r" * 91)
    message = assert_arm_error(arm.put(path, COLLECTION), 400, "BadRequest")
    assert "1 to 90" in message


@pytest.mark.parametrize(
    ("request_part", "expected"),
    [
        ({"uri": "http://127.0.0.1:9/" + "a" * 2048}, "Azure Scheduler allows 2,048"),
        ({"body": "b" * 8193}, "Azure Scheduler allows 8,192"),
        ({"headers": {f"h{i}": "v" for i in range(51)}}, "allows 50"),
        ({"headers": {"h": "v" * 4096}}, "4,096 in all"),
        ({"headers": {"X-Token": "a\r\nX-Evil: 1"}}, "holds a line break"),
        ({"headers": {"X-Token": "a\nb"}}, "holds a line break"),
        ({"headers": {"X\r\nEvil": "1"}}, "is not an HTTP header name"),
        ({"uri": "http://127.0.0.1:9/a b"}, "spaces or control characters"),
    ],
    ids=["url", "body", "50 headers", "header size", "CRLF", "LF", "name", "space"],
)
def test_it_refuses_an_http_request_past_azures_limits(arm, jc, request_part, expected):
    response = arm.put(job_path("jc", "j"), job(request_part))
    assert expected in assert_arm_error(response, 400, "BadRequest")
    assert arm.get(job_path("jc", "j")).status_code == 404


def test_it_takes_a_request_at_azures_limits(arm, jc):
    request = {
        "uri": "http://127.0.0.1:9/" + "a" * (2048 - len("http://127.0.0.1:9/")),
        "body": "b" * 8192,
        "headers": {f"h{i:02d}": "v" * 77 for i in range(50)},
    }
    assert arm.put(job_path("jc", "j"), job(request)).status_code == 201


@pytest.mark.parametrize(
    ("props", "field"),
    [
        ({"startTime": "0001-01-01T00:00:00+01:00"}, "properties.startTime"),
        (
            {
                "recurrence": {
                    "frequency": "Hour",
                    "endTime": "9999-12-31T23:00:00-05:00",
                }
            },
            "endTime",
        ),
        ({"recurrence": {"frequency": "Hour", "endTime": "1000-01-01"}}, "endTime"),
        (
            {"recurrence": {"frequency": "Hour", "count": 2**31}},
            "properties.recurrence.count",
        ),
    ],
    ids=["start in year 0", "end in year 10000", "end before 1900", "count past int32"],
)
def test_it_refuses_dates_and_numbers_out_of_range(arm, jc, props, field):
    response = arm.put(job_path("jc", "j"), job(**props))
    assert field in assert_arm_error(response, 400, "BadRequest")
    still_serving(arm)


def test_it_refuses_a_retry_interval_past_what_a_duration_holds(arm, jc):
    body = job()
    body["properties"]["action"]["retryPolicy"] = {
        "retryType": "Fixed",
        "retryInterval": "PT999999999999H",
    }
    message = assert_arm_error(arm.put(job_path("jc", "j"), body), 400, "BadRequest")
    assert "retryInterval 'PT999999999999H' is out of range" in message


@pytest.mark.parametrize(
    "data",
    [
        '{"properties": {"recurrence": {"frequency": "Hour", "count": ' + BIG + "}}}",
        '{"location": ' + BIG + "}",
        "[" * 10_000,
    ],
    ids=["5000-digit count", "5000-digit location", "deep nesting"],
)
def test_it_refuses_json_python_cannot_read_with_400(arm, jc, data):
    for path in (job_path("jc", "j"), collection_path("other")):
        response = arm.put(path, data=data)
        assert "JSON" in assert_arm_error(response, 400, "BadRequest")
    still_serving(arm)


@pytest.mark.parametrize(
    "value", ["99999999999999999999999", "-1", "1_0", BIG, "2147483648"]
)
def test_it_refuses_a_skip_out_of_range(arm, jc, value):
    response = arm.get(collection_path("jc") + "/jobs", params={"$skip": value})
    assert "$skip must be a whole number" in assert_arm_error(
        response, 400, "BadRequest"
    )


@pytest.mark.parametrize(
    "quota",
    [
        {"maxJobOccurrence": 2**31},
        {"maxRecurrence": {"frequency": "Hour", "interval": 2**40}},
    ],
    ids=["maxJobOccurrence", "maxRecurrence.interval"],
)
def test_it_refuses_quota_numbers_past_int32(arm, jc, quota):
    body = {"location": "westus", "properties": {"sku": {"name": "Standard"}}}
    body["properties"]["quota"] = quota
    message = assert_arm_error(arm.put(collection_path("jc"), body), 400, "BadRequest")
    assert "from 1 to 2147483647" in message


@pytest.mark.parametrize(
    "body",
    [
        {"location": "x" * 101},
        {"location": "westus", "tags": {"t": "v" * 257}},
        {"location": "westus", "tags": {f"t{i}": "v" for i in range(51)}},
    ],
    ids=["location", "tag value", "51 tags"],
)
def test_it_refuses_what_the_collection_columns_cannot_hold(arm, jc, body):
    body["properties"] = {"sku": {"name": "Standard"}}
    assert_arm_error(arm.put(collection_path("jc"), body), 400, "BadRequest")
    assert arm.get(collection_path("jc")).json()["location"] == "westus"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            {"location": "westus", "tags": {"t": "a\x00b"}},
            "tags.t contains a NUL character (\\u0000), which cannot be stored.",
        ),
        (
            {"location": "westus", "tags": {"t\udb4a": "v"}},
            "tags key 't\\udb4a' contains an unpaired surrogate (\\udb4a), which "
            "is not text.",
        ),
    ],
    ids=["NUL", "lone surrogate"],
)
def test_it_refuses_text_the_database_cannot_store_naming_where(arm, jc, body, message):
    body["properties"] = {"sku": {"name": "Standard"}}
    response = arm.put(collection_path("jc"), body)
    assert assert_arm_error(response, 400, "BadRequest") == message
    assert arm.get(collection_path("jc")).json()["tags"] == {}


def test_it_refuses_an_action_the_database_cannot_store(arm, jc):
    response = arm.put(job_path("jc", "nul"), job(request={"body": "a\x00"}))
    assert assert_arm_error(response, 400, "BadRequest") == (
        "properties.action.request.body contains a NUL character (\\u0000), "
        "which cannot be stored."
    )
    assert arm.get(job_path("jc", "nul")).status_code == 404
