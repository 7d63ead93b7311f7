"""Who may do what, on every surface: each route family × each role.

Roles are the groups of `manage.py roles` (emulator/roles.py) plus a user with
no permission, a superuser, anonymous callers and an expired token. A refused
call answers 401 (who are you?) or 403 (you may not), in its API family's body,
and changes nothing: not the database, not the files under WEBJOBS_ROOT.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from datetime import timedelta

import pytest
from django.urls import reverse

from config.clock import clock_now, clock_refresh
from config.models import EmulatorClock
from emulator.roles import role_grant
from history.models import Run
from jobs.models import WebJob
from jobs.tokens import token_create
from scheduler.models import Attempt, Job, JobCollection
from tests.helpers import FIXTURES, make_zip

pytestmark = pytest.mark.django_db(transaction=True)

SUB, RG = "sub-matrix", "rg"
ARM = f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.Scheduler"
V = "?api-version=2016-03-01"
HTTP_ACTION = {"type": "Http", "request": {"uri": "http://127.0.0.1:9/x"}}


def _job_body() -> dict:
    """A daily job starting tomorrow: nothing fires during the test."""
    start = (clock_now() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    props = {
        "action": HTTP_ACTION,
        "startTime": start,
        "recurrence": {"frequency": "Day"},
    }
    return _json({"properties": props})


LOOP = b"while true; do sleep 0.2; done\n"
ROLES = (
    "anonymous",
    "expired token",
    "no permission",
    "reader",
    "operator",
    "admin",
    "superuser",
)


def _clock_target() -> str:
    return (clock_now() + timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _script(data: bytes, filename: str) -> dict:
    return {
        "data": data,
        "content_type": "application/octet-stream",
        "HTTP_CONTENT_DISPOSITION": f'attachment; filename="{filename}"',
    }


def _json(body) -> dict:
    return {"data": json.dumps(body), "content_type": "application/json"}


# (name, family, method, path or a callable making it, request kwargs, who may)
# Families: kudu and vfs answer plain text, arm and clock ARM's error body,
# portal is the admin (a redirect when done).
CALLS = [
    ("list WebJobs", "kudu", "get", "/api/triggeredwebjobs", {}, "reader"),
    ("get a WebJob", "kudu", "get", "/api/triggeredwebjobs/hello", {}, "reader"),
    ("its history", "kudu", "get", "/api/triggeredwebjobs/hello/history", {}, "reader"),
    (
        "its settings",
        "kudu",
        "get",
        "/api/triggeredwebjobs/hello/settings",
        {},
        "reader",
    ),
    (
        "deploy a new WebJob",
        "kudu",
        "put",
        "/api/triggeredwebjobs/fresh",
        _script(b"echo fresh\n", "run.sh"),
        "admin",
    ),
    (
        "redeploy a WebJob",
        "kudu",
        "put",
        "/api/triggeredwebjobs/hello",
        _script((FIXTURES / "hello.sh").read_bytes(), "hello.sh"),
        "operator",
    ),
    (
        "put its settings",
        "kudu",
        "put",
        "/api/triggeredwebjobs/hello/settings",
        _json({"stopping_wait_time": 7}),
        "operator",
    ),
    ("run it", "kudu", "post", "/api/triggeredwebjobs/hello/run", {}, "operator"),
    (
        "get a continuous job",
        "kudu",
        "get",
        "/api/continuouswebjobs/loop",
        {},
        "reader",
    ),
    ("stop it", "kudu", "post", "/api/continuouswebjobs/loop/stop", {}, "operator"),
    ("start it", "kudu", "post", "/api/continuouswebjobs/loop/start", {}, "operator"),
    ("a run's log", "vfs", "get", lambda: _run_log_path(), {}, "reader"),
    (
        "a continuous job's log",
        "vfs",
        "get",
        "/vfs/data/jobs/continuous/loop/job_log.txt",
        {},
        "reader",
    ),
    ("list collections", "arm", "get", f"{ARM}/jobCollections{V}", {}, "reader"),
    (
        "create a collection",
        "arm",
        "put",
        f"{ARM}/jobCollections/newjc{V}",
        _json({"location": "west"}),
        "admin",
    ),
    (
        "replace a collection",
        "arm",
        "put",
        f"{ARM}/jobCollections/jc{V}",
        _json({"location": "west", "properties": {"state": "Enabled"}}),
        "operator",
    ),
    (
        "disable it",
        "arm",
        "post",
        f"{ARM}/jobCollections/jc/disable{V}",
        {},
        "operator",
    ),
    ("enable it", "arm", "post", f"{ARM}/jobCollections/jc/enable{V}", {}, "operator"),
    ("list jobs", "arm", "get", f"{ARM}/jobCollections/jc/jobs{V}", {}, "reader"),
    ("get a job", "arm", "get", f"{ARM}/jobCollections/jc/jobs/ping{V}", {}, "reader"),
    (
        "a job's history",
        "arm",
        "get",
        f"{ARM}/jobCollections/jc/jobs/ping/history{V}",
        {},
        "reader",
    ),
    (
        "create a job",
        "arm",
        "put",
        f"{ARM}/jobCollections/jc/jobs/newjob{V}",
        _job_body,
        "admin",
    ),
    (
        "replace a job",
        "arm",
        "put",
        f"{ARM}/jobCollections/jc/jobs/ping{V}",
        _job_body,
        "operator",
    ),
    (
        "run a job",
        "arm",
        "post",
        f"{ARM}/jobCollections/jc/jobs/ping/run{V}",
        {},
        "operator",
    ),
    ("read the clock", "clock", "get", "/api/emulator/clock", {}, "no permission"),
    (
        "move the clock",
        "clock",
        "put",
        "/api/emulator/clock",
        lambda: _json({"now": _clock_target()}),
        "admin",
    ),
    (
        "run from the portal",
        "portal",
        "post",
        lambda: reverse("admin:jobs_webjob_run", args=[_pk(WebJob, name="hello")]),
        {"data": {"arguments": ""}},
        "operator",
    ),
    (
        "stop from the portal",
        "portal",
        "post",
        lambda: reverse("admin:jobs_webjob_stop", args=[_pk(WebJob, name="loop")]),
        {},
        "operator",
    ),
    (
        "run a job from the portal",
        "portal",
        "post",
        lambda: reverse("admin:scheduler_job_run_now", args=[_pk(Job, name="ping")]),
        {},
        "operator",
    ),
    # Last: what they remove is gone for the rows after them.
    (
        "delete a job",
        "arm",
        "delete",
        f"{ARM}/jobCollections/jc/jobs/ping{V}",
        {},
        "admin",
    ),
    ("delete a WebJob", "kudu", "delete", "/api/triggeredwebjobs/hello", {}, "admin"),
]
OK = {"get": {200}, "put": {200, 201}, "post": {200, 202, 302}, "delete": {200, 302}}


def _pk(model, **lookup) -> int:
    return model.objects.get(**lookup).pk


def _run_log_path() -> str:
    run = Run.objects.order_by("pk").first()
    return f"/vfs/data/jobs/triggered/hello/{run.run_id}/output_log.txt"


def _may(role: str, needed: str) -> bool:
    order = ("no permission", "reader", "operator", "admin", "superuser")
    if role in ("anonymous", "expired token"):
        return False
    return role == "superuser" or order.index(role) >= order.index(needed)


def _state(root) -> str:
    """Everything a call could change, as one fingerprint."""
    clock_refresh()
    rows = [
        list(
            WebJob.objects.order_by("pk").values_list(
                "kind", "name", "revision", "settings", "is_stopped"
            )
        ),
        Run.objects.count(),
        list(
            JobCollection.objects.order_by("pk").values_list(
                "name", "state", "location"
            )
        ),
        list(Job.objects.order_by("pk").values_list("name", "state", "action")),
        Attempt.objects.count(),
        list(EmulatorClock.objects.values_list("offset_seconds", flat=True)),
    ]
    files = sorted(
        (str(p.relative_to(root)), p.stat().st_size)
        for p in (root / "site").rglob("*")
        if p.is_file()
    )
    return hashlib.sha256(json.dumps([rows, files], default=str).encode()).hexdigest()


def _wait_runs_final(timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while Run.objects.filter(status__in=["Initializing", "Running"]).exists():
        assert time.monotonic() < deadline, "a run did not end"
        time.sleep(0.05)


def _refusal(family: str, role: str, response) -> None:
    anonymous = role in ("anonymous", "expired token")
    if family == "portal":
        if anonymous or role == "no permission":  # not staff: to the login page
            assert response.status_code == 302
            assert "/admin/login/" in response["Location"]
        else:
            assert response.status_code == 403
        return
    assert response.status_code == (401 if anonymous else 403), response.content
    if family in ("arm", "clock") and not anonymous:
        assert response.json()["error"]["code"] == "AuthorizationFailed"
    elif family in ("kudu", "vfs") and not anonymous:
        assert response["Content-Type"].startswith("text/plain")
        assert b"may not do this" in response.content


@pytest.fixture
def world(api, settings, django_user_model):
    """A triggered job with a run, a stopped continuous job with a log, a
    collection with a job; and a client per role."""
    api.deploy_fixture("hello", "hello.sh")
    api.wait(api.run("hello")["Location"])
    api.client.put(
        "/api/continuouswebjobs/loop",
        data=make_zip({"run.sh": LOOP, "disable.job": ""}),
        content_type="application/zip",
        HTTP_CONTENT_DISPOSITION='attachment; filename="loop.zip"',
        **api.headers,
    )
    log = WebJob.objects.get(name="loop").data_dir / "job_log.txt"
    log.write_text(
        "[12/06/2026 00:00:00 > abcdef: SYS INFO] Status changed to Stopped\n"
    )
    assert (
        api.client.put(
            f"{ARM}/jobCollections/jc{V}", **_json({"location": "west"}), **api.headers
        ).status_code
        == 201
    )
    assert (
        api.client.put(
            f"{ARM}/jobCollections/jc/jobs/ping{V}", **_job_body(), **api.headers
        ).status_code
        == 201
    )
    users = {}
    for role in ("no permission", "reader", "operator", "admin"):
        name = role.replace(" ", "-")
        users[role] = django_user_model.objects.create_user(name, password="pw-" + name)
        if role != "no permission":
            role_grant(username=name, role=role)
    users["superuser"] = django_user_model.objects.create_superuser(
        "superuser", password="pw-superuser"
    )
    token, row = token_create(user=users["admin"], lifetime=timedelta(minutes=1))
    row.expires_at = row.created_at - timedelta(seconds=1)
    row.save(update_fields=["expires_at"])
    return users, token, settings.WEBJOBS_ROOT


def _headers(role: str, users, token) -> dict:
    if role == "anonymous":
        return {}
    if role == "expired token":
        return {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    name = role.replace(" ", "-")
    basic = base64.b64encode(f"{name}:pw-{name}".encode()).decode()
    return {"HTTP_AUTHORIZATION": f"Basic {basic}"}


@pytest.mark.parametrize("role", ROLES)
def test_each_role_may_do_exactly_what_its_permissions_say(client, world, role):
    users, token, root = world
    if role in users:
        client.force_login(users[role])  # the portal's session, beside Basic
    headers = _headers(role, users, token)
    for name, family, method, path, kwargs, needed in CALLS:
        path = path() if callable(path) else path
        kwargs = kwargs() if callable(kwargs) else kwargs
        before = _state(root)
        response = getattr(client, method)(path, **kwargs, **headers)
        if _may(role, needed):
            assert response.status_code in OK[method], (name, response.content)
            _wait_runs_final()
        else:
            _refusal(family, role, response)
            assert _state(root) == before, f"{name}: refused, yet something changed"
