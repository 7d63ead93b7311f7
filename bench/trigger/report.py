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
    ("launchers", "launchers"),
    ("jobs", "the jobs the launchers started (setpriv, bash, the script)"),
    ("monitors", "run monitors forked per run, with their jobs"),
    ("worker", "celery worker (prefork 2), with its jobs"),
    ("driver", "the driver (HTTP client / celery client)"),
    ("postgres", "PostgreSQL (every server process on the machine)"),
    ("redis", "Redis (the machine's server)"),
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


# --- the table: every target, this code beside the code before and the peer


def _p(values: list[float], p: float) -> float | None:
    return percentile(values, p) if values else None


def _fmt(value: float | None, digits: int = 1) -> str:
    return "" if value is None else f"{value:,.{digits}f}"


def _verdict(ok: bool | None) -> str:
    return "" if ok is None else ("met" if ok else "NOT met")


def summary(variants, lists, fires, scale, jobs: int) -> str:
    """One row a target, with what this code, the code before (--before) and
    the peer measured in this run."""
    by = {(v.key, v.before): v for v in variants}
    peer = by.get(("celery", False))
    rows = [
        "| metric | before | this code | celery | target | verdict |",
        "|---|---:|---:|---:|---|---|",
    ]

    def latency(v) -> str:
        if v is None or not v.serial.latencies_ms:
            return ""
        values = v.serial.latencies_ms
        return f"{_fmt(_p(values, 50))} p50 / {_fmt(_p(values, 99))} p99"

    peer_p50 = _p(peer.serial.latencies_ms, 50) if peer else None
    for key, name in (("A", "SQLite + ORM"), ("B", "PostgreSQL + Redis")):
        this = by.get((key, False))
        if this is None:
            continue
        p50, p99 = _p(this.serial.latencies_ms, 50), _p(this.serial.latencies_ms, 99)
        ok = p50 is not None and p50 <= 10 and p99 <= 30
        target = "≤ 10 ms p50, ≤ 30 ms p99"
        if key == "B" and peer_p50 is not None:
            ok = ok and p50 <= peer_p50
            target += ", ≤ celery's p50"
        rows.append(
            f"| trigger → process start, 1 run in flight, {name} "
            f"| {latency(by.get((key, True)))} | {latency(this)} | {latency(peer)} "
            f"| {target} | {_verdict(ok)} |"
        )
    peer_rate = peer.burst.runs_per_second if peer else None
    peer_cpu = peer.burst.cpu_ms.get("machine") if peer else None
    for key, name in (("A", "SQLite + ORM"), ("B", "PostgreSQL + Redis")):
        this = by.get((key, False))
        if this is None:
            continue
        before = by.get((key, True))
        rate = this.burst.runs_per_second
        ok = rate >= 150 and (peer_rate is None or rate >= peer_rate)
        rows.append(
            f"| runs per second, {jobs} jobs in flight, {name} "
            f"| {_fmt(before.burst.runs_per_second) if before else ''} "
            f"| {_fmt(rate)} | {_fmt(peer_rate)} | ≥ 150, ≥ celery's "
            f"| {_verdict(ok)} |"
        )
        cpu = this.burst.cpu_ms.get("machine")
        ok = cpu is not None and cpu <= 10 and (peer_cpu is None or cpu <= peer_cpu)
        rows.append(
            f"| machine CPU ms per on-demand run, {name} "
            f"| {_fmt(before.burst.cpu_ms.get('machine')) if before else ''} "
            f"| {_fmt(cpu)} | {_fmt(peer_cpu)} | ≤ 10, ≤ celery's per task "
            f"| {_verdict(ok)} |"
        )
    hundred = [f for f in fires if f.schedules == 100]
    ours = next(
        (f for f in hundred if ": ours" in f.label and "before" not in f.label), None
    )
    before = next((f for f in hundred if "before" in f.label), None)
    beat = next((f for f in hundred if f.label.startswith("celery")), None)
    if ours is not None:
        ok = beat is not None and ours.machine_cpu_ms <= beat.machine_cpu_ms
        rows.append(
            "| machine CPU ms per scheduled fire, 100 per-second schedules, "
            "PostgreSQL + Redis "
            f"| {_fmt(before.machine_cpu_ms) if before else ''} "
            f"| {_fmt(ours.machine_cpu_ms)} "
            f"| {_fmt(beat.machine_cpu_ms) if beat else ''} | ≤ celery beat's "
            f"| {_verdict(ok if beat else None)} |"
        )
    if scale:
        growth = ", ".join(
            f"{s.total:,}: {_fmt(_p(s.fires.lateness_ms, 99))} ms, {s.rss_mb:.0f} MB"
            for s in scale
        )
        top = scale[-1]
        p99 = _p(top.fires.lateness_ms, 99)
        ok = p99 is not None and p99 <= 100 and top.rss_mb <= 200
        if top.total < 100_000:
            ok = None  # the target is at 100,000 (--quick stops earlier)
        rows.append(
            f"| {top.total:,} enabled scheduler jobs, 100 firing each minute: "
            f"p99 lateness, engine RSS (growth: {growth}) | "
            f"| {_fmt(p99)} ms, {top.rss_mb:.0f} MB | | ≤ 100 ms, ≤ 200 MB "
            f"| {_verdict(ok)} |"
        )
    this_lists = next((x for x in lists if "before" not in x.label), None)
    before_lists = next((x for x in lists if "before" in x.label), None)
    for name, title in (
        ("kudu", "Kudu `GET /api/triggeredwebjobs`"),
        ("arm", "ARM job list (a page of 100)"),
    ):
        if this_lists is None:
            continue

        def cell(x, name=name) -> str:
            if x is None:
                return ""
            return f"{_fmt(_p(x.ms[name], 95))} ms p95, {x.queries[name]} queries"

        p95 = _p(this_lists.ms[name], 95)
        size = (
            f"{this_lists.jobs:,} jobs × {this_lists.runs} runs"
            if name == "kudu"
            else "a collection of 1,000 jobs"
        )
        rows.append(
            f"| {title}, {size} ({this_lists.label}) "
            f"| {cell(before_lists)} | {cell(this_lists)} | "
            f"| ≤ 100 ms p95, queries independent of the jobs (tests assert it) "
            f"| {_verdict(p95 <= 100)} |"
        )
    return "\n".join(rows)
