"""Trigger-to-start latency and run throughput, on the real servers, two set-ups.

    python bench/run_trigger.py [--runs 200] [--jobs 20] [--gets 200] [--save]

For each configuration (A: SQLite + django-q2's ORM broker, the embedded default;
B: PostgreSQL + Redis, the scale-out path) it starts a fresh instance (new
WEBJOBS_ROOT, new database, gunicorn + one qcluster with 2 workers), deploys
`--jobs` trivial jobs over HTTP and triggers `--runs` runs spread over them. A job
has one active run at most (Kudu's triggeredJob.lock), so a job is triggered again
only once its previous run is final. Measured:

* trigger -> process start: client clock just before sending POST .../run to the
  job's own first instruction (bash's $EPOCHREALTIME, no fork), same machine clock;
* throughput: runs / (first trigger -> last run seen final);
* an authenticated GET of one job over a keep-alive session (Basic auth, cached).

The named alternative, in the same run: Django's PBKDF2 `check_password`, timed in
this process, which is what every authenticated call would add if the verified
credentials were not cached (jobs/auth.py).

Everything started is ended by its process group; files go to a temporary folder
(and, with --save, the table to bench/results/, which git ignores).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.harness.instance import (  # noqa: E402
    LABELS,
    PASSWORD,
    USER,
    instance,
)
from bench.harness.instance import deploy as deploy_job  # noqa: E402
from bench.harness.measure import percentile  # noqa: E402
from bench.harness.report import save  # noqa: E402

FINAL = ("Success", "Failed", "Aborted")
POLL_SECONDS = 0.05  # how often the driver asks for the jobs' latest runs
RUN_TIMEOUT = 120.0  # a guard against a stuck run, not part of any measure
TARGETS = {
    ("B", "trigger"): "p50 ≤ 50 ms",
    ("B", "get"): "p50 ≤ 20 ms",
}


@dataclass
class Phase:
    """One series of runs: its trigger -> start latencies, rate and final statuses."""

    latencies_ms: list[float] = field(default_factory=list)
    post_ms: list[float] = field(default_factory=list)  # the POST's round trip
    runs_per_second: float = 0.0
    statuses: Counter = field(default_factory=Counter)


@dataclass
class Result:
    label: str
    key: str
    serial: Phase = field(default_factory=Phase)
    burst: Phase = field(default_factory=Phase)
    get_ms: list[float] = field(default_factory=list)

    @property
    def statuses(self) -> Counter:
        return self.serial.statuses + self.burst.statuses


def deploy(http: requests.Session, base: str, name: str, starts: Path) -> None:
    # The job's first instruction records its start: a bash builtin, no fork.
    script = f'printf %s "$EPOCHREALTIME" > "{starts}/$WEBJOBS_NAME-$WEBJOBS_RUN_ID"\n'
    deploy_job(http, base, name, script.encode(), filename="run.sh")


def drive_runs(
    http: requests.Session,
    base: str,
    names: list[str],
    runs: int,
    starts: Path,
    result: Phase,
) -> None:
    """Trigger `runs` runs over the jobs, each job again once its run is final."""
    remaining = {
        name: runs // len(names) + (i < runs % len(names))
        for i, name in enumerate(names)
    }
    active: dict[str, str] = {}  # job -> run id of its run in flight
    sent: dict[tuple[str, str], float] = {}
    first = time.time()
    last_final = first
    deadline = time.monotonic() + RUN_TIMEOUT
    while any(remaining.values()) or active:
        for name in names:
            if name not in active and remaining[name]:
                t0 = time.time()
                response = http.post(f"{base}/api/triggeredwebjobs/{name}/run")
                result.post_ms.append((time.time() - t0) * 1000)
                if response.status_code != 202:
                    raise RuntimeError(
                        f"POST run {name}: {response.status_code} {response.text}"
                    )
                run_id = response.headers["Location"].rsplit("/", 1)[1]
                sent[(name, run_id)] = t0
                active[name] = run_id
                remaining[name] -= 1
        time.sleep(POLL_SECONDS)
        for job in http.get(f"{base}/api/triggeredwebjobs").json():
            latest = job["latest_run"]
            if (
                latest
                and active.get(job["name"]) == latest["id"]
                and latest["status"] in FINAL
            ):
                result.statuses[latest["status"]] += 1
                del active[job["name"]]
                last_final = time.time()
        if time.monotonic() > deadline:
            raise RuntimeError(f"runs still active after {RUN_TIMEOUT}s: {active}")
    result.runs_per_second = len(sent) / (last_final - first)
    for (name, run_id), t0 in sent.items():
        path = starts / f"{name}-{run_id}"
        if path.exists():  # a run that never started is counted in statuses
            result.latencies_ms.append((float(path.read_text()) - t0) * 1000)


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


def bench_config(key: str, label: str, args: argparse.Namespace, tmp: Path) -> Result:
    result = Result(label=label, key=key)
    root = tmp / key
    starts = root / "starts"
    starts.mkdir(parents=True)
    print(f"{label}: starting...", file=sys.stderr)
    with instance(key, root) as inst, requests.Session() as http:
        base = inst.base
        http.auth = (USER, PASSWORD)
        names = [f"job{i:02d}" for i in range(args.jobs)]
        for name in names:
            deploy(http, base, name, starts)
        # One run in flight: the latency of the path itself. Then the burst: every
        # job busy, where the runs compete for the CPUs.
        drive_runs(http, base, names[:1], args.serial, starts, result.serial)
        drive_runs(http, base, names, args.runs, starts, result.burst)
        result.get_ms = time_gets(
            http, f"{base}/api/triggeredwebjobs/{names[0]}", args.gets
        )
    print(f"{label}: done.", file=sys.stderr)
    return result


def time_check_password(count: int) -> list[float]:
    """The named alternative: Django's default hasher, verified on every call."""
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


