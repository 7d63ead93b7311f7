"""Scheduled WebJobs are scheduler jobs: deploy, fire, skip, remove, time travel."""

from __future__ import annotations

import os
import signal
import time
from datetime import UTC, datetime

import pytest

from config.clock import clock_now, clock_offset, clock_set
from history.models import ACTIVE_STATUSES, Run
from jobs.processes import alive, descendants
from scheduler.engine import engine_step
from scheduler.models import Attempt, Job, JobHistory
from scheduler.services import collection_put, job_put
from tests.helpers import history_entry, later, make_zip

pytestmark = pytest.mark.django_db(transaction=True)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def deploy_scheduled(
    api, name: str, schedule: str, script: str = "echo tick\n", run: str = "run.sh"
):
    data = make_zip({run: script, "settings.job": f'{{"schedule": "{schedule}"}}'})
    response = api.deploy(name, data, filename=f"{name}.zip")
    assert response.status_code == 200, response.content
    return response.json()


def test_it_creates_the_scheduler_job_and_fires_it_with_kudus_trigger(api):
    clock_set(later("2031-05-01T10:07:00Z"))
    job_json = deploy_scheduled(
        api, "quarter", "0 */15 * * * *", script="echo due=$WEBJOBS_SCHEDULED_TIME\n"
    )
    timer = Job.objects.get(webjob__name="quarter")
    assert timer.cron == "0 */15 * * * *"
    assert timer.next_fire_at == at(later("2031-05-01T10:15:00Z"))
    assert job_json["scheduler_logs_url"].endswith(
        "/vfs/data/jobs/triggered/quarter/job_scheduler.log"
    )
    clock_set(later("2031-05-01T10:15:00.200Z"))
    engine_step(clock_now())
    history_entry(job=timer)  # written by the run's monitor as the process starts
    latest = api.get("/api/triggeredwebjobs/quarter").json()["latest_run"]
    run = api.wait(latest["url"])
    assert run["trigger"] == "Schedule - 0 0,15,30,45 * * * *"
    assert run["status"] == "Success"
    assert run["start_time"].startswith(later("2031-05-01T10:15:00"))
    assert later("due=2031-05-01T10:15:00+00:00") in api.output(run)
    timer.refresh_from_db()
    assert timer.next_fire_at == at(later("2031-05-01T10:30:00Z"))
    log = (timer.webjob.data_dir / "job_scheduler.log").read_text()
    assert "Scheduling WebJob with 0 */15 * * * * next schedule expected in 00:0" in log
    assert "WebJob invoked" in log


def test_it_removes_the_timer_with_the_schedule_or_the_job(api):
    clock_set(later("2031-05-01T10:07:00Z"))
    deploy_scheduled(api, "daily", "0 0 0 * * *")
    assert Job.objects.filter(webjob__name="daily").exists()
    assert api.put_settings("daily", "{}").status_code == 200
    assert not Job.objects.filter(webjob__name="daily").exists()
    assert api.put_settings("daily", '{"schedule": "0 0 1 * * *"}').status_code == 200
    assert Job.objects.get(webjob__name="daily").cron == "0 0 1 * * *"
    api.delete("/api/triggeredwebjobs/daily")
    assert not Job.objects.filter(name="daily").exists()


def test_it_honours_webjobs_disable_schedule(api, settings):
    clock_set(later("2031-05-01T10:07:00Z"))
    deploy_scheduled(api, "quiet", "0 * * * * *")
    settings.WEBJOBS_DISABLE_SCHEDULE = True
    clock_set(later("2031-05-01T10:08:00.5Z"))
    engine_step(clock_now())
    assert not Attempt.objects.filter(job__webjob__name="quiet").exists()  # not fired
    assert api.get("/api/triggeredwebjobs/quiet").json()["latest_run"] is None
    assert api.run_and_wait("quiet")["status"] == "Success"  # manual runs still work


