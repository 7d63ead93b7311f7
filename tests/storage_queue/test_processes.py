"""StorageQueue actions through the real processes: `manage.py runscheduler` and
`manage.py qcluster` delivering into a real Azurite, and `runinstance` with
AZURITE=1 starting Azurite's queue service and stopping it with everything
else."""

from __future__ import annotations

import signal
import subprocess
import time
from datetime import timedelta

import pytest
from django.core.management import CommandError
from django.db import connection

from config.clock import clock_now, clock_set
from config.env import database_to_url
from emulator.azurite import ERR_NOT_INSTALLED, ERR_PORT_TAKEN, azurite_start
from jobs.processes import alive, cmdline, descendants
from scheduler.models import JobHistory
from scheduler.services import job_put
from tests.azurite import Azurite, envelope, require_azurite, sas_token
from tests.instance import (
    BASE_DIR,
    MANAGE,
    _reachable,
    free_port,
    instance_env,
    runinstance,
    wait_for_port,
)

pytestmark = pytest.mark.django_db(transaction=True)


def queue_job(collection, name, queue, **props):
    action = {
        "type": "StorageQueue",
        "queueMessage": {
            "storageAccount": "devstoreaccount1",
            "queueName": queue,
            "sasToken": sas_token(queue),
            "message": f"from {name}",
        },
        "retryPolicy": {"retryType": "None"},
    }
    job, _ = job_put(
        collection=collection,
        name=name,
        body={"properties": {"action": action, **props}},
    )
    return job


def wait_for_messages(server: Azurite, queue: str, seen: list, count: int) -> None:
    deadline = time.monotonic() + 30
    while len(seen) < count:
        assert time.monotonic() < deadline, f"{len(seen)} messages, wanted {count}"
        seen += [envelope(m) for m in server.messages(queue)]
        time.sleep(0.05)


def env_of_this_database(**extra: str) -> dict[str, str]:
    return instance_env(DATABASE_URL=database_to_url(connection.settings_dict), **extra)


def test_the_engine_and_the_queue_put_a_message_for_every_occurrence(
    azurite, collection, queue_name, processes, tmp_path
):
    """The emulated clock moves one minute a second: a per-minute job fires
    every second, each occurrence one message, in order, none twice."""
    azurite.create_queue(queue_name)
    env = env_of_this_database(
        AZURITE_QUEUE_PORT=str(azurite.port), WEBSITE_INSTANCE_ID="queues1"
    )
    processes.qcluster(env, log=tmp_path / "qcluster.log")
    engine_log = tmp_path / "engine.log"
    processes.start([*MANAGE, "runscheduler"], env, log=engine_log)
    first = (clock_now() + timedelta(minutes=1)).replace(second=0, microsecond=0)
    job = queue_job(
        collection,
        "per-minute",
        queue_name,
        startTime=first.isoformat(),
        recurrence={"frequency": "Minute", "interval": 1},
    )
    seen: list[dict] = []
    for n in range(5):
        tick = time.monotonic()
        clock_set((first + timedelta(minutes=n, seconds=0.2)).isoformat())
        wait_for_messages(azurite, queue_name, seen, n + 1)
        time.sleep(max(0.0, 1.0 - (time.monotonic() - tick)))

    expected = [
        (first + timedelta(minutes=n)).strftime("%Y-%m-%dT%H:%M:%S") for n in range(5)
    ]
    assert [body["ExpectedExecutionTime"] for body in seen] == expected
    assert {body["Message"] for body in seen} == {"from per-minute"}
    assert azurite.messages(queue_name) == []  # nothing sent twice
    statuses = JobHistory.objects.filter(job=job).values_list("status", flat=True)
    assert list(statuses) == ["Completed"] * 5


def test_runinstance_starts_azurite_and_stops_it_with_everything_else(
    collection, queue_name, tmp_path, scratch
):
    require_azurite()
    port = free_port()
    root = scratch / "root"  # where jobs (WEBJOBS_RUN_AS) may go, not tmp_path
    env = env_of_this_database(
        AZURITE="1",
        AZURITE_QUEUE_PORT=str(port),
        WEBJOBS_ROOT=str(root),
        WEBSITE_INSTANCE_ID="azinst1",
        WEBJOBS_LAUNCHERS="1",
    )
    with runinstance(["--no-web"], env, tmp_path / "instance.log") as proc:
        wait_for_port(port, timeout=60)
        server = Azurite(root / "azurite", port=port)  # to talk to it, not run it
        server.create_queue(queue_name)
        queue_job(collection, "at-once", queue_name)  # no start: runs at once
        seen: list[dict] = []
        wait_for_messages(server, queue_name, seen, 1)
        assert seen[0]["SchedulerJobId"] == "at-once"

        tree = descendants(proc.pid)
        [azurite] = [p for p in tree if "--queuePort" in cmdline(p)]
        assert str(root / "azurite") in cmdline(azurite)  # its data in WEBJOBS_ROOT
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
        assert [p for p in tree if alive(p)] == []
        assert not _reachable(port)
        assert (root / "azurite" / "__azurite_db_queue__.json").exists()
    text = (tmp_path / "instance.log").read_text()
    assert f"Azurite queues on http://127.0.0.1:{port}" in text


def test_runinstance_refuses_to_start_when_the_azurite_port_is_taken(azurite):
    env = env_of_this_database(
        AZURITE="1", AZURITE_QUEUE_PORT=str(azurite.port), WEBSITE_INSTANCE_ID="azinst2"
    )
    done = subprocess.run(
        [*MANAGE, "runinstance", "--no-web"],
        env=env,
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert ERR_PORT_TAKEN.format(port=azurite.port) in done.stderr


def test_azurite_start_says_how_to_install_it_when_it_is_missing(settings, tmp_path):
    settings.BASE_DIR = tmp_path  # a checkout where `npm ci` never ran
    settings.AZURITE_QUEUE_PORT = free_port()
    missing = tmp_path / "node_modules" / ".bin" / "azurite-queue"
    with pytest.raises(CommandError) as caught:
        azurite_start()
    assert str(caught.value) == ERR_NOT_INSTALLED.format(path=missing)
    assert "`make run` installs it with npm (`npm ci`)" in str(caught.value)
