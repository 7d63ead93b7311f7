"""Scheduled WebJobs are scheduler jobs: deploy, fire, skip, remove, time travel."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from scheduler.clock import clock_now, clock_set
from scheduler.engine import engine_step
from scheduler.models import Job, JobHistory
from scheduler.services import collection_put, job_put
from tests.helpers import make_zip

pytestmark = pytest.mark.django_db(transaction=True)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def deploy_scheduled(api, name: str, schedule: str, script: str = "echo tick\n"):
    data = make_zip({"run.sh": script, "settings.job": f'{{"schedule": "{schedule}"}}'})
    response = api.deploy(name, data, filename=f"{name}.zip")
    assert response.status_code == 200, response.content
    return response.json()


def test_it_creates_the_scheduler_job_and_fires_it_with_kudus_trigger(api):
    clock_set("2031-05-01T10:07:00Z")
    job_json = deploy_scheduled(
        api, "quarter", "0 */15 * * * *", script="echo due=$WEBJOBS_SCHEDULED_TIME\n"
    )
    timer = Job.objects.get(webjob__name="quarter")
    assert timer.cron == "0 */15 * * * *"
    assert timer.next_fire_at == at("2031-05-01T10:15:00Z")
    assert job_json["scheduler_logs_url"].endswith(
        "/vfs/data/jobs/triggered/quarter/job_scheduler.log"
    )
    clock_set("2031-05-01T10:15:00.200Z")
    engine_step(clock_now())
    latest = api.get("/api/triggeredwebjobs/quarter").json()["latest_run"]
    run = api.wait(latest["url"])
    assert run["trigger"] == "Schedule - 0 0,15,30,45 * * * *"
    assert run["status"] == "Success"
    assert run["start_time"].startswith("2031-05-01T10:15:00")
    assert "due=2031-05-01T10:15:00+00:00" in api.output(run)
    timer.refresh_from_db()
    assert timer.next_fire_at == at("2031-05-01T10:30:00Z")
    log = (timer.webjob.data_dir / "job_scheduler.log").read_text()
    assert "Scheduling WebJob with 0 */15 * * * * next schedule expected in 00:0" in log
    assert "WebJob invoked" in log


def test_it_removes_the_timer_with_the_schedule_or_the_job(api):
    clock_set("2031-05-01T10:07:00Z")
    deploy_scheduled(api, "daily", "0 0 0 * * *")
    assert Job.objects.filter(webjob__name="daily").exists()
    assert api.put_settings("daily", "{}").status_code == 200
    assert not Job.objects.filter(webjob__name="daily").exists()
    assert api.put_settings("daily", '{"schedule": "0 0 1 * * *"}').status_code == 200
    assert Job.objects.get(webjob__name="daily").cron == "0 0 1 * * *"
    api.delete("/api/triggeredwebjobs/daily")
    assert not Job.objects.filter(name="daily").exists()


def test_it_honours_webjobs_disable_schedule(api, settings):
    clock_set("2031-05-01T10:07:00Z")
    deploy_scheduled(api, "quiet", "0 * * * * *")
    settings.WEBJOBS_DISABLE_SCHEDULE = True
    clock_set("2031-05-01T10:08:00.5Z")
    engine_step(clock_now())
    assert api.get("/api/triggeredwebjobs/quiet").json()["latest_run"] is None
    assert api.run_and_wait("quiet")["status"] == "Success"  # manual runs still work


def test_it_skips_an_occurrence_while_the_previous_run_is_going(api):
    clock_set("2031-05-01T10:07:00Z")
    deploy_scheduled(api, "busy", "0 * * * * *", script="sleep 4\n")
    first = api.run("busy")
    clock_set("2031-05-01T10:08:00.5Z")
    engine_step(clock_now())
    entry = JobHistory.objects.get(job__webjob__name="busy")
    assert entry.status == "Postponed"
    assert "WebJob is still running; this schedule was skipped" in entry.message
    assert len(api.get("/api/triggeredwebjobs/busy/history").json()["runs"]) == 1
    api.wait(first["Location"])


def test_time_travel_fires_month_end_jobs_once_with_emulated_times(api, target):
    clock_set("2031-01-31T23:58:50Z")
    deploy_scheduled(api, "monthly", "0 0 0 1 * *")
    collection, _ = collection_put(
        subscription_id="s", resource_group="rg", name="c", body={"properties": {}}
    )
    month_end, _ = job_put(
        collection=collection,
        name="last-day",
        body={
            "properties": {
                "startTime": "2031-01-01T00:00:00Z",
                "action": {"type": "Http", "request": {"uri": target.url}},
                "recurrence": {
                    "frequency": "Month",
                    "schedule": {"monthDays": [-1], "hours": [23], "minutes": [59]},
                },
            }
        },
    )
    assert month_end.next_fire_at == at("2031-01-31T23:59:00Z")
    clock_set("2031-02-01T00:00:02Z")
    engine_step(clock_now())
    engine_step(clock_now())
    runs = api.get("/api/triggeredwebjobs/monthly/history").json()["runs"]
    assert len(runs) == 1
    assert runs[0]["start_time"].startswith("2031-02-01T00:00:0")
    assert runs[0]["trigger"] == "Schedule - 0 0 0 1 * *"
    history = list(JobHistory.objects.filter(job=month_end))
    assert [h.status for h in history] == ["Completed"]
    assert history[0].expected_execution_time == at("2031-01-31T23:59:00Z")
    assert history[0].start_time >= at("2031-02-01T00:00:02Z")
    assert len(target.calls) == 1
    api.wait(runs[0]["url"])
