"""Every refusal in its API family's shape (emulator/errors.py): Kudu's plain
text, ARM's {"error": {"code", "message"}} (the emulator's own API too), never
DRF's {"detail": ...} or an HTML page, whatever refuses."""

from __future__ import annotations

import pytest

from tests.security.test_web_hardening import basic

pytestmark = pytest.mark.django_db

SITE = (
    "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Web/sites/webjobs-emulator"
)
COLLECTION = (
    "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Scheduler/jobCollections/jc"
)


def arm_error(response, status: int, code: str) -> str:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert set(body) == {"error"} and body["error"]["code"] == code, body
    return body["error"]["message"]


def kudu_error(response, status: int) -> str:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    return response.content.decode()


def test_it_answers_a_method_a_kudu_route_lacks_with_kudus_405(api):
    response = api.client.patch("/api/triggeredwebjobs/hello/run", **api.headers)
    assert kudu_error(response, 405) == 'Method "PATCH" not allowed.'
    assert response["Allow"] == "POST, OPTIONS"


@pytest.mark.parametrize(
    "path",
    [
        f"{SITE}/triggeredwebjobs/hello/run?api-version=2024-04-01",
        f"{COLLECTION}/jobs/j/run?api-version=2016-03-01",
    ],
    ids=["Microsoft.Web", "Microsoft.Scheduler"],
)
def test_it_answers_a_method_an_arm_route_lacks_with_405_not_403(api, path):
    # A 403 said a permission was missing that nobody can have.
    response = api.client.patch(path, **api.headers)
    assert arm_error(response, 405, "MethodNotAllowed") == (
        'Method "PATCH" not allowed.'
    )


def test_it_answers_a_method_the_clock_lacks_in_arms_shape(api):
    response = api.post("/api/emulator/clock")
    assert arm_error(response, 405, "MethodNotAllowed") == (
        'Method "POST" not allowed.'
    )


def test_it_answers_a_path_no_route_matches_in_the_familys_shape(api):
    kudu = api.get("/api/triggeredwebjobs/a/b/c/d")
    assert kudu_error(kudu, 404) == "No route '/api/triggeredwebjobs/a/b/c/d' here."
    own = api.get("/api/emulator/nothing")
    assert arm_error(own, 404, "ResourceNotFound") == (
        "No route '/api/emulator/nothing' here."
    )


def test_it_answers_a_lock_out_in_kudus_shape(client, user, settings):
    settings.AXES_FAILURE_LIMIT = 2
    client.get("/api/webjobs", **basic("deployer", "guess"))
    locked = client.get("/api/webjobs", **basic("deployer", "guess"))
    assert kudu_error(locked, 429).startswith("Too many failed logins")


def test_it_answers_an_anonymous_call_to_the_clock_in_arms_shape(client, db):
    response = client.get("/api/emulator/clock")
    assert arm_error(response, 401, "AuthenticationFailed") == (
        "Authentication credentials were not provided."
    )
    assert response["WWW-Authenticate"].startswith("Basic")


def test_it_answers_options_to_a_login_without_a_permission_check(api):
    # It describes the route (DRF's metadata); it used to ask for a permission
    # nobody is given ("none declared for this method").
    response = api.client.options("/api/triggeredwebjobs/hello/run", **api.headers)
    assert response.status_code == 200
    assert response.json()["name"] == "Triggered Run"
