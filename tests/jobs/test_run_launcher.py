"""On-demand runs handed to this instance's launcher (`manage.py runlauncher`),
with the queue task racing it: the run's claim decides, exactly once.

The queue enqueues for real here (the ORM broker of the test database), with no
cluster running unless a test starts one: the launcher claims the run, and the
queue task, delivered later, finds it claimed.
"""

from __future__ import annotations

import os
import signal
import time

import pytest
from django.db import connection
from django.test import override_settings
from django_q.models import OrmQ

from config.env import database_to_url
from history.models import Run
from history.services import run_insert
from jobs.launcher.inbox import run_go, run_hand_over
from jobs.launcher.ondemand import GO_TIMEOUT
from jobs.models import WebJob
from jobs.processes import alive, descendants, environ_has
from jobs.runner import SHUTDOWN_MESSAGE, run_launch
from jobs.services import run_prepare, run_request
from tests.instance import instance_env
from tests.scheduler_engine.test_launcher import launchers  # noqa: F401

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("real_queue"),
]
GUARD = 30.0  # a deadline against hanging, never an assertion on speed


@pytest.fixture
def real_queue(monkeypatch):
    """Enqueue for real (tests elsewhere run queue tasks inline)."""
    from django_q.conf import Conf

    monkeypatch.setattr(Conf, "SYNC", False)


def launcher_of(launchers, run: Run):  # noqa: F811
    """The launcher a run goes to (by its job's id)."""
    return launchers[run.job_id % len(launchers)]


def final_output(api, run: dict) -> str:
    """The run's log once its last line is written (it follows the row's final
    status by a moment)."""
    deadline = time.monotonic() + GUARD
    while f"Status changed to {run['status']}" not in (log := api.output(run)):
        assert time.monotonic() < deadline, log
        time.sleep(0.05)
    return log


def wait_claimed(run: Run) -> None:
    deadline = time.monotonic() + GUARD
    while not Run.objects.get(pk=run.pk).monitor_pid:
        assert time.monotonic() < deadline, "the launcher did not claim the run"
        time.sleep(0.01)


def wait_final(run: Run) -> Run:
    deadline = time.monotonic() + GUARD
    while run.is_active:
        assert time.monotonic() < deadline, f"run {run.run_id} did not end"
        time.sleep(0.05)
        run.refresh_from_db()
    return run


def test_the_launcher_starts_a_run_at_once_and_its_queue_task_finds_it_claimed(
    api,
    launchers,  # noqa: F811
):
    script = (
        'echo "run=$WEBJOBS_RUN_ID args=$WEBJOBS_COMMAND_ARGUMENTS first=$1"\n'
        'echo "path=$WEBJOBS_PATH pwd=$PWD"\n'
        "echo oops >&2\n"
    )
    api.deploy("now", script.encode(), filename="run.sh")
    response = api.run("now", "one two")
    assert response.status_code == 202
    run = api.wait(response["Location"])
    assert run["status"] == "Success", api.output(run)
    row = Run.objects.get(run_id=run["id"])
    # Started by the launcher itself: no run monitor was forked for it.
    assert row.monitor_pid == launcher_of(launchers, row).pid
    log = final_output(api, run)
    assert f"INFO] run={run['id']} args=one two first=one" in log
    assert "ERR ] oops" in log
    lines = [line.split("] ", 1)[1] for line in log.splitlines()]
    assert lines[:3] == [
        "Status changed to Initializing",
        "Run script 'run.sh' with script host - 'BashScriptHost'",
        "Status changed to Running",
    ]
    assert lines[-1] == "Status changed to Success"
    work = log.split("path=")[1].split()[0]
    assert f"pwd={work}" in log and "/temp/jobs/triggered/now/" in work
    assert not os.path.exists(work)  # the working copy went with the run
    # The durable delivery is still there and comes later: it does nothing.
    assert OrmQ.objects.count() == 1
    assert run_launch(row.pk) == "already claimed"
    assert Run.objects.filter(job=row.job).count() == 1


def test_whichever_delivery_claims_a_run_first_starts_it_and_only_it(
    api,
    launchers,  # noqa: F811
    scratch,
):
    ledger = scratch / "ledger"  # written by the jobs (WEBJOBS_RUN_AS)
    script = f"echo $WEBJOBS_RUN_ID >> {ledger}\n".encode()
    api.deploy("raced", script, filename="run.sh")
    job = WebJob.objects.get(name="raced")
    # The launcher first: it claims on the hand-over, so the queue task,
    # delivered before the go, finds the run claimed.
    later: list = []
    first = run_request(job=job, trigger="test", later=later)
    launcher = launcher_of(launchers, first)
    wait_claimed(first)
    assert run_launch(first.pk) == "already claimed"
    for work in later:  # the go
        work()
    assert wait_final(first).status == "Success"
    assert first.monitor_pid == launcher.pid
    # The queue first, on an instance with no launcher (another machine's
    # cluster): its task claims the run (and forks a run monitor) before the
    # launcher gets the hand-over, which then does nothing.
    second = run_insert(run_prepare(job=job, trigger="test"))
    with override_settings(WEBSITE_INSTANCE_ID="another-machine"):
        assert run_launch(second.pk) == "monitor started"
    assert run_hand_over(second.pk, job_pk=job.pk)
    assert run_go(second.pk, job_pk=job.pk)
    assert wait_final(second).status == "Success"
    assert second.monitor_pid not in (None, launcher.pid)
    assert ledger.read_text().split() == [first.run_id, second.run_id]


