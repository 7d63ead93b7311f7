"""StorageQueue actions beside Http actions: fires per second sustained, lateness.

    python bench/queue_actions.py [--rates 5,20] [--window 30] [--quick]
                                  [--only http|queue] [--scale-out] [--save]

Issue 19's benchmark. For each offered rate R (fires per second) and each kind
of action, in the same run and one after another (never competing for the two
CPUs), a fresh instance (SQLite + the ORM broker, the embedded default;
--scale-out: PostgreSQL + Redis) with one `runscheduler` and one `qcluster`
(Q_WORKERS=2) holds 60 x R scheduler jobs, each firing once a minute on its own
second, R of them due every second:

- **Http**: a GET to a counting HTTP server run here (as bench/fire_lateness.py's
  scale part does);
- **StorageQueue**: the Scheduler's message put on a queue of a real Azurite
  (node_modules/.bin/azurite-queue, `npm ci`), through azure-storage-queue.

Both kinds reach the same HTTP server in this process: for Http it answers; for
StorageQueue it is the account's endpoint (AZURITE_QUEUE_PORT) and passes every
request on to Azurite, so "arrival" is measured the same way for both: the
instant the request reached the endpoint. The due instant of a queue message is
its own ExpectedExecutionTime (parsed from the body); an Http call's is its job's
second on the grid. The pass-through adds its own forwarding to each queue send
(printed: the median time Azurite took behind it), so the queue rows are, if
anything, pessimistic.

- **Lateness**: arrival minus due instant, for the due instants of a window of
  `--window` seconds after a warm-up. At the window's end the engine stops and
  the queue drains (until nothing arrives for 3 s), so falling behind shows.
- **Sustained**: arrivals during the window per second: the rate the endpoint
  actually saw; equal to the offered rate when the product keeps up.
- **Misses / duplicates**: due instants of the window never seen / seen twice.
- **Queue CPU**: the qcluster's process group, utime + stime over the window and
  the drain, per fire.

Everything started is ended by its process group; the temporary folder (and with
--scale-out the PostgreSQL databases and Redis keys) is removed. --save also
writes the table to bench/results/ (git-ignored). Small helpers (the engine's
start-up wait, the CPU of a group) are copied from bench/fire_lateness.py, which
is being split up elsewhere; they can be shared once it is.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import math
import os
import shutil
import subprocess
import sys
import threading
import time
import uuid
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.harness.instance import forget_queue, manage, scratch_dir  # noqa: E402
from bench.harness.measure import percentile  # noqa: E402
from jobs.processes import become_subreaper, proc_stats  # noqa: E402
from tests.azurite import Azurite, require_azurite, sas_token  # noqa: E402
from tests.instance import (  # noqa: E402
    MANAGE,
    REDIS_URL,
    Processes,
    instance_env,
    postgres_database,
)

QUEUE = "bench-fires"
WARM = 5.0  # seconds between the engine's start and the window
QUIET = 3.0  # seconds without an arrival: the queue has drained
DRAIN_CAP = 120.0
JOBS_PER_COLLECTION = 1000  # P20Premium's limit
CLK_TCK = os.sysconf("SC_CLK_TCK")


# --- the endpoint: answers Http calls, passes queue requests on to Azurite ----


class Endpoint:
    """Records (kind, key, arrival) for every action that reaches it."""

    def __init__(self, azurite_port: int) -> None:
        self.lock = threading.Lock()
        self.http: list[tuple[str, float]] = []  # (job name, arrival)
        self.queue: list[tuple[bytes, float]] = []  # (request body, arrival)
        self.upstream: list[float] = []  # seconds Azurite took per message
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as the clients use it
            upstream_conn: http.client.HTTPConnection | None = None

            def do_GET(self) -> None:  # noqa: N802
                if self.path.startswith("/f/"):
                    arrival = time.time()
                    with endpoint.lock:
                        endpoint.http.append((self.path[3:], arrival))
                    self.send_response(200)
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"ok")
                    return
                self._forward()

            def do_POST(self) -> None:  # noqa: N802
                self._forward()

            do_PUT = do_DELETE = do_HEAD = do_POST  # noqa: N815

            def _forward(self) -> None:
                arrival = time.time()
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                headers = {
                    k: v
                    for k, v in self.headers.items()
                    if k.lower() not in ("host", "connection")
                }
                if self.upstream_conn is None:
                    self.upstream_conn = http.client.HTTPConnection(
                        "127.0.0.1", azurite_port, timeout=30
                    )
                t0 = time.perf_counter()
                self.upstream_conn.request(
                    self.command, self.path, body=body, headers=headers
                )
                answer = self.upstream_conn.getresponse()
                data = answer.read()
                took = time.perf_counter() - t0
                if self.command == "POST" and self.path.split("?")[0].endswith(
                    "/messages"
                ):
                    with endpoint.lock:
                        endpoint.queue.append((body or b"", arrival))
                        endpoint.upstream.append(took)
                self.send_response(answer.status, answer.reason)
                for key, value in answer.getheaders():
                    if key.lower() not in ("transfer-encoding", "connection"):
                        self.send_header(key, value)
                if answer.getheader("Content-Length") is None:
                    self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def count(self) -> int:
        with self.lock:
            return len(self.http) + len(self.queue)

    def reset(self) -> None:
        with self.lock:
            self.http.clear()
            self.queue.clear()
            self.upstream.clear()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def queue_fire(body: bytes) -> tuple[str, float]:
    """(job name, due instant) of a queue send: the storage request's
    <MessageText> is base64 of the Scheduler's XML."""
    text = ET.fromstring(body).findtext("MessageText") or ""
    xml = ET.fromstring(base64.b64decode(text).decode("utf-8"))
    due = datetime.fromisoformat(xml.findtext("ExpectedExecutionTime") or "")
    return xml.findtext("SchedulerJobId") or "", due.replace(tzinfo=UTC).timestamp()


