"""WebJobs through ARM with the unmodified azure-mgmt-web 11.0.1 client.

A user points WebSiteManagementClient at the emulator and lists, reads, runs,
reads the history of, stops, starts and deletes WebJobs, as against Azure;
the fields the SDK fills hold what really happened.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import requests
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.mgmt.web.models import (
    ContinuousWebJobStatus,
    TriggeredWebJobStatus,
    WebJobType,
)

from tests.web_api.conftest import (
    RG,
    make_web,
    site,
    site_path,
    wait_for,
)

pytestmark = pytest.mark.django_db(transaction=True)

SH_HELLO = 'echo "hello from $WEBJOBS_NAME"\n'
SH_LOOP = (
    'while [ ! -f "$WEBJOBS_SHUTDOWN_FILE" ]; do echo tick; sleep 0.2; done\necho bye\n'
)


def _history(web, name: str) -> list:
    return list(web.web_apps.list_triggered_web_job_history(RG, site(), name))


def test_it_lists_gets_runs_and_reads_history_of_a_triggered_job(web, kudu):
    kudu.deploy("triggered", "hello", SH_HELLO)
    before = datetime.now(UTC) - timedelta(seconds=1)

    [job] = list(web.web_apps.list_triggered_web_jobs(RG, site()))
    assert job.id == f"{site_path()}/triggeredwebjobs/hello"
    assert job.name == f"{site()}/hello"
    assert job.type == "Microsoft.Web/sites/triggeredwebjobs"
    assert job.run_command == "run.sh"
    assert job.web_job_type == WebJobType.TRIGGERED
    assert job.properties["type"] == "triggered"  # Kudu's own key is there too
    assert job.latest_run is None
    assert job.url.endswith("/api/triggeredwebjobs/hello")

    assert web.web_apps.run_triggered_web_job(RG, site(), "hello") is None
    [entry] = wait_for(
        lambda: [
            h
            for h in _history(web, "hello")
            if h.properties["status"] != "Running"
            and h.properties["status"] != "Initializing"
        ],
        "the run to end",
    )
    assert entry.type == "Microsoft.Web/sites/triggeredwebjobs/history"
    run_id = entry.properties["id"]
    assert entry.name == f"{site()}/hello/{run_id}"
    [run] = entry.runs
    assert run.status == TriggeredWebJobStatus.SUCCESS
    assert run.web_job_id == run_id and run.web_job_name == "hello"
    assert run.start_time >= before and run.end_time >= run.start_time
    assert run.trigger.startswith("External - azsdk-python-mgmt-web/11.0.1")
    output = requests.get(run.output_url, auth=kudu.auth, timeout=30).text
    assert "hello from hello" in output

    read = web.web_apps.get_triggered_web_job(RG, site(), "hello")
    assert read.latest_run.status == TriggeredWebJobStatus.SUCCESS
    assert read.latest_run.web_job_id == run_id
    assert read.latest_run.start_time == run.start_time
    assert read.history_url.endswith("/api/triggeredwebjobs/hello/history")

    one = web.web_apps.get_triggered_web_job_history(RG, site(), "hello", run_id)
    assert one.id == f"{site_path()}/triggeredwebjobs/hello/history/{run_id}"
    assert one.runs[0].duration == run.duration

    [listed] = list(web.web_apps.list_web_jobs(RG, site()))
    assert listed.id == f"{site_path()}/webjobs/hello"
    assert listed.type == "Microsoft.Web/sites/webjobs"
    assert listed.web_job_type == WebJobType.TRIGGERED
    assert web.web_apps.get_web_job(RG, site(), "hello").run_command == "run.sh"

    web.web_apps.delete_triggered_web_job(RG, site(), "hello")
    assert list(web.web_apps.list_triggered_web_jobs(RG, site())) == []
    with pytest.raises(ResourceNotFoundError):
        web.web_apps.get_triggered_web_job(RG, site(), "hello")
    web.web_apps.delete_triggered_web_job(RG, site(), "hello")  # unknown: 200


def test_it_stops_and_starts_a_continuous_job(web, kudu, start_host):
    kudu.deploy("continuous", "worker", SH_LOOP)
    start_host("arm001")

    def status() -> str:
        return web.web_apps.get_continuous_web_job(RG, site(), "worker").status

    wait_for(lambda: status() == ContinuousWebJobStatus.RUNNING, "worker to run")
    job = web.web_apps.get_continuous_web_job(RG, site(), "worker")
    assert job.id == f"{site_path()}/continuouswebjobs/worker"
    assert job.web_job_type == WebJobType.CONTINUOUS
    assert job.detailed_status.startswith("arm001 - Running")
    assert job.log_url.endswith("/vfs/data/jobs/continuous/worker/job_log.txt")

    assert web.web_apps.stop_continuous_web_job(RG, site(), "worker") is None
    wait_for(lambda: status() == ContinuousWebJobStatus.STOPPED, "worker to stop")
    assert web.web_apps.start_continuous_web_job(RG, site(), "worker") is None
    wait_for(lambda: status() == ContinuousWebJobStatus.RUNNING, "worker to run")

    [listed] = list(web.web_apps.list_continuous_web_jobs(RG, site()))
    assert listed.name == f"{site()}/worker"
    web.web_apps.delete_continuous_web_job(RG, site(), "worker")
    assert list(web.web_apps.list_web_jobs(RG, site())) == []


def test_it_answers_another_site_a_slot_and_a_missing_job_with_arms_404(
    web, kudu, live_server, token
):
    with pytest.raises(ResourceNotFoundError) as caught:
        list(web.web_apps.list_triggered_web_jobs(RG, "some-other-site"))
    assert caught.value.error.code == "ResourceNotFound"
    assert "some-other-site" in caught.value.error.message
    with pytest.raises(ResourceNotFoundError):
        list(web.web_apps.list_triggered_web_jobs_slot(RG, site(), "staging"))
    with pytest.raises(ResourceNotFoundError) as caught:
        web.web_apps.run_triggered_web_job(RG, site(), "nope")
    assert "nope" in caught.value.error.message

    response = requests.get(
        f"{live_server.url}{site_path()}/slots/staging/webjobs",
        params={"api-version": "2025-05-01"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "ResourceNotFound"
    assert "slots/staging" in response.json()["error"]["message"]


@pytest.mark.parametrize("version", ["2016-08-01", "2021-02-01", "2024-11-01"])
def test_it_accepts_every_api_version_the_sdk_shipped(
    live_server, token, kudu, version
):
    kudu.deploy("triggered", "hello", SH_HELLO)
    with make_web(live_server.url, token, api_version=version) as old:
        [job] = list(old.web_apps.list_triggered_web_jobs(RG, site()))
    assert job.run_command == "run.sh"


def test_it_refuses_an_api_version_the_sdk_never_shipped(live_server, token):
    with make_web(live_server.url, token, api_version="2019-01-01") as odd:
        with pytest.raises(HttpResponseError) as caught:
            list(odd.web_apps.list_web_jobs(RG, site()))
    assert caught.value.status_code == 400
    assert caught.value.error.code == "InvalidApiVersionParameter"
    assert "2025-05-01" in caught.value.error.message


def test_it_refuses_a_wrong_token_as_arm(live_server):
    with make_web(live_server.url, "wje_not-a-token") as wrong:
        with pytest.raises(HttpResponseError) as caught:
            list(wrong.web_apps.list_web_jobs(RG, site()))
    assert caught.value.status_code == 401
    assert caught.value.error.code == "AuthenticationFailed"