def test_it_skips_an_occurrence_while_the_previous_run_is_going(api):
    clock_set(later("2031-05-01T10:07:00Z"))
    deploy_scheduled(api, "busy", "0 * * * * *", script="sleep 4\n")
    first = api.run("busy")
    clock_set(later("2031-05-01T10:08:00.5Z"))
    engine_step(clock_now())
    entry = history_entry(job__webjob__name="busy")
    assert entry.status == "Postponed"
    assert "WebJob is still running; this schedule was skipped" in entry.message
    assert len(api.get("/api/triggeredwebjobs/busy/history").json()["runs"]) == 1
    api.wait(first["Location"])


def test_time_travel_fires_month_end_jobs_once_with_emulated_times(api, target):
    clock_set(later("2031-01-31T23:58:50Z"))
    deploy_scheduled(api, "monthly", "0 0 0 1 * *")
    collection, _ = collection_put(
        subscription_id="s", resource_group="rg", name="c", body={"properties": {}}
    )
    month_end, _ = job_put(
        collection=collection,
        name="last-day",
        body={
            "properties": {
                "startTime": later("2031-01-01T00:00:00Z"),
                "action": {"type": "Http", "request": {"uri": target.url}},
                "recurrence": {
                    "frequency": "Month",
                    "schedule": {"monthDays": [-1], "hours": [23], "minutes": [59]},
                },
            }
        },
    )
    assert month_end.next_fire_at == at(later("2031-01-31T23:59:00Z"))
    clock_set(later("2031-02-01T00:00:02Z"))
    engine_step(clock_now())
    engine_step(clock_now())
    history_entry(job__webjob__name="monthly")  # the run has started
    runs = api.get("/api/triggeredwebjobs/monthly/history").json()["runs"]
    assert len(runs) == 1
    assert runs[0]["start_time"].startswith(later("2031-02-01T00:00:0"))
    assert runs[0]["trigger"] == "Schedule - 0 0 0 1 * *"
    history = list(JobHistory.objects.filter(job=month_end))
    assert [h.status for h in history] == ["Completed"]
    assert history[0].expected_execution_time == at(later("2031-01-31T23:59:00Z"))
    assert history[0].start_time >= at(later("2031-02-01T00:00:02Z"))
    assert len(target.calls) == 1
    api.wait(runs[0]["url"])


def _just_after_a_second() -> None:
    """Wait until the emulated clock is ~0.1 s past a whole second, so the next
    per-second occurrence is ~0.9 s ahead."""
    while not 0.05 < clock_now().microsecond / 1e6 < 0.2:
        time.sleep(0.01)


def test_a_fire_is_handed_over_ahead_and_its_process_starts_at_the_due_instant(
    api, settings
):
    settings.SCHEDULER_LEAD = 1.0
    clock_set(later("2031-05-01T10:07:00Z"))
    script = 'echo "started=$EPOCHREALTIME due=$WEBJOBS_SCHEDULED_TIME"\n'
    deploy_scheduled(api, "tick", "* * * * * *", script=script)
    timer = Job.objects.get(webjob__name="tick")
    _just_after_a_second()
    engine_step(clock_now())
    attempt = Attempt.objects.get(job=timer)
    due = attempt.expected_time
    assert due > clock_now()  # claimed and handed to the queue before it is due
    assert not Run.objects.filter(job=timer.webjob).exists()  # no run yet
    history_entry(job=timer)
    run = api.wait(api.get("/api/triggeredwebjobs/tick").json()["latest_run"]["url"])
    out = api.output(run)
    started = float(out.split("started=")[1].split()[0])
    instant = due.timestamp() - clock_offset()
    # Never before it is due; not waiting for anything after (2 s: a loaded
    # machine; bench/fire_lateness.py measures the milliseconds).
    assert instant <= started <= instant + 2.0
    assert f"due={due.isoformat()}" in out


