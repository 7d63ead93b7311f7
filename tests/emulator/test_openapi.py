"""GET /api/openapi.json: the OpenAPI 3 description of every API route
(emulator/openapi/), for a login."""

from __future__ import annotations

import pytest

from tests.security.test_every_route_guarded import ROUTES

pytestmark = pytest.mark.django_db


@pytest.fixture
def description(api) -> dict:
    response = api.get("/api/openapi.json")
    assert response.status_code == 200
    return response.json()


def operations(description: dict):
    for path, methods in description["paths"].items():
        for method, operation in methods.items():
            yield path, method, operation


def test_it_asks_for_a_login(client):
    response = client.get("/api/openapi.json")
    assert response.status_code == 401
    assert response.content == b"Authentication credentials were not provided."


def test_it_describes_every_api_route_and_its_aliases(description):
    assert description["openapi"].startswith("3.")
    paths = description["paths"]
    for path in (
        "/api/triggeredwebjobs/{name}/run",
        "/api/jobs/triggered/{name}/run",  # Kudu's old alias
        "/vfs/data/jobs/{kind}/{name}/{run_id}/output_log.txt",
        "/api/zipdeploy",
        "/api/emulator/clock",
        "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Scheduler"
        "/jobCollections/{jc}/jobs/{job}/history",
        "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Web/sites"
        "/{site}/triggeredwebjobs/{name}/run",
    ):
        assert path in paths, path
    methods = sum(len(m) for m in paths.values())
    assert methods >= len(ROUTES)  # every API route, each with one method at least


def test_it_describes_what_each_operation_takes_and_answers(description):
    deploy = description["paths"]["/api/triggeredwebjobs/{name}"]["put"]
    assert [p["name"] for p in deploy["parameters"]] == ["name", "Content-Disposition"]
    assert set(deploy["requestBody"]["content"]) == {
        "application/octet-stream",
        "application/zip",
    }
    assert deploy["responses"]["400"]["content"] == {
        "text/plain": {"schema": {"type": "string"}}
    }
    schemas = description["components"]["schemas"]
    assert {"start_time", "end_time", "output_url", "trigger"} <= set(
        schemas["KuduRun"]["properties"]
    )
    job = schemas["SchedulerJobRequest"]["properties"]["properties"]["properties"]
    assert set(job["action"]["properties"]["request"]["properties"]) >= {
        "uri",
        "method",
        "headers",
        "body",
    }
    assert schemas["ArmError"]["required"] == ["error"]


def test_its_links_lead_to_operations_it_describes(description):
    ids = {operation["operationId"] for _, _, operation in operations(description)}
    chain = description["paths"]["/api/triggeredwebjobs/{name}"]["put"]
    assert set(chain["responses"]["200"]["links"]) == {"GetJob", "RunJob"}
    for _, _, operation in operations(description):
        for response in operation["responses"].values():
            for link in response.get("links", {}).values():
                assert link["operationId"] in ids
