"""On-demand runs of our instance, driven over Kudu's API as a client would.

A job is a script whose first instruction writes its own start time (bash's
$EPOCHREALTIME, a builtin: no fork) to a file named after its run, then prints
one line. A job has one active run at most (Kudu's triggeredJob.lock), so the
driver triggers a job again only once its run is final, which it sees by
polling `GET /api/triggeredwebjobs` every POLL_SECONDS (that load is part of
the numbers, as the celery driver polls its results the same way). With many
jobs, each job has a client thread of its own (bench/trigger/clients.py).
"""

from __future__ import annotations

import os
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import requests

from bench.harness.instance import Instance, deploy
from bench.harness.measure import (
    children_cpu,
    group_cpu,
    machine_cpu,
    named_cpu,
    own_and_children_cpu,
)
from bench.lateness.measure import reap_orphans
from bench.trigger import stages
from bench.trigger.clients import POLL_SECONDS, RUN_TIMEOUT, Clients

FINAL = ("Success", "Failed", "Aborted")
FIRST_LINE = "] started"  # the job's line in output_log.txt
SCRIPT = (
    'printf %s "$EPOCHREALTIME" > "{starts}/$WEBJOBS_NAME-$WEBJOBS_RUN_ID"\n'
    "echo started\n"
)


@dataclass
class Phase:
    """A series of runs: trigger -> start latencies, stages, rate, CPU, statuses."""

    latencies_ms: list[float] = field(default_factory=list)
    # stage -> ms after the trigger, per run (the runs one at a time)
    stages: dict[str, list[float]] = field(default_factory=dict)
    runs_per_second: float = 0.0
    by_queue: int = 0  # runs claimed by a queue worker (a monitor forked)
    cpu_ms: dict[str, float] = field(default_factory=dict)  # part -> ms per run
    statuses: Counter = field(default_factory=Counter)
    runs: int = 0


def deploy_jobs(
    http: requests.Session, base: str, names: list[str], starts: Path
) -> None:
    body = SCRIPT.format(starts=starts).encode()
    for name in names:
        deploy(http, base, name, body, filename="run.sh")


class FirstLine(threading.Thread):
    """Watches a job's data folder for a new run's log with the job's first
    line in it (the runs one at a time), polling every 0.5 ms."""

    def __init__(self, folder: Path) -> None:
        super().__init__(daemon=True)
        self.folder = folder
        self.known = set(os.listdir(folder)) if folder.exists() else set()
        self.seen_at: float | None = None
        self.stop = False

    def run(self) -> None:
        deadline = time.monotonic() + 10
        while not self.stop and time.monotonic() < deadline:
            try:
                new = set(os.listdir(self.folder)) - self.known
            except FileNotFoundError:
                new = set()
            for run in new:
                try:
                    text = (self.folder / run / "output_log.txt").read_text()
                except OSError:
                    continue
                if FIRST_LINE in text:
                    self.seen_at = time.time()
                    return
            time.sleep(0.0005)


def trigger(http: requests.Session, base: str, name: str) -> str:
    response = http.post(f"{base}/api/triggeredwebjobs/{name}/run")
    if response.status_code != 202:
        raise RuntimeError(f"POST run {name}: {response.status_code} {response.text}")
    return response.headers["Location"].rsplit("/", 1)[1]


def finals(http: requests.Session, base: str, active: dict[str, str]) -> dict:
    """{job: status} of the active runs that are final now."""
    out = {}
    for job in http.get(f"{base}/api/triggeredwebjobs").json():
        latest = job["latest_run"]
        if (
            latest
            and active.get(job["name"]) == latest["id"]
            and latest["status"] in FINAL
        ):
            out[job["name"]] = latest["status"]
    return out


