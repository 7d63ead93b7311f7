"""A running emulator instance for a benchmark, and jobs deployed to it.

`instance(key, root)` starts, in a temporary folder: (gunicorn as runinstance
serves, config/web.py, with an admin user for HTTP Basic), one `qcluster`, `launchers`
`runlauncher` processes (as `runinstance` starts them) and (the engine,
`runscheduler`), on A (SQLite + django-q2's ORM broker, the embedded default)
or B (PostgreSQL + Redis, the scale-out path). `code` picks the checkout the
processes run: this one, or another (a `git worktree` of main) to measure the
code before a change beside the code after it, in the same run.

Everything started is ended by its process group (tests/instance.py's
`Processes`); the PostgreSQL database and the queue's Redis keys are removed.
"""

from __future__ import annotations

import io
import json
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path

import redis
import requests

from tests.instance import (
    BASE_DIR,
    REDIS_URL,
    Processes,
    forget_redis_keys,
    free_port,
    instance_env,
    postgres_database,
)

USER, PASSWORD = "bench", "bench-password-not-secret"
LABELS = {"A": "A: SQLite + ORM broker", "B": "B: PostgreSQL + Redis"}


@dataclass
class Instance:
    key: str  # "A" or "B"
    root: Path
    env: dict[str, str]
    procs: Processes
    cluster: subprocess.Popen | None
    base: str = ""  # http://127.0.0.1:<port>, when it serves HTTP
    engine: subprocess.Popen | None = None
    launchers: tuple[subprocess.Popen, ...] = ()
    extra: dict = field(default_factory=dict)  # what a benchmark keeps with it

    @property
    def manage(self) -> list[str]:
        return self.procs.manage

    def start_engine(self) -> None:
        """Start runscheduler and wait until its loop runs (Django's start-up
        is not part of any warm-up)."""
        log = self.root / "engine.log"
        offset = log.stat().st_size if log.exists() else 0
        self.engine = self.procs.start(
            [*self.manage, "runscheduler"], self.env, log=log
        )
        deadline = time.monotonic() + 60
        while b"engine running" not in log.read_bytes()[offset:]:
            if time.monotonic() > deadline or self.engine.poll() is not None:
                raise RuntimeError(f"runscheduler did not start; see {log}")
            time.sleep(0.1)

    def stop_engine(self) -> None:
        if self.engine is not None:
            self.procs.stop(self.engine)

    def pending(self) -> int:
        """Tasks still in the broker (the ORM broker keeps a row until done)."""
        if self.key == "A":
            with sqlite3.connect(self.root / "db.sqlite3", timeout=30) as db:
                return db.execute("SELECT count(*) FROM django_q_ormq").fetchone()[0]
        return redis_length(f"django_q:{self.env['WEBJOBS_QUEUE_NAME']}:q")

    def django(self, module: str, task: str, **kwargs) -> object:
        """Run one of `module`'s TASKS in a process with this instance's
        environment, Django set up (bench/harness/tasks.py); its result. The
        project's modules are those of the instance's checkout (`bench` is a
        namespace package: this checkout's benchmarks are found after it)."""
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "bench.harness.tasks",
                module,
                task,
                json.dumps(kwargs),
            ],
            env={**self.env, "PYTHONPATH": str(BASE_DIR)},
            cwd=self.procs.code,
            check=True,
            capture_output=True,
            text=True,
        )
        return json.loads(done.stdout.strip().splitlines()[-1])

    def group_pids(self) -> list[int]:
        """The process groups of the instance's queue and launchers."""
        procs = [self.cluster, *self.launchers]
        return [p.pid for p in procs if p is not None]


