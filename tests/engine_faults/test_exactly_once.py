"""Proof under faults: every due second fires exactly once, across engines and crashes.

Black-box, on the real servers: engines (`manage.py runscheduler`) and a queue
cluster are real processes sharing one PostgreSQL database and Redis; per-second
schedules call an HTTP endpoint in this test, which counts each call.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import threading
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.instance import (
    BASE_DIR,
    MANAGE,
    instance_env,
    postgres_database,
    require_services,
)

pytestmark = pytest.mark.services

SCHEDULES = 20
SETUP = """
from datetime import timedelta
from config.clock import clock_now
from scheduler.models import Job, JobCollection
from core.ncrontab import cron_next
now = clock_now()
c = JobCollection.objects.create(subscription_id="s", resource_group="rg", name="c",
                                 sku="P20Premium", max_job_count=1000, created_at=now)
first = cron_next("* * * * * *", after=now + timedelta(seconds={lead}))
for i in range({count}):
    Job.objects.create(
        collection=c, name=f"j{{i}}", cron="* * * * * *", created_at=now,
        next_fire_at=first,
        action={{"type": "Http", "retryPolicy": {{"retryType": "None"}},
                 "request": {{"uri": f"{url}/j{{i}}", "method": "GET",
                             "headers": {{}}}}}},
    )
print(first.isoformat())
"""


class Counting:
    """An HTTP endpoint counting calls per path (one path per schedule)."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        lock = threading.Lock()
        calls = self.calls

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                with lock:
                    calls[self.path] += 1
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def counting():
    server = Counting()
    yield server
    server.close()


def env_for(db_url: str, root, queue: str, **extra: str) -> dict[str, str]:
    settings = {
        "DATABASE_URL": db_url,
        "REDIS_URL": "redis://127.0.0.1:6379/0",
        "WEBJOBS_QUEUE_NAME": queue,
        "WEBJOBS_ROOT": str(root),
        "SCHEDULER_HISTORY_SIZE": "100000",
        "SCHEDULER_RESEND_AFTER": "3",
        "Q_WORKERS": "4",
    }
    return instance_env(**{**settings, **extra})


