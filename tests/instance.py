"""Start real emulator processes for tests and benchmarks, and end them by group.

Each process gets the environment of an instance: its database, its broker and
its WEBJOBS_ROOT. Everything started here is in its own process group and is
ended (with all descendants) by `stop`, so nothing outlives a test.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import pytest

from config import web
from jobs.environment import emulator_id
from jobs.processes import alive, end_tree

BASE_DIR = Path(__file__).resolve().parent.parent
MANAGE = [sys.executable, str(BASE_DIR / "manage.py")]
PG_ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres"
REDIS_URL = "redis://127.0.0.1:6379/0"
SERVICES_MISSING = (
    "{what} is not reachable on 127.0.0.1 (REQUIRE_SERVICES is unset, so skipping)"
)


# Processes a session fixture keeps running across tests (Azurite): the wait for
# each test's children to finish (tests/conftest.py) does not wait for them.
SESSION_PROCESSES: set[int] = set()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _reachable(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


def services_required() -> bool:
    """REQUIRE_SERVICES as CI sets it: 1, true, yes or on require the servers;
    unset, empty, 0, false, no or off do not."""
    value = os.environ.get("REQUIRE_SERVICES", "").strip().lower()
    return value not in ("", "0", "false", "no", "off")


def require_services() -> None:
    """Skip (or, in CI, fail) when PostgreSQL or Redis is down."""
    for what, port in (("PostgreSQL", 5432), ("Redis", 6379)):
        if not _reachable(port):
            if services_required():
                pytest.fail(
                    f"{what} is required (REQUIRE_SERVICES=1) but not reachable"
                )
            pytest.skip(SERVICES_MISSING.format(what=what))


def web_shape(env: Mapping[str, str]) -> tuple[int, int]:
    """gunicorn's (workers, threads) as runinstance takes them from `env`:
    WEBJOBS_WEB_WORKERS / WEBJOBS_WEB_THREADS, else config/web.py's defaults."""
    return (
        int(env.get("WEBJOBS_WEB_WORKERS") or web.default_workers()),
        int(env.get("WEBJOBS_WEB_THREADS") or web.THREADS),
    )


def instance_env(**overrides: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    env.pop("Q_SYNC", None)
    env["DJANGO_SETTINGS_MODULE"] = "config.settings"
    env.update(overrides)
    return env


def ensure_admin(env: dict[str, str], user: str, password: str) -> None:
    """The instance's admin user, for HTTP Basic (manage.py ensureadmin)."""
    subprocess.run(
        [*MANAGE, "ensureadmin"],
        check=True,
        cwd=BASE_DIR,
        capture_output=True,
        env={
            **env,
            "DJANGO_SUPERUSER_USERNAME": user,
            "DJANGO_SUPERUSER_PASSWORD": password,
        },
    )


@contextmanager
def postgres_database(code: Path = BASE_DIR) -> Iterator[str]:
    """A fresh PostgreSQL database, migrated by the checkout at `code` (a
    benchmark measures another checkout beside this one); dropped afterwards."""
    import psycopg

    name = f"webjobs_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(
        "host=127.0.0.1 user=postgres dbname=postgres", autocommit=True
    ) as c:
        c.execute(f'CREATE DATABASE "{name}"')
    url = f"postgres://postgres@127.0.0.1:5432/{name}"
    try:
        subprocess.run(
            [sys.executable, str(code / "manage.py"), "migrate", "--noinput", "-v0"],
            check=True,
            env=instance_env(DATABASE_URL=url),
            cwd=code,
        )
        yield url
    finally:
        with psycopg.connect(
            "host=127.0.0.1 user=postgres dbname=postgres", autocommit=True
        ) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class Processes:
    """Processes started for one test; `stop` ends each whole tree. They run
    the checkout at `code` (this one unless a benchmark says otherwise)."""

    def __init__(self, code: Path = BASE_DIR) -> None:
        self.procs: list[subprocess.Popen] = []
        self.code = code
        self.manage = [sys.executable, str(code / "manage.py")]

    def start(
        self, argv: list[str], env: dict[str, str], *, log: Path | None = None
    ) -> subprocess.Popen:
        out = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115
        proc = subprocess.Popen(
            argv,
            env=env,
            cwd=self.code,
            start_new_session=True,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        self.procs.append(proc)
        return proc

    def qcluster(self, env: dict[str, str], **kw) -> subprocess.Popen:
        return self.start([*self.manage, "qcluster"], env, **kw)

    def gunicorn(
        self,
        env: dict[str, str],
        port: int,
        *,
        workers: int | None = None,
        threads: int | None = None,
        **kw,
    ) -> subprocess.Popen:
        """gunicorn as runinstance starts it (config/web.py), without its access
        log: the workers and threads given, else `web_shape(env)`."""
        default_workers, default_threads = web_shape(env)
        command = web.gunicorn_command(
            f"127.0.0.1:{port}",
            workers=workers or default_workers,
            threads=threads or default_threads,
        )
        proc = self.start(command, env, **kw)
        wait_for_port(port)
        return proc

    def stop_qcluster(self, cluster: subprocess.Popen) -> None:
        """SIGTERM to the cluster's main process only, as django-q2 expects.

        `stop` signals the whole group at once; the sentinel (SIGTERM left at
        SIG_DFL) then dies under the main process, which hangs in its stop
        until the SIGKILL after the grace period. Stopping the main process
        first lets it stop its sentinel and workers; `stop` then ends whatever
        remains."""
        os.kill(cluster.pid, signal.SIGTERM)
        try:
            cluster.wait(timeout=15)
        except subprocess.TimeoutExpired:
            pass
        self.stop(cluster)

    def stop(
        self, proc: subprocess.Popen | None = None, *, grace: float = 10.0
    ) -> None:
        for p in [proc] if proc else list(self.procs):
            end_tree(p.pid, grace=grace)
            p.wait(timeout=5)
            if p in self.procs:
                self.procs.remove(p)


@contextmanager
def runinstance(
    args: list[str], env: dict[str, str], log: Path
) -> Iterator[subprocess.Popen]:
    """`manage.py runinstance ARGS` as an operator starts it, its output in
    `log`; whatever of it is still running afterwards (the test stopped it
    itself, or failed first) is ended with all its descendants."""
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            [*MANAGE, "runinstance", *args],
            env=env,
            cwd=BASE_DIR,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            end_tree(proc.pid, grace=5.0)
        proc.wait()


def forget_redis_keys(pattern: str) -> None:
    """Remove one test's (or benchmark's) keys from the shared Redis, e.g. a
    queue's `django_q:<name>:*`."""
    import redis

    client = redis.from_url(REDIS_URL)
    try:
        keys = list(client.scan_iter(pattern))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


def instance_processes(root: Path) -> list[int]:
    """Live processes of an instance, but this test's own: the emulator's (their
    environment names its WEBJOBS_ROOT) and its jobs' (they carry its emulator
    id instead)."""
    needles = (
        f"WEBJOBS_ROOT={root}\0".encode(),
        f"WEBJOBS_EMULATOR_ID={emulator_id(root)}\0".encode(),
    )
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/environ", "rb") as f:
                environ = f.read() + b"\0"
        except OSError:
            continue
        pid = int(entry.name)
        if pid != os.getpid() and any(n in environ for n in needles) and alive(pid):
            found.append(pid)
    return found


def wait_for_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not _reachable(port):
        if time.monotonic() > deadline:
            raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")
        time.sleep(0.1)


@pytest.fixture
def processes() -> Iterator[Processes]:
    procs = Processes()
    try:
        yield procs
    finally:
        procs.stop()
