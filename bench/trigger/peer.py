"""The named alternative: celery's apply_async of a task that starts the same
process (bench/peers/celery_peer.py's `run`), a prefork worker of 2 processes,
Redis as broker and result backend.

Driven as ours (bench/trigger/clients.py): one run at a time, then `runs` over
`jobs` "jobs" with one task in flight each, a client thread each re-sending its
task once its result is ready (one poller of the results every POLL_SECONDS, as
ours polls the job list).
"""

from __future__ import annotations

import os
import sys
import uuid
from collections import Counter
from pathlib import Path

from bench.harness.measure import group_cpu, machine_cpu
from bench.lateness.beat import celery_env, celery_worker
from bench.trigger.clients import Clients
from bench.trigger.ours import Phase, servers_cpu
from tests.instance import Processes, forget_redis_keys

LABEL = "celery apply_async + prefork worker (2), Redis"


def celery_runs(tmp: Path, serial: int, runs: int, jobs: int) -> tuple[Phase, Phase]:
    """(runs one at a time, runs with `jobs` in flight)."""
    queue = f"bench-celery-{uuid.uuid4().hex[:10]}"
    starts = tmp / "starts-celery"
    starts.mkdir(parents=True, exist_ok=True)
    env = {**celery_env(queue, starts), "BENCH_CELERY_RESULTS": "1"}
    # The client is this process: the same app, configured the same way.
    os.environ.update(env)
    from bench.peers import celery_peer  # configured from the environment above

    procs = Processes()
    sent_ids: list[str] = []
    try:
        worker = celery_worker(procs, env, tmp / "celery-worker.log")
        app = celery_peer.app
        app.conf.update(result_backend=env["BENCH_CELERY_BROKER"])
        warm(celery_peer, starts, tmp)
        print(f"{LABEL}: {serial} runs one at a time...", file=sys.stderr)
        one = drive(celery_peer, starts, tmp, ["c00"], serial, sent_ids)
        print(f"{LABEL}: {runs} runs, {jobs} in flight...", file=sys.stderr)
        before = {"worker": group_cpu(worker.pid), "driver": own_cpu()}
        before["redis"], before["machine"] = servers_cpu()["redis"], machine_cpu()
        names = [f"c{i:02d}" for i in range(jobs)]
        many = drive(celery_peer, starts, tmp, names, runs, sent_ids)
        after = {"worker": group_cpu(worker.pid), "driver": own_cpu()}
        after["redis"], after["machine"] = servers_cpu()["redis"], machine_cpu()
        many.cpu_ms = {k: (after[k] - before[k]) * 1000 / runs for k in before}
    finally:
        procs.stop()
        forget_redis_keys(f"*{queue}*")
        for task_id in sent_ids:
            forget_redis_keys(f"celery-task-meta-{task_id}")
    return one, many


def own_cpu() -> float:
    own = os.times()
    return own.user + own.system


def warm(celery_peer, starts: Path, tmp: Path) -> None:
    """The worker's first task (its pool started, connections made)."""
    result = celery_peer.run.apply_async(
        args=(str(starts / "warm"), str(tmp / "celery-runs.log"))
    )
    result.get(timeout=60)
    result.forget()


def drive(celery_peer, starts, tmp, names, runs, sent_ids) -> Phase:
    """As ours.burst: a client thread per name, one poller of the results."""
    phase = Phase(runs=runs)
    log = str(tmp / "celery-runs.log")
    count: Counter = Counter()
    results: dict[str, object] = {}  # start file -> its AsyncResult

    def send(name: str) -> str:
        count[name] += 1  # only this name's thread counts it
        start_file = str(starts / f"{name}-{count[name]}")
        results[start_file] = celery_peer.run.apply_async(args=(start_file, log))
        sent_ids.append(results[start_file].id)
        return start_file

    def poll(active: dict[str, str]) -> dict[str, str]:
        out = {}
        for name, start_file in active.items():
            result = results[start_file]
            if result.ready():
                out[name] = "Success" if result.successful() else "Failed"
        return out

    driven = Clients(names, runs, send, poll)
    driven.run()
    phase.statuses = driven.statuses
    phase.runs_per_second = driven.runs_per_second
    sent = {start_file: t0 for (_, start_file), t0 in driven.sent.items()}
    for path, t0 in sent.items():
        if Path(path).exists():
            phase.latencies_ms.append((float(Path(path).read_text()) - t0) * 1000)
    return phase
