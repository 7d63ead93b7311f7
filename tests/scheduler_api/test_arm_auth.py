"""Who may call the ARM API: Django users by HTTP Basic or by API token (Bearer).

The SDK sends ``Authorization: Bearer <token>``; the tokens come from
``jobs.tokens.token_create`` or ``manage.py apitoken create USER``.
"""

from __future__ import annotations

import io

import pytest
from azure.core.exceptions import ClientAuthenticationError
from django.core.management import call_command

from tests.scheduler_api.conftest import (
    PASSWORD,
    PROVIDER,
    RG,
    SUB,
    USERNAME,
    assert_arm_error,
    collection_model,
    collection_path,
    job_path,
    make_sdk,
    soon,
)

pytestmark = pytest.mark.django_db(transaction=True)

LIST = f"/subscriptions/{SUB}/{PROVIDER}/jobCollections"
COLLECTION = {"location": "westus", "properties": {"sku": {"name": "Standard"}}}


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_it_refuses_anonymous_calls(arm):
    assert_arm_error(arm.get(LIST, auth=None), 401, "AuthenticationFailed")
    response = arm.put(collection_path("jc"), COLLECTION, auth=None)
    assert_arm_error(response, 401, "AuthenticationFailed")
    assert arm.get(collection_path("jc")).status_code == 404


def test_it_accepts_basic_auth_of_a_django_user(arm):
    assert arm.put(collection_path("jc"), COLLECTION).status_code == 201
    response = arm.get(LIST, auth=(USERNAME, PASSWORD))
    assert response.status_code == 200
    assert [jc["name"] for jc in response.json()["value"]] == ["jc"]


def test_it_refuses_a_wrong_password(arm):
    response = arm.get(LIST, auth=(USERNAME, "not-the-password"))
    assert_arm_error(response, 401, "AuthenticationFailed")
    response = arm.get(LIST, auth=("nobody", PASSWORD))
    assert_arm_error(response, 401, "AuthenticationFailed")


def test_it_accepts_a_bearer_token(arm, sdk, token):
    sdk.job_collections.create_or_update(RG, "jc", collection_model())
    response = arm.get(collection_path("jc"), auth=None, headers=_bearer(token))
    assert response.status_code == 200
    assert response.json()["name"] == "jc"


def test_it_refuses_a_wrong_token(arm, live_server, token):
    response = arm.get(LIST, auth=None, headers=_bearer(token + "x"))
    assert_arm_error(response, 401, "AuthenticationFailed")
    response = arm.get(LIST, auth=None, headers=_bearer("not-a-token"))
    assert_arm_error(response, 401, "AuthenticationFailed")
    with make_sdk(live_server.url, "not-a-token") as wrong:
        with pytest.raises(ClientAuthenticationError) as caught:
            wrong.job_collections.get(RG, "jc")
    assert caught.value.status_code == 401


def test_it_refuses_a_revoked_token(arm, sdk, token):
    from jobs.tokens import token_revoke

    sdk.job_collections.create_or_update(RG, "jc", collection_model())
    token_revoke(token=token)
    with pytest.raises(ClientAuthenticationError):
        sdk.job_collections.get(RG, "jc")
    response = arm.get(collection_path("jc"), auth=None, headers=_bearer(token))
    assert_arm_error(response, 401, "AuthenticationFailed")


def test_it_accepts_a_token_made_by_the_management_command(arm, user):
    out = io.StringIO()
    call_command("apitoken", "create", USERNAME, stdout=out)
    token = out.getvalue().split()[-1]
    response = arm.get(LIST, auth=None, headers=_bearer(token))
    assert response.status_code == 200, out.getvalue()


def test_it_never_returns_secrets(arm):
    assert arm.put(collection_path("jc"), COLLECTION).status_code == 201
    auth = {"type": "Basic", "username": "bob", "password": "hunter2-secret"}
    job = {
        "properties": {
            "startTime": soon().strftime("%Y-%m-%dT%H:%M:%SZ"),
            "action": {
                "type": "Http",
                "request": {
                    "uri": "http://127.0.0.1:9/main",
                    "method": "GET",
                    "authentication": auth,
                },
                "errorAction": {
                    "type": "Http",
                    "request": {
                        "uri": "http://127.0.0.1:9/error",
                        "method": "GET",
                        "authentication": auth,
                    },
                },
            },
        }
    }
    put = arm.put(job_path("jc", "j"), job)
    assert put.status_code == 201, put.text
    got = arm.get(job_path("jc", "j"))
    listed = arm.get(collection_path("jc") + "/jobs")
    for response in (put, got, listed):
        assert "hunter2-secret" not in response.text
    action = got.json()["properties"]["action"]
    for returned in (action["request"], action["errorAction"]["request"]):
        assert returned["authentication"]["type"] == "Basic"
        assert returned["authentication"]["username"] == "bob"
        assert not returned["authentication"].get("password")
