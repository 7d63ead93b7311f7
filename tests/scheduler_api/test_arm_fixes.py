"""Regressions found while reviewing the ARM API against the reference."""

from __future__ import annotations

from datetime import timedelta

import pytest
import requests

from tests.scheduler_api.conftest import soon

pytestmark = pytest.mark.django_db(transaction=True)

V = "api-version=2016-03-01"


@pytest.fixture
def base(live_server, user):
    provider = "providers/Microsoft.Scheduler"
    return f"{live_server.url}/subscriptions/s1/resourceGroups/rg/{provider}"


AUTH = ("deployer", "s3cret-pass")


def put(url, body):
    return requests.put(url, json=body, auth=AUTH, timeout=30)


def iso(moment) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def minutely(start=None):
    start = start or iso(soon())
    return {
        "properties": {
            "startTime": start,
            "action": {"type": "Http", "request": {"uri": "http://127.0.0.1:9/"}},
            "recurrence": {"frequency": "Minute", "interval": 1},
        }
    }


def test_it_validates_a_patched_start_against_the_existing_end(base):
    put(f"{base}/jobCollections/c?{V}", {"properties": {"sku": {"name": "Standard"}}})
    start = soon()
    body = minutely(iso(start))
    body["properties"]["recurrence"]["endTime"] = iso(start + timedelta(days=150))
    assert put(f"{base}/jobCollections/c/jobs/j?{V}", body).status_code == 201
    patched = requests.patch(
        f"{base}/jobCollections/c/jobs/j?{V}",
        auth=AUTH,
        timeout=30,
        json={"properties": {"startTime": iso(start + timedelta(days=180))}},
    )
    assert patched.status_code == 400
    assert "properties.recurrence.endTime" in patched.json()["error"]["message"]


def test_it_refuses_a_downgrade_to_free_that_the_jobs_do_not_fit(base):
    put(f"{base}/jobCollections/c?{V}", {"properties": {"sku": {"name": "Standard"}}})
    put(f"{base}/jobCollections/c/jobs/j?{V}", minutely())
    response = put(
        f"{base}/jobCollections/c?{V}", {"properties": {"sku": {"name": "Free"}}}
    )
    assert response.status_code == 409
    assert "recurs more often" in response.json()["error"]["message"]
    again = requests.get(f"{base}/jobCollections/c?{V}", auth=AUTH, timeout=30).json()
    assert again["properties"]["sku"]["name"] == "Standard"


def test_it_refuses_a_quota_above_the_plan(base):
    response = put(
        f"{base}/jobCollections/f?{V}",
        {"properties": {"sku": {"name": "Free"}, "quota": {"maxJobCount": 100}}},
    )
    assert response.status_code == 400
    assert "properties.quota.maxJobCount" in response.json()["error"]["message"]


def test_it_answers_unknown_paths_and_lower_case_segments_as_arm(base, live_server):
    lower = base.replace("resourceGroups", "resourcegroups")
    put(f"{base}/jobCollections/c?{V}", {"properties": {"sku": {"name": "Standard"}}})
    assert (
        requests.get(f"{lower}/jobCollections/c?{V}", auth=AUTH, timeout=30).status_code
        == 200
    )
    missing = requests.get(
        f"{base}/jobCollections/c/nothing?{V}", auth=AUTH, timeout=30
    )
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "ResourceNotFound"


def test_it_does_not_show_a_next_execution_for_a_disabled_job(base):
    put(f"{base}/jobCollections/c?{V}", {"properties": {"sku": {"name": "Standard"}}})
    body = minutely()
    body["properties"]["state"] = "Disabled"
    job = put(f"{base}/jobCollections/c/jobs/j?{V}", body).json()
    assert "nextExecutionTime" not in job["properties"]["status"]


def test_it_refuses_a_job_over_16000_characters(base):
    put(f"{base}/jobCollections/c?{V}", {"properties": {"sku": {"name": "Standard"}}})
    body = minutely()
    body["properties"]["action"]["request"]["body"] = "x" * 16_100
    response = put(f"{base}/jobCollections/c/jobs/j?{V}", body)
    assert response.status_code == 400
    assert "16,000" in response.json()["error"]["message"]


def test_it_answers_a_wrong_method_with_an_arm_code(base):
    put(f"{base}/jobCollections/c?{V}", {"properties": {"sku": {"name": "Standard"}}})
    response = requests.post(f"{base}/jobCollections/c?{V}", auth=AUTH, timeout=30)
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "MethodNotAllowed"