def test_a_queue_task_that_finds_its_run_unclaimed_hands_it_to_the_launcher(
    api,
    launchers,  # noqa: F811
    scratch,
):
    ledger = scratch / "ledger"  # written by the jobs (WEBJOBS_RUN_AS)
    script = f"echo $WEBJOBS_RUN_ID >> {ledger}\n".encode()
    api.deploy("late", script, filename="run.sh")
    job = WebJob.objects.get(name="late")
    # Requested without the request's own hand-over (it waited behind other
    # runs, or was lost): the queue task is the first to deliver it.
    run = run_insert(run_prepare(job=job, trigger="test"))
    assert run_launch(run.pk) == "handed to the launcher"
    assert wait_final(run).status == "Success"
    # Started by the launcher (no monitor forked), once.
    assert run.monitor_pid == launcher_of(launchers, run).pid
    assert ledger.read_text().split() == [run.run_id]
    assert run_launch(run.pk) == "already claimed"
    # A launcher that does not claim it in time (stopped here): the task
    # claims the run itself and forks a monitor; the launcher, resumed, finds
    # it claimed and starts nothing.
    launcher = launcher_of(launchers, run)
    stuck = run_insert(run_prepare(job=job, trigger="test"))
    os.kill(launcher.pid, signal.SIGSTOP)
    try:
        assert run_launch(stuck.pk) == "monitor started"
    finally:
        os.kill(launcher.pid, signal.SIGCONT)
    assert wait_final(stuck).status == "Success"
    assert stuck.monitor_pid not in (None, launcher.pid)
    time.sleep(GO_TIMEOUT + 0.5)  # the launcher has read its inbox by now
    assert ledger.read_text().split() == [run.run_id, stuck.run_id]


def test_a_run_whose_go_never_comes_starts_after_the_go_timeout(
    api,
    launchers,  # noqa: F811
):
    api.deploy("nogo", b"echo started\n", filename="run.sh")
    job = WebJob.objects.get(name="nogo")
    # The answer was never sent (say its web worker died): no go.
    run = run_request(job=job, trigger="test", later=[])
    begun = time.monotonic()
    run = wait_final(run)
    assert run.status == "Success"
    assert time.monotonic() - begun >= GO_TIMEOUT * 0.5  # waited for its go
    assert run.monitor_pid == launcher_of(launchers, run).pid


def test_a_launcher_stopped_before_the_go_aborts_the_run_it_held(
    api,
    launchers,  # noqa: F811
    scratch,
):
    ledger = scratch / "ledger"
    api.deploy("held", f"echo never >> {ledger}\n".encode(), filename="run.sh")
    job = WebJob.objects.get(name="held")
    run = run_request(job=job, trigger="test", later=[])
    wait_claimed(run)
    launcher = launcher_of(launchers, run)
    os.kill(launcher.pid, signal.SIGTERM)
    assert launcher.wait(timeout=GUARD) == 0
    run.refresh_from_db()
    assert run.status == "Aborted"
    assert run.message == SHUTDOWN_MESSAGE
    assert not ledger.exists()  # the job never ran
    assert "Status changed to Aborted" in run.output_path.read_text()


def test_a_run_that_cannot_start_in_the_launcher_fails_with_the_reason(
    api,
    launchers,  # noqa: F811
):
    api.deploy("win", b"echo hi\r\n", filename="run.cmd")
    response = api.run("win")
    assert response.status_code == 202
    run = api.wait(response["Location"])
    assert run["status"] == "Failed"
    row = Run.objects.get(run_id=run["id"])
    assert row.monitor_pid == launcher_of(launchers, row).pid
    assert row.message == row.job.error
    assert "need the Windows script host" in final_output(api, run)


@pytest.mark.launcher_env(WEBJOBS_MAX_LOG_BYTES="2000")
def test_the_launcher_caps_a_huge_output_as_a_monitor_does(
    api,
    launchers,  # noqa: F811
):
    api.deploy(
        "loud", b"for i in $(seq 1 500); do echo line $i; done\n", filename="run.sh"
    )
    run = api.run_and_wait("loud")
    assert run["status"] == "Success"
    log = final_output(api, run)
    assert "line 1" in log and "line 500" not in log
    assert "Output truncated: this log reached WEBJOBS_MAX_LOG_BYTES (2000" in log
    row = Run.objects.get(run_id=run["id"])
    assert row.monitor_pid == launcher_of(launchers, row).pid