def shell(env: dict[str, str], script: str) -> str:
    """Run Python in the instance's Django (manage.py shell -c); its stdout."""
    return subprocess.run(
        [*MANAGE, "shell", "-c", script],
        env=env,
        cwd=BASE_DIR,
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def create_schedules(env: dict[str, str], url: str, lead: int = 3) -> datetime:
    script = SETUP.format(lead=lead, count=SCHEDULES, url=url)
    out = shell(env, script)
    return datetime.fromisoformat(out.strip().splitlines()[-1])


def wait_drained(env: dict[str, str], timeout: float = 60) -> None:
    script = (
        "from scheduler.models import Attempt; "
        "print(Attempt.objects.exclude(status='Done').count())"
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        out = shell(env, script)
        if out.strip().splitlines()[-1] == "0":
            return
        time.sleep(1)
    detail = shell(
        env,
        "from scheduler.models import Attempt; from django.db.models import Count; "
        "print(list(Attempt.objects.values_list('status').annotate(Count('id'))))",
    )
    raise AssertionError(f"attempts still queued after the engines stopped: {detail}")


def attempts(env: dict[str, str]) -> list[tuple[str, str, int]]:
    script = (
        "from scheduler.models import Attempt, JobHistory\n"
        "from django.db.models import Count\n"
        "h = {(r['job__name'], r['expected_execution_time']): r['n'] for r in "
        "JobHistory.objects.values('job__name', 'expected_execution_time')"
        ".annotate(n=Count('id'))}\n"
        "for a in Attempt.objects.select_related('job'):\n"
        "    print('ROW', a.job.name, a.expected_time.isoformat(), "
        "h.get((a.job.name, a.expected_time), 0))\n"
    )
    out = shell(env, script)
    rows = []
    for line in out.splitlines():
        if line.startswith("ROW "):
            _, name, when, executed = line.split()
            rows.append((name, when, int(executed)))
    return rows


def check_exactly_once(rows, counting: Counting, first: datetime, last: datetime):
    """Every due second in [first, last] of every schedule: one attempt, one call."""
    seen = Counter((name, when) for name, when, _ in rows)
    assert max(seen.values()) == 1  # one Occurrence per job and due time
    executed = {(name, when): n for name, when, n in rows}
    duplicates = {k: n for k, n in executed.items() if n > 1}
    assert duplicates == {}, f"actions executed twice: {list(duplicates)[:5]}"
    second = first
    missed = []
    while second <= last:
        for i in range(SCHEDULES):
            n = executed.get((f"j{i}", second.isoformat()))
            if n != 1:
                missed.append((f"j{i}", second.isoformat(), n))
        second += timedelta(seconds=1)
    assert missed == [], f"{len(missed)} due seconds not executed once: {missed[:5]}"
    per_job = Counter(name for name, _, n in rows if n)
    for i in range(SCHEDULES):
        assert counting.calls[f"/j{i}"] == per_job[f"j{i}"], (
            "an HTTP call per execution"
        )


def run_engines(processes, env, tmp_path, count: int):
    return [
        processes.start([*MANAGE, "runscheduler"], env, log=tmp_path / f"engine{i}.log")
        for i in range(count)
    ]


def test_three_engines_with_kill_9_fire_every_second_exactly_once(
    processes, tmp_path, scratch, counting
):
    require_services()
    duration = float(os.environ.get("FAULT_TEST_SECONDS", "120"))
    queue = f"faults-{uuid.uuid4().hex[:8]}"
    with postgres_database() as db_url:
        env = env_for(db_url, scratch, queue)
        first = create_schedules(env, counting.url)
        processes.start([*MANAGE, "qcluster"], env, log=tmp_path / "qcluster.log")
        engines = run_engines(processes, env, tmp_path, 3)
        rng = random.Random(7)
        kills = 0
        end = time.monotonic() + duration
        while time.monotonic() < end:
            time.sleep(rng.uniform(2.0, 5.0))
            victim = rng.randrange(len(engines))
            os.kill(engines[victim].pid, signal.SIGKILL)
            engines[victim].wait()
            processes.procs.remove(engines[victim])
            kills += 1
            time.sleep(rng.uniform(0.0, 1.5))
            engines[victim] = processes.start(
                [*MANAGE, "runscheduler"], env, log=tmp_path / f"engine-r{kills}.log"
            )
        last = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=2)
        for engine in engines:
            processes.stop(engine)
        wait_drained(env)
        rows = attempts(env)
        assert kills >= duration / 6
        check_exactly_once(rows, counting, first, last)


def test_a_redis_restart_loses_no_fire(
    processes, tmp_path, scratch, counting, private_redis
):
    """The broker restarts (nothing kept on disk: queued messages are gone); the
    engines' outbox sends again what no worker claimed. A private Redis: the
    machine's is shared with other test runs."""
    require_services()
    queue = f"faults-{uuid.uuid4().hex[:8]}"
    with postgres_database() as db_url:
        env = env_for(db_url, scratch, queue, REDIS_URL=private_redis.url)
        first = create_schedules(env, counting.url)
        processes.start([*MANAGE, "qcluster"], env, log=tmp_path / "qcluster.log")
        engines = run_engines(processes, env, tmp_path, 2)
        time.sleep(8)
        before = private_redis.run_id()
        private_redis.stop()
        assert not private_redis.ping()  # down, really
        time.sleep(2)
        private_redis.start()
        assert private_redis.run_id() != before  # a new server, an empty queue
        time.sleep(15)
        last = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=2)
        for engine in engines:
            assert engine.poll() is None, "an engine exited"
            processes.stop(engine)
        wait_drained(env)
        check_exactly_once(attempts(env), counting, first, last)


