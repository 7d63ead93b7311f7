"""Bounded time work: what a century-old start, a count of 10^9 and a clock jump
of years cost, beside the code before issue 16 (counted, not listed).

    python bench/bounded_work.py [--jobs 1000] [--years 10] [--base f53edcf]

Cases (each in a fresh process with its own SQLite database in a temporary
WEBJOBS_ROOT, so one case's memory does not hide another's):

- **put**: `job_put` (what the ARM PUT runs) of a per-minute job with `count`
  10^9 and a start 100 years back, then the portal's next 5 (`job_upcoming`).
- **jump**: `--jobs` per-second NCRONTAB jobs (scheduled-WebJob timers), the
  clock moved `--years` ahead, then `engine_step` at that instant until it
  fires nothing more: the time until the engine is current again, its peak
  memory over the set-up's, whether every job got one Postponed entry with
  the exact repeatCount and one fire; then the portal's next 5 of one job.

The named alternative is the same cases on the code at `--base` (the last
commit before this work), unpacked with `git archive` into a temporary folder
and run with this venv. Its walk is linear in the time spanned, so it runs on
smaller spans (a start 10 to 60 days back; jumps of 1 and 10 minutes over
`--jobs` jobs for time, of 1 and 4 days over one job for memory, since it
lists one job's missed occurrences at a time), each stopped after `--limit`
seconds, and the table extrapolates linearly to the real case.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BASE = "f53edcf"  # main before issue 16: the walk this work replaced
YEAR_DAYS = 365.2425


# --- the worker: runs one case in the tree given by --impl -------------------------


def worker(args) -> None:
    sys.path.insert(0, args.impl)
    os.chdir(args.impl)
    os.environ.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        WEBJOBS_ROOT=args.root,
        SECRET_KEY="bench",
        LOG_LEVEL="ERROR",
    )
    for name in ("DATABASE_URL", "REDIS_URL", "Q_SYNC"):
        os.environ.pop(name, None)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    result = {"put": case_put, "jump": case_jump}[args.case](args)
    result["maxrss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print("RESULT " + json.dumps(result), flush=True)


def _collection():
    # The project is imported after django.setup() in the child (and from the
    # checkout measured, --impl), as in every function of this child below.
    from scheduler.services import collection_put

    collection, _ = collection_put(
        subscription_id="bench",
        resource_group="rg",
        name="jc",
        body={"properties": {"sku": {"name": "P20Premium"}}},
    )
    collection.max_job_count = 1000
    collection.save()
    return collection


def case_put(args) -> dict:
    from datetime import timedelta

    # Django is set up in the child first (see _collection).
    from config.clock import clock_now
    from scheduler.selectors import job_upcoming
    from scheduler.services import job_put

    collection = _collection()
    now = clock_now().replace(microsecond=0)
    start = now - timedelta(days=args.age_days, seconds=30)
    body = {
        "properties": {
            "startTime": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "action": {"type": "Http", "request": {"uri": "http://127.0.0.1:9/"}},
            "recurrence": {"frequency": "Minute", "count": 10**9},
        }
    }
    started = time.perf_counter()
    job, _ = job_put(collection=collection, name="old-start", body=body)
    put_ms = (time.perf_counter() - started) * 1000
    started = time.perf_counter()
    upcoming = job_upcoming(job, now=clock_now(), count=5)
    next5_ms = (time.perf_counter() - started) * 1000
    expected = start + timedelta(minutes=(now - start) // timedelta(minutes=1) + 1)
    return {
        "put_ms": put_ms,
        "next5_ms": next5_ms,
        "correct": job.next_fire_at == expected and upcoming[0] == expected,
    }


def case_jump(args) -> dict:
    from datetime import timedelta

    # Django is set up in the child first (see _collection).
    from config.clock import clock_now, clock_set
    from core.ncrontab import cron_next
    from scheduler.engine import engine_step
    from scheduler.models import Attempt, Job, JobHistory
    from scheduler.selectors import job_upcoming

    collection = _collection()
    now = clock_now()
    first = cron_next("* * * * * *", after=now)
    action = {
        "type": "WebJob",
        "webJob": {"name": "bench", "arguments": ""},
        "retryPolicy": {"retryType": "None"},
    }
    Job.objects.bulk_create(
        Job(
            collection=collection,
            name=f"tick{i:04d}",
            cron="* * * * * *",
            created_at=now,
            next_fire_at=first,
            action=action,
        )
        for i in range(args.jobs)
    )
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    later = first + timedelta(seconds=args.seconds)
    clock_set(later.strftime("%Y-%m-%dT%H:%M:%S.%fZ"))
    at = clock_now()
    started = time.perf_counter()
    while engine_step(at):
        pass
    jump_ms = (time.perf_counter() - started) * 1000
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    latest = at.replace(microsecond=0)
    missed = int((latest - first).total_seconds())
    postponed = list(
        JobHistory.objects.filter(status="Postponed").values_list(
            "repeat_count", "expected_execution_time"
        )
    )
    correct = (
        len(postponed) == args.jobs
        and all(
            count == min(missed, 2**31 - 1)
            and expected == latest - timedelta(seconds=1)
            for count, expected in postponed
        )
        and Attempt.objects.filter(expected_time=latest).count() == args.jobs
        and not Job.objects.filter(next_fire_at__lte=at).exists()
    )
    job = Job.objects.first()
    started = time.perf_counter()
    job_upcoming(job, now=at, count=5)
    next5_ms = (time.perf_counter() - started) * 1000
    return {
        "jump_ms": jump_ms,
        "per_job_ms": jump_ms / args.jobs,
        "next5_ms": next5_ms,
        "grew_mb": rss_after - rss_before,
        "correct": correct,
    }


# --- the driver -------------------------------------------------------------------


def run_case(impl: Path, case: str, limit: float, **options) -> dict:
    """One case in a fresh process; {'stopped': True} past `limit` seconds."""
    root = tempfile.mkdtemp(prefix="bench-bounded-")
    argv = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--worker",
        "--impl",
        str(impl),
        "--root",
        root,
        "--case",
        case,
    ]
    for key, value in options.items():
        argv += [f"--{key.replace('_', '-')}", str(value)]
    started = time.monotonic()
    proc = subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True
    )
    peak = 0.0
    try:
        while proc.poll() is None:
            peak = max(peak, _rss_mb(proc.pid))
            if time.monotonic() - started > limit:
                os.killpg(proc.pid, 9)
                proc.wait()
                return {"stopped": True, "seconds": limit, "rss_mb": peak}
            time.sleep(0.05)
        out, err = proc.communicate()
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, 9)
            proc.wait()
        shutil.rmtree(root, ignore_errors=True)
    for line in out.decode().splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    raise RuntimeError(f"{case} in {impl} failed:\n{err.decode()[-3000:]}")


def _rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def base_tree(commit: str) -> Path:
    folder = Path(tempfile.mkdtemp(prefix="bench-base-"))
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", commit],
        check=True,
        capture_output=True,
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    return folder


def _linear(points: list[tuple[float, float]], x: float) -> float:
    """The least-squares line through `points`, at `x`."""
    n = len(points)
    mean_x = sum(p[0] for p in points) / n
    mean_y = sum(p[1] for p in points) / n
    spread = sum((p[0] - mean_x) ** 2 for p in points) or 1.0
    slope = sum((p[0] - mean_x) * (p[1] - mean_y) for p in points) / spread
    return mean_y + slope * (x - mean_x)


def _duration(ms: float) -> str:
    seconds = ms / 1000
    if seconds < 1:
        return f"{ms:.1f} ms"
    if seconds < 120:
        return f"{seconds:.2f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 86400 * 3:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.0f} days"


def _memory(mb: float) -> str:
    return f"{mb / 1024:.1f} GB" if mb >= 1024 else f"{mb:.0f} MB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--years", type=float, default=10)
    parser.add_argument("--base", default=BASE)
    parser.add_argument("--limit", type=float, default=300, help="s per old case")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--impl", help=argparse.SUPPRESS)
    parser.add_argument("--root", help=argparse.SUPPRESS)
    parser.add_argument("--case", help=argparse.SUPPRESS)
    parser.add_argument("--age-days", type=float, help=argparse.SUPPRESS)
    parser.add_argument("--seconds", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return

    print(f"load average before: {os.getloadavg()}")
    century = 100 * YEAR_DAYS
    jump = int(args.years * YEAR_DAYS * 86400)
    new_put = run_case(REPO, "put", 600, age_days=century)
    new_jump = run_case(REPO, "jump", 600, jobs=args.jobs, seconds=jump)

    base = base_tree(args.base)
    try:
        old_puts = [
            (days, run_case(base, "put", args.limit, age_days=days))
            for days in (10, 30, 60)
        ]
        old_jumps = [
            (s, run_case(base, "jump", args.limit, jobs=args.jobs, seconds=s))
            for s in (60, 600)
        ]
        # Its memory grows with the span, one job at a time: measured on one.
        old_memory = [
            (seconds, run_case(base, "jump", args.limit, jobs=1, seconds=seconds))
            for seconds in (86400, 4 * 86400)
        ]
    finally:
        shutil.rmtree(base, ignore_errors=True)
    print(f"load average after:  {os.getloadavg()}\n")

    put_points = [(d, r["put_ms"]) for d, r in old_puts if not r.get("stopped")]
    next_points = [(d, r["next5_ms"]) for d, r in old_puts if not r.get("stopped")]
    jump_points = [(s, r["jump_ms"]) for s, r in old_jumps if not r.get("stopped")]
    grow_points = [(s, r["grew_mb"]) for s, r in old_memory if not r.get("stopped")]

    def extrapolated(points, x, render):
        if len(points) < 2:
            return "-"
        return f"{render(_linear(points, x))} (extrapolated)"

    rows = [
        (
            "PUT, count 10^9, start 100 years back",
            _duration(new_put["put_ms"]),
            extrapolated(put_points, century, _duration),
        ),
        (
            "  its next 5 (portal)",
            _duration(new_put["next5_ms"]),
            extrapolated(next_points, century, _duration),
        ),
        (
            f"jump {args.years:g} years, {args.jobs} per-second jobs: engine current",
            _duration(new_jump["jump_ms"]),
            extrapolated(jump_points, jump, _duration),
        ),
        (
            "  per job",
            _duration(new_jump["per_job_ms"]),
            extrapolated([(x, y / args.jobs) for x, y in jump_points], jump, _duration),
        ),
        (
            "  peak memory growth",
            _memory(max(new_jump["grew_mb"], 0)),
            extrapolated(grow_points, jump, _memory),
        ),
        ("  Postponed entries and fires correct", str(new_jump["correct"]), "-"),
        (
            "  next 5 of a job after the jump (portal)",
            _duration(new_jump["next5_ms"]),
            "-",
        ),
    ]
    print(f"| case | this tree | {args.base} (before) |")
    print("|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    print(f"\nmeasured on {args.base}:")
    for days, result in old_puts:
        print(f"  start {days} days back: {_show(result)}")
    for seconds, result in old_jumps:
        print(f"  jump of {seconds} s, {args.jobs} jobs: {_show(result)}")
    for seconds, result in old_memory:
        print(f"  jump of {seconds} s, 1 job: {_show(result)}")
    ok = new_put["correct"] and new_jump["correct"]
    sys.exit(0 if ok else 1)


def _show(result: dict) -> str:
    if result.get("stopped"):
        rss = _memory(result["rss_mb"])
        return f"stopped after {result['seconds']:.0f} s, RSS {rss}"
    return ", ".join(
        f"{key} {value:.1f}" if isinstance(value, float) else f"{key} {value}"
        for key, value in result.items()
    )


if __name__ == "__main__":
    main()
