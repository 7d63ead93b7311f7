"""Private PostgreSQL and Redis servers for the chaos tests, which restart them.

The machine's own servers are shared with other test runs: they are never
restarted. Each server here is this test's child, in a fresh folder, on a free
loopback port, and is ended by its process group. PostgreSQL refuses to run as
root, so as root it runs as the `postgres` user (runuser).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from tests.instance import free_port, services_required

PG_MISSING = "no PostgreSQL server binaries under /usr/lib/postgresql (skipping)"
REDIS_MISSING = "no redis-server on this machine (skipping)"


def _unavailable(reason: str) -> None:
    if services_required():
        pytest.fail(reason.replace("(skipping)", "but REQUIRE_SERVICES is set"))
    pytest.skip(reason)


def _end(proc: subprocess.Popen, sig: int = signal.SIGINT, grace: float = 15) -> None:
    """Signal the server's process group, then kill it if it lingers."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, sig)
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)
    except ProcessLookupError:
        proc.wait(timeout=5)


class PrivatePostgres:
    """initdb into a temporary folder, then `postgres` in the foreground."""

    def __init__(self) -> None:
        bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"))
        if not bins:
            _unavailable(PG_MISSING)
        self.bin = Path(bins[-1]).parent
        self.port = free_port()
        self.folder = Path(tempfile.mkdtemp(prefix="pg-private-"))
        self.data = self.folder / "data"
        self.proc: subprocess.Popen | None = None
        self.as_user: list[str] = []
        if os.geteuid() == 0:
            user = pwd.getpwnam("postgres")
            os.chown(self.folder, user.pw_uid, user.pw_gid)
            self.as_user = ["runuser", "-u", "postgres", "--"]
        subprocess.run(
            [
                *self.as_user,
                str(self.bin / "initdb"),
                "-D",
                str(self.data),
                "-U",
                "postgres",
                "--auth=trust",
                "--no-sync",
            ],
            check=True,
            capture_output=True,
        )

    @property
    def admin_url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                *self.as_user,
                str(self.bin / "postgres"),
                "-D",
                str(self.data),
                "-p",
                str(self.port),
                "-k",
                str(self.folder),
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                "fsync=off",
                "-c",
                "max_connections=200",
            ],
            stdout=open(self.folder / "log.txt", "ab"),  # noqa: SIM115
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 30
        while not self.ready():
            assert self.proc.poll() is None, (self.folder / "log.txt").read_text()
            assert time.monotonic() < deadline, "the private PostgreSQL did not start"
            time.sleep(0.1)

    def ready(self) -> bool:
        import psycopg

        try:
            with psycopg.connect(self.admin_url, connect_timeout=1):
                return True
        except psycopg.OperationalError:
            return False

    def stop(self) -> None:
        """A fast shutdown (SIGINT): sessions are ended, as a restart ends them."""
        if self.proc is not None:
            _end(self.proc, signal.SIGINT)
            self.proc = None

    def database(self) -> str:
        import psycopg

        with psycopg.connect(self.admin_url, autocommit=True) as c:
            c.execute('CREATE DATABASE "emulator"')
        return f"postgres://postgres@127.0.0.1:{self.port}/emulator"

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)


class PrivateRedis:
    """redis-server in the foreground, nothing kept on disk (as the machine's)."""

    def __init__(self) -> None:
        if shutil.which("redis-server") is None:
            _unavailable(REDIS_MISSING)
        self.port = free_port()
        self.folder = Path(tempfile.mkdtemp(prefix="redis-private-"))
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.folder),
            ],
            stdout=open(self.folder / "log.txt", "ab"),  # noqa: SIM115
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 10
        while not self.ping():
            assert self.proc.poll() is None, (self.folder / "log.txt").read_text()
            assert time.monotonic() < deadline, "the private Redis did not start"
            time.sleep(0.1)

    def cli(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["redis-cli", "-p", str(self.port), *args],
            capture_output=True,
            text=True,
            timeout=10,
        )

    def ping(self) -> bool:
        result = self.cli("ping")
        return result.returncode == 0 and result.stdout.strip() == "PONG"

    def run_id(self) -> str:
        """The server's run_id: a new one for each start of redis-server."""
        for line in self.cli("info", "server").stdout.splitlines():
            if line.startswith("run_id:"):
                return line.split(":", 1)[1].strip()
        raise AssertionError("no run_id in INFO server")

    def stop(self) -> None:
        if self.proc is not None:
            _end(self.proc, signal.SIGTERM)
            self.proc = None

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)


@pytest.fixture
def private_postgres():
    server = PrivatePostgres()
    try:
        server.start()
        yield server
    finally:
        server.close()


@pytest.fixture
def private_redis():
    server = PrivateRedis()
    try:
        server.start()
        yield server
    finally:
        server.close()
