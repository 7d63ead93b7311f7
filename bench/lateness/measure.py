"""Starts read back, lateness on the due grid, and a measured window of fires."""

from __future__ import annotations

import math
import os
import signal
import subprocess
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from bench.harness.measure import children_cpu, group_cpu, machine_cpu
from jobs.processes import proc_stats
from tests.instance import Processes


def read_starts(path: Path) -> list[tuple[str, float, float]]:
    """(schedule, due, start) per line; due is ISO 8601 or seconds."""
    out = []
    if not path.exists():
        return out
    for line in path.read_text().splitlines():
        name, due, start = line.split()
        try:
            due_s = float(due)
        except ValueError:
            due_s = datetime.fromisoformat(due).timestamp()
        out.append((name, due_s, float(start)))
    return out


def on_grid(
    starts: list[tuple[str, float, float]],
    names: list[str],
    period: int,
    w0: float,
    w1: float,
) -> tuple[list[float], int, int, int]:
    """Lateness (ms, first start of each due), expected, duplicates, misses, for
    schedules on a fixed grid of `period` seconds; [w0, w1) on that grid."""
    expected = {(n, t) for n in names for t in range(int(w0), int(w1), period)}
    first: dict[tuple[str, int], float] = {}
    counts: Counter = Counter()
    for name, due, start in starts:
        key = (name, round(due))
        if key in expected:
            counts[key] += 1
            first[key] = min(first.get(key, start), start)
    lateness = [(first[k] - k[1]) * 1000 for k in first]
    duplicates = sum(c - 1 for c in counts.values())
    return lateness, len(expected), duplicates, len(expected - first.keys())


def missing_on_grid(
    starts: list[tuple[str, float, float]], names: list[str], w0: float, w1: float
) -> set[tuple[str, int]]:
    """The (schedule, due second) of [w0, w1) with no start, at 1 Hz."""
    expected = {(n, t) for n in names for t in range(int(w0), int(w1))}
    return expected - {(name, round(due)) for name, due, _ in starts}


def free_running(
    starts: list[tuple[str, float, float]],
    names: list[str],
    period: float,
    w0: float,
    w1: float,
) -> tuple[list[float], int, int, int, float]:
    """The same for beat, whose entries re-anchor at every send: a miss is a gap
    of more than one period between consecutive dues. Also the mean drift of an
    entry's due per fire (ms)."""
    by_name: dict[str, dict[float, list[float]]] = defaultdict(dict)
    for name, due, start in starts:
        if w0 <= due < w1:
            by_name[name].setdefault(round(due, 4), []).append(start)
    lateness, duplicates, misses, drifts = [], 0, 0, []
    for name in names:
        dues = sorted(by_name.get(name, {}))
        for due in dues:
            found = by_name[name][due]
            lateness.append((min(found) - due) * 1000)
            duplicates += len(found) - 1
        edges = [w0 - period / 2, *dues, w1 - period / 2]
        for a, b in zip(edges, edges[1:], strict=False):
            misses += max(round((b - a) / period) - 1, 0)
        drifts += [b - a - period for a, b in zip(dues, dues[1:], strict=False)]
    mean_drift = sum(drifts) / len(drifts) * 1000 if drifts else 0.0
    expected = round(len(names) * (w1 - w0) / period)
    return lateness, expected, duplicates, misses, mean_drift


@dataclass
class Window:
    """A window of due instants [w0, w1) on whole seconds, and the CPU used.

    At w1 the scheduler is stopped (nothing new is fired), then the queue is
    left to start what was fired until its broker is empty and nothing new has
    started for QUIET seconds: a system that falls behind shows how late it is.
    `sched` is the scheduler's CPU over [w0, w1); `queue` (the queue's process
    group, plus our launchers' groups), `orphans` (run monitors, when there is no
    launcher, and their jobs, re-parented to this
    process) and `machine` are over [w0, end), per start seen in [w0, end).
    """

    w0: float
    w1: float
    end: float = 0.0
    cpu: dict[str, float] = field(default_factory=dict)


QUIET = 3.0  # seconds without a new start: the queue has drained
DRAIN_CAP = 150.0  # a guard, not a measure


def reap_orphans(procs: Processes) -> None:
    """Reap exited children that are not our own Popen objects."""
    mine, me = {p.pid for p in procs.procs}, os.getpid()
    for pid, fields in proc_stats():
        if pid not in mine and int(fields[1]) == me and fields[0] == b"Z":
            try:
                os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                pass


def wait_reaping(instant: float, procs: Processes) -> None:
    while time.time() < instant:
        reap_orphans(procs)
        time.sleep(min(max(instant - time.time(), 0), 0.25))


def measure_window(
    *,
    procs: Processes,
    scheduler: subprocess.Popen,
    queue: subprocess.Popen | None,
    seconds: float,
    warm: float,
    progress,
    pending,
    launchers: tuple[subprocess.Popen, ...] = (),
    at_w1=None,
) -> Window:
    """Measure one window, `warm` seconds from now; the scheduler is stopped
    (and reaped) at its end."""
    w = Window(w0=math.ceil(time.time() + warm), w1=0.0)
    w.w1 = w.w0 + seconds
    wait_reaping(w.w0, procs)

    def sample() -> dict[str, float]:
        return {
            "queue": (group_cpu(queue.pid) if queue else 0.0)
            + sum(group_cpu(launcher.pid) for launcher in launchers),
            "orphans": children_cpu(),
            "machine": machine_cpu(),
        }

    sched0, before = group_cpu(scheduler.pid), sample()
    wait_reaping(w.w1, procs)
    w.cpu["sched"] = group_cpu(scheduler.pid) - sched0
    if at_w1 is not None:
        at_w1()
    os.kill(scheduler.pid, signal.SIGTERM)  # reaped below, after the sample
    last, changed = progress(), time.monotonic()
    while time.time() < w.w1 + DRAIN_CAP:
        wait_reaping(time.time() + 0.25, procs)
        if (now := progress()) != last:
            last, changed = now, time.monotonic()
        elif time.monotonic() - changed >= QUIET and not pending():
            break
    reap_orphans(procs)
    w.end = time.time()
    w.cpu |= {k: v - before[k] for k, v in sample().items()}
    procs.stop(scheduler)
    return w


def size(path: Path):
    """A progress probe: the size of a starts file."""
    return lambda: path.stat().st_size if path.exists() else 0


def started_in(starts: list[tuple[str, float, float]], w: Window) -> int:
    return max(sum(1 for _, _, start in starts if w.w0 <= start < w.end), 1)
