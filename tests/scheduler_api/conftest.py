"""Fixtures for black-box tests of the ARM Microsoft.Scheduler API (2016-03-01).

The tests talk HTTP to pytest-django's live server, through the unmodified
azure-mgmt-scheduler 7.0.0 SDK (``sdk``) or plain requests (``arm``), as a user
of the emulator would. ``target`` is a tiny HTTP server the jobs' Http actions
call, so a run can be observed from the outside.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests
from azure.core.pipeline.policies import SansIOHTTPPolicy
from azure.mgmt.scheduler import SchedulerManagementClient
from azure.mgmt.scheduler.models import (
    HttpRequest,
    JobAction,
    JobCollectionDefinition,
    JobCollectionProperties,
    JobDefinition,
    JobProperties,
    Sku,
)

SUB = "9a6f2c1e-0000-4000-8000-00000000c0de"
RG = "emulator-rg"
API_VERSION = "2016-03-01"
PROVIDER = "providers/Microsoft.Scheduler"
USERNAME = "deployer"  # tests/conftest.py's `user`
PASSWORD = "s3cret-pass"
# An address nobody listens on: jobs whose action must never be called.
UNUSED_URI = "http://127.0.0.1:9/never-called"


def collection_path(jc: str, *, rg: str = RG, sub: str = SUB) -> str:
    return f"/subscriptions/{sub}/resourceGroups/{rg}/{PROVIDER}/jobCollections/{jc}"


def job_path(jc: str, job: str) -> str:
    return f"{collection_path(jc)}/jobs/{job}"


def parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def at(text: str) -> datetime:
    """``at("2030-01-15T10:03:00Z")``: an aware UTC datetime, as the SDK returns."""
    return parse_time(text).astimezone(UTC)


# --- the clock -------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _fresh_clock_cache():
    """config.clock caches the offset per process for a second; a test's flush
    deletes the clock row, so drop the cache of the previous test's offset.
    """
    from config.clock import clock_refresh

    clock_refresh()
    yield
    clock_refresh()


@dataclass
class Clock:
    base: str

    def get(self) -> requests.Response:
        return requests.get(
            f"{self.base}/api/emulator/clock", auth=(USERNAME, PASSWORD), timeout=30
        )

    def put(self, body: Any, *, raw: bool = False) -> requests.Response:
        data = body if raw else json.dumps(body)
        return requests.put(
            f"{self.base}/api/emulator/clock",
            data=data,
            headers={"Content-Type": "application/json"},
            auth=(USERNAME, PASSWORD),
            timeout=30,
        )

    def now(self) -> datetime:
        response = self.get()
        assert response.status_code == 200, response.text
        return parse_time(response.json()["now"])

    def set(self, instant: str) -> datetime:
        """Move the emulated clock forward to ``instant`` (ISO 8601, UTC)."""
        response = self.put({"now": instant})
        assert response.status_code == 200, response.text
        now = parse_time(response.json()["now"])
        assert abs(now - parse_time(instant)) < timedelta(seconds=2), response.text
        return now


@pytest.fixture
def clock(live_server, user) -> Clock:
    return Clock(live_server.url)


# --- clients ---------------------------------------------------------------------


class BearerPolicy(SansIOHTTPPolicy):
    """Sends ``Authorization: Bearer <token>`` over plain http (reference §3.3):
    the SDK's own BearerTokenCredentialPolicy refuses non-TLS URLs.
    """

    def __init__(self, token: str) -> None:
        super().__init__()
        self.token = token

    def on_request(self, request) -> None:
        request.http_request.headers["Authorization"] = f"Bearer {self.token}"


def make_sdk(base_url: str, token: str) -> SchedulerManagementClient:
    return SchedulerManagementClient(
        credential=object(),
        subscription_id=SUB,
        base_url=base_url,
        authentication_policy=BearerPolicy(token),
        # A product 5xx must fail the test now, not after minutes of retries.
        retry_total=0,
        polling_interval=0,
        read_timeout=30,
    )


@pytest.fixture
def token(user) -> str:
    from jobs.tokens import token_create

    return token_create(user=user, name="sdk")[0]


@pytest.fixture
def sdk(live_server, token) -> Iterator[SchedulerManagementClient]:
    client = make_sdk(live_server.url, token)
    yield client
    client.close()


@dataclass
class Arm:
    """Raw ARM calls with requests: HTTP Basic as the test user by default."""

    base: str
    auth: Any = (USERNAME, PASSWORD)

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        data: str | bytes | None = None,
        api_version: str | None = API_VERSION,
        params: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        auth: Any = "default",
    ) -> requests.Response:
        query = dict(params or {})
        if api_version is not None:
            query["api-version"] = api_version
        sent_headers = {"Accept": "application/json"}
        if body is not None or data is not None:
            sent_headers["Content-Type"] = "application/json"
            data = json.dumps(body) if data is None else data
        sent_headers.update(headers or {})
        return requests.request(
            method,
            self.base + path,
            params=query,
            data=data,
            headers=sent_headers,
            auth=self.auth if auth == "default" else auth,
            timeout=30,
        )

    def get(self, path: str, **kwargs) -> requests.Response:
        return self.call("GET", path, **kwargs)

    def put(self, path: str, body: Any = None, **kwargs) -> requests.Response:
        return self.call("PUT", path, body, **kwargs)

    def patch(self, path: str, body: Any = None, **kwargs) -> requests.Response:
        return self.call("PATCH", path, body, **kwargs)

    def post(self, path: str, **kwargs) -> requests.Response:
        return self.call("POST", path, **kwargs)

    def delete(self, path: str, **kwargs) -> requests.Response:
        return self.call("DELETE", path, **kwargs)


@pytest.fixture
def arm(live_server, user) -> Arm:
    return Arm(live_server.url)


def assert_arm_error(response: requests.Response, status: int, code: str) -> str:
    """The ARM error shape; returns the message for the caller's own checks."""
    assert response.status_code == status, (response.status_code, response.text)
    body = response.json()
    assert set(body) == {"error"}, body
    assert body["error"]["code"] == code, body
    message = body["error"]["message"]
    assert isinstance(message, str) and message.strip(), body
    return message


