"""Fire lateness: due instant -> the job's own process started, beside the peers.

    python bench/fire_lateness.py [--quick] [--save] [--only PART] [--q-workers N]
                                  [--schedules 10|100] [--no-launcher] [--exec-bash]

Issue 6's benchmark. Every figure stands beside a peer doing the same work in the
same run (sequentially, so that they never compete for the 2 CPUs):

1. Per-second schedules, PostgreSQL + Redis (B): scheduled WebJobs
   (`* * * * * *`, deployed over HTTP as a zip with run.sh and settings.job),
   fired by `manage.py runscheduler` through one `qcluster` (Q_WORKERS=2) and
   two `runlauncher` (WEBJOBS_LAUNCHERS=2, as runinstance starts; --no-launcher:
   none, a run monitor forked per fire); then
   celery beat + a prefork worker (2 processes) on the same Redis, each entry
   every second, starting the same process. At 10 and at 100 schedules.
2. The same for SQLite + ORM broker (A, the embedded default), at 10.
3. Per-minute schedules: ours (`0 * * * * *`) beside django-q2's own `Schedule`
   (which cannot go below a minute), both served by the same qcluster of A.
4. Scale: 100, 1,000 and 10,000 enabled scheduler jobs of mixed recurrences on B
   (created with scheduler.services.job_put), of which a known 100 fire once a
   minute; their Http action calls a counting HTTP server run here. Engine RSS
   from /proc/<pid>/status, engine CPU from /proc/<pid>/stat.

Lateness = the child's own start time (bash's $EPOCHREALTIME, a builtin) minus
the instant the scheduler meant to fire it, read from the scheduler itself
(WEBJOBS_SCHEDULED_TIME; beat's last_run_at + run_every; django-q2's
intended_date_kwarg); for Http actions, the request's arrival. Duplicates: more
than one start for one (schedule, due instant). Misses: due instants of the
measured window with no start (for beat, whose entries re-anchor at each send:
gaps of more than one period between consecutive dues). At the end of a window
the scheduler is stopped and the queue drains, so falling behind shows as
lateness. CPU per fire and where our time goes: see `render`.

BENCH_LAUNCHERS=N runs N launchers instead of 2 (WEBJOBS_LAUNCHERS's default).
Everything started is ended by its process group (tests/instance.py's
`Processes`); the temporary folder, the PostgreSQL databases and this run's Redis
keys are removed. With --save the tables also go to bench/results/ (git-ignored).
BENCH_KEEP=1 keeps the temporary folder; BENCH_DEBUG=1 prints the scale test's
per-fire lateness to stderr.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from dataclasses import replace
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.harness.instance import scratch_dir  # noqa: E402
from bench.harness.report import code_version, save  # noqa: E402
from bench.lateness.beat import celery_per_second  # noqa: E402
from bench.lateness.ours import STAGES, ours_per_second  # noqa: E402
from bench.lateness.plan import (  # noqa: E402
    FULL,
    LAUNCHERS_DEFAULT,
    Q_WORKERS_DEFAULT,
    QUICK,
)
from bench.lateness.report import Report, render, verdicts  # noqa: E402
from bench.lateness.scale import scale  # noqa: E402
from jobs.processes import become_subreaper  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    parser.add_argument("--save", action="store_true", help="also write bench/results/")
    parser.add_argument(
        "--q-workers",
        type=int,
        default=Q_WORKERS_DEFAULT,
        help="Q_WORKERS of our qcluster (celery's pool stays at 2)",
    )
    parser.add_argument(
        "--no-launcher",
        action="store_true",
        help="no runlauncher: a run monitor forked per fire (the fallback path)",
    )
    parser.add_argument(
        "--exec-bash",
        action="store_true",
        help="bash not started ahead: exec'd at the due instant (BASH_ENV set)",
    )
    parser.add_argument(
        "--schedules",
        type=int,
        choices=(10, 100),
        action="append",
        help="per-second parts with only this many schedules (repeatable)",
    )
    parser.add_argument(
        "--only",
        choices=("B", "celery", "A", "scale"),
        action="append",
        help="run only these parts (repeatable)",
    )
    args = parser.parse_args()
    plan = replace(
        QUICK if args.quick else FULL,
        q_workers=args.q_workers,
        launchers=0
        if args.no_launcher
        else int(os.environ.get("BENCH_LAUNCHERS", LAUNCHERS_DEFAULT)),
        exec_bash=args.exec_bash,
    )
    # Run monitors double-fork out of the queue worker; as the subreaper, this
    # process inherits them, so their CPU (and their jobs') is counted when reaped.
    if not become_subreaper():
        raise SystemExit("this benchmark needs PR_SET_CHILD_SUBREAPER (Linux)")
    only = set(args.only or ("B", "celery", "A", "scale"))
    counts = tuple(sorted(set(args.schedules or (10, 100))))
    load_before, code = os.getloadavg()[0], code_version()
    began = time.monotonic()
    tmp = scratch_dir("bench-fire-lateness-")
    report = Report()
    try:
        if "B" in only:
            fires, stages, _minute = ours_per_second("B", counts, plan, tmp)
            report.per_second += fires
            report.stages += stages
        if "celery" in only:
            report.per_second += celery_per_second(counts, plan, tmp)
        if "A" in only:
            fires, stages, minute = ours_per_second("A", plan.counts_a, plan, tmp)
            report.per_second += fires
            report.stages += stages
            report.per_minute += minute
        if "scale" in only:
            report.scale = scale(plan, tmp)
    finally:
        if os.environ.get("BENCH_KEEP"):
            print(f"kept {tmp}", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    order = {"B": 0, "c": 1, "A": 2}
    report.per_second.sort(key=lambda f: (f.schedules, order[f.label[0]]))
    verdicts(report)
    text = render(report, plan, (load_before, os.getloadavg()[0]), code, STAGES)
    took = f"Took {time.monotonic() - began:.0f} s{' (--quick)' if args.quick else ''}."
    print(f"\n{text}\n\n{took}")
    if args.save:
        save("fire_lateness", f"{text}\n\n{took}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
