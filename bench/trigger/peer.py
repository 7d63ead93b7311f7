"""The named alternative: celery's apply_async of a task that starts the same
process (bench/peers/celery_peer.py's `run`), a prefork worker of 2 processes,
Redis as broker and result backend.

Driven as ours: one run at a time, then `runs` over `jobs` "jobs" with one task
in flight each, re-sent once its result is ready (polled every POLL_SECONDS, as
ours polls the job list).
"""

from __future__ import annotations

import os
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

from bench.harness.measure import group_cpu, machine_cpu
from bench.lateness.beat import celery_env, celery_worker
from bench.trigger.ours import POLL_SECONDS, RUN_TIMEOUT, Phase
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
        before["machine"] = machine_cpu()
        names = [f"c{i:02d}" for i in range(jobs)]
        many = drive(celery_peer, starts, tmp, names, runs, sent_ids)
        after = {"worker": group_cpu(worker.pid), "driver": own_cpu()}
        after["machine"] = machine_cpu()
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
    phase = Phase(runs=runs)
    remaining = {
        name: runs // len(names) + (i < runs % len(names))
        for i, name in enumerate(names)
    }
    active: dict[str, object] = {}
    sent: dict[str, float] = {}
    log = str(tmp / "celery-runs.log")
    first = last_final = time.time()
    deadline = time.monotonic() + RUN_TIMEOUT
    count = Counter()
    while any(remaining.values()) or active:
        for name in names:
            if name not in active and remaining[name]:
                count[name] += 1
                start_file = starts / f"{name}-{count[name]}"
                t0 = time.time()
                active[name] = celery_peer.run.apply_async(args=(str(start_file), log))
                sent[str(start_file)] = t0
                sent_ids.append(active[name].id)
                remaining[name] -= 1
        time.sleep(POLL_SECONDS)
        for name, result in list(active.items()):
            if result.ready():
                phase.statuses["Success" if result.successful() else "Failed"] += 1
                del active[name]
                last_final = time.time()
        if time.monotonic() > deadline:
            raise RuntimeError(f"celery tasks still active after {RUN_TIMEOUT}s")
    phase.runs_per_second = len(sent) / (last_final - first)
    for path, t0 in sent.items():
        if Path(path).exists():
            phase.latencies_ms.append((float(Path(path).read_text()) - t0) * 1000)
    return phase
