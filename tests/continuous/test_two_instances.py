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
import socket
import threading
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
LEASE = 3.0  # WEBJOBS_LEASE_TIME of these hosts
RETRY = LEASE / 3  # a host renews, and retries a lease held elsewhere, this often


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
            WEBJOBS_LEASE_TIME=str(int(LEASE)),
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
    took = time.monotonic() - killed_at
    # docs/behaviour.md: within about WEBJOBS_LEASE_TIME plus one retry (a third
    # of it, 1 s here); 3 s more for the launch and the API's view of it on a
    # loaded 2-core machine.
    assert took <= LEASE + RETRY + 3, f"the singleton moved in {took:.1f} s"
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


class Cuttable:
    """A TCP forwarder to the database that the test cuts: the host behind it
    keeps running but can no longer reach the database (a network partition)."""

    def __init__(self, upstream: int = 5432) -> None:
        self.upstream = upstream
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.sockets: list[socket.socket] = []
        self.is_cut = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if self.is_cut:
                client.close()
                continue
            server = socket.create_connection(("127.0.0.1", self.upstream))
            self.sockets += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=_pump, args=(a, b), daemon=True).start()

    def cut(self) -> None:
        self.is_cut = True
        self.listener.close()
        for sock in self.sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()


def _pump(source: socket.socket, target: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            target.sendall(data)
    except OSError:
        pass


def test_a_host_that_cannot_renew_its_lease_stops_its_copy(
    processes: Processes,  # noqa: F811
    tmp_path: Path,
    scratch: Path,
) -> None:
    """The holder's host loses the database but keeps running: it stops its
    copy (most of the lease without a renewal), before the other instance,
    which took the lease once it lapsed, starts the job. Never two copies."""
    require_services()
    root = scratch / "root"  # jobs (WEBJOBS_RUN_AS) reach it, not tmp_path
    with postgres_database() as database_url:
        env = instance_env(
            DATABASE_URL=database_url,
            WEBJOBS_ROOT=str(root),
            WEBJOBS_RESTART_TIME="1",
            WEBJOBS_LEASE_TIME=str(int(LEASE)),
            WEBSITE_INSTANCE_ID="web000",
        )
        proxy = Cuttable()
        holder, other = INSTANCES
        through_proxy = database_url.replace(":5432/", f":{proxy.port}/")
        try:
            ensure_admin(env, USER, PASSWORD)
            port = free_port()
            processes.gunicorn(env, port, log=tmp_path / "gunicorn.log")
            with requests.Session() as http:
                http.auth = (USER, PASSWORD)
                api = f"http://127.0.0.1:{port}/api/continuouswebjobs"
                _deploy(
                    http, api, "solo", {"is_singleton": True, "stopping_wait_time": 0}
                )
                cut_off = processes.start(
                    [*MANAGE, "runhost"],
                    {
                        **env,
                        "WEBSITE_INSTANCE_ID": holder,
                        "DATABASE_URL": through_proxy,
                    },
                    log=tmp_path / "runhost-holder.log",
                )
                wait_for(
                    lambda: len(job_groups("solo", holder, root)) == 1, "the holder"
                )
                processes.start(
                    [*MANAGE, "runhost"],
                    {**env, "WEBSITE_INSTANCE_ID": other},
                    log=tmp_path / "runhost-other.log",
                )
                wait_for(
                    lambda: (
                        f"{other[:6]} - InactiveInstance"
                        in _detailed(http, api, "solo")
                    ),
                    "the other instance to wait for the lease",
                )
                proxy.cut()
                cut_at = time.monotonic()

                def moved():
                    assert len(job_groups("solo", root=root)) <= 1, "two copies"
                    return len(job_groups("solo", other, root)) == 1

                wait_for(moved, "the other instance to run the singleton")
                took = time.monotonic() - cut_at
                assert job_groups("solo", holder, root) == set()
                assert cut_off.poll() is None, "the cut-off host must keep running"
                assert took <= LEASE + RETRY + 3, f"moved in {took:.1f} s"
                log = (root / "data/jobs/continuous/solo/job_log.txt").read_text()
                assert f"> {holder[:6]}: SYS WARN]" in log  # it said why it stopped
        finally:
            proxy.cut()
            processes.stop()  # before the database is dropped
    assert job_groups("solo", root=root) == set()
