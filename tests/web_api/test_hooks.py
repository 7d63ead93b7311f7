"""Kudu's web hooks: a subscriber on loopback gets the run's JSON when a
triggered run ends; a failed delivery is retried through a django-q2 schedule."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from django_q.models import Schedule
from django_q.scheduler import scheduler

from jobs.models import WebHook
from tests.web_api.conftest import Kudu, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def subscribe(kudu: Kudu, url: str, event: str = "TriggeredJobFinished"):
    return kudu.call("POST", "/api/hooks", json={"url": url, "event": event})


def test_it_posts_the_runs_json_to_a_subscriber_when_a_run_ends(kudu, target):
    url = target.reply("/hook", (200, "thanks"))
    response = subscribe(kudu, url)
    assert response.status_code == 201
    hook = response.json()
    assert (hook["event"], hook["url"], hook["insecure_ssl"]) == (
        "TriggeredJobFinished",
        url,
        False,
    )
    assert (
        subscribe(kudu, url.upper().replace("HTTP", "http")).json()["id"] == hook["id"]
    )
    assert subscribe(kudu, url, "PostDeployment").status_code == 409
    assert kudu.get("/api/hooks").json()[0]["id"] == hook["id"]

    kudu.deploy("triggered", "hello", 'echo "hello hooks"\n')
    run = kudu.run_and_wait("hello")
    [seen] = wait_for(lambda: list(target.seen), "the hook's POST")
    assert seen.method == "POST" and seen.path == "/hook"
    assert seen.headers["Content-Type"] == "application/json; charset=utf-8"
    posted = json.loads(seen.body)
    assert posted["id"] == run["id"] and posted["status"] == "Success"
    assert posted["job_name"] == "hello" and posted["url"] == run["url"]
    assert "error_url" not in posted  # Kudu's serializer leaves out nulls

    read = wait_for(
        lambda: (
            kudu.get(f"/api/hooks/{hook['id']}").json()["last_status"] == "OK"
            and kudu.get(f"/api/hooks/{hook['id']}").json()
        ),
        "the delivery to be recorded",
    )
    assert json.loads(read["last_context"])["id"] == run["id"]

    assert kudu.call("DELETE", f"/api/hooks/{hook['id']}").status_code == 200
    assert kudu.get("/api/hooks").json() == []
    assert kudu.get(f"/api/hooks/{hook['id']}").status_code == 404


def test_it_retries_a_failed_delivery_through_a_django_q_schedule(kudu, target):
    url = target.reply("/flaky", (500, "boom"), (200, "ok now"))
    hook_id = subscribe(kudu, url).json()["id"]
    kudu.deploy("triggered", "hello", 'echo "hello hooks"\n')
    run = kudu.run_and_wait("hello")

    retry = wait_for(lambda: Schedule.objects.first(), "the retry's schedule")
    assert retry.func == "jobs.webhooks.hook_deliver"
    assert retry.next_run - timezone.now() > timedelta(seconds=5)  # 10 s ahead
    hook = WebHook.objects.get(pk=hook_id)
    assert (hook.last_status, hook.last_reason) == (
        "InternalServerError",
        "Internal Server Error",
    )

    Schedule.objects.update(next_run=timezone.now() - timedelta(seconds=1))
    scheduler()  # what the cluster does about every 15 s; the queue is inline here
    bodies = [json.loads(seen.body)["id"] for seen in target.seen]
    assert bodies == [run["id"], run["id"]]
    assert WebHook.objects.get(pk=hook_id).last_status == "OK"
    assert not Schedule.objects.exists()


def test_it_drops_a_subscription_the_subscriber_says_is_gone(kudu, target):
    url = target.reply("/gone", (410, "gone"))
    subscribe(kudu, url)
    kudu.deploy("triggered", "hello", "echo hi\n")
    kudu.run_and_wait("hello")
    wait_for(lambda: not WebHook.objects.exists(), "the hook to be removed")
    assert not Schedule.objects.exists()


def test_it_refuses_bad_subscriptions_and_users_without_the_permission(
    kudu, live_server, target
):
    response = subscribe(kudu, "not a url")
    assert response.status_code == 400 and "absolute http(s) URL" in response.text
    response = subscribe(kudu, target.url("/x"), "SomethingElse")
    assert response.status_code == 400 and "TriggeredJobFinished" in response.text

    User.objects.create_user("viewer", password="viewer-pass")
    viewer = Kudu(live_server.url, auth=("viewer", "viewer-pass"))
    response = subscribe(viewer, target.url("/x"))
    assert response.status_code == 403
    assert "jobs.add_webhook" in response.text
    assert viewer.get("/api/hooks").status_code == 403
    assert not WebHook.objects.exists()


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (
            "http://ci/" + "x" * 1991,
            "url is 2001 characters; the limit is 2000.",
        ),
        (
            "http://ci/a\x00b",
            "url contains a NUL character (\\u0000), which cannot be stored.",
        ),
    ],
    ids=["too long", "NUL"],
)
def test_it_refuses_an_address_its_column_cannot_hold(kudu, url, message):
    response = subscribe(kudu, url)
    assert response.status_code == 400
    assert response.text == message
    assert kudu.get("/api/hooks").json() == []
