"""A web server whose PostgreSQL connections the server ended (a restart, an
administrator's pg_terminate_backend) answers its next requests without an
error: the health check (config/postgresql/base.py) sees the ended connection
and opens a new one, though it no longer asks the server on every request."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest
import requests

from tests.instance import (
    Processes,
    ensure_admin,
    free_port,
    instance_env,
    postgres_database,
    processes,  # noqa: F401
    require_services,
)

pytestmark = pytest.mark.services

USER, PASSWORD = "health", "health-check-pass"
THREADS = 4  # the gunicorn harness's threads: each keeps a connection of its own


def test_requests_after_the_server_ended_every_connection_succeed(
    processes: Processes,  # noqa: F811
    tmp_path: Path,
    scratch: Path,
) -> None:
    require_services()
    with postgres_database() as url:
        env = instance_env(DATABASE_URL=url, WEBJOBS_ROOT=str(scratch / "root"))
        ensure_admin(env, USER, PASSWORD)
        port = free_port()
        processes.gunicorn(env, port, workers=1, log=tmp_path / "gunicorn.log")
        base = f"http://127.0.0.1:{port}/api/triggeredwebjobs"
        with requests.Session() as http:
            http.auth = (USER, PASSWORD)
            # Enough requests, some at once, that every thread holds a connection.
            for _ in range(3 * THREADS):
                assert http.get(base, timeout=30).status_code == 200
            ended = _end_connections(url.rsplit("/", 1)[1])
            assert ended >= 1
            statuses = [http.get(base, timeout=30).status_code for _ in range(12)]
        processes.stop()  # before the database is dropped
    assert statuses == [200] * 12, (tmp_path / "gunicorn.log").read_text()[-3000:]


def _end_connections(database: str) -> int:
    """End every server process of `database`, as a restart does; how many."""
    with psycopg.connect(
        "host=127.0.0.1 user=postgres dbname=postgres", autocommit=True
    ) as admin:
        rows = admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
            [database],
        ).fetchall()
    return sum(1 for (done,) in rows if done)
