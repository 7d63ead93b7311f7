"""Storage queue actions against a real Azurite (tests/azurite.py): one queue
service for the session, on its own port and folder; each test makes its own
queues."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from config.clock import clock_refresh, clock_set
from scheduler.services import collection_put
from tests.azurite import Azurite, require_azurite
from tests.instance import SESSION_PROCESSES


@pytest.fixture(scope="session")
def azurite_server(tmp_path_factory) -> Iterator[Azurite]:
    require_azurite()
    server = Azurite(tmp_path_factory.mktemp("azurite")).start()
    SESSION_PROCESSES.add(server.proc.pid)
    try:
        yield server
    finally:
        SESSION_PROCESSES.discard(server.proc.pid)
        server.stop()


@pytest.fixture
def azurite(azurite_server, settings) -> Azurite:
    """The session's Azurite, where this process's StorageQueue actions go."""
    settings.AZURITE_QUEUE_PORT = azurite_server.port
    return azurite_server


@pytest.fixture
def queue_name() -> str:
    return f"q-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def collection(db):
    clock_refresh()
    clock_set("2031-01-30T12:00:00Z")
    made, _ = collection_put(
        subscription_id="sub",
        resource_group="rg",
        name="nightly-jobs",
        body={"location": "westus", "properties": {"sku": {"name": "Standard"}}},
    )
    yield made
    clock_refresh()
