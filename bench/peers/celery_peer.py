"""celery beat + a prefork worker, starting the same process as a scheduled WebJob
(bench/fire_lateness.py); and `run`, a task that starts the same process as an
on-demand WebJob run, sent with apply_async (bench/run_trigger.py).

Configured by the environment that the benchmarks give the processes:

* BENCH_CELERY_BROKER: the Redis URL;
* BENCH_CELERY_QUEUE: a queue (and exchange) name of this run only, so that
  nothing is shared with other users of the same Redis;
* BENCH_ENTRIES: how many beat entries, each every second;
* BENCH_STARTS: the file each child appends its line to;
* BENCH_CELERY_RESULTS=1: results kept in the same Redis (for a driver that waits
  for each run to end), for RESULT_EXPIRES seconds.

The intended due instant comes from beat itself (peers.md): `DueScheduler` passes
``entry.last_run_at + entry.schedule.run_every`` of the entry being sent, in a
copy of its kwargs. Changing the entry's kwargs in place would make beat see a
changed schedule and rebuild its heap on every tick.
"""

from __future__ import annotations

import copy
import os
import subprocess
from datetime import timedelta

from celery import Celery
from celery.beat import PersistentScheduler

from bench.peers import start_child

QUEUE = os.environ.get("BENCH_CELERY_QUEUE", "bench-celery")
ENTRIES = int(os.environ.get("BENCH_ENTRIES", "10"))
STARTS = os.environ.get("BENCH_STARTS", "/dev/null")
TASK = "bench.peers.celery_peer.fire"
RUN_TASK = "bench.peers.celery_peer.run"
RESULT_EXPIRES = 600
# An on-demand run's child, as our job: its first instruction records its own
# start (a bash builtin), then one line of output, which the task keeps.
RUN_SCRIPT = 'printf %s "$EPOCHREALTIME" > "$1"; echo started'

app = Celery("bench_peer", broker=os.environ.get("BENCH_CELERY_BROKER"))
app.conf.update(
    task_default_queue=QUEUE,
    task_default_exchange=QUEUE,
    task_default_routing_key=QUEUE,
    task_ignore_result=True,
    # No pidbox, gossip or events: nothing of this run outlives it in Redis.
    worker_enable_remote_control=False,
    worker_send_task_events=False,
    broker_connection_retry_on_startup=True,
    enable_utc=True,
    timezone="UTC",
    beat_schedule={
        f"e{i:03d}": {
            "task": TASK,
            "schedule": timedelta(seconds=1),
            "kwargs": {"name": f"e{i:03d}", "starts": STARTS},
        }
        for i in range(ENTRIES)
    },
)


if os.environ.get("BENCH_CELERY_RESULTS") == "1":
    app.conf.update(
        result_backend=os.environ.get("BENCH_CELERY_BROKER"),
        result_expires=RESULT_EXPIRES,
    )


@app.task(name=RUN_TASK, ignore_result=False)
def run(start_file: str, log: str) -> int:
    """Start the run's process, keep its output (as a run's log), and wait."""
    done = subprocess.run(
        ["bash", "-c", RUN_SCRIPT, "bash", start_file],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        check=False,
    )
    with open(log, "ab") as f:
        f.write(done.stdout + done.stderr)
    return done.returncode


@app.task(name=TASK)
def fire(name: str, starts: str, due: float) -> None:
    start_child(name, f"{due:.6f}", starts)


class DueScheduler(PersistentScheduler):
    """Beat's own scheduler; each send carries the instant the entry was due."""

    def apply_async(self, entry, producer=None, advance=True, **kwargs):
        if advance:  # beat's tick reserves before sending; this path does not
            self.reserve(entry)
        due = entry.last_run_at + entry.schedule.run_every
        sent = copy.copy(entry)
        sent.kwargs = {**entry.kwargs, "due": due.timestamp()}
        return super().apply_async(sent, producer=producer, advance=False, **kwargs)
