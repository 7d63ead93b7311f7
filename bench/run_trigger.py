"""On-demand runs: trigger -> process start, runs per second and CPU per run,
beside celery, on the real servers, two set-ups; and the other targets of issue
18 in the same run (scheduled fires' CPU at 100 a second beside celery beat,
100,000 enabled scheduler jobs, the job lists), summed up in one table.

    python bench/run_trigger.py [--quick] [--before DIR] [--only PART] [--save]
                                [--runs 200] [--jobs 20] [--serial 40]

For each configuration (A: SQLite + django-q2's ORM broker, the embedded default;
B: PostgreSQL + Redis, the scale-out path) it starts a fresh instance as
`runinstance` runs one (gunicorn with config/web.py's workers and threads,
one qcluster with 2 workers, 2 launchers), deploys `--jobs` trivial jobs over
HTTP and triggers runs with `POST .../run`:

* one run at a time (`--serial`): trigger -> process start (client clock just
  before the POST to the job's own first instruction, bash's $EPOCHREALTIME),
  and the stages of each run: the POST answered, the row inserted, claimed by
  its starter, Running recorded, the run final (database triggers the benchmark
  installs: bench/trigger/stages.py), the job's first line in output_log.txt;
* `--runs` runs over `--jobs` jobs, each job again once its run is final (Kudu's
  lock): the rate, and the CPU of each part of the instance per run.

With `--before DIR` (a checkout of the code before a change, e.g. `git
worktree add --detach /tmp/before main`), the same is measured for that code in
the same run. The named alternative, in the same run: celery's apply_async of a
task that starts the same process (prefork worker of 2, Redis;
bench/trigger/peer.py). Also: an authenticated GET of one job, beside Django's
PBKDF2 check_password (what every call would cost without jobs/auth.py's cache).

The other parts (`--only fires|scale|lists`): 100 per-second scheduled WebJobs
on B beside celery beat (bench/lateness/, as fire_lateness.py measures them);
1,000 / 10,000 / 100,000 enabled scheduler jobs with 100 firing each minute
(bench/lateness/scale.py); Kudu's job list with 1,000 jobs of 30 runs and the
ARM job list of a 1,000-job collection (bench/trigger/lists.py). --before
measures the fires and the lists of that code too.

Everything started is ended by its process group; files go to a temporary folder
(and, with --save, the tables to bench/results/, which git ignores).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from dataclasses import replace
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.harness.instance import (  # noqa: E402
    LABELS,
    PASSWORD,
    USER,
    instance,
    scratch_dir,
)
from bench.harness.report import code_version, load, save  # noqa: E402
from bench.lateness.beat import celery_per_second  # noqa: E402
from bench.lateness.ours import ours_per_second  # noqa: E402
from bench.lateness.plan import FULL, QUICK  # noqa: E402
from bench.lateness.report import per_second_table, scale_table  # noqa: E402
from bench.lateness.scale import scale  # noqa: E402
from bench.trigger import ours, report  # noqa: E402
from bench.trigger.lists import lists  # noqa: E402
from bench.trigger.peer import LABEL as CELERY_LABEL  # noqa: E402
from bench.trigger.peer import celery_runs  # noqa: E402
from jobs.processes import become_subreaper  # noqa: E402
from tests.instance import web_shape  # noqa: E402

LAUNCHERS = 2  # WEBJOBS_LAUNCHERS's default, as runinstance starts them


def time_gets(http: requests.Session, url: str, count: int) -> list[float]:
    for _ in range(10):  # warm-up: each gunicorn worker verifies the password once
        http.get(url).raise_for_status()
    out = []
    for _ in range(count):
        t0 = time.perf_counter()
        response = http.get(url)
        out.append((time.perf_counter() - t0) * 1000)
        response.raise_for_status()
    return out


def bench_ours(
    key: str, args: argparse.Namespace, tmp: Path, code: Path | None
) -> report.Variant:
    before = code is not None
    label = LABELS[key] + (", before" if before else "")
    variant = report.Variant(label=label, key=key, before=before)
    root = tmp / (key + ("-before" if before else ""))
    starts = root / "starts"
    starts.mkdir(parents=True)
    starts.chmod(0o1777)  # the jobs (WEBJOBS_RUN_AS) write their starts here
    print(f"{label}: starting...", file=sys.stderr)
    where = {"code": code} if code else {}
    with (
        instance(key, root, launchers=LAUNCHERS, **where) as inst,
        requests.Session() as http,
    ):
        http.auth = (USER, PASSWORD)
        names = [f"job{i:02d}" for i in range(args.jobs)]
        ours.deploy_jobs(http, inst.base, names, starts)
        print(f"{label}: {args.serial} runs one at a time...", file=sys.stderr)
        variant.serial = ours.serial(inst, http, names[0], args.serial, starts)
        print(f"{label}: {args.runs} runs, {args.jobs} in flight...", file=sys.stderr)
        variant.burst = ours.burst(inst, http, names, args.runs, starts)
        url = f"{inst.base}/api/triggeredwebjobs/{names[0]}"
        variant.get_ms = time_gets(http, url, args.gets)
    return variant


def time_check_password(count: int) -> list[float]:
    """The named alternative of the GET: Django's default hasher, every call."""
    # Django's own hasher, in this process (no project module, no instance).
    import django
    from django.conf import settings

    if not settings.configured:
        settings.configure()  # Django's defaults: PBKDF2PasswordHasher first
        django.setup()
    from django.contrib.auth.hashers import check_password, make_password

    encoded = make_password(PASSWORD)
    out = []
    for _ in range(count):
        t0 = time.perf_counter()
        assert check_password(PASSWORD, encoded)
        out.append((time.perf_counter() - t0) * 1000)
    return out


