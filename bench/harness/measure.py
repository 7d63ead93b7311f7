"""Percentiles, and what processes cost, read from /proc (Linux)."""

from __future__ import annotations

import math
import os
import resource
from pathlib import Path

from jobs.processes import proc_stats

CLK_TCK = os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(math.ceil(p / 100 * len(ordered)) - 1, 0)]


def cpu_seconds(pid: int) -> float:
    """CPU seconds one process has used itself (utime + stime, not its
    children's)."""
    with open(f"/proc/{pid}/stat", "rb") as f:
        fields = f.read().rsplit(b")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def group_cpu(pgid: int) -> float:
    """CPU seconds of the live processes of a process group and of the children
    they reaped (django-q2 recycles its workers every 500 tasks; celery's worker
    reaps its jobs' bash, our run monitors are re-parented away)."""
    total = sum(
        sum(int(x) for x in fields[11:15])  # utime stime cutime cstime
        for _, fields in proc_stats()
        if int(fields[2]) == pgid
    )
    return total / CLK_TCK


def own_and_children_cpu(pid: int) -> tuple[float, float]:
    """CPU seconds of one process: its own (utime + stime) and its reaped
    children's (cutime + cstime)."""
    with open(f"/proc/{pid}/stat", "rb") as f:
        fields = f.read().rsplit(b")", 1)[1].split()
    own = int(fields[11]) + int(fields[12])
    return own / CLK_TCK, (int(fields[13]) + int(fields[14])) / CLK_TCK


def named_cpu(*names: str) -> dict[str, float]:
    """CPU seconds of the live processes called each of `names` (their comm),
    in one pass over /proc, for the servers: PostgreSQL's processes and
    backends (a backend that exited in between is not counted), Redis."""
    ticks = dict.fromkeys(names, 0)
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as f:
                head, _, tail = f.read().rpartition(b")")
        except OSError:
            continue
        name = head.partition(b"(")[2].decode(errors="replace")
        if name in ticks:
            fields = tail.split()
            ticks[name] += int(fields[11]) + int(fields[12])
    return {name: count / CLK_TCK for name, count in ticks.items()}


def machine_cpu() -> float:
    """CPU seconds the whole machine has used (all processes, all users)."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = map(int, fields[:8])
    return (user + nice + system + irq + softirq + steal) / CLK_TCK


def children_cpu() -> float:
    """CPU seconds of this process's reaped children (and theirs): what the
    benchmark, a subreaper, inherited and reaped."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def memory_mb(pid: int) -> tuple[float, float]:
    """(VmRSS, VmHWM) of a process, in MB."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0]) / 1024
    return values["VmRSS"], values["VmHWM"]
