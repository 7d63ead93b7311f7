"""Scale: 100 to 100,000 enabled scheduler jobs of mixed recurrences on B, of
which the same FIRING fire once a minute with an Http action to a counting
server run here; the engine's lateness, memory and CPU as the total grows."""

from __future__ import annotations

import os
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from bench.harness.measure import memory_mb
from bench.lateness.measure import measure_window
from bench.lateness.ours import TASKS, our_instance
from bench.lateness.plan import FIRING, Plan, firing_offset
from bench.lateness.report import Fires, Scale


class Hits:
    """A tiny HTTP server that records when each Http action arrived."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.seen: list[tuple[str, float]] = []
        hits = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                now = time.time()
                with hits.lock:
                    hits.seen.append((self.path, now))
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def fires(self, w0: float, w1: float) -> tuple[list, int]:
        """(name, due, arrival) of the firing jobs whose due is in [w0, w1), and
        how many calls came from jobs that should not have fired."""
        out, unexpected = [], 0
        with self.lock:
            seen = list(self.seen)
        for path, arrival in seen:
            kind, name = path.strip("/").split("/")
            if kind != "f":
                unexpected += 1
                continue
            offset = firing_offset(int(name[1:]))
            due = arrival - ((arrival - offset) % 60)  # the grid's last instant
            due = round(due)
            if w0 <= due < w1:
                out.append((name, float(due), arrival))
        return out, unexpected


def scale(plan: Plan, tmp: Path) -> list[Scale]:
    hits = Hits()
    out = []
    try:
        with our_instance("B", tmp / "scale", plan, web=False) as inst:
            created = 0
            for total, seconds in plan.scale:
                print(f"scale: {total} enabled scheduler jobs...", file=sys.stderr)
                if inst.engine is not None and inst.engine.poll() is None:
                    inst.stop_engine()
                t0 = time.monotonic()
                create_jobs(inst, hits.port, created, total)
                create_s = time.monotonic() - t0
                created = total
                inst.start_engine()
                memory: list[tuple[float, float]] = []
                engine = inst.engine
                w = measure_window(
                    procs=inst.procs,
                    scheduler=engine,
                    queue=None,
                    seconds=seconds,
                    warm=plan.warm,
                    progress=lambda: len(hits.seen),
                    pending=inst.pending,
                    at_w1=lambda e=engine, m=memory: m.append(memory_mb(e.pid)),
                )
                (rss, hwm), w0, w1 = memory[0], w.w0, w.w1
                fired, unexpected = hits.fires(w0, w1)
                names = [f"f{i:03d}" for i in range(FIRING)]
                lateness, expected, dup, miss = firing_grid(fired, names, w0, w1)
                n = max(len(lateness), 1)
                fires = Fires(
                    label="B: ours, scheduler jobs with an Http action",
                    schedules=total,
                    window=w1 - w0,
                    expected=expected,
                    lateness_ms=lateness,
                    duplicates=dup,
                    misses=miss,
                    load=os.getloadavg()[0],
                )
                out.append(
                    Scale(
                        total=total,
                        fires=fires,
                        rss_mb=rss,
                        hwm_mb=hwm,
                        cpu_ms_per_fire=w.cpu["sched"] * 1000 / n,
                        cpu_percent=w.cpu["sched"] * 100 / (w1 - w0),
                        create_s=create_s,
                        unexpected=unexpected,
                    )
                )
    finally:
        hits.close()
    return out


def create_jobs(inst, port: int, start: int, stop: int) -> None:
    """Jobs start..stop-1 (rows.task_create_jobs), in two processes (2 CPUs)
    when there are many: each takes whole collections of 1,000."""
    cut = FIRING + (max(start - FIRING, 0) + (stop - start) // 2) // 1000 * 1000
    if stop - start < 2_000 or not start < cut < stop:
        inst.django(TASKS, "create_jobs", port=port, start=start, stop=stop)
        return
    with ThreadPoolExecutor(2) as pool:
        for done in [
            pool.submit(inst.django, TASKS, "create_jobs", port=port, start=a, stop=b)
            for a, b in ((start, cut), (cut, stop))
        ]:
            done.result()


def firing_grid(fired, names, w0, w1):
    """on_grid for the firing jobs, each on its own second of the minute."""
    expected = {
        (n, t)
        for n in names
        for t in range(int(w0), int(w1))
        if t % 60 == firing_offset(int(n[1:]))
    }
    first: dict[tuple[str, int], float] = {}
    counts: Counter = Counter()
    for name, due, arrival in fired:
        key = (name, int(due))
        counts[key] += 1
        first[key] = min(first.get(key, arrival), arrival)
    lateness = [(first[k] - k[1]) * 1000 for k in first if k in expected]
    duplicates = sum(c - 1 for c in counts.values())
    if os.environ.get("BENCH_DEBUG"):
        print("missing:", sorted(expected - first.keys()), file=sys.stderr)
        print("extra:", sorted(first.keys() - expected), file=sys.stderr)
        for k in sorted(first, key=lambda k: k[1]):
            print("late", k, round((first[k] - k[1]) * 1000), file=sys.stderr)
    return lateness, len(expected), duplicates, len(expected - first.keys())
