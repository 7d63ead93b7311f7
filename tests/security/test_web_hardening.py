"""The web surface of a shared instance: forged hosts, guessed passwords,
cookies over HTTPS."""

from __future__ import annotations

import base64

import pytest
from django.test import Client
from django.urls import reverse

pytestmark = pytest.mark.django_db


def basic(username: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{username}:{password}".encode()).decode()
    return {"HTTP_AUTHORIZATION": f"Basic {token}"}


def test_it_refuses_a_forged_host_that_would_steer_the_urls_it_answers(api, client):
    api.deploy_fixture("hello", "hello.sh")
    forged = client.get(
        "/api/triggeredwebjobs/hello", HTTP_HOST="evil.example", **api.headers
    )
    assert forged.status_code == 400
    assert b"evil.example" not in forged.content
    honest = client.get(
        "/api/triggeredwebjobs/hello", HTTP_HOST="127.0.0.1:8000", **api.headers
    )
    assert honest.json()["url"] == "http://127.0.0.1:8000/api/triggeredwebjobs/hello"


def test_it_locks_out_repeated_wrong_passwords_on_basic_auth(client, user, settings):
    settings.AXES_FAILURE_LIMIT = 3
    for _ in range(2):
        wrong = client.get("/api/webjobs", **basic("deployer", "guess"))
        assert wrong.status_code == 401
    assert client.get("/api/webjobs", **basic("deployer", "guess")).status_code == 429
    locked = client.get("/api/webjobs", **basic("deployer", "s3cret-pass"))
    assert locked.status_code == 429  # the right password too, until the cool-off
    assert b"Too many failed logins" in locked.content
    # Another user from the same address is not locked out by it.
    client.get("/api/webjobs", **basic("someone-else", "x"))
    from django.core.management import call_command

    call_command("axes_reset_username", "deployer")
    assert (
        client.get("/api/webjobs", **basic("deployer", "s3cret-pass")).status_code
        == 200
    )


def test_it_locks_out_repeated_wrong_passwords_on_the_portal_login(
    client, user, settings
):
    settings.AXES_FAILURE_LIMIT = 3
    login = reverse("admin:login")
    for _ in range(2):
        page = client.post(login, {"username": "deployer", "password": "guess"})
        assert page.status_code == 200  # the form again, with its error
    assert (
        client.post(login, {"username": "deployer", "password": "guess"}).status_code
        == 429
    )
    right = client.post(login, {"username": "deployer", "password": "s3cret-pass"})
    assert right.status_code == 429
    assert "_auth_user_id" not in client.session


def test_it_marks_the_cookies_secure_only_over_https(client, user):
    login = reverse("admin:login")
    plain = Client().get(login)
    assert not plain.cookies["csrftoken"]["secure"]
    secure = client.get(login, secure=True)
    assert secure.cookies["csrftoken"]["secure"]
    token = secure.cookies["csrftoken"].value
    signed_in = client.post(
        login,
        {
            "username": "deployer",
            "password": "s3cret-pass",
            "csrfmiddlewaretoken": token,
        },
        secure=True,
    )
    assert signed_in.status_code == 302
    assert signed_in.cookies["sessionid"]["secure"]
