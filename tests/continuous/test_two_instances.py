"""Two instances on PostgreSQL: two `manage.py runhost` processes with their own
WEBSITE_INSTANCE_IDs, one shared database and WEBJOBS_ROOT (as App Service
instances share storage), one gunicorn for the API.

A normal continuous job runs on both; an `is_singleton` job on exactly one, the
other reporting InactiveInstance; kill -9 the holder's host and the job moves
to the survivor once the lease (WEBJOBS_LEASE_TIME, 3 s here) lapses.
"""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import pytest
import requests

from tests.continuous.conftest import SH_LOOP, job_groups, wait_for
from tests.helpers import make_zip
from tests.instance import (
    MANAGE,
    Processes,
    ensure_admin,
    free_port,
    instance_env,
    postgres_database,
    processes,  # noqa: F401
    require_services,
)

pytestmark = pytest.mark.services

USER, PASSWORD = "deployer", "two-instances-pass"
INSTANCES = ("instA-two", "instB-two")  # distinct in their first 6 characters


def test_normal_jobs_run_on_both_and_a_singleton_on_one_that_fails_over(
    processes: Processes,  # noqa: F811
    tmp_path: Path,
    scratch: Path,
) -> None:
    require_services()
    root = scratch / "root"  # jobs (WEBJOBS_RUN_AS) reach it, not tmp_path
    with postgres_database() as database_url:
        env = instance_env(
            DATABASE_URL=database_url,
            WEBJOBS_ROOT=str(root),
            WEBJOBS_RESTART_TIME="1",
            WEBJOBS_LEASE_TIME="3",
            WEBSITE_INSTANCE_ID="web000",
        )
        try:
            ensure_admin(env, USER, PASSWORD)
            port = free_port()
            processes.gunicorn(env, port, log=tmp_path / "gunicorn.log")
            with requests.Session() as http:
                http.auth = (USER, PASSWORD)
                api = f"http://127.0.0.1:{port}/api/continuouswebjobs"
                _deploy(http, api, "everywhere", {"stopping_wait_time": 1})
                _deploy(
                    http, api, "solo", {"is_singleton": True, "stopping_wait_time": 1}
                )
                hosts = {
                    inst: processes.start(
                        [*MANAGE, "runhost"],
                        {**env, "WEBSITE_INSTANCE_ID": inst},
                        log=tmp_path / f"runhost-{inst}.log",
                    )
                    for inst in INSTANCES
                }
                _run(http, api, root, hosts)
        finally:
            processes.stop()  # before the database is dropped
    assert job_groups("everywhere", root=root) == set()
    assert job_groups("solo", root=root) == set()


def _run(http, api, root, hosts) -> None:
    both = "instA- - Running\ninstB- - Running\n"
    wait_for(lambda: _detailed(http, api, "everywhere") == both, "both instances")
    for inst in INSTANCES:
        assert len(job_groups("everywhere", inst, root)) == 1

    def one_running_one_inactive():
        lines = sorted(_detailed(http, api, "solo").splitlines())
        states = sorted(line.split(" - ")[1] for line in lines)
        return lines if states == ["InactiveInstance", "Running"] else None

    lines = wait_for(one_running_one_inactive, "the singleton on one instance")
    holder6 = next(line[:6] for line in lines if line.endswith("Running"))
    holder = next(i for i in INSTANCES if i.startswith(holder6))
    survivor = next(i for i in INSTANCES if i != holder)
    assert http.get(f"{api}/solo").json()["status"] == "Running"
    assert len(job_groups("solo", holder, root)) == 1
    assert job_groups("solo", survivor, root) == set()

    hosts[holder].send_signal(signal.SIGKILL)
    hosts[holder].wait()
    killed_at = time.monotonic()
    expected = f"{survivor[:6]} - Running\n"

    def moved():
        # Never two copies at once while it moves.
        assert len(job_groups("solo", root=root)) <= 1
        return (
            _detailed(http, api, "solo") == expected
            and len(job_groups("solo", survivor, root)) == 1
        )

    wait_for(moved, "the singleton to move to the survivor")
    print(f"singleton moved in {time.monotonic() - killed_at:.1f} s (lease 3 s)")
    assert job_groups("solo", holder, root) == set()
    assert _detailed(http, api, "everywhere") == f"{survivor[:6]} - Running\n"
    log = (root / "data/jobs/continuous/solo/job_log.txt").read_text()
    assert f"> {survivor[:6]}: SYS INFO] Status changed to InactiveInstance" in log
    assert f"> {survivor[:6]}: SYS INFO] Status changed to Running" in log


def _detailed(http: requests.Session, api: str, name: str) -> str:
    response = http.get(f"{api}/{name}")
    assert response.status_code == 200, response.text
    return response.json()["detailed_status"]


def _deploy(http: requests.Session, api: str, name: str, settings: dict) -> None:
    response = http.put(
        f"{api}/{name}",
        data=make_zip({"run.sh": SH_LOOP, "settings.job": json.dumps(settings)}),
        headers={
            "Content-Disposition": f'attachment; filename="{name}.zip"',
            "Content-Type": "application/zip",
        },
    )
    assert response.status_code == 200, response.text
