"""Azure Scheduler clients pinned to the older api-versions (Microsoft's own
samples use 2016-01-01) get the same shapes as 2016-03-01."""

from __future__ import annotations

import pytest

from tests.scheduler_api.conftest import (
    assert_arm_error,
    collection_path,
    job_path,
    soon,
)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("version", ["2016-01-01", "2014-08-01-preview"])
def test_it_answers_the_older_api_versions_with_the_same_shapes(arm, version):
    body = {"location": "westus", "properties": {"sku": {"name": "Premium"}}}
    response = arm.put(collection_path("old"), body, api_version=version)
    assert response.status_code == 201, response.text
    # 2016-03-01 split the old Premium plan in two: it is read as P10Premium.
    assert response.json()["properties"]["sku"]["name"] == "P10Premium"
    job = {
        "properties": {
            "startTime": soon().isoformat().replace("+00:00", "Z"),
            "action": {
                "type": "Http",
                "request": {"uri": "http://127.0.0.1:9/x", "method": "GET"},
            },
        }
    }
    created = arm.put(job_path("old", "j"), job, api_version=version)
    assert created.status_code == 201, created.text
    same = arm.get(job_path("old", "j"), api_version="2016-03-01").json()
    assert created.json() == same
    listed = arm.get(collection_path("old") + "/jobs", api_version=version).json()
    assert [j["name"] for j in listed["value"]] == ["old/j"]
    assert (
        arm.post(collection_path("old") + "/disable", api_version=version).status_code
        == 200
    )
    assert arm.delete(collection_path("old"), api_version=version).status_code == 200


def test_it_names_the_versions_it_accepts(arm):
    response = arm.get(collection_path("x"), api_version="2015-01-01")
    message = assert_arm_error(response, 400, "InvalidApiVersionParameter")
    assert "2016-03-01, 2016-01-01, 2014-08-01-preview" in message