# --- one measured window ------------------------------------------------------


@dataclass
class Row:
    kind: str
    rate: int
    jobs: int
    window: float
    fires: int  # due instants of the window seen
    expected: int
    sustained: float
    lateness_ms: list[float]
    misses: int
    duplicates: int
    cpu_ms_per_fire: float
    load: float
    upstream_ms: float | None = None
    sent: int = 0
    on_queue: int | None = None


def offset_of(name: str, rate: int) -> int:
    """Second of the minute at which job `name` (j00042) is due."""
    return int(name[1:]) // rate


def measure(kind: str, rate: int, args, tmp: Path, endpoint: Endpoint, azurite) -> Row:
    jobs = rate * 60
    with instance(tmp / f"{kind}-{rate}", endpoint.port, args.scale_out) as inst:
        sas = sas_token(QUEUE, hours=6) if kind == "queue" else ""
        inst.django(
            "create_jobs",
            kind=kind,
            count=jobs,
            rate=rate,
            port=endpoint.port,
            sas=sas,
        )
        if kind == "queue":
            azurite.messages(QUEUE)  # empty the queue
        endpoint.reset()
        inst.start_engine()
        w0 = math.ceil(time.time()) + WARM
        w1 = w0 + args.window
        time.sleep(max(0.0, w0 - time.time()))
        cpu0 = group_cpu(inst.cluster.pid)
        time.sleep(max(0.0, w1 - time.time()))
        inst.stop_engine()
        seen, last_change, end = endpoint.count(), time.time(), w1 + DRAIN_CAP
        while time.time() - last_change < QUIET and time.time() < end:
            time.sleep(0.2)
            if endpoint.count() != seen:
                seen, last_change = endpoint.count(), time.time()
        cpu = group_cpu(inst.cluster.pid) - cpu0
    with endpoint.lock:
        if kind == "http":
            records = [
                (name, arrival - ((arrival - offset_of(name, rate)) % 60), arrival)
                for name, arrival in endpoint.http
            ]
        else:
            records = [(*queue_fire(body), arrival) for body, arrival in endpoint.queue]
        upstream = list(endpoint.upstream)
    on_queue = len(azurite.messages(QUEUE)) if kind == "queue" else None
    return summarize(kind, rate, jobs, w0, w1, records, cpu, upstream, on_queue)


def summarize(kind, rate, jobs, w0, w1, records, cpu, upstream, on_queue) -> Row:
    expected = {
        (f"j{i:05d}", t)
        for i in range(jobs)
        for t in range(int(w0), int(w1))
        if t % 60 == offset_of(f"j{i:05d}", rate)
    }
    counts: Counter = Counter()
    first: dict[tuple[str, int], float] = {}
    for name, due, arrival in records:
        key = (name, round(due))
        counts[key] += 1
        first[key] = min(first.get(key, arrival), arrival)
    in_window = [k for k in first if k in expected]
    lateness = [(first[k] - k[1]) * 1000 for k in in_window]
    arrived = sum(1 for _, _, arrival in records if w0 <= arrival < w1)
    return Row(
        kind=kind,
        rate=rate,
        jobs=jobs,
        window=w1 - w0,
        fires=len(in_window),
        expected=len(expected),
        sustained=arrived / (w1 - w0),
        lateness_ms=lateness,
        misses=len(expected - first.keys()),
        duplicates=sum(c - 1 for k, c in counts.items() if k in expected),
        cpu_ms_per_fire=cpu * 1000 / max(len(records), 1),
        load=os.getloadavg()[0],
        upstream_ms=percentile(upstream, 50) * 1000 if upstream else None,
        sent=len(records),
        on_queue=on_queue,
    )


