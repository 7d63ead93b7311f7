"""Azurite's queue service as one of an instance's processes (AZURITE=1).

StorageQueue actions send to http://127.0.0.1:AZURITE_QUEUE_PORT/<account>
(scheduler/queues.py); runinstance starts Azurite there (10001 by default, so
`UseDevelopmentStorage=true` clients find the same queues), its data kept in
WEBJOBS_ROOT/azurite, its output in WEBJOBS_ROOT/azurite/azurite.log. The npm
package is installed into the project by `make run` (`npm ci`, pinned by
package-lock.json).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import CommandError

from core.storage_queue import DEV_ACCOUNT, DEV_ACCOUNT_KEY
from jobs.processes import die_with, end_tree, pdeathsig_wrapper

START_TIMEOUT = 30.0
ERR_NOT_INSTALLED = (
    "AZURITE=1, but Azurite is not installed ({path} is missing): `make run` "
    "installs it with npm (`npm ci`), which needs Node.js and npm."
)
ERR_NO_NODE = "AZURITE=1, but Node.js (node) is not on the PATH; Azurite needs it."
ERR_PORT_TAKEN = (
    "AZURITE=1, but port {port} (AZURITE_QUEUE_PORT) is taken, by another Azurite "
    "perhaps: stop it, choose another AZURITE_QUEUE_PORT, or leave AZURITE unset "
    "to send StorageQueue actions to what listens there."
)
ERR_NOT_STARTED = (
    "Azurite's queue service did not start on port {port}; its log "
    "({log}) ends with: {tail}"
)


def azurite_bin() -> Path:
    return settings.BASE_DIR / "node_modules" / ".bin" / "azurite-queue"


def azurite_argv(*, port: int, location: Path) -> list[str]:
    """The queue service alone, on loopback. Telemetry is on by default in
    Azurite (it calls out to Application Insights); the client library speaks
    a newer storage API version than Azurite announces, which it refuses
    unless told to skip that check."""
    return [
        str(azurite_bin()),
        "--queueHost",
        "127.0.0.1",
        "--queuePort",
        str(port),
        "--location",
        str(location),
        "--skipApiVersionCheck",
        "--disableTelemetry",
        "--silent",
    ]


def azurite_environment() -> dict[str, str]:
    """Azurite's environment: AZURITE_ACCOUNTS with devstoreaccount1 kept
    (Azurite drops its development account once the variable is set)."""
    env = dict(os.environ)
    accounts = settings.AZURITE_ACCOUNTS
    env.pop("AZURITE_ACCOUNTS", None)
    if accounts:
        accounts = {DEV_ACCOUNT: [DEV_ACCOUNT_KEY], **accounts}
        env["AZURITE_ACCOUNTS"] = ";".join(
            ":".join([name, *keys]) for name, keys in accounts.items()
        )
    return env


def azurite_start() -> subprocess.Popen:
    """Start Azurite's queue service and wait until it listens; CommandError
    with the reason when it cannot. Its own session, so it is ended by its
    group; it dies with this process even on kill -9 (parent-death signal)."""
    port = settings.AZURITE_QUEUE_PORT
    if not azurite_bin().exists():
        raise CommandError(ERR_NOT_INSTALLED.format(path=azurite_bin()))
    if shutil.which("node") is None:
        raise CommandError(ERR_NO_NODE)
    if _listening(port):
        raise CommandError(ERR_PORT_TAKEN.format(port=port))
    location = settings.WEBJOBS_ROOT / "azurite"
    location.mkdir(parents=True, exist_ok=True)
    log = location / "azurite.log"
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            [
                *pdeathsig_wrapper(as_job=False),
                *azurite_argv(port=port, location=location),
            ],
            env=azurite_environment(),
            cwd=settings.BASE_DIR,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=die_with(os.getpid(), as_job=False),
        )
    deadline = time.monotonic() + START_TIMEOUT
    while not _listening(port):
        if proc.poll() is not None or time.monotonic() > deadline:
            end_tree(proc.pid, grace=5)
            proc.wait()
            tail = " | ".join(log.read_text(errors="replace").splitlines()[-3:])
            raise CommandError(ERR_NOT_STARTED.format(port=port, log=log, tail=tail))
        time.sleep(0.1)
    return proc


def _listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False
