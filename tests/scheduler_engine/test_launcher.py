"""Scheduled WebJob fires through a real launcher (`manage.py runlauncher`).

The queue's task runs inline here (Q_SYNC) and hands each fire to the launcher
subprocess over its socket; the launcher starts the run at the due instant.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from datetime import timedelta

import pytest
from django.db import connection

from config.clock import clock_now, clock_offset, clock_set
from config.env import database_to_url
from history.models import Run
from jobs.launcher.inbox import hand_over
from jobs.processes import alive, descendants
from scheduler.engine import engine_step
from scheduler.models import Attempt, Job
from tests.helpers import history_entry, later
from tests.instance import MANAGE, Processes, instance_env
from tests.scheduler_engine.test_scheduled_webjobs import (
    _fires_once_when_sent_again,
    _just_after_a_second,
    deploy_scheduled,
)

pytestmark = pytest.mark.django_db(transaction=True)
GUARD = 30.0  # a deadline against hanging, never an assertion on speed
# How late a start may come on a loaded 2-core machine: a bound against a start
# that waits for something (the queue, a poll), not a measure of lateness
# (bench/fire_lateness.py owns that: milliseconds).
LATE = 2.0


def start_launcher(
    processes: Processes, folder, shard: int, **env: str
) -> subprocess.Popen:
    log = folder / f"launcher-{shard}.log"
    env = instance_env(DATABASE_URL=database_to_url(connection.settings_dict), **env)
    argv = [*MANAGE, "runlauncher", "--shard", str(shard)]
    proc = processes.start(argv, env, log=log)
    proc.log = log
    return proc


@pytest.fixture
def launchers(processes: Processes, tmp_path, settings, request):
    """This instance's launchers (WEBJOBS_LAUNCHERS), listening: hand_over
    reaches them. A test's `launcher_env` mark sets their environment."""
    mark = request.node.get_closest_marker("launcher_env")
    env = mark.kwargs if mark else {}
    procs = [
        start_launcher(processes, tmp_path, shard, **env)
        for shard in range(settings.WEBJOBS_LAUNCHERS)
    ]
    deadline = time.monotonic() + GUARD
    # Ids no attempt has: the launcher reads one and finds nothing to do.
    while not all(hand_over(shard) for shard in range(len(procs))):
        for proc in procs:
            assert proc.poll() is None, proc.log.read_text()
        assert time.monotonic() < deadline, "the launchers did not start"
        time.sleep(0.05)
    return procs


def launcher_of(launchers, attempt: Attempt) -> subprocess.Popen:
    """The launcher a fire goes to (by its attempt's id)."""
    return launchers[attempt.pk % len(launchers)]


def _handed_to(
    launchers, api, settings, name: str, script: str = "echo tick\n", run="run.sh"
):
    settings.SCHEDULER_LEAD = 1.0
    clock_set(later("2031-05-01T10:07:00Z"))
    deploy_scheduled(api, name, "* * * * * *", script=script, run=run)
    timer = Job.objects.get(webjob__name=name)
    _just_after_a_second()
    # The next second, whatever the deploy took (the first one in a session
    # may take longer than a second).
    following = clock_now().replace(microsecond=0) + timedelta(seconds=1)
    Job.objects.filter(pk=timer.pk).update(next_fire_at=following)
    engine_step(clock_now())
    attempt = Attempt.objects.get(job=timer)
    assert attempt.due_at > clock_now()  # handed over ahead of its instant
    return timer, attempt, launcher_of(launchers, attempt)


def _exit_code(proc: subprocess.Popen) -> int:
    return proc.wait(timeout=GUARD)


def test_the_launcher_starts_a_fire_at_its_instant_with_no_process_per_run(
    launchers, api, settings
):
    # Bash is started ahead and waits for the instant before the script
    # (BASH_ENV, jobs/launcher/gate.bash); the script runs as `bash run.sh` would,
    # and nothing of the gate reaches it or a bash it starts.
    script = (
        'echo "started=$EPOCHREALTIME due=$WEBJOBS_SCHEDULED_TIME"\n'
        'echo "self=$0 source=${BASH_SOURCE[0]} env=${BASH_ENV-none}"\n'
        'echo "run=$WEBJOBS_RUN_ID"\n'
        "bash -c 'echo \"child=$WEBJOBS_RUN_ID\"'\n"
        'read -r line; echo "stdin=$?"\n'
    )
    timer, attempt, launcher = _handed_to(launchers, api, settings, "tick", script)
    # The queue task handed it over: nothing forked here, nothing inserted yet.
    # Ours read after: a gate the launcher starts in between is one of them.
    everyone = descendants(os.getpid())
    ours = {p for proc in launchers for p in (proc.pid, *descendants(proc.pid))}
    others = [p for p in everyone if alive(p) and p not in ours]
    assert [open(f"/proc/{p}/cmdline").read() for p in others] == []
    assert not Run.objects.filter(job=timer.webjob).exists()
    entry = history_entry(job=timer, timeout=GUARD)
    assert entry.status == "Completed", entry.message
    run = api.wait(api.get("/api/triggeredwebjobs/tick").json()["latest_run"]["url"])
    assert run["status"] == "Success"
    assert run["trigger"] == "Schedule - * * * * * *"
    out = api.output(run)
    started = float(out.split("started=")[1].split()[0])
    due = attempt.due_at.timestamp() - clock_offset()
    assert due <= started <= due + LATE  # never early, never waiting
    assert f"due={attempt.expected_time.isoformat()}" in out
    assert "self=run.sh source=run.sh env=none" in out
    assert f"run={run['id']}" in out
    assert f"child={run['id']}" in out
    assert "stdin=1" in out  # end of file, as for any run
    assert Run.objects.get(run_id=run["id"]).monitor_pid == launcher.pid
    timer.refresh_from_db()
    assert timer.execution_count == 1
    log = (timer.webjob.data_dir / "job_scheduler.log").read_text()
    assert "WebJob invoked" in log