def test_kudus_lock_is_checked_at_the_due_instant_not_at_hand_over(api, settings):
    """A run that ends between the hand-over and the due instant does not make
    the occurrence be skipped."""
    settings.SCHEDULER_LEAD = 1.0
    clock_set(later("2031-05-01T10:07:00Z"))
    deploy_scheduled(api, "brief", "* * * * * *", script="sleep 0.3\n")
    timer = Job.objects.get(webjob__name="brief")
    _just_after_a_second()
    manual = api.run("brief")
    engine_step(clock_now())  # the manual run is still going now
    assert Run.objects.filter(job=timer.webjob, status__in=ACTIVE_STATUSES).exists()
    entry = history_entry(job=timer)
    assert entry.status == "Completed", entry.message
    runs = api.get("/api/triggeredwebjobs/brief/history").json()["runs"]
    assert [r["trigger"].split(" - ")[0] for r in runs] == ["Schedule", "External"]
    api.wait(manual["Location"])
    api.wait(runs[0]["url"])


def _exit_code(pid: int, timeout: float = 10.0) -> int:
    """Wait for a run monitor (our descendant: the test process is a subreaper)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.02)
    raise AssertionError(f"process {pid} still running after {timeout} s")


def _handed_over(api, settings, name: str) -> tuple[Job, int]:
    """A per-second scheduled WebJob whose next fire the engine has handed over
    ahead: (its scheduler job, the pid of the run's monitor waiting for it)."""
    settings.SCHEDULER_LEAD = 1.0
    clock_set(later("2031-05-01T10:07:00Z"))
    deploy_scheduled(api, name, "* * * * * *")
    timer = Job.objects.get(webjob__name=name)
    _just_after_a_second()
    engine_step(clock_now())
    waiting = [p for p in descendants(os.getpid()) if alive(p)]
    assert len(waiting) == 1  # the run's monitor, waiting for the due instant
    return timer, waiting[0]


def _fires_once_when_sent_again(api, timer: Job, attempt: Attempt) -> None:
    time.sleep(max(0.0, (attempt.due_at - clock_now()).total_seconds()))
    engine_step(clock_now())  # any engine hands it to the queue again
    entry = history_entry(job=timer, expected_execution_time=attempt.expected_time)
    assert entry.status == "Completed", entry.message
    runs = Run.objects.filter(job=timer.webjob, scheduled_time=attempt.expected_time)
    assert runs.count() == 1
    api.wait(f"/api/triggeredwebjobs/{timer.webjob.name}/history/{runs[0].run_id}")


def test_a_fire_waiting_for_its_instant_is_given_back_when_the_instance_stops(
    api, settings
):
    """SIGTERM (runinstance shutting down) reaches the run's monitor before the
    due instant: the fire goes back to the engine at once."""
    timer, monitor = _handed_over(api, settings, "later")
    attempt = Attempt.objects.get(job=timer)
    os.kill(monitor, signal.SIGTERM)
    assert _exit_code(monitor) == 0
    attempt.refresh_from_db()
    assert attempt.status == Attempt.Status.PENDING
    assert not Run.objects.filter(job=timer.webjob).exists()
    _fires_once_when_sent_again(api, timer, attempt)


def test_a_webjob_deleted_before_its_due_instant_does_not_run(api, settings):
    timer, monitor = _handed_over(api, settings, "gone")
    webjob = timer.webjob
    assert api.delete("/api/triggeredwebjobs/gone").status_code == 200
    assert _exit_code(monitor) == 0  # it ended by itself past the due instant
    assert not Run.objects.filter(job_id=webjob.pk).exists()
    assert not webjob.data_dir.exists()  # nothing written for the deleted job


def test_a_monitor_killed_while_it_waits_loses_no_fire(api, settings):
    """The attempt is claimed at the due instant: killed before (kill -9, a host
    crash), it is still Queued, and the engine's outbox sends it again."""
    timer, monitor = _handed_over(api, settings, "sturdy")
    attempt = Attempt.objects.get(job=timer)
    os.kill(monitor, signal.SIGKILL)
    assert _exit_code(monitor) == -signal.SIGKILL
    attempt.refresh_from_db()
    assert attempt.status == Attempt.Status.QUEUED  # not lost with the monitor
    settings.SCHEDULER_RESEND_AFTER = 0
    _fires_once_when_sent_again(api, timer, attempt)
