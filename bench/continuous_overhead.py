"""Overhead of the continuous-jobs host (`manage.py runhost`) with many jobs.

    python bench/continuous_overhead.py [--jobs 100] [--small 10] [--window 10] [--save]

On the embedded set-up (SQLite in a temporary WEBJOBS_ROOT) it deploys trivial
continuous jobs, each a bash loop that prints one line a second and watches its
shutdown file, and measures, for the host with --small jobs and then with --jobs:

* start -> running: from the `start` call (jobs.services.webjob_start, what the
  API's POST .../start runs) to the job's own first instruction (bash's
  $EPOCHREALTIME, no fork), same machine clock; for a burst (all jobs started
  at once) and for single starts, one job at a time;
* the host's CPU per second of wall time (its own utime+stime from /proc, not
  its children's) over --window seconds of steady state, and its RSS.

The named alternative, in the same run: the same --jobs processes started by a
plain Python loop with subprocess.Popen (new session, pipes read through one
selector into per-job files), no Django, no database: what starting and
watching the processes costs by itself.

Everything started is ended by its process group; the temporary folder is
removed. With --save the table also goes to bench/results/ (git-ignored).
"""

from __future__ import annotations

import argparse
import json
import os
import selectors
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.harness.django_setup import django_setup  # noqa: E402
from bench.harness.instance import job_zip, scratch_dir  # noqa: E402
from bench.harness.measure import cpu_seconds, memory_mb, percentile  # noqa: E402
from bench.harness.report import save  # noqa: E402
from tests.instance import MANAGE, Processes, instance_env  # noqa: E402

JOB = """\
echo "$EPOCHREALTIME" >> "$WEBJOBS_DATA_PATH/started"
while [ ! -f "$WEBJOBS_SHUTDOWN_FILE" ]; do echo "alive $SECONDS"; sleep 1; done
"""
GUARD = 120.0  # a deadline against hanging, not part of any measure
# The functions below that import project modules run after main() has set
# Django up (django_setup): those imports need the apps loaded.


def rss_mib(pid: int) -> float:
    return memory_mb(pid)[0]


def cpu_share(pid: int, window: float) -> float:
    """CPU seconds per wall second of one process over `window` seconds."""
    before, start = cpu_seconds(pid), time.monotonic()
    time.sleep(window)
    return (cpu_seconds(pid) - before) / (time.monotonic() - start)


def wait_until(check, what: str) -> None:
    deadline = time.monotonic() + GUARD
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(0.02)


def started_times(root: Path, name: str) -> list[float]:
    path = root / "data" / "jobs" / "continuous" / name / "started"
    if not path.exists():
        return []
    return [float(x) for x in path.read_text().split()]


# --- the host -----------------------------------------------------------------


def deploy(root: Path, names: list[str]) -> None:
    """Deploy stopped jobs (their package brings disable.job)."""
    from jobs.services import webjob_deploy  # Django is set up in main() first

    for name in names:
        folder = root / "bench-upload"
        folder.mkdir(exist_ok=True)
        zip_path = folder / f"{name}.zip"
        zip_path.write_bytes(job_zip({"run.sh": JOB, "disable.job": ""}))
        webjob_deploy(
            name=name,
            kind="continuous",
            filename=zip_path.name,
            upload=zip_path,
            is_zip=True,
        )


def statuses(names: list[str]) -> dict[str, str]:
    from jobs.models import InstanceStatus  # Django is set up in main() first

    return dict(
        InstanceStatus.objects.filter(
            job__name__in=names, instance_id="benchhost"
        ).values_list("job__name", "status")
    )


def all_in(names: list[str], status: str) -> bool:
    found = statuses(names)
    return len(found) == len(names) and set(found.values()) == {status}


def bench_host(root: Path, names: list[str], window: float, singles: int) -> dict:
    # Django is set up in main() first.
    from jobs.models import WebJob
    from jobs.services import webjob_start, webjob_stop

    procs = Processes()
    env = instance_env(
        WEBJOBS_ROOT=str(root),
        SECRET_KEY="bench-secret-key",
        WEBSITE_INSTANCE_ID="benchhost",
    )
    env.pop("DATABASE_URL", None)
    host = procs.start([*MANAGE, "runhost"], env, log=root / "runhost.log")
    try:
        wait_until(lambda: all_in(names, "Stopped"), "the host to report")
        idle_cpu = cpu_share(host.pid, min(window, 5.0))
        # Burst: every job started at once.
        requested = {}
        # Jobs of an earlier round have started before: their starts come after.
        earlier = {n: len(started_times(root, n)) for n in names}
        for name in names:
            requested[name] = time.time()
            webjob_start(job=WebJob.objects.get(kind="continuous", name=name))
        wait_until(
            lambda: all(len(started_times(root, n)) > earlier[n] for n in names),
            "every job to start",
        )
        burst = [started_times(root, n)[earlier[n]] - requested[n] for n in names]
        wait_until(lambda: all_in(names, "Running"), "Running everywhere")
        time.sleep(2.0)  # settle: first lines, log files created
        busy_cpu = cpu_share(host.pid, window)
        rss = rss_mib(host.pid)
        # Single starts: stop one job, then start it alone.
        single = []
        for i in range(singles):
            name = names[i % len(names)]
            job = WebJob.objects.get(kind="continuous", name=name)
            webjob_stop(job=job)
            wait_until(lambda n=name: statuses([n]).get(n) == "Stopped", "a stop")
            before = len(started_times(root, name))
            t = time.time()
            webjob_start(job=job)
            wait_until(
                lambda n=name, b=before: len(started_times(root, n)) > b, "a start"
            )
            single.append(started_times(root, name)[-1] - t)
        for name in names:
            webjob_stop(job=WebJob.objects.get(kind="continuous", name=name))
        wait_until(lambda: all_in(names, "Stopped"), "every job to stop")
    finally:
        procs.stop(grace=20)
    return {
        "burst": burst,
        "single": single,
        "idle_cpu": idle_cpu,
        "cpu": busy_cpu,
        "rss": rss,
    }