PARTS = ("A", "B", "celery", "fires", "scale", "lists")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    parser.add_argument("--runs", type=int, help="runs of the burst (200)")
    parser.add_argument("--jobs", type=int, default=20, help="jobs of the burst")
    parser.add_argument("--serial", type=int, help="runs one at a time (40)")
    parser.add_argument("--gets", type=int, default=100, help="GETs of each list")
    parser.add_argument("--checks", type=int, default=20, help="check_password calls")
    parser.add_argument(
        "--before", type=Path, help="a checkout of the code before, measured too"
    )
    parser.add_argument(
        "--only", choices=PARTS, action="append", help="only these parts (repeatable)"
    )
    parser.add_argument("--save", action="store_true", help="also write bench/results/")
    args = parser.parse_args()
    args.runs = args.runs or (100 if args.quick else 200)
    args.serial = args.serial or (20 if args.quick else 40)
    if args.before and not (args.before / "manage.py").exists():
        parser.error(f"--before {args.before}: no manage.py there")
    # Run monitors double-fork out of the queue's workers; as the subreaper,
    # this process inherits them, so their CPU (and their jobs') is counted.
    if not become_subreaper():
        raise SystemExit("this benchmark needs PR_SET_CHILD_SUBREAPER (Linux)")
    only = set(args.only or PARTS)
    plan = QUICK if args.quick else FULL
    load_before, code, began = load(), code_version(), time.monotonic()
    before_code = code_version(args.before) if args.before else ""
    tmp = scratch_dir("bench-run-trigger-")
    variants: list[report.Variant] = []
    found_lists, fires, scaled = [], [], []
    try:
        for key in ("A", "B"):
            if key not in only:
                continue
            if args.before:
                variants.append(bench_ours(key, args, tmp, args.before))
            variants.append(bench_ours(key, args, tmp, None))
        if "celery" in only:
            peer = report.Variant(label=CELERY_LABEL, key="celery")
            peer.serial, peer.burst = celery_runs(
                tmp, args.serial, args.runs, args.jobs
            )
            variants.append(peer)
        if "lists" in only:
            size = (200, 30) if args.quick else (1000, 30)
            if args.before:
                found = lists(
                    "B",
                    tmp,
                    jobs=size[0],
                    runs=size[1],
                    gets=args.gets,
                    code=args.before,
                )
                found_lists.append(found)
            found_lists.append(
                lists("B", tmp, jobs=size[0], runs=size[1], gets=args.gets)
            )
        if "fires" in only:
            if args.before:
                fires += ours_per_second(
                    "B", (100,), replace(plan, code=args.before), tmp
                )[0]
            fires += ours_per_second("B", (100,), plan, tmp)[0]
            fires += celery_per_second((100,), plan, tmp)
        if "scale" in only:
            scaled = scale(plan, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    report.verdicts(variants)
    workers, threads = web_shape(os.environ)
    checks = time_check_password(args.checks) if variants else []
    header = (
        f"This code: {code}."
        + (f" Before ({args.before}): {before_code}." if args.before else "")
        + f" On-demand runs, per variant: {args.serial} runs one at a time, then "
        f"{args.runs} runs over {args.jobs} jobs (a job again once its run is "
        f"final); {os.cpu_count()} CPUs, load average {load_before:.1f} before, "
        f"{load():.1f} after. Ours as runinstance runs it: gunicorn "
        f"{workers} worker(s) x {threads} threads (a --before "
        "checkout without config/web.py: 2 x 4, as it ran), one qcluster with 2 "
        f"workers, {LAUNCHERS} launchers. "
        "Nearest-rank percentiles. Machine CPU: every process of the machine, "
        "other users' included: compare within a run, on a quiet machine."
    )
    text = "\n\n".join(
        part
        for part in (
            header,
            report.summary(variants, found_lists, fires, scaled, args.jobs),
            report.table(variants, args.jobs) if variants else "",
            report.stages_table(variants),
            report.cpu_table(variants, args.jobs),
            report.gets_table(variants, checks) if variants else "",
            "\n".join(per_second_table(fires)),
            "\n".join(scale_table(scaled)),
        )
        if part
    )
    expected = args.serial + args.runs
    not_success = {
        v.label: sum((v.serial.statuses + v.burst.statuses).values())
        - (v.serial.statuses + v.burst.statuses)["Success"]
        for v in variants
    }
    never_final = {
        v.label: expected - sum((v.serial.statuses + v.burst.statuses).values())
        for v in variants
    }
    footer = (
        f"Runs not Success: {not_success}; runs never seen final: {never_final}. "
        f"Took {time.monotonic() - began:.0f} s."
    )
    print(f"\n{text}\n\n{footer}")
    if args.save:
        save("run_trigger", f"{text}\n\n{footer}")
    bad = any(not_success.values()) or any(never_final.values())
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
