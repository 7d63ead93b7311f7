"""The due instant of a WebJob fire: what each piece of the prepared path buys.

    python bench/due_instant.py [--fires 10] [--rounds 5] [--only sqlite|postgres]

Issue 6's path: a run's monitor is forked ahead, rehearses its insert, sleeps
until the due instant, claims, inserts and starts the job, then waits
SETTLE_AFTER before its bookkeeping (jobs/runner.py). This runs that path in
this process (it is the queue worker: scheduler.actions.attempt_execute) for
`--fires` scheduled WebJobs due in the same instant, `--rounds` times, and
prints beside it the same fires without the rehearsal and without the settle
(the named alternatives: the path as it was before each was added). Lateness is
the job's own first instruction (bash's $EPOCHREALTIME) minus the due instant.
CPU and minor page faults of the monitors and jobs come from getrusage of the
children (this process is a subreaper, so the double-forked monitors come back
to it); one row runs `setpriv ... bash -c true` alone for the job's share.

Needs PostgreSQL on 127.0.0.1 for its rows (a database is created and dropped).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.harness.django_setup import django_setup  # noqa: E402
from bench.harness.instance import job_zip, scratch_dir  # noqa: E402
from bench.harness.measure import percentile  # noqa: E402
from jobs.processes import (  # noqa: E402
    alive,
    become_subreaper,
    descendants,
    pdeathsig_wrapper,
    reap,
)
from tests.instance import postgres_database  # noqa: E402

LEAD = 1.5  # seconds between hand-over and due instant, as SCHEDULER_LEAD
# The functions below that import project modules run in run_backend's process
# after django_setup(): those imports need the apps loaded, so they are made
# inside the functions.


def deploy(count: int, root: Path, starts: Path) -> list:
    # Django is set up by run_backend() first (see above).
    from jobs.services import webjob_deploy
    from scheduler.models import Job

    script = f'echo "$WEBJOBS_SCHEDULED_TIME $EPOCHREALTIME" >> {starts}\n'
    for i in range(count):
        upload = root / "upload.zip"
        upload.write_bytes(
            job_zip(
                {
                    "run.sh": script,
                    "settings.job": json.dumps({"schedule": "0 0 0 1 1 *"}),
                }
            )
        )
        webjob_deploy(
            name=f"j{i:02d}",
            kind="triggered",
            filename="j.zip",
            upload=upload,
            is_zip=True,
        )
    return list(Job.objects.filter(webjob__isnull=False))


def wait_children() -> None:
    while [p for p in descendants(os.getpid()) if alive(p)]:
        reap()
        time.sleep(0.05)
    reap()


def measure(webjobs: list, rounds: int, starts: Path) -> dict:
    """Fire every job `rounds` times, all due together; lateness and cost."""
    from django.utils import timezone

    # Django is set up by run_backend() first.
    from scheduler.actions import attempt_execute
    from scheduler.models import Attempt

    starts.write_text("")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    for _ in range(rounds):
        due = timezone.now() + timedelta(seconds=LEAD)
        attempts = [
            Attempt.objects.create(
                job=job, expected_time=due, due_at=due, status=Attempt.Status.QUEUED
            )
            for job in webjobs
        ]
        for attempt in attempts:
            attempt_execute(attempt.pk)
        time.sleep(LEAD + 1.0)
    wait_children()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    late = []
    for line in starts.read_text().splitlines():
        due_text, started = line.split()
        due = datetime.fromisoformat(due_text).timestamp()
        late.append((float(started) - due) * 1000)
    fires = len(webjobs) * rounds
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return {
        "fires": fires,
        "started": len(late),
        "late": late,
        "cpu_ms": cpu * 1000 / fires,
        "faults": (after.ru_minflt - before.ru_minflt) / fires,
    }


def job_alone(count: int) -> dict:
    """The job by itself: setpriv + bash, as a monitor starts it."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    for _ in range(count):
        subprocess.run([*pdeathsig_wrapper(), "/bin/bash", "-c", "true"], check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    faults = after.ru_minflt - before.ru_minflt
    return {"cpu_ms": cpu * 1000 / count, "faults": faults / count}


def variants(webjobs: list, rounds: int, starts: Path) -> list[tuple[str, dict]]:
    # Django is set up by run_backend() first; patched here for each variant.
    import history.services
    import jobs.runner

    rehearse, settle = history.services.run_rehearse, jobs.runner.SETTLE_AFTER
    out = [("as shipped", measure(webjobs, rounds, starts))]
    history.services.run_rehearse = lambda run: None
    try:
        out.append(("without the insert rehearsal", measure(webjobs, rounds, starts)))
    finally:
        history.services.run_rehearse = rehearse
    jobs.runner.SETTLE_AFTER = 0.0
    try:
        out.append(("without the settle after start", measure(webjobs, rounds, starts)))
    finally:
        jobs.runner.SETTLE_AFTER = settle
    return out


def run_backend(backend: str, args) -> str:
    """One backend per process: Django is set up once per process."""
    root = scratch_dir("bench-due-")
    starts = root / "starts.txt"
    starts.touch()
    starts.chmod(0o666)  # the jobs (WEBJOBS_RUN_AS) append their starts
    with contextlib.ExitStack() as stack:
        stack.callback(shutil.rmtree, root, ignore_errors=True)
        if backend == "sqlite":
            database = f"sqlite:///{root}/db.sqlite3"
        else:
            database = stack.enter_context(postgres_database())
        django_setup(root, database=database)
        from django.db import connections

        stack.callback(connections.close_all)  # before the database is dropped
        become_subreaper()
        webjobs = deploy(args.fires, root, starts)
        rows = variants(webjobs, args.rounds, starts)
        lines = []
        for label, r in rows:
            late = r["late"]
            lines.append(
                f"| {backend} | {label} | {r['started']}/{r['fires']} | "
                f"{percentile(late, 50):.1f} | {percentile(late, 99):.1f} | "
                f"{max(late):.1f} | {r['cpu_ms']:.1f} | {r['faults']:.0f} |"
            )
        alone = job_alone(50)
        lines.append(
            f"| {backend} | the job alone (setpriv + bash), for its share | | | | | "
            f"{alone['cpu_ms']:.1f} | {alone['faults']:.0f} |"
        )
        return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fires", type=int, default=10, help="fires due together")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--only", choices=("sqlite", "postgres"), action="append")
    parser.add_argument("--backend", help=argparse.SUPPRESS)  # the child's part
    args = parser.parse_args()
    if args.backend:
        print(run_backend(args.backend, args))
        return 0
    print(
        f"{args.fires} scheduled WebJobs due in the same instant, {args.rounds} "
        f"rounds; {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}.\n\n"
        "| database | path | started | p50 ms | p99 ms | max ms | "
        "monitor + job CPU ms/fire | minor faults/fire |\n"
        "|---|---|---:|---:|---:|---:|---:|---:|"
    )
    for backend in args.only or ("sqlite", "postgres"):
        out = subprocess.run(
            [
                sys.executable,
                __file__,
                "--backend",
                backend,
                "--fires",
                str(args.fires),
                "--rounds",
                str(args.rounds),
            ],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        print(out.strip())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
