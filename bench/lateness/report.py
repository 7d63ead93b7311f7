"""fire_lateness's results and tables."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from bench.harness.measure import percentile
from bench.harness.report import code_version
from bench.lateness.plan import FIRING, FIRING_EVERY, Plan


@dataclass
class Fires:
    """The starts of one variant's measured window, and what they cost."""

    label: str
    schedules: int
    window: float
    expected: int
    lateness_ms: list[float]
    duplicates: int
    misses: int
    sched_cpu_ms: float | None = None  # scheduler process CPU per fire
    queue_cpu_ms: float | None = None  # queue/worker processes CPU per fire
    machine_cpu_ms: float | None = None  # the whole machine's CPU per fire
    load: float = 0.0
    target: str = ""
    note: str = ""


@dataclass
class Scale:
    total: int
    fires: Fires
    rss_mb: float
    hwm_mb: float
    cpu_ms_per_fire: float
    cpu_percent: float
    create_s: float
    unexpected: int  # hits from jobs that should not have fired


@dataclass
class Report:
    per_second: list[Fires] = field(default_factory=list)
    per_minute: list[Fires] = field(default_factory=list)
    scale: list[Scale] = field(default_factory=list)
    # (column label, {stage: values}) of ours.STAGES
    stages: list[tuple[str, dict[str, list[float]]]] = field(default_factory=list)


def ms(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value:,.1f}" if value < 10_000 else f"{value:,.0f}"


def lateness_cells(f: Fires) -> str:
    if not f.lateness_ms:
        return " | ".join([""] * 4)
    return " | ".join(ms(percentile(f.lateness_ms, p)) for p in (50, 95, 99, 100))


def verdicts(report: Report) -> None:
    """Fill in each target against the peer of the same run."""
    celery = {f.schedules: f for f in report.per_second if f.label.startswith("cel")}
    for f in report.per_second:
        if not f.lateness_ms:
            continue
        p99 = percentile(f.lateness_ms, 99)
        if f.label.startswith("B") and f.schedules in celery:
            peer = percentile(celery[f.schedules].lateness_ms, 99)
            ok = p99 <= peer and f.misses == f.duplicates == 0
            f.target = f"p99 ≤ celery's {ms(peer)}: {'met' if ok else 'NOT met'}"
        if f.label.startswith("A") and f.schedules == 10:
            ok = p99 <= 100 and f.misses == f.duplicates == 0
            f.target = f"p99 ≤ 100 ms: {'met' if ok else 'NOT met'}"


def setup_line(plan: Plan) -> str:
    if not plan.launchers:
        launchers = "no runlauncher (a run monitor forked per fire), "
    else:
        launchers = f"{plan.launchers} runlauncher (as runinstance), " + (
            "bash exec'd at the instant (--exec-bash), " if plan.exec_bash else ""
        )
    return (
        f"Ours: one runscheduler, one qcluster with Q_WORKERS={plan.q_workers}, "
        f"{launchers}gunicorn only to deploy."
    )


def render(
    report: Report,
    plan: Plan,
    loads: tuple[float, float],
    code: str,
    stage_names: tuple[str, ...],
) -> str:
    now = code_version()
    lines = [
        f"{code}." if now == code else f"At the start {code}; at the end {now}.",
        "",
        f"{os.cpu_count()} CPUs, load average {loads[0]:.1f} before, "
        f"{loads[1]:.1f} after. {setup_line(plan)} Nearest-rank "
        "percentiles of lateness in ms (due instant → the job's process started). "
        "CPU per fire: the scheduler's process (engine / beat) over the window; "
        "the queue's process group with the children it reaped (celery: the jobs), "
        "plus our launchers and the jobs they reaped, plus run monitors and their "
        "jobs (re-parented to the benchmark, a subreaper), over the window and its "
        "drain; PostgreSQL and Redis servers not "
        "counted. Machine: all CPU used on the machine, other users' included.",
    ]
    lines += per_second_table(report.per_second)
    lines += per_minute_table(report.per_minute, plan)
    lines += scale_table(report.scale)
    lines += stages_table(report.stages, stage_names)
    return "\n".join(lines)


