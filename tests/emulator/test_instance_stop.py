"""A stop always stops everything: `runinstance` ends every process of the
instance within its grace, however busy a child is, and when it is killed with
SIGKILL its processes die with it."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest
from django.db import connection

from config.env import database_to_url
from jobs.processes import alive, cmdline, descendants
from tests.helpers import make_zip
from tests.instance import (
    instance_env,
    instance_processes,
    runinstance,
)

pytestmark = pytest.mark.django_db(transaction=True)

GRACE = 8.0
LOOP = b"while true; do sleep 0.2; done\n"


def _wait(check, what, timeout: float) -> None:
    """Wait for check(); `what` (a string, or a function giving one at the
    timeout) says what was still wrong."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, what() if callable(what) else what
        time.sleep(0.1)


@pytest.fixture
def instance(tmp_path, api, settings):
    """A running instance (web, queue, engine, launcher, host) with a
    continuous job running; yields (its process, its root)."""
    root = settings.WEBJOBS_ROOT
    api.client.put(
        "/api/continuouswebjobs/spinner",
        data=make_zip({"run.sh": LOOP}),
        content_type="application/zip",
        HTTP_CONTENT_DISPOSITION='attachment; filename="spinner.zip"',
        **api.headers,
    )
    env = instance_env(
        DATABASE_URL=database_to_url(connection.settings_dict),
        WEBJOBS_SHUTDOWN_GRACE=str(GRACE),
        WEBSITE_INSTANCE_ID="stopper1",
        WEBJOBS_LAUNCHERS="1",
    )
    env.pop("REDIS_URL", None)

    def job_running() -> bool:
        return any("run.sh" in " ".join(cmdline(p)) for p in instance_processes(root))

    with runinstance(["--port", "0"], env, tmp_path / "instance.log") as proc:
        try:
            _wait(job_running, "the continuous job never started", 60)
            yield proc, root
        finally:  # a test that failed midway may have left some of it anywhere
            for pid in [*descendants(proc.pid), *instance_processes(root)]:
                for kill in (os.killpg, os.kill):
                    try:
                        kill(pid, signal.SIGKILL)
                    except (ProcessLookupError, PermissionError):
                        pass


def _busy(root: Path, command: str) -> int:
    """Stop a child (SIGSTOP): it now ignores SIGTERM, as a process busy in a
    long computation does not get to its stop flag."""
    [pid] = [p for p in instance_processes(root) if command in " ".join(cmdline(p))]
    os.kill(pid, signal.SIGSTOP)
    return pid


def test_a_stop_ends_every_process_within_the_grace_even_a_busy_one(instance):
    proc, root = instance
    busy = [_busy(root, "runscheduler"), _busy(root, "runlauncher")]
    started = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=4 * GRACE) == 0
    # The children together, not one after the other: one grace, not one per
    # busy child (with a loaded machine's margin).
    assert time.monotonic() - started < 1.6 * GRACE
    assert not any(alive(p) for p in busy)
    assert instance_processes(root) == []


def test_a_kill_9_of_runinstance_takes_every_process_of_the_instance_along(instance):
    proc, root = instance
    before = instance_processes(root)
    assert len(before) >= 6  # web, its workers, queue, engine, launcher, host, job
    _busy(root, "runscheduler")
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()

    def left() -> list[int]:
        """One condition, waited for: a process in the middle of its exit has
        already lost its environment (instance_processes no longer finds it)
        but is not a zombie yet, for a moment."""
        return sorted({*instance_processes(root), *filter(alive, before)})

    _wait(
        lambda: left() == [],
        lambda: f"left behind: {[cmdline(p) for p in left()]}",
        GRACE + 30,
    )