def serial(
    inst: Instance, http: requests.Session, name: str, runs: int, starts: Path
) -> Phase:
    """Runs of one job, each once the previous one is final: the path's own
    latency, and its stages (database writes, the first line of the log)."""
    phase = Phase(runs=runs)
    folder = inst.root / "data" / "jobs" / "triggered" / name
    sent: dict[str, float] = {}
    answered: dict[str, float] = {}
    first_line: dict[str, float] = {}
    stages.install(inst)
    try:
        for _ in range(runs):
            watcher = FirstLine(folder)
            watcher.start()
            t0 = time.time()
            run_id = trigger(http, inst.base, name)
            answered[run_id] = time.time()
            sent[run_id] = t0
            deadline = time.monotonic() + RUN_TIMEOUT
            while True:
                time.sleep(POLL_SECONDS)
                done = finals(http, inst.base, {name: run_id})
                if done:
                    phase.statuses[done[name]] += 1
                    break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"run {name} {run_id} not final")
            watcher.stop = True
            watcher.join()
            if watcher.seen_at is not None:
                first_line[run_id] = watcher.seen_at
            reap_orphans(inst.procs)
        written = stages.writes(inst)
    finally:
        stages.remove(inst)
    for run_id, t0 in sent.items():
        start = read_start(starts, name, run_id)
        if start is not None:
            phase.latencies_ms.append((start - t0) * 1000)
        row = written.get((name, run_id), {})
        phase.by_queue += row.get("monitor") == 0
        for stage, at in (
            ("answered", answered.get(run_id)),
            ("inserted", row.get("inserted")),
            ("claimed", row.get("claimed")),
            ("started", start),
            ("running", row.get("running")),
            ("first line", first_line.get(run_id)),
            ("ended", row.get("ended")),
        ):
            if at is not None:
                phase.stages.setdefault(stage, []).append((at - t0) * 1000)
    return phase


def read_start(starts: Path, name: str, run_id: str) -> float | None:
    path = starts / f"{name}-{run_id}"
    return float(path.read_text()) if path.exists() else None


def burst(
    inst: Instance, http: requests.Session, names: list[str], runs: int, starts: Path
) -> Phase:
    """`runs` runs over the jobs, each job's run in flight at once, a job again
    once its run is final (bench/trigger/clients.py); the rate, and the CPU of
    each part of the instance per run. `http`'s credentials sign every call;
    each client thread has its own session, the poller another."""
    phase = Phase(runs=runs)
    local = threading.local()
    poller = requests.Session()
    poller.auth = http.auth
    sessions = [poller]  # closed at the end

    def send(name: str) -> str:
        if not hasattr(local, "http"):
            local.http = requests.Session()
            local.http.auth = http.auth
            sessions.append(local.http)
        return trigger(local.http, inst.base, name)

    def poll(active: dict[str, str]) -> dict[str, str]:
        found = finals(poller, inst.base, active)
        reap_orphans(inst.procs)
        return found

    before = cpu_sample(inst)
    driven = Clients(names, runs, send, poll)
    try:
        driven.run()
    finally:
        for session in sessions:
            session.close()
    phase.statuses, sent = driven.statuses, driven.sent
    time.sleep(0.5)  # monitors and launchers record the last ends
    reap_orphans(inst.procs)
    after = cpu_sample(inst)
    phase.runs_per_second = driven.runs_per_second
    phase.cpu_ms = {k: (after[k] - before[k]) * 1000 / len(sent) for k in before}
    for (name, run_id), t0 in sent.items():
        start = read_start(starts, name, run_id)
        if start is not None:  # a run that never started is counted in statuses
            phase.latencies_ms.append((start - t0) * 1000)
    return phase


def servers_cpu() -> dict[str, float]:
    """CPU seconds so far of PostgreSQL's and Redis's server processes."""
    found = named_cpu("postgres", "redis-server")
    return {"postgres": found["postgres"], "redis": found["redis-server"]}


def cpu_sample(inst: Instance) -> dict[str, float]:
    """CPU seconds so far of each part: web (gunicorn), queue (qcluster),
    launchers, the jobs they started (and reaped), run monitors and their jobs (forked
    out of the queue's workers, re-parented to this process and reaped here),
    this driver, and the whole machine."""
    web = [p for p in inst.procs.procs if p.args[1:3] == ["-m", "gunicorn"]]
    own = os.times()
    launchers = [own_and_children_cpu(p.pid) for p in inst.launchers]
    return {
        "web": sum(group_cpu(p.pid) for p in web),
        "queue": group_cpu(inst.cluster.pid),
        "launchers": sum(mine for mine, _ in launchers),
        "jobs": sum(theirs for _, theirs in launchers),
        "monitors": children_cpu(),
        "driver": own.user + own.system,
        **servers_cpu(),
        "machine": machine_cpu(),
    }
