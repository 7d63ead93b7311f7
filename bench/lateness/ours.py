"""Our scheduled WebJobs, per second and per minute, and where their time goes."""

from __future__ import annotations

import json
import os
import sys
import time
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from pathlib import Path

import requests

from bench.harness.instance import (
    LABELS,
    PASSWORD,
    USER,
    Instance,
    deploy,
    instance,
    job_zip,
)
from bench.lateness.measure import (
    measure_window,
    missing_on_grid,
    on_grid,
    read_starts,
    size,
    started_in,
    wait_reaping,
)
from bench.lateness.plan import JOB_SCRIPT, PER_MINUTE, PER_SECOND, Plan
from bench.lateness.report import Fires

TASKS = "bench.lateness.rows"  # the Django side, run with an instance's env


def our_instance(
    key: str, root: Path, plan: Plan, *, web: bool = True
) -> AbstractContextManager[Instance]:
    """An instance as runinstance runs it (gunicorn only to deploy), its engine
    started."""
    return instance(
        key,
        root,
        web=web,
        engine=True,
        launchers=plan.launchers,
        q_workers=plan.q_workers,
        env={"BASH_ENV": "/dev/null"} if plan.exec_bash else None,
        **({"code": plan.code} if plan.code else {}),
    )


def schedule_zip(script: str, schedule: str) -> bytes:
    return job_zip(
        {"run.sh": script, "settings.job": json.dumps({"schedule": schedule})}
    )


def ours_per_second(
    key: str, counts: tuple[int, ...], plan: Plan, tmp: Path
) -> tuple[list[Fires], list[tuple[str, dict[str, list[float]]]], list[Fires]]:
    """Per-second scheduled WebJobs, `counts` of them in turn; on A, then the
    per-minute comparison in the same instance."""
    label = LABELS[key] + (", before" if plan.code else "")
    fires, stages, minute = [], [], []
    root = tmp / (key + ("-before" if plan.code else ""))
    starts = tmp / f"starts-{key}{'-before' if plan.code else ''}.txt"
    body = schedule_zip(JOB_SCRIPT.format(starts=starts), PER_SECOND)
    names: list[str] = []
    with our_instance(key, root, plan) as inst, requests.Session() as http:
        http.auth = (USER, PASSWORD)
        for count in counts:
            print(f"{label}: {count} per-second schedules...", file=sys.stderr)
            while len(names) < count:
                names.append(f"s{len(names):03d}")
                deploy(http, inst.base, names[-1], body)
            if inst.engine is None or inst.engine.poll() is not None:
                inst.start_engine()  # stopped at the end of the previous window
            window = plan.window_10 if count <= 10 else plan.window_100
            w = measure_window(
                procs=inst.procs,
                scheduler=inst.engine,
                queue=inst.cluster,
                launchers=inst.launchers,
                seconds=window,
                warm=plan.warm,
                progress=size(starts),
                pending=inst.pending,
            )
            seen = read_starts(starts)
            lateness, expected, dup, miss = on_grid(seen, names, 1, w.w0, w.w1)
            started = started_in(seen, w)
            fires.append(
                Fires(
                    label=f"{label}: ours",
                    schedules=count,
                    window=window,
                    expected=expected,
                    lateness_ms=lateness,
                    duplicates=dup,
                    misses=miss,
                    queue_cpu_ms=(w.cpu["queue"] + w.cpu["orphans"]) * 1000 / started,
                    machine_cpu_ms=w.cpu["machine"] * 1000 / started,
                    load=os.getloadavg()[0],
                )
            )
            found = inst.django(TASKS, "stages", w0=w.w0, w1=w.w1)
            # The engine's cost per occurrence it fired (Attempt rows), started or not.
            fires[-1].sched_cpu_ms = w.cpu["sched"] * 1000 / max(found["attempts"], 1)
            missing = missing_on_grid(seen, names, w.w0, w.w1)
            fires[-1].note = miss_note(fires[-1], found, missing, root)
            stages.append(
                (
                    f"{label}, {count} per-second",
                    webjob_stages(found["records"], starts),
                )
            )
        if key == "A":
            for name in names:
                http.delete(f"{inst.base}/api/triggeredwebjobs/{name}")
            inst.start_engine()
            minute = per_minute(inst, http, plan, tmp)
    return fires, stages, minute