def group_cpu(pgid: int) -> float:
    """utime + stime (seconds) of the live processes of a process group
    (copied from bench/fire_lateness.py)."""
    total = 0
    for _pid, fields in proc_stats():
        if int(fields[2]) == pgid:
            total += int(fields[11]) + int(fields[12])
    return total / CLK_TCK


# --- an instance --------------------------------------------------------------


@dataclass
class Instance:
    root: Path
    env: dict[str, str]
    procs: Processes
    cluster: subprocess.Popen
    engine: subprocess.Popen | None = None

    def start_engine(self) -> None:
        """runscheduler, once its loop runs (Django's start-up is not part of
        the warm-up)."""
        log = self.root / "engine.log"
        self.engine = self.procs.start([*MANAGE, "runscheduler"], self.env, log=log)
        deadline = time.monotonic() + 60
        while b"engine running" not in log.read_bytes():
            if time.monotonic() > deadline or self.engine.poll() is not None:
                raise RuntimeError(f"runscheduler did not start; see {log}")
            time.sleep(0.1)

    def stop_engine(self) -> None:
        if self.engine is not None and self.engine in self.procs.procs:
            self.procs.stop(self.engine)

    def django(self, task: str, **kwargs) -> object:
        done = subprocess.run(
            [sys.executable, __file__, "--django", task, json.dumps(kwargs)],
            env=self.env,
            cwd=REPO,
            check=True,
            capture_output=True,
            text=True,
        )
        return json.loads(done.stdout.strip().splitlines()[-1])


@contextmanager
def instance(root: Path, endpoint_port: int, scale_out: bool) -> Iterator[Instance]:
    root.mkdir(parents=True)
    queue = f"bench-{uuid.uuid4().hex[:10]}"
    env = instance_env(
        WEBJOBS_ROOT=str(root),
        SECRET_KEY="bench-secret-key",
        WEBSITE_INSTANCE_ID="queues0",
        WEBJOBS_QUEUE_NAME=queue,
        Q_WORKERS=os.environ.get("BENCH_Q_WORKERS", "2"),
        AZURITE_QUEUE_PORT=str(endpoint_port),
    )
    for name in ("DATABASE_URL", "REDIS_URL", "Q_SYNC", "EMULATOR_CLOCK_START"):
        env.pop(name, None)
    database = postgres_database() if scale_out else nullcontext(None)
    with database as database_url:
        if database_url:
            env.update(DATABASE_URL=database_url, REDIS_URL=REDIS_URL)
        else:
            manage(Processes(), env, "migrate", "--noinput", "-v0")
        procs = Processes()
        inst = None
        try:
            cluster = procs.qcluster(env, log=root / "qcluster.log")
            inst = Instance(root, env, procs, cluster)
            yield inst
        finally:
            if inst is not None:
                inst.stop_engine()
                procs.stop_qcluster(inst.cluster)
            procs.stop()
            if scale_out:
                forget_queue(queue)


# --- Django task, run in a subprocess with the instance's environment ---------


def task_create_jobs(kind: str, count: int, rate: int, port: int, sas: str) -> int:
    """`count` jobs, each once a minute on its own second (rate of them due
    every second), through job_put as every entry point; no retries."""
    # Django is set up by run_django_task() first, in this subprocess.
    from config.clock import clock_now
    from scheduler.services import collection_put, job_put

    minute = clock_now().replace(second=0, microsecond=0)
    collections = {}
    for i in range(count):
        name = f"j{i:05d}"
        group = f"c{i // JOBS_PER_COLLECTION:02d}"
        if group not in collections:
            collections[group], _ = collection_put(
                subscription_id="bench",
                resource_group="bench",
                name=group,
                body={
                    "location": "westus",
                    "properties": {"sku": {"name": "P20Premium"}},
                },
            )
        if kind == "http":
            action = {
                "type": "Http",
                "request": {
                    "uri": f"http://127.0.0.1:{port}/f/{name}",
                    "method": "GET",
                },
            }
        else:
            action = {
                "type": "StorageQueue",
                "queueMessage": {
                    "storageAccount": "devstoreaccount1",
                    "queueName": QUEUE,
                    "sasToken": sas,
                    "message": name,
                },
            }
        action["retryPolicy"] = {"retryType": "None"}
        start = minute + timedelta(seconds=offset_of(name, rate))
        job_put(
            collection=collections[group],
            name=name,
            body={
                "properties": {
                    "startTime": start.isoformat(),
                    "action": action,
                    "recurrence": {"frequency": "Minute", "interval": 1},
                }
            },
        )
    return count