def table(results: list[Result], checks_ms: list[float], jobs: int) -> str:
    rows = [
        "| configuration | metric | n | p50 | p95 | p99 | target |",
        "|---|---|---:|---:|---:|---:|---|",
    ]

    def row(label, metric, values, target="") -> None:
        cells = [f"{percentile(values, p):.1f}" for p in (50, 95, 99)]
        rows.append(
            f"| {label} | {metric} | {len(values)} | {' | '.join(cells)} | {target} |"
        )

    for r in results:
        row(
            r.label,
            "trigger → process start, 1 run in flight (ms)",
            r.serial.latencies_ms,
            TARGETS.get((r.key, "trigger"), ""),
        )
        row(
            r.label,
            "… of which POST …/run round trip, 1 run in flight (ms)",
            r.serial.post_ms,
        )
        row(
            r.label,
            f"trigger → process start, {jobs} jobs in flight (ms)",
            r.burst.latencies_ms,
        )
        rows.append(
            f"| {r.label} | throughput, {jobs} jobs in flight (runs/s) "
            f"| {sum(r.burst.statuses.values())} "
            f"| {r.burst.runs_per_second:.1f} | | | |"
        )
        row(
            r.label,
            "GET one job, Basic auth cached (ms)",
            r.get_ms,
            TARGETS.get((r.key, "get"), ""),
        )
    row(
        "alternative: no cache",
        "Django check_password, PBKDF2 (ms per call)",
        checks_ms,
        "what every call would add",
    )
    return "\n".join(rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--jobs", type=int, default=20, help="jobs of the burst")
    parser.add_argument("--serial", type=int, default=40, help="runs one at a time")
    parser.add_argument("--gets", type=int, default=200)
    parser.add_argument("--checks", type=int, default=20, help="check_password calls")
    parser.add_argument("--only", choices=("A", "B"), help="one configuration")
    parser.add_argument("--save", action="store_true", help="also write bench/results/")
    args = parser.parse_args()
    configs = list(LABELS.items())
    load_before = os.getloadavg()[0]
    tmp = Path(tempfile.mkdtemp(prefix="bench-run-trigger-"))
    try:
        results = [
            bench_config(key, label, args, tmp)
            for key, label in configs
            if args.only in (None, key)
        ]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    text = table(results, time_check_password(args.checks), args.jobs)
    expected = args.serial + args.runs
    header = (
        f"Per configuration: {args.serial} runs one at a time, then {args.runs} runs "
        f"over {args.jobs} jobs; {os.cpu_count()} CPUs (load average {load_before:.1f} "
        f"before, {os.getloadavg()[0]:.1f} after); gunicorn 2 workers x 4 threads, "
        "one qcluster with 2 workers."
    )
    not_success = {
        r.label: sum(r.statuses.values()) - r.statuses["Success"] for r in results
    }
    never_final = {r.label: expected - sum(r.statuses.values()) for r in results}
    footer = f"Runs not Success: {not_success}; runs never seen final: {never_final}"
    print(f"\n{header}\n\n{text}\n\n{footer}")
    if args.save:
        save("run_trigger", f"{header}\n\n{text}\n\n{footer}")
    return 0 if all(r.statuses == {"Success": expected} for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
