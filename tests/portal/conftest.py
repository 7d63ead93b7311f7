from __future__ import annotations

import pytest

from config.clock import clock_refresh, clock_set
from scheduler.services import collection_put
from tests.helpers import later

NOW = later("2031-03-01T00:00:00Z")  # a Saturday


@pytest.fixture
def portal(client, user):
    client.force_login(user)
    return client


@pytest.fixture
def clock():
    """The emulator clock at NOW, so next occurrences are exact."""
    clock_refresh()
    clock_set(NOW)
    yield NOW
    clock_refresh()


@pytest.fixture
def collection(clock):
    return collection_put(
        subscription_id="sub1",
        resource_group="rg1",
        name="reports",
        body={"properties": {"sku": {"name": "Standard"}}},
    )[0]
