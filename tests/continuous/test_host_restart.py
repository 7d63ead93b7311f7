"""No orphans and no second copy: a host killed with -9 takes its jobs along
(PR_SET_PDEATHSIG); the next host of the instance ends what is left of their
process groups (checked by the marker variable, never a reused pid) and runs one
copy; a second host for a live instance refuses to start."""

from __future__ import annotations

import signal
import sys
import time

import pytest
from django.conf import settings as django_settings

from jobs.environment import emulator_id
from jobs.models import InstanceStatus, WebJob
from jobs.processes import alive
from tests.continuous.conftest import (
    SH_LOOP,
    host_log,
    job_groups,
    job_log,
    wait_for,
)

pytestmark = pytest.mark.django_db(transaction=True)

WITH_CHILD = 'sleep 300 &\necho $! > "$WEBJOBS_DATA_PATH/child.pid"\n' + SH_LOOP
FAST_STOP = {"stopping_wait_time": 1}


def child_pid(name: str) -> int:
    path = django_settings.WEBJOBS_ROOT / "data/jobs/continuous" / name / "child.pid"
    return int(wait_for(lambda: path.exists() and path.read_text().strip(), path))


def one_copy_for(name: str, seconds: float = 1.5) -> bool:
    """Exactly one copy of the job, every time we look during `seconds`."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if len(job_groups(name)) != 1:
            return False
        time.sleep(0.1)
    return True


def test_a_host_killed_with_9_leaves_no_copy_and_the_next_runs_exactly_one(
    cont, start_host
):
    cont.deploy("orphan", "run.sh", WITH_CHILD, FAST_STOP)
    host = start_host("hostK1")
    cont.wait_status("orphan", "Running")
    (group,) = job_groups("orphan")
    child = child_pid("orphan")

    host.send_signal(signal.SIGKILL)
    host.wait()
    # The job's own process dies with its host (PR_SET_PDEATHSIG)...
    wait_for(lambda: not alive(group), "the job to die with its host")
    # ...its background child lives on in the job's group until the next host.
    assert alive(child)

    start_host("hostK1")
    wait_for(lambda: not alive(child), "the new host to end the leftover")
    wait_for(lambda: job_groups("orphan") - {group}, "the new copy")
    assert one_copy_for("orphan")
    log = job_log("orphan")
    assert (
        "SYS WARN] Ended 1 leftover process(es) of this job from a previous host of "
        f"this instance (pid group {group})" in log
    )
    assert cont.get("orphan")["detailed_status"] == "hostK1 - Running\n"


def test_a_second_host_for_a_live_instance_refuses_to_start(cont, start_host, tmp_path):
    cont.deploy("single", "run.sh", SH_LOOP, FAST_STOP)
    first = start_host("hostC1")
    cont.wait_status("single", "Running")
    second = start_host("hostC1")
    assert second.wait(timeout=30) == 1
    assert (
        f"Another host is already running for instance hostC1 (pid {first.pid}); "
        "one instance has one host." in host_log(tmp_path, "hostC1")
    )
    assert one_copy_for("single")
    assert first.poll() is None


def test_the_next_host_ends_only_processes_marked_as_its_jobs(
    cont, start_host, processes
):
    """A recorded pid now used by an unrelated process is never killed; a job
    process of this instance that no row points at (launched just before a
    crash) is found by its marker and ended."""
    cont.deploy("reused", "run.sh", SH_LOOP, FAST_STOP)
    sleeper = [sys.executable, "-c", "import time; time.sleep(300)"]
    stranger = processes.start(sleeper, env={})
    job = WebJob.objects.get(name="reused")
    InstanceStatus.objects.create(
        job=job,
        instance_id="hostR1",
        status="Running",
        pid=stranger.pid,
        updated_at=job.deployed_at,
    )
    unrecorded = processes.start(
        sleeper,
        env={
            "WEBSITE_ALWAYS_ON_JOB_RUNNING_gone": "true",
            "WEBSITE_INSTANCE_ID": "hostR1",
            "WEBJOBS_EMULATOR_ID": emulator_id(django_settings.WEBJOBS_ROOT),
        },
    )
    start_host("hostR1")
    cont.wait_status("reused", "Running")
    assert unrecorded.wait(timeout=30) == -signal.SIGKILL
    assert stranger.poll() is None and alive(stranger.pid)
    assert "leftover" not in job_log("reused")
    assert InstanceStatus.objects.get(instance_id="hostR1").pid != stranger.pid
