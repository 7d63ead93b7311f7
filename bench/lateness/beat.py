"""The peer of our per-second schedules: celery beat and a prefork worker of 2
processes on the same Redis, each entry every second (bench/peers/celery_peer.py)."""

from __future__ import annotations

import os
import sys
import uuid
from pathlib import Path

from bench.harness.instance import redis_length
from bench.lateness.measure import (
    free_running,
    measure_window,
    read_starts,
    size,
    started_in,
)
from bench.lateness.plan import Plan
from bench.lateness.report import Fires
from tests.instance import REDIS_URL, Processes, forget_redis_keys

CELERY = [sys.executable, "-m", "celery", "-A", "bench.peers.celery_peer"]


def celery_env(queue: str, starts: Path) -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")},
        "BENCH_CELERY_BROKER": REDIS_URL,
        "BENCH_CELERY_QUEUE": queue,
        "BENCH_STARTS": str(starts),
    }


def celery_worker(procs: Processes, env: dict[str, str], log: Path):
    """A prefork worker of 2 processes, as our qcluster's 2 workers."""
    return procs.start(
        [
            *CELERY,
            "worker",
            "--pool",
            "prefork",
            "--concurrency",
            "2",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "--loglevel",
            "warning",
        ],
        env,
        log=log,
    )


def celery_per_second(counts: tuple[int, ...], plan: Plan, tmp: Path) -> list[Fires]:
    queue = f"bench-celery-{uuid.uuid4().hex[:10]}"
    starts = tmp / "starts-celery.txt"
    env = celery_env(queue, starts)
    procs = Processes()
    fires = []
    try:
        worker = celery_worker(procs, env, tmp / "celery-worker.log")
        for count in counts:
            print(f"celery beat: {count} entries...", file=sys.stderr)
            beat = procs.start(
                [
                    *CELERY,
                    "beat",
                    "--scheduler",
                    "bench.peers.celery_peer:DueScheduler",
                    "--schedule",
                    str(tmp / f"celerybeat-{count}"),
                    "--loglevel",
                    "warning",
                ],
                {**env, "BENCH_ENTRIES": str(count)},
                log=tmp / "celery-beat.log",
            )
            window = plan.window_10 if count <= 10 else plan.window_100
            w = measure_window(
                procs=procs,
                scheduler=beat,
                queue=worker,
                seconds=window,
                warm=plan.warm,
                progress=size(starts),
                pending=lambda: redis_length(queue),
            )
            names = [f"e{i:03d}" for i in range(count)]
            seen = read_starts(starts)
            lateness, expected, dup, miss, drift = free_running(
                seen, names, 1.0, w.w0, w.w1
            )
            n, started = max(len(lateness), 1), started_in(seen, w)
            fires.append(
                Fires(
                    label="celery beat + prefork worker (2), Redis",
                    schedules=count,
                    window=window,
                    expected=expected,
                    lateness_ms=lateness,
                    duplicates=dup,
                    misses=miss,
                    sched_cpu_ms=w.cpu["sched"] * 1000 / n,
                    queue_cpu_ms=(w.cpu["queue"] + w.cpu["orphans"]) * 1000 / started,
                    machine_cpu_ms=w.cpu["machine"] * 1000 / started,
                    load=os.getloadavg()[0],
                    note=f"due drifts {drift:+.2f} ms per fire (re-anchored)",
                )
            )
    finally:
        procs.stop()
        forget_redis_keys(f"*{queue}*")
    return fires
