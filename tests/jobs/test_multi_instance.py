"""Multi-instance proof on the real servers: with PostgreSQL and Redis, two queue
clusters running, 50 on-demand runs each execute exactly once; and with two
whole instances (web, cluster, launcher each), where every run's local hand-off
to its instance's launcher races the queue task that any cluster may take.

Black-box: one fresh PostgreSQL database, one Redis queue (its own name), one
shared WEBJOBS_ROOT, one gunicorn and two `manage.py qcluster` processes with
different WEBSITE_INSTANCE_IDs. Everything goes over HTTP; every job appends one
line to a ledger file, which is the proof of how often each run executed.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

from tests.instance import (
    REDIS_URL,
    Processes,
    ensure_admin,
    forget_redis_keys,
    free_port,
    instance_env,
    instance_processes,
    postgres_database,
    processes,  # noqa: F401
    require_services,
)

pytestmark = pytest.mark.services

JOBS = 50  # one run each: a job has one active run at most (Kudu's triggeredJob.lock)
FINAL = ("Success", "Failed", "Aborted")
WAIT_SECONDS = 90.0  # a guard against hanging, not an assertion on speed
USER, PASSWORD = "deployer", "multi-instance-pass"
# Distinct in their first 6 characters: the API shows instance_id[:6], as Kudu's logs.
INSTANCES = ("instA-multi", "instB-multi")


def test_it_runs_each_of_50_runs_exactly_once_across_two_queue_clusters(
    processes: Processes,  # noqa: F811
    tmp_path: Path,
    scratch: Path,
) -> None:
    require_services()
    with _servers(processes, scratch, WEBSITE_INSTANCE_ID="web000") as env:
        port = free_port()
        processes.gunicorn(env, port, log=tmp_path / "gunicorn.log")
        for instance in INSTANCES:
            processes.qcluster(
                {**env, "WEBSITE_INSTANCE_ID": instance},
                log=tmp_path / f"qcluster-{instance}.log",
            )
        runs = _run_all(scratch, [f"http://127.0.0.1:{port}"])
    # Both clusters usually take part, but nothing guarantees it: shown, not asserted.
    _assert_each_ran_once(runs, tmp_path, scratch)


def test_each_run_starts_once_when_two_instances_launchers_race_the_queue(
    processes: Processes,  # noqa: F811
    tmp_path: Path,
    scratch: Path,
) -> None:
    require_services()
    with _servers(processes, scratch, WEBJOBS_LAUNCHERS="1") as env:
        bases, launcher_logs = [], []
        for instance in INSTANCES:
            own = {**env, "WEBSITE_INSTANCE_ID": instance}
            port = free_port()
            processes.gunicorn(own, port, log=tmp_path / f"web-{instance}.log")
            bases.append(f"http://127.0.0.1:{port}")
            processes.qcluster(own, log=tmp_path / f"qcluster-{instance}.log")
            launcher_logs.append(tmp_path / f"launcher-{instance}.log")
            processes.start(
                [*processes.manage, "runlauncher"], own, log=launcher_logs[-1]
            )
        for log in launcher_logs:  # listening (else: the queue alone)
            _wait_for_line(log, "listening")
        runs = _run_all(scratch, bases)
    # Which delivery won each race is timing: shown, not asserted.
    _assert_each_ran_once(runs, tmp_path, scratch)


@contextmanager
def _servers(procs: Processes, scratch: Path, **extra: str) -> Iterator[dict]:
    """A fresh PostgreSQL database and a Redis queue of this test only, with an
    admin user: the environment of its instances (their WEBJOBS_ROOT in
    `scratch`, which jobs running as WEBJOBS_RUN_AS can reach). Every process is
    ended and the queue's keys removed at the end."""
    queue = f"multi-{uuid.uuid4().hex[:10]}"
    with postgres_database() as database_url:
        env = instance_env(
            DATABASE_URL=database_url,
            REDIS_URL=REDIS_URL,
            WEBJOBS_ROOT=str(scratch / "root"),
            WEBJOBS_QUEUE_NAME=queue,
            Q_WORKERS="2",
            **extra,
        )
        try:
            ensure_admin(env, USER, PASSWORD)
            yield env
        finally:
            for proc in list(procs.procs):
                if proc.args[-1] == "qcluster":
                    procs.stop_qcluster(proc)
            procs.stop()  # before the database is dropped
            forget_redis_keys(f"django_q:{queue}:*")


