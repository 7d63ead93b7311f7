"""Graceful stop: WEBJOBS_SHUTDOWN_FILE, stopping_wait_time, then the group is
killed; the host's own SIGTERM stops its jobs that way, and the desired state
survives a host restart. Aborted triggered runs get the shutdown file too."""

from __future__ import annotations

import os
import signal

import pytest
from django.conf import settings as django_settings

from jobs.models import InstanceStatus
from jobs.processes import alive
from tests.continuous.conftest import (
    SH_LOOP,
    host_log,
    job_groups,
    job_log,
    wait_for,
)

pytestmark = pytest.mark.django_db(transaction=True)
ROOT = django_settings.WEBJOBS_ROOT


def data_dir(name: str):
    return ROOT / "data" / "jobs" / "continuous" / name


# Ignores the shutdown file, and leaves a background child in its group.
STUBBORN = """\
sleep 300 &
echo $! > "$WEBJOBS_DATA_PATH/child.pid"
echo "stubborn up"
while true; do sleep 0.2; done
"""


def test_it_kills_a_job_that_ignores_the_shutdown_file_after_the_wait(cont, start_host):
    cont.deploy("stubborn", "run.sh", STUBBORN, {"stopping_wait_time": 1})
    start_host("hostA1")
    cont.wait_status("stubborn", "Running")
    child_file = data_dir("stubborn") / "child.pid"
    child = int(
        wait_for(lambda: child_file.exists() and child_file.read_text(), "child.pid")
    )
    cont.stop("stubborn")
    cont.wait_status("stubborn", "Stopped")
    log = job_log("stubborn")
    assert "Status changed to Stopping" in log
    assert (
        "SYS INFO] Stopping: shutdown notification written to WEBJOBS_SHUTDOWN_FILE; "
        "waiting up to 1 seconds (stopping_wait_time)" in log
    )
    assert (
        "SYS WARN] Process did not exit within stopping_wait_time (1 seconds); "
        "killing its process group" in log
    )
    assert log.rstrip().endswith("Status changed to Stopped")
    assert not alive(child), "the job's background child goes with its group"
    assert job_groups("stubborn") == set()


def test_host_sigterm_stops_jobs_gracefully_and_a_new_host_keeps_the_states(
    cont, start_host, processes, tmp_path
):
    cont.deploy("keeper", "run.sh", SH_LOOP)  # default stopping_wait_time: 5 s
    cont.deploy("paused", "run.sh", SH_LOOP)
    cont.stop("paused")
    host = start_host("hostA1")
    cont.wait_status("keeper", "Running")
    cont.wait_status("paused", "Stopped")
    shutdown_dir = ROOT / "temp" / "JobsShutdown" / "continuous" / "keeper"
    assert shutdown_dir.is_dir() and not any(shutdown_dir.iterdir())

    host.send_signal(signal.SIGTERM)
    assert host.wait(timeout=30) == 0
    log = job_log("keeper")
    assert "INFO] shutdown file seen, bye" in log
    assert "Process exited with code 0 after the shutdown notification" in log
    assert "killing" not in log
    assert job_groups("keeper") == set()
    assert "Continuous-jobs host stopped." in host_log(tmp_path, "hostA1")
    status = InstanceStatus.objects.get(job__name="keeper", instance_id="hostA1")
    assert (status.status, status.pid) == ("Stopped", None)

    # The desired states are rows: a new host runs "keeper" again, not "paused".
    processes.stop(host)
    start_host("hostA1")
    cont.wait_status("keeper", "Running")
    wait_for(
        lambda: job_log("keeper").count("Status changed to Running") == 2,
        "the second launch",
    )
    assert cont.detailed("paused") == "hostA1 - Stopped\n"
    assert job_groups("paused") == set()


WATCHER_PY = """\
import os, signal, sys, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)  # leave it to the shutdown file
path = os.environ["WEBJOBS_SHUTDOWN_FILE"]
print("watching", path, flush=True)
while not os.path.exists(path):
    time.sleep(0.1)
print("shutdown file seen by the triggered run", flush=True)
"""


def test_an_aborted_triggered_run_gets_the_shutdown_file(api, settings):
    """The run monitor's abort (instance shutdown) writes WEBJOBS_SHUTDOWN_FILE
    before its SIGTERM, so the same graceful idiom works for triggered jobs."""
    api.deploy("watcher", WATCHER_PY.encode(), filename="run.py")
    response = api.run("watcher")
    assert response.status_code == 202
    location = response["Location"].replace("http://testserver", "")
    from history.models import Run

    run = wait_for(
        lambda: Run.objects.filter(status="Running", monitor_pid__gt=0).first(),
        "the run to start",
    )
    wait_for(lambda: "watching" in run.output_path.read_text(), "the job's output")
    os.kill(run.monitor_pid, signal.SIGTERM)  # what runinstance's shutdown does
    body = api.wait(location)
    assert body["status"] == "Aborted"
    log = api.output(body)
    assert "INFO] shutdown file seen by the triggered run" in log
    assert "/temp/JobsShutdown/triggered/watcher/" in log
