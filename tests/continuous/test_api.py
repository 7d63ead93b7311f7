"""Kudu's continuouswebjobs routes: deploy, list, get, start/stop, settings, delete,
and the bad input around them. No host runs here: statuses are the ones Kudu
shows before any instance reported."""

from __future__ import annotations

import pytest

from jobs.models import WebJob
from tests.continuous.conftest import SH_LOOP, job_log
from tests.helpers import make_zip

pytestmark = pytest.mark.django_db(transaction=True)

KUDU_KEYS = {
    "status",
    "detailed_status",
    "log_url",
    "name",
    "run_command",
    "url",
    "extra_info_url",
    "type",
    "error",
    "using_sdk",
    "settings",
}


def test_it_deploys_and_gets_a_continuous_job_in_kudus_shape(cont):
    body = cont.deploy("worker", "run.sh", SH_LOOP, {"is_singleton": True})
    assert set(body) == KUDU_KEYS  # no history_url / latest_run on continuous jobs
    assert body == {
        "status": "Initializing",
        "detailed_status": "testin - Initializing\n",
        "log_url": "http://testserver/vfs/data/jobs/continuous/worker/job_log.txt",
        "name": "worker",
        "run_command": "run.sh",
        "url": "http://testserver/api/continuouswebjobs/worker",
        "extra_info_url": "http://testserver/azurejobs/#/jobs/continuous/worker",
        "type": "continuous",
        "error": None,
        "using_sdk": False,
        "settings": {"is_singleton": True},
    }
    assert cont.get("worker") == body


def test_it_answers_on_kudus_aliases_and_lists_triggered_jobs_first(cont, api):
    cont.deploy("worker", "run.sh", SH_LOOP)
    api.deploy_fixture("hello", "hello.sh")
    for prefix in (
        "/api/continuouswebjobs",
        "/api/continuousjobs",
        "/jobs/continuous",
        "/api/jobs/continuous",
    ):
        listed = api.get(prefix).json()
        assert [job["name"] for job in listed] == ["worker"], prefix
        assert api.get(f"{prefix}/worker").json()["name"] == "worker"
    everything = api.get("/api/webjobs").json()
    assert [(j["name"], j["type"]) for j in everything] == [
        ("hello", "triggered"),
        ("worker", "continuous"),
    ]
    assert "latest_run" in everything[0] and "detailed_status" in everything[1]


def test_it_persists_stop_and_start_and_mirrors_disable_job(cont, settings):
    cont.deploy("worker", "run.sh", SH_LOOP)
    job = WebJob.objects.get(name="worker")
    cont.stop("worker")
    job.refresh_from_db()
    assert job.is_stopped
    assert (job.package_dir / "disable.job").exists()
    # No instance reports yet: a job stopped on purpose shows Stopped.
    assert cont.get("worker")["detailed_status"] == "testin - Stopped\n"
    cont.start("worker")
    job.refresh_from_db()
    assert not job.is_stopped
    assert not (job.package_dir / "disable.job").exists()
    assert cont.get("worker")["status"] == "Initializing"


def test_it_starts_a_stopped_job_again_on_redeploy_as_kudu_replaces_the_folder(cont):
    cont.deploy("worker", "run.sh", SH_LOOP)
    cont.stop("worker")
    cont.deploy("worker", "run.sh", SH_LOOP + "# v2\n")
    job = WebJob.objects.get(name="worker")
    assert not job.is_stopped
    assert job.revision == 2  # the hosts restart it with the new package


def test_it_keeps_a_job_stopped_whose_package_brings_disable_job(api):
    response = api.client.put(
        "/api/continuouswebjobs/quiet",
        data=make_zip({"run.sh": SH_LOOP, "disable.job": ""}),
        content_type="application/zip",
        HTTP_CONTENT_DISPOSITION='attachment; filename="quiet.zip"',
        **api.headers,
    )
    assert response.status_code == 200
    assert response.json()["status"] == "Stopped"
    assert WebJob.objects.get(name="quiet").is_stopped


def test_it_answers_404_for_unknown_and_triggered_jobs_on_continuous_routes(cont, api):
    api.deploy_fixture("hello", "hello.sh")
    for name in ("ghost", "hello"):
        for verb in ("start", "stop"):
            response = api.post(f"/api/continuouswebjobs/{name}/{verb}")
            assert response.status_code == 404
            assert response.content == (
                f"No continuous WebJob named '{name}'.".encode()
            )
        assert api.get(f"/api/continuouswebjobs/{name}").status_code == 404
    assert not WebJob.objects.get(name="hello").is_stopped
    # And the other way round: a continuous job is not on the triggered routes.
    cont.deploy("worker", "run.sh", SH_LOOP)
    assert api.run("worker").status_code == 404


def test_it_replaces_settings_and_logs_that_a_schedule_is_ignored(cont, api):
    cont.deploy("worker", "run.sh", SH_LOOP)
    response = api.client.put(
        "/api/continuouswebjobs/worker/settings",
        data='{"stopping_wait_time": 2}',
        content_type="application/json",
        **api.headers,
    )
    assert response.status_code == 200
    assert api.get("/api/continuouswebjobs/worker/settings").json() == {
        "stopping_wait_time": 2
    }
    assert WebJob.objects.get(name="worker").revision == 2  # restarts the job
    response = api.client.put(
        "/api/continuouswebjobs/worker/settings",
        data='{"schedule": "0 * * * * *"}',
        content_type="application/json",
        **api.headers,
    )
    assert response.status_code == 200  # Kudu ignores it on a continuous job
    assert "settings.job has a schedule ('0 * * * * *'); it is ignored" in job_log(
        "worker"
    )


def test_it_deletes_a_job_and_is_silent_about_unknown_ones(cont, api):
    cont.deploy("worker", "run.sh", SH_LOOP)
    assert api.delete("/api/continuouswebjobs/worker").status_code == 200
    assert api.delete("/api/continuouswebjobs/worker").status_code == 200
    assert api.get("/api/continuouswebjobs").json() == []


def test_it_serves_the_job_log_at_kudus_vfs_path_and_404s_before_it_exists(cont, api):
    body = cont.deploy("worker", "run.sh", SH_LOOP)
    path = body["log_url"].replace("http://testserver", "")
    response = api.get(path)
    assert response.status_code == 404
    assert response.content == b"No job_log.txt for continuous WebJob 'worker' yet."
    log = WebJob.objects.get(name="worker").data_dir / "job_log.txt"
    log.parent.mkdir(parents=True, exist_ok=True)  # made at deploy
    log.write_text(
        "[11/29/2026 12:00:00 > hostA1: SYS INFO] Status changed to Running\n"
    )
    response = api.get(path + "?download=1")
    assert response.status_code == 200
    assert b"Status changed to Running" in b"".join(response.streaming_content)
    assert 'filename="worker-job_log.txt"' in response["Content-Disposition"]
    # Only the job's own log files are served: not another file beside them,
    # nor a log file outside its folder reached through an encoded "../".
    (log.parent / "secret.txt").write_text("SECRET")
    (log.parent.parent / "job_log.txt").write_text("SECRET")
    for name in ("secret.txt", "..%2Fjob_log.txt"):
        response = api.get(f"/vfs/data/jobs/continuous/worker/{name}")
        assert response.status_code == 404, name
        assert b"SECRET" not in response.content


def test_it_refuses_anonymous_calls(client, cont):
    cont.deploy("worker", "run.sh", SH_LOOP)
    assert client.post("/api/continuouswebjobs/worker/stop").status_code == 401
    assert not WebJob.objects.get(name="worker").is_stopped