def _run_all(scratch: Path, bases: list[str]) -> dict[str, dict]:
    """JOBS jobs deployed, one run of each requested (in turn from each web
    server), and their runs once final; the jobs write a ledger in `scratch`."""
    with requests.Session() as http:
        http.auth = (USER, PASSWORD)
        names = [f"job{i:02d}" for i in range(JOBS)]
        for name in names:
            _deploy(http, bases[0], name, scratch / "ledger.txt")
        locations = {
            name: _trigger(http, bases[i % len(bases)], name)
            for i, name in enumerate(names)
        }
        return _wait_all(http, locations)


def _assert_each_ran_once(runs: dict[str, dict], tmp_path: Path, scratch: Path) -> None:
    statuses = Counter(run["status"] for run in runs.values())
    assert statuses == {"Success": JOBS}, (statuses, _logs(tmp_path))

    lines = (scratch / "ledger.txt").read_text().splitlines()
    executions = Counter((name, run_id) for name, run_id, _ in map(str.split, lines))
    assert len(lines) == JOBS
    # Every run executed, nothing else did, and each exactly once.
    assert set(executions) == {(name, run["id"]) for name, run in runs.items()}
    assert set(executions.values()) == {1}

    # Each run reports the instance whose process actually executed it.
    ran_on = {(name, run_id): inst for name, run_id, inst in map(str.split, lines)}
    for name, run in runs.items():
        assert run["instance_id"] == ran_on[(name, run["id"])][:6]
    print("runs per instance:", dict(Counter(ran_on.values())))

    # No monitor or job outlived the instances.
    assert instance_processes(scratch / "root") == []


def _deploy(http: requests.Session, base: str, name: str, ledger: Path) -> None:
    line = "$WEBJOBS_NAME $WEBJOBS_RUN_ID $WEBSITE_INSTANCE_ID"
    script = f'echo "{line}" >> "{ledger}"\n'
    response = http.put(
        f"{base}/api/triggeredwebjobs/{name}",
        data=script.encode(),
        headers={"Content-Disposition": 'attachment; filename="run.sh"'},
    )
    assert response.status_code == 200, response.text
    assert response.json()["error"] is None


def _trigger(http: requests.Session, base: str, name: str) -> str:
    response = http.post(f"{base}/api/triggeredwebjobs/{name}/run")
    assert response.status_code == 202, response.text
    return response.headers["Location"]


def _wait_all(http: requests.Session, locations: dict[str, str]) -> dict[str, dict]:
    """The last JSON of every run, once all are final (or the guard ran out)."""
    runs: dict[str, dict] = {}
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        for name, location in locations.items():
            if runs.get(name, {}).get("status") not in FINAL:
                response = http.get(location)
                assert response.status_code == 200, response.text
                runs[name] = response.json()
        if all(run["status"] in FINAL for run in runs.values()):
            return runs
        if time.monotonic() > deadline:
            return runs  # the status assertion then shows what did not end
        time.sleep(0.2)


def _wait_for_line(log: Path, text: str) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not (log.exists() and text in log.read_text(errors="replace")):
        assert time.monotonic() < deadline, f"{log.name}: no {text!r}"
        time.sleep(0.05)


def _logs(tmp_path: Path) -> str:
    return "\n".join(
        f"--- {log.name}\n{log.read_text(errors='replace')[-3000:]}"
        for log in sorted(tmp_path.glob("*.log"))
    )