def test_each_run_is_started_once_with_the_launcher_and_a_cluster_racing(
    api,
    launchers,  # noqa: F811
    processes,
    tmp_path,
    scratch,
):
    # This instance's cluster (the launchers' instance id).
    env = instance_env(DATABASE_URL=database_to_url(connection.settings_dict))
    processes.qcluster(env, log=tmp_path / "qcluster.log")
    ledger = scratch / "ledger"
    script = f'echo "$WEBJOBS_NAME $WEBJOBS_RUN_ID" >> {ledger}\n'
    names = [f"race{i}" for i in range(6)]
    for name in names:
        api.deploy(name, script.encode(), filename="run.sh")
    locations = []
    for _ in range(3):
        for name in names:
            response = api.run(name)
            assert response.status_code == 202
            locations.append(response["Location"])
        for location in locations[-len(names) :]:
            assert api.wait(location)["status"] == "Success"
    lines = ledger.read_text().splitlines()
    assert len(lines) == len(locations) == len(set(lines))  # each run once
    by = {run.monitor_pid for run in Run.objects.all()}
    print("claimed by (0: a queue worker's monitor):", by)


def spare_of(launcher, name: str, timeout: float = GUARD) -> int:
    """The process the launcher holds ready for `name`'s next run."""
    deadline = time.monotonic() + timeout
    while True:
        for pid in descendants(launcher.pid):
            if environ_has(pid, f"WEBJOBS_NAME={name}"):
                return pid
        assert time.monotonic() < deadline, f"no spare for {name}"
        time.sleep(0.05)


def test_a_jobs_next_run_takes_the_process_made_ready_for_it_in_a_fresh_copy(
    api,
    launchers,  # noqa: F811
):
    script = 'echo "pid=$$ run=$WEBJOBS_RUN_ID"; ls; touch written-by-a-run\n'
    api.deploy("again", script.encode(), filename="run.sh")
    first = api.run_and_wait("again")
    assert first["status"] == "Success"
    launcher = launcher_of(launchers, Run.objects.get(run_id=first["id"]))
    spare = spare_of(launcher, "again")
    second = api.run_and_wait("again")
    log = final_output(api, second)
    assert f"pid={spare} run={second['id']}" in log
    # Its own working copy, from the package: the first run's file is not in it.
    assert "INFO] run.sh" in log and "written-by-a-run" not in log
    # Arguments: not the spare's (it was made for a run without), a fresh start.
    spare = spare_of(launcher, "again")
    third = api.run_and_wait("again", "x y")
    assert f"pid={spare}" not in final_output(api, third)


def test_a_redeploy_makes_the_spare_unfit(api, launchers):  # noqa: F811
    api.deploy("version", b'echo "v1 $$"\n', filename="run.sh")
    first = api.run_and_wait("version")
    launcher = launcher_of(launchers, Run.objects.get(run_id=first["id"]))
    spare = spare_of(launcher, "version")
    api.deploy("version", b'echo "v2 $$"\n', filename="run.sh")
    second = api.run_and_wait("version")
    log = final_output(api, second)
    assert "INFO] v2 " in log and f"v2 {spare}" not in log
    deadline = time.monotonic() + GUARD
    while alive(spare):  # the old deploy's process ended, never run
        assert time.monotonic() < deadline
        time.sleep(0.05)


class RefusingBroker:
    """A broker that is down."""

    list_key = "down"

    def enqueue(self, task):
        raise ConnectionError("broker down")


def test_a_broker_that_refuses_the_task_fails_the_run_with_409(api, monkeypatch):
    monkeypatch.setattr("jobs.services.queue_broker", RefusingBroker)
    api.deploy("orphan", b"echo hi\n", filename="run.sh")
    response = api.run("orphan")  # no launcher listens: the queue alone
    assert response.status_code == 409
    assert b"The run could not be queued: broker down" in response.content
    run = Run.objects.get(job__name="orphan")
    assert run.status == "Failed" and "broker down" in run.message
    assert api.run("orphan").status_code == 409  # the lock is free again


def test_a_run_the_launcher_claimed_runs_though_the_broker_refuses_its_task(
    api,
    launchers,  # noqa: F811
    monkeypatch,
):
    monkeypatch.setattr("jobs.services.queue_broker", RefusingBroker)
    api.deploy("local", b"echo still\n", filename="run.sh")
    later: list = []
    run = run_request(job=WebJob.objects.get(name="local"), trigger="t", later=later)
    wait_claimed(run)
    for work in later:  # the go, then the task the broker refuses: answered
        work()
    assert wait_final(run).status == "Success"
    assert "INFO] still" in run.output_path.read_text()