def test_the_launcher_starts_a_python_job_at_its_instant(launchers, api, settings):
    """Other interpreters wait at the shell gate and are exec'd at the instant."""
    script = (
        "import os, sys, time\n"
        "print('started', time.time(), sys.argv[0], os.environ['WEBJOBS_RUN_ID'])\n"
        "print('stdin', repr(sys.stdin.read()))\n"
    )
    timer, attempt, _ = _handed_to(launchers, api, settings, "py", script, "run.py")
    entry = history_entry(job=timer, timeout=GUARD)
    assert entry.status == "Completed", entry.message
    run = api.wait(api.get("/api/triggeredwebjobs/py").json()["latest_run"]["url"])
    assert run["status"] == "Success"
    out = api.output(run)
    started, argv0, run_id = out.split("started ")[1].split()[:3]
    due = attempt.due_at.timestamp() - clock_offset()
    assert due <= float(started) <= due + LATE
    assert (argv0, run_id) == ("run.py", run["id"])
    assert "stdin ''" in out


def test_the_launcher_skips_a_fire_while_the_previous_run_is_going(
    launchers, api, settings
):
    timer, attempt, launcher = _handed_to(launchers, api, settings, "slow", "sleep 3\n")
    first = history_entry(job=timer, timeout=GUARD)
    assert first.status == "Completed", first.message
    time.sleep(max(0.0, (attempt.due_at - clock_now()).total_seconds() + 0.1))
    engine_step(clock_now())  # the next second's fire, while the run goes on
    second = history_entry(job=timer, status="Postponed", timeout=GUARD)
    assert "WebJob is still running; this schedule was skipped" in second.message
    assert Run.objects.filter(job=timer.webjob).count() == 1


def test_a_launcher_stopped_before_the_instant_gives_the_fire_back(
    launchers, api, settings
):
    timer, attempt, launcher = _handed_to(launchers, api, settings, "later")
    launcher.send_signal(signal.SIGTERM)
    assert _exit_code(launcher) == 0, launcher.log.read_text()
    attempt.refresh_from_db()
    assert attempt.status == Attempt.Status.PENDING
    assert not Run.objects.filter(job=timer.webjob).exists()
    _fires_once_when_sent_again(api, timer, attempt)  # no launcher: a monitor


def test_a_launcher_killed_before_the_instant_loses_no_fire(launchers, api, settings):
    timer, attempt, launcher = _handed_to(launchers, api, settings, "sturdy")
    launcher.kill()
    assert _exit_code(launcher) == -signal.SIGKILL
    attempt.refresh_from_db()
    assert attempt.status == Attempt.Status.QUEUED  # not lost with the launcher
    settings.SCHEDULER_RESEND_AFTER = 0
    _fires_once_when_sent_again(api, timer, attempt)


def test_a_launcher_stopped_mid_run_aborts_the_job_gracefully(launchers, api, settings):
    script = (
        'echo "up $$"\n'
        "trap 'echo \"got TERM\"; exit 3' TERM\n"
        "while :; do sleep 0.1; done\n"
    )
    timer, _, launcher = _handed_to(launchers, api, settings, "forever", script)
    history_entry(job=timer, timeout=GUARD)
    run = Run.objects.get(job=timer.webjob)
    deadline = time.monotonic() + GUARD
    while "up " not in run.output_path.read_text():
        assert time.monotonic() < deadline
        time.sleep(0.05)
    job_pid = int(run.output_path.read_text().split("up ")[1].split()[0])
    launcher.send_signal(signal.SIGTERM)
    assert _exit_code(launcher) == 0, launcher.log.read_text()
    run.refresh_from_db()
    assert run.status == "Aborted"
    assert "the instance is shutting down" in run.message
    assert "got TERM" in run.output_path.read_text()
    assert not alive(job_pid)


def test_one_launcher_of_each_shard_per_instance(
    launchers, processes: Processes, tmp_path
):
    (tmp_path / "second").mkdir()
    second = start_launcher(processes, tmp_path / "second", shard=0)
    assert second.wait(timeout=GUARD) != 0
    assert "Launcher 0 of instance testinstance0 is already running" in (
        second.log.read_text()
    )
    assert all(proc.poll() is None for proc in launchers)


@pytest.mark.launcher_env(WEBJOBS_IDLE_TIMEOUT="2")
def test_the_launcher_ends_a_run_idle_for_webjobs_idle_timeout(
    launchers, api, settings
):
    timer, _, _ = _handed_to(launchers, api, settings, "mute", "echo hi\nsleep 60\n")
    history_entry(job=timer, timeout=GUARD)
    run = Run.objects.get(job=timer.webjob)
    deadline = time.monotonic() + GUARD
    while run.status in ("Initializing", "Running"):
        assert time.monotonic() < deadline, "the idle run was not ended"
        time.sleep(0.2)
        run.refresh_from_db()
    assert run.status == "Failed"
    assert "aborted due to no output nor CPU activity for 2 seconds" in run.message
    assert "hi" in run.output_path.read_text()
    idle_for = (run.end_time - run.start_time).total_seconds()
    assert 2 <= idle_for <= 2 + 1 + 4  # its limit, one check, a loaded machine