# --- building resources ----------------------------------------------------------


def collection_model(sku: str = "Standard") -> JobCollectionDefinition:
    return JobCollectionDefinition(
        location="westus", properties=JobCollectionProperties(sku=Sku(name=sku))
    )


def http_action(uri: str = UNUSED_URI, **request: Any) -> JobAction:
    return JobAction(type="Http", request=HttpRequest(uri=uri, method="GET", **request))


def soon() -> datetime:
    """A start a month ahead of real time, whole seconds.

    A job without a start time runs "once immediately" (reference §2.2), which
    would call its action behind a test's back; a start ahead keeps it quiet.
    """
    return (datetime.now(UTC) + timedelta(days=30)).replace(microsecond=0)


def job_model(
    *,
    action: JobAction | None = None,
    start_time: datetime | None = None,
    recurrence=None,
    state: str | None = None,
) -> JobDefinition:
    return JobDefinition(
        properties=JobProperties(
            start_time=start_time or soon(),
            action=action or http_action(),
            recurrence=recurrence,
            state=state,
        )
    )


def status_code(pipeline_response, deserialized, headers):
    """``cls=`` for SDK calls: (HTTP status, model)."""
    return pipeline_response.http_response.status_code, deserialized


def wait_for_history(
    sdk: SchedulerManagementClient, jc: str, job: str, count: int, timeout=15.0
) -> list:
    """History entries (newest first) once there are ``count`` of them."""
    deadline = time.monotonic() + timeout
    while True:
        entries = list(sdk.jobs.list_job_history(RG, jc, job))
        if len(entries) >= count:
            return entries
        if time.monotonic() > deadline:
            raise AssertionError(f"{len(entries)} history entries, wanted {count}")
        time.sleep(0.05)


# --- the target of Http actions --------------------------------------------------


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Target:
    """Answers each path with its queued (status, body) replies, the last one
    repeating; unknown paths get 404. Records every request it sees.
    """

    server: ThreadingHTTPServer | None = None
    replies: dict[str, list[tuple[int, bytes]]] = field(default_factory=dict)
    seen: list[Seen] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}{path}"

    def reply(self, path: str, *replies: tuple[int, str | bytes]) -> str:
        with self.lock:
            self.replies[path] = [
                (status, body if isinstance(body, bytes) else body.encode())
                for status, body in replies
            ]
        return self.url(path)

    def next_reply(self, path: str) -> tuple[int, bytes]:
        with self.lock:
            queue = self.replies.get(path)
            if not queue:
                return 404, b"no such path"
            return queue.pop(0) if len(queue) > 1 else queue[0]


@pytest.fixture
def target() -> Iterator[Target]:
    state = Target()

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            path = self.path.split("?", 1)[0]
            with state.lock:
                state.seen.append(Seen(self.command, path, dict(self.headers), body))
            status, reply = state.next_reply(path)
            self.send_response(status)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _answer

        def log_message(self, format, *args) -> None:
            pass

    state.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=state.server.serve_forever, daemon=True)
    thread.start()
    yield state
    state.server.shutdown()
    state.server.server_close()
    thread.join(timeout=5)


def basic_header(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()