def run_django_task(name: str, kwargs: str) -> None:
    import django

    django.setup()
    result = {"create_jobs": task_create_jobs}[name](**json.loads(kwargs))
    print(json.dumps(result))


# --- output -------------------------------------------------------------------


def render(rows: list[Row], args, loads: tuple[float, float]) -> str:
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],
        cwd=REPO,
        capture_output=True,
        text=True,
    ).stdout.strip()
    backend = "PostgreSQL + Redis" if args.scale_out else "SQLite + ORM broker"
    lines = [
        f"queue_actions: commit {commit}, {backend}, one runscheduler, one qcluster "
        f"(Q_WORKERS={os.environ.get('BENCH_Q_WORKERS', '2')}), "
        f"{args.window:g} s windows; load {loads[0]:.2f} before, {loads[1]:.2f} after",
        "",
        "| action | offered /s | jobs | fires | sustained /s | p50 ms | p99 ms "
        "| max ms | misses | dups | queue CPU ms/fire | load |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        late = r.lateness_ms
        cells = [
            "Http (counting server)" if r.kind == "http" else "StorageQueue (Azurite)",
            str(r.rate),
            f"{r.jobs:,}",
            f"{r.fires}/{r.expected}",
            f"{r.sustained:.1f}",
            f"{percentile(late, 50):.1f}" if late else "-",
            f"{percentile(late, 99):.1f}" if late else "-",
            f"{max(late):.1f}" if late else "-",
            str(r.misses),
            str(r.duplicates),
            f"{r.cpu_ms_per_fire:.1f}",
            f"{r.load:.2f}",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    queued = [r for r in rows if r.kind == "queue"]
    if queued:
        lines.append("")
        for r in queued:
            lines.append(
                f"StorageQueue at {r.rate}/s: Azurite answered each send in "
                f"{r.upstream_ms:.1f} ms (median, behind the pass-through); "
                f"{r.on_queue} of its {r.sent} sends on the queue afterwards."
            )
    return "\n".join(lines)


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--django":
        run_django_task(sys.argv[2], sys.argv[3])
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rates", default="5,20", help="fires per second, e.g. 5,20")
    parser.add_argument("--window", type=float, default=30.0, help="seconds measured")
    parser.add_argument("--quick", action="store_true", help="--rates 5 --window 12")
    parser.add_argument("--only", choices=("http", "queue"), action="append")
    parser.add_argument("--scale-out", action="store_true", help="PostgreSQL + Redis")
    parser.add_argument("--save", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.rates, args.window = "5", 12.0
    rates = [int(r) for r in args.rates.split(",")]
    kinds = args.only or ["http", "queue"]
    os.environ.setdefault(
        "REQUIRE_SERVICES", "1"
    )  # no silent skip: say what is missing
    try:
        require_azurite()
    except BaseException as exc:  # pytest's fail/skip outcomes
        print(f"queue_actions: {exc}", file=sys.stderr)
        return 2
    become_subreaper()
    tmp = scratch_dir("bench-queues-")
    loads = [os.getloadavg()[0]]
    rows: list[Row] = []
    azurite = Azurite(tmp / "azurite").start()
    endpoint = Endpoint(azurite.port)
    try:
        azurite.create_queue(QUEUE)
        for rate in rates:
            for kind in kinds:
                print(f"{kind} at {rate} fires per second...", file=sys.stderr)
                rows.append(measure(kind, rate, args, tmp, endpoint, azurite))
    finally:
        endpoint.close()
        azurite.stop()
        if not os.environ.get("BENCH_KEEP"):
            shutil.rmtree(tmp, ignore_errors=True)
    loads.append(os.getloadavg()[0])
    table = render(rows, args, (loads[0], loads[1]))
    print(table)
    if args.save:
        out = REPO / "bench" / "results"
        out.mkdir(exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        (out / f"queue_actions-{stamp}.md").write_text(table + "\n")
    bad = sum(r.misses + r.duplicates for r in rows)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
