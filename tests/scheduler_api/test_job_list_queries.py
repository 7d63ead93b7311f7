"""The ARM job list of a collection reads a page of jobs in as many queries for
a full collection as for a near-empty one."""

from __future__ import annotations

import base64
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from config.clock import clock_now
from scheduler.services import collection_put, job_put
from tests.scheduler_api.conftest import API_VERSION, collection_path

pytestmark = pytest.mark.django_db

WHERE = {"subscription_id": "s1", "resource_group": "rg"}


def add_jobs(collection, first: int, count: int) -> None:
    start = (clock_now() + timedelta(days=1)).isoformat()
    for i in range(first, first + count):
        job_put(
            collection=collection,
            name=f"job{i:03d}",
            body={
                "properties": {
                    "startTime": start,
                    "action": {
                        "type": "Http",
                        "request": {"uri": "http://127.0.0.1:9/", "method": "GET"},
                    },
                    "recurrence": {"frequency": "Hour", "interval": 1},
                }
            },
        )


def list_queries(client) -> tuple[int, dict]:
    token = base64.b64encode(b"deployer:s3cret-pass").decode()
    url = f"{collection_path('c', rg='rg', sub='s1')}/jobs?api-version={API_VERSION}"
    headers = {"HTTP_AUTHORIZATION": f"Basic {token}"}
    client.get(url, **headers)  # the credentials' cache, warm
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, **headers)
    assert response.status_code == 200, response.content
    return len(captured.captured_queries), response.json()


def test_it_lists_a_collections_jobs_in_a_fixed_number_of_queries(client, user):
    collection, _ = collection_put(
        **WHERE, name="c", body={"properties": {"sku": {"name": "P20Premium"}}}
    )
    add_jobs(collection, 0, 2)
    few, body = list_queries(client)
    assert len(body["value"]) == 2
    add_jobs(collection, 2, 148)
    many, body = list_queries(client)
    assert many == few
    assert len(body["value"]) == 100 and "nextLink" in body  # a page of 100
    assert body["value"][0]["name"] == "c/job000"