def test_a_postgres_restart_stops_nothing_and_loses_or_doubles_no_fire(
    processes, tmp_path, scratch, counting, private_postgres, private_redis
):
    """The database restarts under two engines, a queue cluster and a
    continuous-jobs host (a private server: the machine's is shared). None of
    them exits; every due second is executed once, or, when it fell in the
    outage, accounted for by the misfire policy (the latest missed one runs,
    the others are one Postponed entry): none twice, none lost."""
    require_services()
    queue = f"faults-{uuid.uuid4().hex[:8]}"
    db_url = private_postgres.database()
    env = env_for(
        db_url,
        scratch,  # the root jobs (WEBJOBS_RUN_AS) reach; not tmp_path
        queue,
        REDIS_URL=private_redis.url,
        SCHEDULER_HTTP_TIMEOUT="5",
        WEBSITE_INSTANCE_ID="chaos-host",
    )
    subprocess.run([*MANAGE, "migrate", "-v0"], env=env, cwd=BASE_DIR, check=True)
    first = create_schedules(env, counting.url)
    processes.start([*MANAGE, "qcluster"], env, log=tmp_path / "qcluster.log")
    engines = run_engines(processes, env, tmp_path, 2)
    host = processes.start([*MANAGE, "runhost"], env, log=tmp_path / "host.log")
    time.sleep(8)
    private_postgres.stop()
    assert not private_postgres.ready()  # down, really
    time.sleep(3)
    private_postgres.start()
    time.sleep(15)
    last = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=2)
    for proc, what in [(e, "an engine") for e in engines] + [(host, "the host")]:
        assert proc.poll() is None, f"{what} exited: see {tmp_path}"
    beat = shell(
        env,
        "from jobs.models import Instance; from django.utils import timezone; "
        "i = Instance.objects.get(instance_id='chaos-host'); "
        "print((timezone.now() - i.heartbeat_at).total_seconds())",
    )
    assert float(beat.strip().splitlines()[-1]) < 10  # the host beats again
    for engine in engines:
        processes.stop(engine)
    wait_drained(env)
    check_once_or_postponed(env, counting, first, last)


POSTPONED = """
from scheduler.models import JobHistory
for h in JobHistory.objects.filter(status="Postponed").select_related("job"):
    print("SKIP", h.job.name, h.expected_execution_time.isoformat(), h.repeat_count)
"""


def check_once_or_postponed(env, counting: Counting, first: datetime, last):
    """Every due second of every schedule: executed once, or skipped by the
    misfire policy (one Postponed entry covers `repeat_count` seconds ending at
    its expected time), never both, never twice."""
    rows = attempts(env)
    executed = Counter((name, when) for name, when, n in rows for _ in range(n))
    assert [k for k, n in executed.items() if n > 1] == [], "executed twice"
    skipped: Counter = Counter()
    for line in shell(env, POSTPONED).splitlines():
        if line.startswith("SKIP "):
            _, name, when, count = line.split()
            end = datetime.fromisoformat(when)
            for back in range(int(count)):
                skipped[(name, (end - timedelta(seconds=back)).isoformat())] += 1
    assert [k for k, n in skipped.items() if n > 1] == [], "postponed twice"
    assert set(executed) & set(skipped) == set(), "executed and postponed"
    lost = []
    second = first
    while second <= last:
        for i in range(SCHEDULES):
            key = (f"j{i}", second.isoformat())
            if key not in executed and key not in skipped:
                lost.append(key)
        second += timedelta(seconds=1)
    assert lost == [], f"{len(lost)} due seconds lost: {lost[:5]}"
    per_job = Counter(name for name, _ in executed)
    for i in range(SCHEDULES):
        assert counting.calls[f"/j{i}"] == per_job[f"j{i}"], (
            "an HTTP call per execution"
        )


def test_two_engines_on_sqlite_fire_exactly_once(
    processes, tmp_path, scratch, counting
):
    """The embedded default: SQLite serialises the engines' claims (no SKIP
    LOCKED there), and the ORM broker enqueues in the claim's transaction."""
    env = instance_env(
        DATABASE_URL=f"sqlite:///{tmp_path}/db.sqlite3",
        WEBJOBS_ROOT=str(scratch),  # jobs (WEBJOBS_RUN_AS) reach it; not tmp_path
        SCHEDULER_HISTORY_SIZE="100000",
        Q_WORKERS="4",
    )
    env.pop("REDIS_URL", None)
    subprocess.run([*MANAGE, "migrate", "-v0"], env=env, cwd=BASE_DIR, check=True)
    first = create_schedules(env, counting.url)
    processes.start([*MANAGE, "qcluster"], env, log=tmp_path / "qcluster.log")
    engines = run_engines(processes, env, tmp_path, 2)
    time.sleep(15)
    last = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=2)
    for engine in engines:
        processes.stop(engine)
    wait_drained(env)
    check_exactly_once(attempts(env), counting, first, last)