def per_second_table(fires: list[Fires]) -> list[str]:
    if not fires:
        return []
    lines = [
        "",
        "### Per-second schedules (1 Hz each)",
        "",
        "| variant | schedules | window s | fires expected | p50 | p95 | p99 "
        "| max | dup | miss | scheduler CPU ms/fire | queue, monitors, jobs CPU "
        "ms/fire "
        "| machine CPU ms/fire | load | target |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for f in fires:
        lines.append(
            f"| {f.label} | {f.schedules} | {f.window:.0f} | {f.expected} | "
            f"{lateness_cells(f)} | {f.duplicates} | {f.misses} | "
            f"{ms(f.sched_cpu_ms)} | {ms(f.queue_cpu_ms)} | "
            f"{ms(f.machine_cpu_ms)} | {f.load:.1f} | "
            f"{'; '.join(x for x in (f.target, f.note) if x)} |"
        )
    return lines


def per_minute_table(fires: list[Fires], plan: Plan) -> list[str]:
    if not fires:
        return []
    lines = [
        "",
        f"### Per-minute schedules ({plan.minutes} min, same instance: A)",
        "",
        "| variant | schedules | fires expected | p50 | p95 | p99 | max | dup | miss |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for f in fires:
        lines.append(
            f"| {f.label} | {f.schedules} | {f.expected} | {lateness_cells(f)}"
            f" | {f.duplicates} | {f.misses} |"
        )
    return lines


def scale_table(rows: list[Scale]) -> list[str]:
    if not rows:
        return []
    lines = [
        "",
        f"### Scale: enabled scheduler jobs (B), {FIRING} of them firing once "
        f"a minute ({60 // FIRING_EVERY} seconds a minute, "
        f"{FIRING * FIRING_EVERY // 60} due together), Http action",
        "",
        "Lateness here: due instant → the Http request arrived at a local "
        "server. Target at 100,000: p99 ≤ 100 ms, engine RSS ≤ 200 MB. The "
        "firing jobs are created with job_put, the idle ones with the same "
        "validators and next-occurrence function, saved 1,000 at a time.",
        "",
        "| enabled jobs | window s | fires expected | p50 | p95 | p99 | max | dup "
        "| miss | engine RSS MB (peak) | engine CPU ms/fire "
        "| engine CPU % of a core | create s per 1,000 | load |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    prev = 0
    for s in rows:
        f = s.fires
        per_1000 = s.create_s * 1000 / max(s.total - prev, 1)
        prev = s.total
        extra = f" ({s.unexpected} unexpected calls)" if s.unexpected else ""
        lines.append(
            f"| {s.total:,}{extra} | {f.window:.0f} | {f.expected} | "
            f"{lateness_cells(f)} | "
            f"{f.duplicates} | {f.misses} | {s.rss_mb:.0f} ({s.hwm_mb:.0f}) | "
            f"{s.cpu_ms_per_fire:.1f} | {s.cpu_percent:.1f} | {per_1000:.1f} | "
            f"{f.load:.1f} |"
        )
    return lines


def stages_table(
    stages: list[tuple[str, dict[str, list[float]]]], names: tuple[str, ...]
) -> list[str]:
    if not stages:
        return []
    lines = [
        "",
        "### Where our time goes (scheduled WebJob), ms: p50 / p99 (n)",
        "",
        "From the rows the product writes: Attempt.created_at (the engine "
        "hands WebJob fires over SCHEDULER_LEAD ahead), Run.start_time "
        "(inserted by the launcher at the due instant), and the child's "
        "own start. Runs are "
        "trimmed to 30 per job, so the last stages cover the newest fires of "
        "the window.",
        "",
        "| stage | " + " | ".join(label for label, _ in stages) + " |",
        "|---|" + "---:|" * len(stages),
    ]
    for k in names:
        if not any(st.get(k) for _, st in stages):
            continue
        cells = []
        for _, st in stages:
            v = st.get(k, [])
            cells.append(
                f"{ms(percentile(v, 50))} / {ms(percentile(v, 99))} ({len(v)})"
                if v
                else ""
            )
        lines.append(f"| {k} | " + " | ".join(cells) + " |")
    return lines