@contextmanager
def instance(
    key: str,
    root: Path,
    *,
    web: bool = True,
    engine: bool = False,
    launchers: int = 0,
    q_workers: int = 2,
    code: Path = BASE_DIR,
    env: dict[str, str] | None = None,
) -> Iterator[Instance]:
    """A running instance; see the module's docstring. `env` adds to (or, with
    a None value, removes from) the instance's environment."""
    root.mkdir(parents=True, exist_ok=True)
    queue = f"bench-{uuid.uuid4().hex[:10]}"
    environ = instance_env(
        WEBJOBS_ROOT=str(root),
        SECRET_KEY="bench-secret-key",
        WEBSITE_INSTANCE_ID=f"bench{key}{uuid.uuid4().hex[:6]}",
        WEBJOBS_QUEUE_NAME=queue,
        Q_WORKERS=str(q_workers),
        WEBJOBS_LAUNCHERS=str(max(launchers, 1)),
    )
    for name in (
        "DATABASE_URL",
        "REDIS_URL",
        "Q_SYNC",
        "EMULATOR_CLOCK_START",
        "WEBJOBS_DISABLE_SCHEDULE",
        "WEBJOBS_STOPPED",
    ):
        environ.pop(name, None)
    for name, value in (env or {}).items():
        if value is None:
            environ.pop(name, None)
        else:
            environ[name] = value
    database = postgres_database(code) if key == "B" else nullcontext(None)
    with database as database_url:
        procs = Processes(code)
        if database_url:
            environ.update(DATABASE_URL=database_url, REDIS_URL=REDIS_URL)
        else:
            manage(procs, environ, "migrate", "--noinput", "-v0")
        inst = None
        try:
            base = ""
            if web:
                manage(
                    procs,
                    {
                        **environ,
                        "DJANGO_SUPERUSER_USERNAME": USER,
                        "DJANGO_SUPERUSER_PASSWORD": PASSWORD,
                    },
                    "ensureadmin",
                )
                port = free_port()
                # As runinstance of `code` serves: config/web.py's default, or
                # for code from before that file, the 2 x 4 it had fixed.
                served = (
                    {}
                    if (code / "config" / "web.py").exists()
                    else {"workers": 2, "threads": 4}
                )
                procs.gunicorn(environ, port, log=root / "gunicorn.log", **served)
                base = f"http://127.0.0.1:{port}"
            cluster = procs.qcluster(environ, log=root / "qcluster.log")
            inst = Instance(key, root, environ, procs, cluster, base)
            inst.launchers = tuple(
                procs.start(
                    [*procs.manage, "runlauncher", "--shard", str(shard)],
                    environ,
                    log=root / f"launcher-{shard}.log",
                )
                for shard in range(launchers)
            )
            if engine:
                inst.start_engine()
            yield inst
        finally:
            if inst is not None:
                if inst.engine is not None and inst.engine in procs.procs:
                    procs.stop(inst.engine)  # the engine first: nothing new fires
                procs.stop_qcluster(inst.cluster)
            procs.stop()
            time.sleep(1.0)  # run monitors of the last runs end on their own
            if key == "B":
                forget_queue(queue)


def scratch_dir(prefix: str) -> Path:
    """A benchmark's temporary folder: its instances' WEBJOBS_ROOT goes in it,
    and its jobs write their start times there. Jobs run as WEBJOBS_RUN_AS
    (nobody, when the benchmark runs as root), who must be able to enter and
    write it; sticky, as /tmp."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    path.chmod(0o1777)
    return path


def manage(procs: Processes, env: dict[str, str], *args: str) -> None:
    subprocess.run(
        [*procs.manage, *args], env=env, cwd=procs.code, check=True, capture_output=True
    )


def forget_queue(queue: str) -> None:
    """Remove this run's django-q2 keys from the shared Redis."""
    forget_redis_keys(f"django_q:{queue}:*")


def redis_length(key: str) -> int:
    client = redis.from_url(REDIS_URL)
    try:
        return client.llen(key)
    finally:
        client.close()


def job_zip(files: dict[str, str]) -> bytes:
    """A WebJob package: a zip of these files (name -> text)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, text in files.items():
            zf.writestr(name, text)
    return buf.getvalue()


def deploy(
    http: requests.Session, base: str, name: str, body: bytes, *, filename: str = ""
) -> None:
    """PUT a triggered WebJob: a zip, or a single script named `filename`."""
    headers = {
        "Content-Disposition": f'attachment; filename="{filename or name + ".zip"}"'
    }
    if not filename:
        headers["Content-Type"] = "application/zip"
    response = http.put(
        f"{base}/api/triggeredwebjobs/{name}", data=body, headers=headers
    )
    response.raise_for_status()