# --- the named alternative: a plain Popen loop ----------------------------------


def baseline_child(count: int, root: Path, window: float) -> None:
    """Run in a fresh interpreter: start `count` jobs with Popen, read their pipes
    into files for `window` seconds, report requests, CPU and RSS as JSON."""
    sel = selectors.DefaultSelector()
    procs, requested, files = [], [], {}
    for i in range(count):
        data = root / "baseline" / f"b{i:03d}"
        data.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ)
        env.update(
            WEBJOBS_DATA_PATH=str(data),
            WEBJOBS_SHUTDOWN_FILE=str(data / "shutdown"),
        )
        requested.append(time.time())
        proc = subprocess.Popen(
            ["bash", "-c", JOB],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        procs.append(proc)
        files[proc.stdout.fileno()] = open(data / "output.txt", "ab")  # noqa: SIM115
        sel.register(proc.stdout, selectors.EVENT_READ)

    def pump(seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            for key, _ in sel.select(0.5):
                chunk = os.read(key.fileobj.fileno(), 65536)
                if chunk:
                    files[key.fileobj.fileno()].write(chunk)
                    files[key.fileobj.fileno()].flush()

    pump(2.0)
    start_cpu, start = sum(os.times()[:2]), time.monotonic()
    pump(window)
    cpu = (sum(os.times()[:2]) - start_cpu) / (time.monotonic() - start)
    rss = rss_mib(os.getpid())
    for i in range(len(procs)):
        (root / "baseline" / f"b{i:03d}" / "shutdown").write_text("")
    for proc in procs:
        proc.wait(timeout=10)
    print(json.dumps({"requested": requested, "cpu": cpu, "rss": rss}))


def bench_baseline(root: Path, count: int, window: float) -> dict:
    out = subprocess.run(
        [
            sys.executable,
            __file__,
            "--baseline-child",
            str(count),
            "--root",
            str(root),
            "--window",
            str(window),
        ],
        check=True,
        capture_output=True,
        text=True,
        start_new_session=True,
        timeout=GUARD,
    )
    result = json.loads(out.stdout)
    burst = []
    for i, t in enumerate(result["requested"]):
        started = (root / "baseline" / f"b{i:03d}" / "started").read_text().split()
        burst.append(float(started[0]) - t)
    return {"burst": burst, "cpu": result["cpu"], "rss": result["rss"]}


# --- report ---------------------------------------------------------------------


def ms(values: list[float]) -> str:
    if not values:
        return "-"
    return (
        f"{percentile(values, 50) * 1000:.0f} / {percentile(values, 95) * 1000:.0f}"
        f" / {max(values) * 1000:.0f}"
    )


def table(rows: list[tuple[str, int, dict]]) -> str:
    lines = [
        "| set-up | jobs | burst start → running, ms p50 / p95 / max "
        "| single start → running, ms p50 / p95 / max "
        "| CPU of the supervisor, % of a core (idle → jobs running) | RSS, MiB |",
        "|---|---:|---|---|---|---:|",
    ]
    for label, jobs, r in rows:
        idle = f"{r['idle_cpu'] * 100:.1f} → " if "idle_cpu" in r else ""
        lines.append(
            f"| {label} | {jobs} | {ms(r['burst'])} | {ms(r.get('single', []))} "
            f"| {idle}{r['cpu'] * 100:.1f} | {r['rss']:.0f} |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=100)
    parser.add_argument("--small", type=int, default=10)
    parser.add_argument("--window", type=float, default=10.0)
    parser.add_argument("--singles", type=int, default=10)
    parser.add_argument("--save", action="store_true", help="also write bench/results/")
    parser.add_argument("--baseline-child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--root", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.baseline_child:
        baseline_child(args.baseline_child, args.root, args.window)
        return 0

    tmp = scratch_dir("bench-continuous-")
    load_before = os.getloadavg()[0]
    try:
        django_setup(tmp, instance_id="benchhost")
        small = [f"job{i:03d}" for i in range(args.small)]
        every = [f"job{i:03d}" for i in range(args.jobs)]
        deploy(tmp, small)
        host_small = bench_host(tmp, small, args.window, args.singles)
        deploy(tmp, every[args.small :])
        host_all = bench_host(tmp, every, args.window, args.singles)
        baseline = bench_baseline(tmp, args.jobs, args.window)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    rows = [
        (f"`runhost` (SQLite), {args.small} jobs", args.small, host_small),
        (f"`runhost` (SQLite), {args.jobs} jobs", args.jobs, host_all),
        ("plain Popen loop + one selector (no Django, no DB)", args.jobs, baseline),
    ]
    text = (
        f"{table(rows)}\n\n"
        f"Each job: bash, one line a second. Steady-state window {args.window:g} s; "
        f"{args.singles} single starts; {os.cpu_count()} CPUs; load average "
        f"{load_before:.1f} before, {os.getloadavg()[0]:.1f} after."
    )
    print(text)
    if args.save:
        save("continuous_overhead", text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
