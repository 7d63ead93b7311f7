"""On-demand runs through Kudu's API, with real processes."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db(transaction=True)


def test_it_runs_a_shell_job_with_arguments_and_streams_its_output(api):
    api.deploy_fixture("hello", "hello.sh")
    response = api.run("hello", 'one "two three"')
    assert response.status_code == 202
    assert response.content == b""
    location = response["Location"]
    assert location.startswith("http://testserver/api/triggeredwebjobs/hello/history/")
    run = api.wait(location)
    assert run["status"] == "Success"
    assert run["exit_code"] == 0
    assert run["trigger"] == "External - pytest-client/1.0"
    assert run["arguments"] == 'one "two three"'
    assert len(run["id"]) == 18 and run["id"].isdigit() and run["name"] == run["id"]
    log = api.output(run)
    assert f"hello from hello run {run['id']}" in log
    assert "INFO] args: one two three" in log  # split like a command line, no shell
    assert "ERR ] a warning" in log  # stderr lands in the same log, marked ERR
    assert "SYS INFO] Status changed to Running" in log
    assert log.rstrip().endswith("SYS INFO] Status changed to Success")


def test_it_runs_a_python_job_in_a_working_copy(api):
    api.deploy_fixture("report", "report.py")
    run = api.run_and_wait("report", "--level 3")
    assert run["status"] == "Success"
    log = api.output(run)
    assert "report: --level 3" in log
    assert "type: triggered" in log


def test_it_marks_a_non_zero_exit_failed_with_kudus_message(api):
    api.deploy_fixture("report", "report.py")
    run = api.run_and_wait("report", "--fail")
    assert run["status"] == "Failed"
    assert run["exit_code"] == 3
    log = api.output(run)
    assert "ERR ] failing on purpose" in log
    assert "SYS ERR ] Job failed due to exit code 3" in log


def test_it_refuses_a_second_run_while_one_is_active(api):
    api.deploy("sleeper", b"sleep 2\necho done\n", filename="run.sh")
    first = api.run("sleeper")
    assert first.status_code == 202
    second = api.run("sleeper")
    assert second.status_code == 409
    assert second.content == b"Cannot start a new run since job is already running."
    assert api.wait(first["Location"])["status"] == "Success"
    assert api.run("sleeper").status_code == 202  # free again once it ended
    api.wait(api.get("/api/triggeredwebjobs/sleeper").json()["latest_run"]["url"])


def test_it_fails_a_run_whose_interpreter_is_missing(api):
    job = api.deploy("phpjob", b"<?php echo 'hi';", filename="run.php").json()
    assert "needs 'php', which is not installed" in job["error"]
    run = api.run_and_wait("phpjob")
    assert run["status"] == "Failed"
    assert "needs 'php', which is not installed" in api.output(run)


def test_it_fails_windows_scripts_with_a_clear_message(api):
    job = api.deploy("batch", b"echo hi", filename="run.cmd").json()
    assert "need the Windows script host" in job["error"]


def test_it_aborts_an_idle_run_and_kills_its_process_group(api, settings, scratch):
    settings.WEBJOBS_IDLE_TIMEOUT = 2
    marker = scratch / "child.pid"
    script = f"sleep 300 &\necho $! > {marker}\nwait\n".encode()
    api.deploy("idle", script, filename="run.sh")
    run = api.run_and_wait("idle", timeout=30)
    assert run["status"] == "Failed"
    log = api.output(run)
    assert "was aborted due to no output nor CPU activity for 2 seconds" in log
    child = int(marker.read_text())
    from jobs.processes import alive

    assert not alive(child), "the background child of the job must be killed too"
    # Not before its 2 s; not much after: the monitor looks once a second (and
    # the machine may be loaded).
    idle_for = _seconds(run["end_time"]) - _seconds(run["start_time"])
    assert 2 <= idle_for <= 2 + 1 + 4


def test_it_does_not_end_a_silent_run_that_uses_the_cpu(api, settings):
    """Kudu's rule is no output *nor CPU activity*: a job computing without a
    word for longer than the idle timeout is left alone."""
    settings.WEBJOBS_IDLE_TIMEOUT = 2
    script = (
        b"end=$((SECONDS + 5))\nwhile [ $SECONDS -lt $end ]; do :; done\necho done\n"
    )
    api.deploy("busy", script, filename="run.sh")
    run = api.run_and_wait("busy", timeout=30)
    assert run["status"] == "Success", api.output(run)
    assert "INFO] done" in api.output(run)
    assert _seconds(run["end_time"]) - _seconds(run["start_time"]) >= 4


def _seconds(iso: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def test_it_runs_with_kudus_environment(api):
    script = (
        b"echo name=$WEBJOBS_NAME type=$WEBJOBS_TYPE run=$WEBJOBS_RUN_ID\n"
        b"echo args=$WEBJOBS_COMMAND_ARGUMENTS\n"
        b"echo data=$WEBJOBS_DATA_PATH\n"
        b"echo marker=$WEBSITE_TRIGGERED_JOB_RUNNING_envjob\n"
        b"echo secret=${SECRET_KEY:-none} dsm=${DJANGO_SETTINGS_MODULE:-none}\n"
        b"pwd\n"
    )
    api.deploy("envjob", script, filename="run.sh")
    run = api.run_and_wait("envjob", "x y")
    log = api.output(run)
    assert f"name=envjob type=triggered run={run['id']}" in log
    assert "args=x y" in log
    assert "data=" in log and "/data/jobs/triggered/envjob" in log
    assert "marker=true" in log
    assert "secret=none dsm=none" in log  # the emulator's secrets stay out
    assert "/temp/jobs/triggered/envjob/" in log  # a fresh working copy


def test_it_runs_in_place_when_settings_say_so(api):
    api.deploy("inplace", b"pwd\n", filename="run.sh")
    assert api.put_settings("inplace", '{"is_in_place": true}').status_code == 200
    log = api.output(api.run_and_wait("inplace"))
    assert "/site/jobs/triggered/inplace" in log


def test_it_caps_a_huge_output_with_a_truncation_line(api, settings):
    settings.WEBJOBS_MAX_LOG_BYTES = 20_000
    api.deploy(
        "chatty", b"for i in $(seq 1 5000); do echo line $i; done\n", filename="run.sh"
    )
    run = api.run_and_wait("chatty")
    assert run["status"] == "Success"
    log = api.output(run)
    assert len(log.encode()) < 21_000
    assert (
        "Output truncated: this log reached WEBJOBS_MAX_LOG_BYTES (20000 bytes)" in log
    )
    assert "line 5000" not in log


def test_it_refuses_runs_when_webjobs_are_stopped(api, settings):
    api.deploy_fixture("hello", "hello.sh")
    settings.WEBJOBS_STOPPED = True
    response = api.run("hello")
    assert response.status_code == 409
    assert response.content == b'WebJobs are currently in "stopped" state.'


def test_it_rejects_arguments_that_do_not_split(api):
    api.deploy_fixture("hello", "hello.sh")
    response = api.run("hello", 'unclosed "quote')
    assert response.status_code == 400
    assert b"No closing quotation" in response.content


def test_it_answers_404_for_an_unknown_job(api):
    response = api.run("nosuchjob")
    assert response.status_code == 404
    assert response.content == b"No triggered WebJob named 'nosuchjob'."