# Part of scheduler.actions.MSG_SKIPPED (that module needs Django set up).
SKIP_MARK = "this schedule was skipped"


def skip_times(root: Path, name: str) -> list[float]:
    """When the job's job_scheduler.log says a fire was skipped because its
    previous run was still active (whole seconds, as Kudu writes them)."""
    path = root / "data" / "jobs" / "triggered" / name / "job_scheduler.log"
    out = []
    if path.exists():
        for line in path.read_text().splitlines():
            if SKIP_MARK in line:
                stamp = line[1:20]  # [MM/dd/yyyy HH:mm:ss > ...
                when = datetime.strptime(stamp, "%m/%d/%Y %H:%M:%S")
                out.append(when.replace(tzinfo=UTC).timestamp())
    return sorted(out)


def miss_note(
    fires: Fires, found: dict, missing: set[tuple[str, int]], root: Path
) -> str:
    """Why fires were missed: the engine never fired them (its misfire policy
    runs only the latest missed occurrence), or the fire was skipped because the
    job's previous run was still active (Kudu's rule: the run holds the lock
    from its row's insert, queued or not), or something else."""
    if not missing:
        return ""
    unfired = fires.expected - found["attempts"]
    skipped = 0
    for name in {n for n, _ in missing}:
        times = skip_times(root, name)
        for due in sorted(t for n, t in missing if n == name):
            # The log line is written when the skip happens: at or after the due.
            match = next((t for t in times if due <= t <= due + 60), None)
            if match is not None:
                times.remove(match)
                skipped += 1
    rest = len(missing) - unfired - skipped
    return (
        f"misses: {unfired} never fired by the engine, {skipped} skipped because "
        f"the job's previous run was still active (job_scheduler.log), {rest} other"
    )


STAGES = (
    "due → handed to the queue (engine; negative: ahead of due)",
    "due → run row inserted (launcher, at the due instant)",
    "→ process started (Popen, the job's first instruction)",
    "total, fires with every row kept",
)


def webjob_stages(records: list[dict], starts: Path) -> dict[str, list[float]]:
    """Where the time of each fire went, from the rows the product writes (real
    clock; the emulator clock has no offset here) and the child's own start."""
    started = {(n, round(d)): s for n, d, s in read_starts(starts)}
    engine, inserted, process, total = out = tuple([] for _ in STAGES)
    for r in records:
        due = r["due"]
        engine.append((r["created"] - due) * 1000)
        start = started.get((r["name"], round(due)))
        if r["run"] is None or start is None:
            continue  # runs are trimmed to the newest 30 per job
        inserted.append((r["run"] - due) * 1000)
        process.append((start - r["run"]) * 1000)
        total.append((start - due) * 1000)
    return dict(zip(STAGES, out, strict=True))


def per_minute(
    inst: Instance, http: requests.Session, plan: Plan, tmp: Path
) -> list[Fires]:
    """Ours (`0 * * * * *`) and django-q2's Schedule, 10 each, same qcluster."""
    print("A: per-minute, ours and django-q2 Schedule...", file=sys.stderr)
    ours = tmp / "starts-minute-ours.txt"
    peer = tmp / "starts-minute-djq.txt"
    body = schedule_zip(JOB_SCRIPT.format(starts=ours), PER_MINUTE)
    names = [f"m{i:02d}" for i in range(10)]
    djq_names = [f"q{i:02d}" for i in range(10)]
    for name in names:
        deploy(http, inst.base, name, body)
    first = (int(time.time() + 5) // 60 + 1) * 60  # the next minute, 5 s ahead
    inst.django(TASKS, "djq_schedules", names=djq_names, starts=str(peer), first=first)
    w0, w1 = first, first + 60 * plan.minutes
    wait_reaping(w1 - 60 + plan.djq_drain, inst.procs)  # the last due + lag
    out = []
    for label, path, who in (
        ("A: ours, `0 * * * * *`", ours, names),
        ("A: django-q2 Schedule (same qcluster)", peer, djq_names),
    ):
        lateness, expected, dup, miss = on_grid(read_starts(path), who, 60, w0, w1)
        out.append(
            Fires(
                label=label,
                schedules=len(who),
                window=w1 - w0,
                expected=expected,
                lateness_ms=lateness,
                duplicates=dup,
                misses=miss,
                load=os.getloadavg()[0],
            )
        )
    return out
