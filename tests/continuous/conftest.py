"""Continuous WebJobs with real hosts: `manage.py runhost` processes on the test
database, short restart and lease times through their environment."""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.db import connection

from config.env import database_to_url
from jobs.environment import emulator_id
from tests.helpers import make_zip
from tests.instance import MANAGE, Processes, instance_env

RESTART_TIME = "1"  # seconds: WEBJOBS_RESTART_TIME of the test hosts
LEASE_TIME = "3"  # seconds: WEBJOBS_LEASE_TIME of the test hosts
GUARD = 30.0  # a deadline against hanging, never an assertion on speed

# A worker that loops until its shutdown file appears (Kudu's graceful idiom).
SH_LOOP = """\
echo "started $WEBJOBS_NAME on $WEBSITE_INSTANCE_ID"
i=0
while [ ! -f "$WEBJOBS_SHUTDOWN_FILE" ]; do i=$((i+1)); echo "tick $i"; sleep 0.3; done
echo "shutdown file seen, bye"
"""
PY_LOOP = """\
import os, sys, time
print("python worker up", flush=True)
path = os.environ["WEBJOBS_SHUTDOWN_FILE"]
while not os.path.exists(path):
    print("py tick", flush=True)
    time.sleep(0.3)
print("python worker: shutdown file seen, exiting cleanly", flush=True)
"""


def wait_for(check: Callable[[], object], what: str, timeout: float = GUARD):
    """Poll until check() is truthy; fail with `what` after the guard."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def package(script_name: str, script: str, job_settings: dict | None = None) -> bytes:
    files: dict[str, str] = {script_name: script}
    if job_settings is not None:
        files["settings.job"] = json.dumps(job_settings)
    return make_zip(files)


class Continuous:
    """The Kudu API for continuous jobs, on the test client."""

    def __init__(self, api) -> None:
        self.api = api

    def deploy(
        self,
        name: str,
        script_name: str,
        script: str,
        job_settings: dict | None = None,
    ) -> dict:
        response = self.api.client.put(
            f"/api/continuouswebjobs/{name}",
            data=package(script_name, script, job_settings),
            content_type="application/zip",
            HTTP_CONTENT_DISPOSITION=f'attachment; filename="{name}.zip"',
            **self.api.headers,
        )
        assert response.status_code == 200, response.content
        return response.json()

    def get(self, name: str) -> dict:
        response = self.api.get(f"/api/continuouswebjobs/{name}")
        assert response.status_code == 200, response.content
        return response.json()

    def start(self, name: str) -> None:
        assert self.api.post(f"/api/continuouswebjobs/{name}/start").status_code == 200

    def stop(self, name: str) -> None:
        assert self.api.post(f"/api/continuouswebjobs/{name}/stop").status_code == 200

    def detailed(self, name: str) -> str:
        return self.get(name)["detailed_status"]

    def wait_status(self, name: str, expected: str, timeout: float = GUARD) -> dict:
        """Until every listed instance shows `expected`."""

        def check():
            body = self.get(name)
            lines = body["detailed_status"].splitlines()
            return (
                body
                if lines and all(ln.endswith(f" {expected}") for ln in lines)
                else None
            )

        return wait_for(check, f"{name} to be {expected}", timeout)


@pytest.fixture
def cont(api) -> Continuous:
    return Continuous(api)


def job_log(name: str, filename: str = "job_log.txt") -> str:
    path = (
        django_settings.WEBJOBS_ROOT / "data" / "jobs" / "continuous" / name / filename
    )
    return path.read_text(errors="replace") if path.exists() else ""


def job_groups(
    name: str, instance: str | None = None, root: Path | None = None
) -> set[int]:
    """Process groups of live copies of a job (each launch leads its own group),
    found by Kudu's marker variable, in this test's WEBJOBS_ROOT."""
    mine = emulator_id(root or django_settings.WEBJOBS_ROOT)
    wanted = [
        f"WEBSITE_ALWAYS_ON_JOB_RUNNING_{name}=true".encode(),
        f"WEBJOBS_EMULATOR_ID={mine}".encode(),
    ]
    if instance:
        wanted.append(f"WEBSITE_INSTANCE_ID={instance}".encode())
    groups = set()
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/environ", "rb") as f:
                environ = set(f.read().split(b"\0"))
            with open(f"/proc/{entry.name}/stat", "rb") as f:
                fields = f.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        if fields[0] not in (b"Z", b"X") and all(w in environ for w in wanted):
            groups.add(int(fields[2]))
    return groups


def host_env(instance: str, **overrides: str) -> dict[str, str]:
    return instance_env(
        DATABASE_URL=database_to_url(connection.settings_dict),
        WEBSITE_INSTANCE_ID=instance,
        WEBJOBS_RESTART_TIME=RESTART_TIME,
        WEBJOBS_LEASE_TIME=LEASE_TIME,
        **overrides,
    )


@pytest.fixture
def start_host(processes: Processes, tmp_path: Path):
    """Start `manage.py runhost` for an instance; returns the process."""

    def start(instance: str = "hostA1", **env: str) -> subprocess.Popen:
        log = tmp_path / f"runhost-{instance}.log"
        return processes.start([*MANAGE, "runhost"], host_env(instance, **env), log=log)

    return start


def host_log(tmp_path: Path, instance: str = "hostA1") -> str:
    path = tmp_path / f"runhost-{instance}.log"
    return path.read_text(errors="replace") if path.exists() else ""
