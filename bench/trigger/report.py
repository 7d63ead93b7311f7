"""run_trigger's tables: the on-demand runs of each variant beside celery's."""

from __future__ import annotations

from dataclasses import dataclass, field

from bench.harness.measure import percentile
from bench.trigger.ours import Phase

STAGES = (
    ("answered", "POST …/run answered (client)"),
    ("inserted", "run row inserted"),
    ("claimed", "claimed by its starter (queue worker or launcher)"),
    ("started", "process started (the job's first instruction)"),
    ("running", "Running recorded"),
    ("first line", "the job's first line in output_log.txt"),
    ("ended", "run final (row)"),
)
CPU_PARTS = (
    ("web", "web (gunicorn)"),
    ("queue", "queue (qcluster, its workers)"),
    ("launchers", "launchers, with the jobs they started"),
    ("monitors", "run monitors forked per run, with their jobs"),
    ("worker", "celery worker (prefork 2), with its jobs"),
    ("driver", "the driver (HTTP client / celery client)"),
    ("machine", "machine (all processes, servers and other users included)"),
)


@dataclass
class Variant:
    label: str
    key: str  # A, B, or celery
    before: bool = False  # the code before the change (--before)
    serial: Phase = field(default_factory=Phase)
    burst: Phase = field(default_factory=Phase)
    get_ms: list[float] = field(default_factory=list)
    targets: list[str] = field(default_factory=list)


def cells(values: list[float], ps=(50, 95, 99)) -> str:
    if not values:
        return " | ".join("" for _ in ps)
    return " | ".join(f"{percentile(values, p):.1f}" for p in ps)


def verdicts(variants: list[Variant]) -> None:
    """The issue's targets, for this code's variants, against celery's run."""
    peer = next((v for v in variants if v.key == "celery"), None)
    for v in variants:
        if v.before or v.key == "celery" or not v.serial.latencies_ms:
            continue
        p50 = percentile(v.serial.latencies_ms, 50)
        p99 = percentile(v.serial.latencies_ms, 99)
        v.targets.append(
            f"1 in flight p50 ≤ 10 ms, p99 ≤ 30 ms: "
            f"{'met' if p50 <= 10 and p99 <= 30 else 'NOT met'}"
        )
        rate, cpu = v.burst.runs_per_second, v.burst.cpu_ms.get("machine")
        v.targets.append(f"≥ 150 runs/s: {'met' if rate >= 150 else 'NOT met'}")
        if cpu is not None:
            v.targets.append(
                f"machine CPU ≤ 10 ms a run: {'met' if cpu <= 10 else 'NOT met'}"
            )
        if peer is None or not peer.serial.latencies_ms:
            continue
        if v.key == "B":
            peer_p50 = percentile(peer.serial.latencies_ms, 50)
            v.targets.append(
                f"p50 ≤ celery's {peer_p50:.1f}: "
                f"{'met' if p50 <= peer_p50 else 'NOT met'}"
            )
        peer_rate = peer.burst.runs_per_second
        v.targets.append(
            f"runs/s ≥ celery's {peer_rate:.0f}: "
            f"{'met' if rate >= peer_rate else 'NOT met'}"
        )
        peer_cpu = peer.burst.cpu_ms.get("machine")
        if cpu is not None and peer_cpu is not None:
            v.targets.append(
                f"machine CPU ≤ celery's {peer_cpu:.1f}: "
                f"{'met' if cpu <= peer_cpu else 'NOT met'}"
            )


def table(variants: list[Variant], jobs: int) -> str:
    lines = [
        "| variant | trigger → process start, 1 in flight, ms p50 | p95 | p99 "
        f"| {jobs} in flight, ms p50 | p95 | p99 | runs/s, {jobs} in flight "
        "| machine CPU ms a run | targets |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for v in variants:
        cpu = v.burst.cpu_ms.get("machine")
        lines.append(
            f"| {v.label} | {cells(v.serial.latencies_ms)} | "
            f"{cells(v.burst.latencies_ms)} | {v.burst.runs_per_second:.1f} | "
            f"{'' if cpu is None else f'{cpu:.1f}'} | {'; '.join(v.targets)} |"
        )
    return "\n".join(lines)


def stages_table(variants: list[Variant]) -> str:
    shown = [v for v in variants if v.serial.stages]
    if not shown:
        return ""
    lines = [
        "| stage (ms after the trigger), 1 in flight: p50 / p99 | "
        + " | ".join(v.label for v in shown)
        + " |",
        "|---|" + "---:|" * len(shown),
    ]
    for key, title in STAGES:
        row = []
        for v in shown:
            values = v.serial.stages.get(key, [])
            row.append(
                f"{percentile(values, 50):.1f} / {percentile(values, 99):.1f}"
                if values
                else ""
            )
        lines.append(f"| {title} | " + " | ".join(row) + " |")
    lines.append(
        "| runs claimed by a queue worker (a run monitor forked) | "
        + " | ".join(f"{v.serial.by_queue} of {v.serial.runs}" for v in shown)
        + " |"
    )
    return "\n".join(lines)


def cpu_table(variants: list[Variant], jobs: int) -> str:
    shown = [v for v in variants if v.burst.cpu_ms]
    if not shown:
        return ""
    lines = [
        f"| CPU ms a run, {jobs} in flight | "
        + " | ".join(v.label for v in shown)
        + " |",
        "|---|" + "---:|" * len(shown),
    ]
    for key, title in CPU_PARTS:
        if not any(key in v.burst.cpu_ms for v in shown):
            continue
        row = [
            f"{v.burst.cpu_ms[key]:.1f}" if key in v.burst.cpu_ms else "" for v in shown
        ]
        lines.append(f"| {title} | " + " | ".join(row) + " |")
    return "\n".join(lines)


def gets_table(variants: list[Variant], checks_ms: list[float]) -> str:
    lines = [
        "| variant | GET one job, Basic auth cached, ms p50 | p95 | p99 |",
        "|---|---:|---:|---:|",
    ]
    for v in variants:
        if v.get_ms:
            lines.append(f"| {v.label} | {cells(v.get_ms)} |")
    if checks_ms:
        lines.append(
            "| alternative: no cache, Django check_password (PBKDF2) per call "
            f"| {cells(checks_ms)} |"
        )
    return "\n".join(lines)
