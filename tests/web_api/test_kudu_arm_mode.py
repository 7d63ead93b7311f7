"""Kudu's routes as ARM calls them (x-ms-geo-location, the ARM URL as Referer),
the small Kudu routes that were missing, and the refusals of the new routes."""

from __future__ import annotations

import pytest
import requests
from django.contrib.auth.models import Permission, User

from jobs.tokens import token_create
from tests.web_api.conftest import Kudu, site, site_path

pytestmark = pytest.mark.django_db(transaction=True)

ARM = {"x-ms-geo-location": "West US"}


def test_it_wraps_kudus_answers_in_the_arm_envelope(kudu):
    kudu.deploy("triggered", "hello", "echo hi\n")
    run = kudu.run_and_wait("hello")
    referer = f"https://management.azure.com{site_path()}/triggeredwebjobs/hello"

    job = kudu.get(
        "/api/triggeredwebjobs/hello",
        headers={**ARM, "Referer": referer + "?api-version=2025-05-01"},
    ).json()
    assert job["id"] == f"{site_path()}/triggeredwebjobs/hello"
    assert job["name"] == f"{site()}/hello"
    assert job["type"] == "Microsoft.Web/sites/triggeredwebjobs"
    assert job["location"] == "West US"
    assert job["properties"]["name"] == "hello"
    assert job["properties"]["latest_run"]["id"] == run["id"]

    history = kudu.get(
        "/api/triggeredwebjobs/hello/history",
        headers={**ARM, "Referer": referer + "/history"},
    ).json()
    [entry] = history["value"]
    assert entry["id"] == f"{site_path()}/triggeredwebjobs/hello/history/{run['id']}"
    assert entry["type"] == "Microsoft.Web/sites/triggeredwebjobs/history"
    assert entry["properties"]["status"] == "Success"

    # Without a Referer the id is the request's path and there is no type.
    listed = kudu.get("/api/webjobs", headers=ARM).json()
    assert listed["value"][0]["id"] == "/api/webjobs/hello"
    assert listed["value"][0]["type"] is None
    # Without the header, Kudu's own shapes.
    assert kudu.get("/api/webjobs").json()[0]["name"] == "hello"

    response = kudu.call("POST", "/api/triggeredwebjobs/hello/run", headers=ARM)
    assert response.status_code == 200  # not 202 in ARM mode
    kudu.wait_run(response.headers["Location"])


def test_it_sets_settings_with_an_arm_put(kudu):
    kudu.deploy("triggered", "hello", "echo hi\n")
    body = {"properties": {"settings": {"schedule": "0 0 5 * * *"}}}
    response = kudu.call("PUT", "/api/triggeredwebjobs/hello", json=body, headers=ARM)
    assert response.status_code == 200 and response.content == b""
    assert kudu.get("/api/triggeredwebjobs/hello/settings").json() == {
        "schedule": "0 0 5 * * *"
    }
    response = kudu.call(
        "PUT", "/api/triggeredwebjobs/hello", json={"settings": {}}, headers=ARM
    )
    assert response.status_code == 400
    assert "properties" in response.text
    response = kudu.call("PUT", "/api/triggeredwebjobs/nope", json=body, headers=ARM)
    assert response.status_code == 404


def test_it_serves_the_scheduler_log_the_vfs_alias_and_the_portal_page(kudu):
    kudu.deploy("triggered", "hello", "echo hi\n")
    kudu.call(
        "PUT",
        "/api/triggeredwebjobs/hello/settings",
        json={"schedule": "0 0 5 * * *"},
    )
    job = kudu.get("/api/triggeredwebjobs/hello").json()
    log = kudu.get(job["scheduler_logs_url"])
    assert log.status_code == 200
    assert "Scheduling WebJob with 0 0 5 * * *" in log.text
    run = kudu.run_and_wait("hello")
    alias = run["output_url"].replace("/vfs/", "/api/vfs/")
    assert kudu.get(alias).text == kudu.get(run["output_url"]).text
    assert kudu.get("/api/vfs/data/jobs/triggered/hello/job_scheduler.log").ok

    page = requests.get(job["extra_info_url"], timeout=30)
    assert page.status_code == 200 and "location.hash" in page.text
    moved = requests.get(
        f"{kudu.base}/azurejobs/jobs/triggered/hello",
        allow_redirects=False,
        timeout=30,
    )
    assert moved.status_code == 302
    assert moved.headers["Location"].startswith("/admin/jobs/webjob/")
    gone = requests.get(f"{kudu.base}/azurejobs/jobs/triggered/nope", timeout=30)
    assert gone.status_code == 404


def test_it_refuses_the_arm_routes_to_users_without_the_permission(kudu, live_server):
    kudu.deploy("triggered", "hello", "echo hi\n")
    viewer = User.objects.create_user("viewer", password="viewer-pass")
    viewer.user_permissions.add(Permission.objects.get(codename="view_webjob"))
    token = token_create(user=viewer, name="viewer")[0]
    headers = {"Authorization": f"Bearer {token}"}
    params = {"api-version": "2025-05-01"}
    base = f"{live_server.url}{site_path()}/triggeredwebjobs/hello"

    assert requests.get(base, params=params, headers=headers, timeout=30).ok
    for method, path, needed in (
        ("POST", "/run", "jobs.run_webjob"),
        ("DELETE", "", "jobs.delete_webjob"),
    ):
        response = requests.request(
            method, base + path, params=params, headers=headers, timeout=30
        )
        assert response.status_code == 403
        error = response.json()["error"]
        assert error["code"] == "AuthorizationFailed"
        assert needed in error["message"]
        assert "Microsoft.Web/sites/triggeredwebjobs" in error["message"]
    response = requests.post(
        f"{live_server.url}{site_path()}/continuouswebjobs/w/stop",
        params=params,
        headers=headers,
        timeout=30,
    )
    assert response.status_code == 403
    assert "jobs.change_webjob" in response.json()["error"]["message"]
    assert kudu.get("/api/triggeredwebjobs/hello").ok  # nothing was deleted

    limited = Kudu(live_server.url, auth=("viewer", "viewer-pass"))
    response = limited.call(
        "PUT",
        "/api/triggeredwebjobs/hello",
        json={"properties": {"settings": {}}},
        headers=ARM,
    )
    assert response.status_code == 403
    assert response.headers["Content-Type"].startswith("text/plain")
    assert "jobs.change_webjob" in response.text
