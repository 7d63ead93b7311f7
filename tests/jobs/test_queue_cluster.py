"""Runs through a real `manage.py qcluster`, with the queue's windows set short.

A run must not depend on django-q2's worker count or delivery window: a run
longer than `retry`/`timeout` is started once, and ten long runs start together
even with one worker.
"""

from __future__ import annotations

import time

import pytest
from django.db import connection

from config.env import database_to_url
from tests.instance import instance_env

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("real_queue"),
]


@pytest.fixture
def real_queue(monkeypatch):
    """Enqueue for real (tests elsewhere run queue tasks inline)."""
    from django_q.conf import Conf

    monkeypatch.setattr(Conf, "SYNC", False)


def cluster_env(**extra: str) -> dict[str, str]:
    return instance_env(
        DATABASE_URL=database_to_url(connection.settings_dict),
        WEBSITE_INSTANCE_ID="cluster1",
        **extra,
    )


def wait_all(api, locations: list[str], timeout: float = 60) -> list[dict]:
    return [api.wait(loc, timeout=timeout) for loc in locations]


def test_it_runs_a_job_end_to_end_through_a_real_cluster(api, processes, tmp_path):
    processes.qcluster(cluster_env(), log=tmp_path / "qcluster.log")
    api.deploy_fixture("report", "report.py")
    response = api.run("report", "through the cluster")
    run = api.wait(response["Location"], timeout=60)
    assert run["status"] == "Success"
    assert run["instance_id"] == "cluste"  # Kudu's 6-character instance label
    assert "report: through the cluster" in api.output(run)


def test_it_starts_a_run_longer_than_the_queue_retry_only_once(
    api, processes, tmp_path, scratch
):
    starts = scratch / "starts"
    script = f"echo start >> {starts}\nsleep 6\necho done\n".encode()
    api.deploy("long", script, filename="run.sh")
    processes.qcluster(
        cluster_env(Q_TIMEOUT="1", Q_RETRY="2", Q_WORKERS="1"),
        log=tmp_path / "qcluster.log",
    )
    run = api.wait(api.run("long")["Location"], timeout=60)
    assert run["status"] == "Success"
    assert "done" in api.output(run)
    assert starts.read_text().splitlines() == ["start"]


def test_it_starts_ten_long_runs_at_once_with_one_worker(
    api, processes, tmp_path, scratch
):
    for i in range(10):
        script = (
            f"date +%s.%N > {scratch}/start-{i}\nsleep 4\n"
            f"date +%s.%N > {scratch}/end-{i}\n"
        ).encode()
        api.deploy(f"long{i}", script, filename="run.sh")
    processes.qcluster(cluster_env(Q_WORKERS="1"), log=tmp_path / "qcluster.log")
    locations = [api.run(f"long{i}")["Location"] for i in range(10)]
    runs = wait_all(api, locations)
    assert [r["status"] for r in runs] == ["Success"] * 10
    starts = [float((scratch / f"start-{i}").read_text()) for i in range(10)]
    ends = [float((scratch / f"end-{i}").read_text()) for i in range(10)]
    # All ten were running at the same moment: the last start precedes the first end.
    assert max(starts) < min(ends)


def test_a_run_outlives_a_restart_of_the_queue_cluster(api, processes, tmp_path):
    """The monitor is forked out of the worker into a session of its own: a worker
    recycled or a cluster restarted does not take running jobs down with it
    (runinstance, as their subreaper, still ends them when the instance stops)."""
    api.deploy("steady", b"echo up\nsleep 3\necho done\n", filename="run.sh")
    cluster = processes.qcluster(cluster_env(), log=tmp_path / "qcluster.log")
    location = api.run("steady")["Location"]
    deadline = time.monotonic() + 30
    while (
        api.get(location.replace("http://testserver", "")).json()["status"] != "Running"
    ):
        assert time.monotonic() < deadline
        time.sleep(0.1)
    processes.stop(cluster)
    run = api.wait(location)
    assert run["status"] == "Success"
    assert "INFO] done" in api.output(run)
