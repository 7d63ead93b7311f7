"""The chaos tests' private servers (tests/engine_faults/servers.py)."""

from tests.engine_faults.servers import private_postgres, private_redis  # noqa: F401
