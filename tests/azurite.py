"""A real Azurite queue service for tests (node_modules/.bin/azurite-queue, from
`npm ci`), and azure-storage-queue helpers to make queues and SAS tokens and
read the messages back, as a queue's consumer would.

Each Azurite gets its own free port and its own --location; it is ended by its
process group. Without Azurite installed the tests that need it skip with the
reason, or fail under REQUIRE_SERVICES=1 (CI), as the PostgreSQL/Redis ones do.
"""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from azure.storage.queue import (
    QueueSasPermissions,
    QueueServiceClient,
    generate_queue_sas,
)

from core.storage_queue import DEV_ACCOUNT, DEV_ACCOUNT_KEY
from jobs.processes import end_tree
from tests.instance import BASE_DIR, free_port, wait_for_port

AZURITE_QUEUE = BASE_DIR / "node_modules" / ".bin" / "azurite-queue"
MISSING = (
    "Azurite is not installed ({path}; `npm ci` or `make test` installs it) "
    "(REQUIRE_SERVICES is unset, so skipping)"
)
FIELDS = (
    "ExecutionTag",
    "ClientRequestId",
    "ExpectedExecutionTime",
    "SchedulerJobId",
    "SchedulerJobCollectionId",
    "Region",
    "Message",
)


def require_azurite() -> None:
    if AZURITE_QUEUE.exists() and shutil.which("node"):
        return
    if os.environ.get("REQUIRE_SERVICES"):
        pytest.fail(
            f"Azurite is required (REQUIRE_SERVICES=1) but {AZURITE_QUEUE} or node "
            "is missing; `npm ci` installs it"
        )
    pytest.skip(MISSING.format(path=AZURITE_QUEUE))


class Azurite:
    """One Azurite queue service; `stop` and `start` again keep its data."""

    def __init__(self, location: Path, *, port: int | None = None) -> None:
        self.location = location
        self.port = port or free_port()
        self.proc: subprocess.Popen | None = None

    def start(self) -> Azurite:
        self.location.mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if k != "AZURITE_ACCOUNTS"}
        with open(self.location / "azurite.log", "ab") as log:
            self.proc = subprocess.Popen(
                [
                    str(AZURITE_QUEUE),
                    "--queueHost",
                    "127.0.0.1",
                    "--queuePort",
                    str(self.port),
                    "--location",
                    str(self.location),
                    "--skipApiVersionCheck",
                    "--disableTelemetry",
                    "--silent",
                ],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_for_port(self.port)
        return self

    def stop(self) -> None:
        if self.proc is not None:
            end_tree(self.proc.pid, grace=5)
            self.proc.wait(timeout=5)
            self.proc = None

    # --- as a queue's owner and consumer would ------------------------------------

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}/{DEV_ACCOUNT}"

    def service(self) -> QueueServiceClient:
        return QueueServiceClient(
            self.endpoint,
            credential={"account_name": DEV_ACCOUNT, "account_key": DEV_ACCOUNT_KEY},
            retry_total=0,
        )

    def create_queue(self, name: str) -> str:
        self.service().create_queue(name)
        return name

    def messages(self, queue: str) -> list[str]:
        """Every message on the queue (received, so gone), as stored."""
        client = self.service().get_queue_client(queue)
        out = []
        while True:
            batch = list(client.receive_messages(max_messages=32))
            if not batch:
                return out
            for message in batch:
                out.append(message.content)
                client.delete_message(message)


def sas_token(queue: str, *, permission: str = "a", hours: float = 1) -> str:
    """A SAS of devstoreaccount1's `queue`, as its owner would make one."""
    return generate_queue_sas(
        DEV_ACCOUNT,
        queue,
        DEV_ACCOUNT_KEY,
        permission=QueueSasPermissions.from_string(permission),
        expiry=datetime.now(UTC) + timedelta(hours=hours),
    )


def envelope(text: str) -> dict[str, str]:
    """A base64 queue message parsed as a consumer would: the
    StorageQueueMessage's elements, in order (the order is asserted too)."""
    root = ET.fromstring(base64.b64decode(text).decode("utf-8"))
    assert root.tag == "StorageQueueMessage"
    assert [child.tag for child in root] == list(FIELDS)
    return {child.tag: child.text or "" for child in root}
