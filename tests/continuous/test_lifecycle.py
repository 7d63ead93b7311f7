"""One host (`manage.py runhost`) keeping continuous jobs running: start, output,
stop and start through the API, restart after an exit, a crash loop, a redeploy,
WEBJOBS_STOPPED. Real processes; statuses as a user reads them."""

from __future__ import annotations

import time

import pytest

from jobs.processes import alive
from tests.continuous.conftest import (
    PY_LOOP,
    SH_LOOP,
    host_log,
    job_groups,
    job_log,
    wait_for,
)

pytestmark = pytest.mark.django_db(transaction=True)

FAST_STOP = {"stopping_wait_time": 1}
CHATTY = 'for i in $(seq 1 250); do echo "line $i"; done\n' + SH_LOOP
ONCE = 'echo "did my work, exiting"\n'
CRASH = 'echo "boom"\nexit 3\n'


def test_it_runs_sh_and_py_workers_stops_and_starts_them(
    cont, start_host, portal, tmp_path
):
    cont.deploy("shworker", "run.sh", CHATTY, FAST_STOP)
    cont.deploy("pyworker", "worker.py", PY_LOOP, FAST_STOP)
    start_host("hostA1")
    for name in ("shworker", "pyworker"):
        body = cont.wait_status(name, "Running")
        assert body["status"] == "Running"
        assert body["detailed_status"] == "hostA1 - Running\n"
    wait_for(lambda: "tick 3" in job_log("shworker", "output_log.txt"), "shell output")
    wait_for(lambda: "py tick" in job_log("pyworker"), "the python worker's output")
    log = job_log("shworker")
    assert "SYS INFO] Run script 'run.sh' with script host - 'BashScriptHost'" in log
    assert "hostA1: INFO] started shworker on hostA1" in job_log(
        "shworker", "output_log.txt"
    )
    assert "> hostA1: SYS INFO] Status changed to Running" in log
    # Kudu keeps 200 output lines of a launch in job_log.txt; output_log.txt all.
    assert "INFO] line 200\n" in log and "line 201" not in log
    assert "SYS WARN] Reached maximum allowed output lines for this run" in log
    assert "INFO] line 250\n" in job_log("shworker", "output_log.txt")
    page = portal.get("/admin/jobs/webjob/").content.decode()
    assert "hostA1 - Running" in page

    groups = job_groups("pyworker")
    assert len(groups) == 1
    cont.stop("pyworker")
    cont.wait_status("pyworker", "Stopped")
    wait_for(lambda: not job_groups("pyworker"), "the python worker to end")
    log = job_log("pyworker")
    assert "INFO] python worker: shutdown file seen, exiting cleanly" in log
    assert "Process exited with code 0 after the shutdown notification" in log
    assert "killing" not in log
    assert cont.get("shworker")["status"] == "Running"  # the other one runs on

    cont.start("pyworker")
    cont.wait_status("pyworker", "Running")
    wait_for(lambda: job_log("pyworker").count("python worker up") == 2, "restart")
    assert len(job_groups("pyworker")) == 1
    assert "Traceback" not in host_log(tmp_path, "hostA1")


def test_it_restarts_a_job_that_exits_after_the_restart_time(cont, start_host):
    cont.deploy("once", "run.sh", ONCE)
    cont.deploy("crash", "run.sh", CRASH)
    host = start_host("hostA1")
    started = time.monotonic()
    wait_for(
        lambda: job_log("crash").count("Job failed due to exit code 3") >= 3,
        "three exits of the crashing job",
    )
    elapsed = time.monotonic() - started
    log = job_log("crash")
    launches = log.count("Status changed to Running")
    exits = log.count("SYS ERR ] Job failed due to exit code 3")
    waits = log.count("SYS INFO] Process went down, waiting for 1 seconds")
    assert exits >= 3 and waits >= exits - 1 and launches >= exits
    # Each relaunch waits WEBJOBS_RESTART_TIME (1 s): no busy loop.
    assert launches <= elapsed / 1.0 + 1, (launches, elapsed)
    # The restart wait shows as PendingRestart between the launches.
    assert "Status changed to PendingRestart" in log
    wait_for(
        lambda: cont.detailed("crash") == "hostA1 - PendingRestart\n",
        "PendingRestart in the API",
    )
    # A job exiting 0 is restarted too, and its log says how it ended.
    wait_for(lambda: job_log("once").count("did my work") >= 2, "a relaunch")
    log = job_log("once")
    assert "SYS INFO] Process exited with code 0" in log
    assert "Process went down, waiting for 1 seconds" in log
    assert host.poll() is None


def test_it_restarts_the_job_with_the_new_package_on_redeploy(cont, start_host):
    cont.deploy("worker", "run.sh", 'echo "version one"\n' + SH_LOOP, FAST_STOP)
    start_host("hostA1")
    wait_for(lambda: "version one" in job_log("worker"), "version one")
    first = job_groups("worker")
    cont.deploy("worker", "run.sh", 'echo "version two"\n' + SH_LOOP, FAST_STOP)
    wait_for(lambda: "version two" in job_log("worker"), "version two")
    log = job_log("worker")
    assert "Detected WebJob file/s were updated, refreshing WebJob" in log
    assert log.index("version one") < log.index("Status changed to Stopping")
    assert log.index("Status changed to Stopping") < log.index("version two")
    wait_for(
        lambda: job_groups("worker") and not job_groups("worker") & first,
        "the new copy",
    )
    assert len(job_groups("worker")) == 1
    assert not any(alive(pid) for pid in first)


def test_it_keeps_every_job_stopped_under_webjobs_stopped(cont, start_host):
    cont.deploy("worker", "run.sh", SH_LOOP, FAST_STOP)
    start_host("hostS1", WEBJOBS_STOPPED="1")
    cont.wait_status("worker", "Stopped")
    assert job_groups("worker") == set()
    assert "Status changed to Stopped" in job_log("worker")
    assert "Status changed to Running" not in job_log("worker")


@pytest.fixture
def portal(client, user):
    client.force_login(user)
    return client
