"""No process outlives its run: a daemon a triggered job starts outside its
process group (`setsid sleep 97 &`) ends with the run, whoever started it (a
forked run monitor, or the instance's launcher)."""

from __future__ import annotations

import os
import time

import pytest

from jobs.processes import alive, cmdline
from jobs.strays import run_of
from tests.jobs.test_run_launcher import real_queue  # noqa: F401
from tests.scheduler_engine.test_launcher import launchers  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)

DAEMON = b"setsid sleep 97 &\necho started a daemon\n"
GUARD = 15.0  # generous for a loaded machine; the kill comes at the run's end


def daemons_of(name: str, run_id: str) -> list[int]:
    """Live `sleep 97` processes of this run."""
    found = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit() and cmdline(int(entry.name)) == ["sleep", "97"]:
            pid = int(entry.name)
            if run_of(pid) == (name, run_id) and alive(pid):
                found.append(pid)
    return found


def assert_no_daemon_left(name: str, run_id: str) -> None:
    deadline = time.monotonic() + GUARD
    while daemons_of(name, run_id):
        assert time.monotonic() < deadline, "the run's daemon outlived it"
        time.sleep(0.05)


def test_a_runs_daemon_ends_with_it_in_a_run_monitor(api):
    """Without a launcher (the inline queue here), a run monitor is forked."""
    api.deploy("daemonic", DAEMON, filename="run.sh")
    run = api.run_and_wait("daemonic")
    assert run["status"] == "Success"
    assert "started a daemon" in api.output(run)
    assert_no_daemon_left("daemonic", run["id"])


@pytest.mark.usefixtures("real_queue", "launchers")
def test_a_runs_daemon_ends_with_it_in_the_launcher(api):
    api.deploy("daemonic", DAEMON, filename="run.sh")
    run = api.run_and_wait("daemonic")
    assert run["status"] == "Success"
    assert_no_daemon_left("daemonic", run["id"])
    # A later run of the same job is not touched by the cleanup of the first.
    second = api.run("daemonic")
    assert second.status_code == 202
    assert api.wait(second["Location"])["status"] == "Success"
