"""Kudu's deprecated aliases of the triggered-jobs routes, which older clients
still call: each serves deploy, list, run, history and settings as
/api/triggeredwebjobs does."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize(
    "prefix", ["/api/triggeredjobs", "/jobs/triggered", "/api/jobs/triggered"]
)
def test_an_alias_serves_the_triggered_routes(api, prefix):
    deployed = api.client.put(
        f"{prefix}/aliased",
        data=b"echo via alias\n",
        content_type="application/octet-stream",
        HTTP_CONTENT_DISPOSITION='attachment; filename="run.sh"',
        **api.headers,
    )
    assert deployed.status_code == 200, deployed.content
    assert deployed.json()["name"] == "aliased"
    assert [job["name"] for job in api.get(prefix).json()] == ["aliased"]
    assert api.get(f"{prefix}/aliased").json()["run_command"] == "run.sh"

    response = api.post(f"{prefix}/aliased/run")
    assert response.status_code == 202
    run = api.wait(response["Location"])
    assert run["status"] == "Success"
    assert "via alias" in api.output(run)
    history = api.get(f"{prefix}/aliased/history").json()
    assert [r["id"] for r in history["runs"]] == [run["id"]]
    assert api.get(f"{prefix}/aliased/history/{run['id']}").json()["id"] == run["id"]

    settings = api.client.put(
        f"{prefix}/aliased/settings",
        data=json.dumps({"stopping_wait_time": 7}),
        content_type="application/json",
        **api.headers,
    )
    assert settings.status_code == 200
    assert api.get(f"{prefix}/aliased/settings").json() == {"stopping_wait_time": 7}
    assert api.get("/api/triggeredwebjobs/aliased/settings").json() == {
        "stopping_wait_time": 7
    }
