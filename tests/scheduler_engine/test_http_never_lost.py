"""Http actions are never lost: a total deadline per call, and a call whose queue
worker is killed midway is concluded once (history, counters, error action)."""

from __future__ import annotations

import os
import signal
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.db import connection
from django.utils import timezone

from config.clock import clock_now, clock_refresh
from config.env import database_to_url
from scheduler.engine import engine_step
from scheduler.models import Attempt, JobHistory
from scheduler.services import job_put
from tests.instance import instance_env
from tests.scheduler_engine.conftest import new_collection

pytestmark = pytest.mark.django_db(transaction=True)


class Slow:
    """A loopback server: `/trickle` sends its status line, then a header byte
    every 0.3 s, never ending its headers; `/hang` never answers; `/ok` answers
    at once. It counts calls per path."""

    def __init__(self) -> None:
        self.calls: dict[str, int] = {}
        self.seen = threading.Event()
        self.release = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                server.calls[self.path] = server.calls.get(self.path, 0) + 1
                server.seen.set()
                if self.path == "/hang":
                    server.release.wait(120)
                    return
                if self.path == "/trickle":
                    self.wfile.write(b"HTTP/1.1 200 OK\r\nX-Slow: ")
                    while not server.release.wait(0.3):
                        try:
                            self.wfile.write(b"z")
                            self.wfile.flush()
                        except OSError:
                            return
                    return
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"fine")

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def slow():
    server = Slow()
    yield server
    server.close()


@pytest.fixture
def collection(db):
    """The collection at the clock's current time (real time: not moved)."""
    clock_refresh()
    return new_collection()


def one_time_job(collection, uri: str, error_uri: str | None = None):
    action = {
        "type": "Http",
        "request": {"uri": uri, "method": "GET"},
        "retryPolicy": {"retryType": "None"},
    }
    if error_uri:
        action["errorAction"] = {
            "type": "Http",
            "request": {"uri": error_uri, "method": "GET"},
            "retryPolicy": {"retryType": "None"},
        }
    job, _ = job_put(
        collection=collection, name="call", body={"properties": {"action": action}}
    )
    return job


def test_a_server_that_trickles_its_headers_is_cut_off_at_the_deadline(
    collection, slow, settings
):
    settings.SCHEDULER_HTTP_TIMEOUT = 2
    job = one_time_job(collection, f"{slow.url}/trickle")
    started = time.monotonic()
    engine_step(clock_now())  # the queue runs inline in tests
    took = time.monotonic() - started
    assert took < 2 + 5, f"the call took {took:.1f} s"  # not until the server stops
    entry = JobHistory.objects.get(job=job)
    assert entry.status == "Failed"
    assert "no complete response within 2 s" in entry.message
    job.refresh_from_db()
    assert (job.execution_count, job.failure_count) == (1, 1)


def test_a_delivery_while_the_call_is_under_way_does_not_conclude_it(collection, slow):
    from scheduler.actions import attempt_execute

    job = one_time_job(collection, f"{slow.url}/ok")
    attempt = Attempt.objects.create(
        job=job,
        expected_time=clock_now(),
        due_at=clock_now(),
        status=Attempt.Status.RUNNING,
        claimed_at=timezone.now(),
    )
    assert attempt_execute(attempt.pk) == "in progress"
    attempt.refresh_from_db()
    assert attempt.status == Attempt.Status.RUNNING
    assert not JobHistory.objects.filter(job=job).exists()


@pytest.fixture
def real_queue(monkeypatch):
    """Enqueue for real (tests elsewhere run queue tasks inline)."""
    from django_q.conf import Conf

    monkeypatch.setattr(Conf, "SYNC", False)


def test_a_call_whose_worker_is_killed_midway_is_concluded_once(
    collection, slow, settings, processes, tmp_path, real_queue
):
    timing = {"SCHEDULER_HTTP_TIMEOUT": "3", "SCHEDULER_RESEND_AFTER": "1"}
    settings.SCHEDULER_HTTP_TIMEOUT, settings.SCHEDULER_RESEND_AFTER = 3, 1
    env = instance_env(DATABASE_URL=database_to_url(connection.settings_dict), **timing)
    cluster = processes.qcluster(env, log=tmp_path / "qcluster-1.log")
    job = one_time_job(collection, f"{slow.url}/hang", error_uri=f"{slow.url}/ok")
    engine_step(clock_now())
    assert slow.seen.wait(30), "the call never reached the server"
    os.killpg(cluster.pid, signal.SIGKILL)  # the worker dies mid-call
    cluster.wait()
    processes.procs.remove(cluster)
    [attempt] = Attempt.objects.filter(job=job)
    assert attempt.status == Attempt.Status.RUNNING

    processes.qcluster(env, log=tmp_path / "qcluster-2.log")
    deadline = time.monotonic() + 60
    while slow.calls.get("/ok", 0) < 1 or Attempt.objects.exclude(status="Done"):
        assert time.monotonic() < deadline, list(Attempt.objects.values())
        engine_step(clock_now())  # the outbox finds it once its lease is over
        time.sleep(0.3)
    time.sleep(1)  # a second conclusion, if there were one, would be in by now
    entries = {
        (e.action_name, e.status): e
        for e in JobHistory.objects.filter(job=job).order_by("pk")
    }
    assert sorted(entries) == [("ErrorAction", "Completed"), ("MainAction", "Failed")]
    assert JobHistory.objects.filter(job=job).count() == 2
    assert "was interrupted" in entries["MainAction", "Failed"].message
    job.refresh_from_db()
    counters = (job.execution_count, job.failure_count, job.faulted_count)
    assert counters == (1, 1, 1)
    assert slow.calls == {"/hang": 1, "/ok": 1}


def test_it_warns_when_the_queue_timeout_would_cut_an_http_call(settings):
    from config.checks import check_queue_timeout

    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "timeout": 60}
    [warning] = check_queue_timeout(None)
    assert warning.id == "emulator.W003"
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "timeout": 120}
    assert check_queue_timeout(None) == []
