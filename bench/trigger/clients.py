"""`runs` runs over `names` with each job's run in flight at once: one client
thread per job triggers its job, waits until its run is final, and triggers
it again (Kudu's lock: one active run a job); one poller asks every
POLL_SECONDS which runs are final (ours: one job list, celery: each result).

Why threads: a single client that sends its triggers one after another spends
20 round trips per round before its 50 ms sleep, so the rate it measured was
its own loop's, 20 / (20 x POST + 50 ms + a poll), for ours and celery alike
(at 4ca9c82: ~135 runs/s for ours at 4.5 ms a POST, ~320 for celery at 0.3 ms
an apply_async), not how many runs the instance can take with 20 in flight.
The polling is the same as before (one poller, the same period), so the CPU
per run compares with the earlier single client's.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable

POLL_SECONDS = 0.05  # how often the poller asks which runs are final
RUN_TIMEOUT = 120.0  # a guard against a stuck run, not part of any measure


class Clients:
    """Drive the runs; then `sent` ((name, handle) -> trigger time, epoch s),
    `statuses` and `runs_per_second` (first trigger to last final)."""

    def __init__(
        self,
        names: list[str],
        runs: int,
        trigger: Callable[[str], str],
        poll: Callable[[dict[str, str]], dict[str, str]],
    ) -> None:
        self.counts = {
            name: runs // len(names) + (i < runs % len(names))
            for i, name in enumerate(names)
        }
        self.trigger, self.poll = trigger, poll
        self.lock = threading.Lock()
        self.active: dict[str, str] = {}  # name -> handle of its run in flight
        self.final: dict[str, threading.Event] = {}
        self.sent: dict[tuple[str, str], float] = {}
        self.statuses: Counter = Counter()
        self.errors: list[BaseException] = []
        self.first = self.last_final = 0.0

    def run(self) -> None:
        self.first = self.last_final = time.time()
        threads = [
            threading.Thread(target=self._client, args=(name, count), daemon=True)
            for name, count in self.counts.items()
            if count
        ]
        done = threading.Event()
        poller = threading.Thread(target=self._poller, args=(done,), daemon=True)
        poller.start()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(RUN_TIMEOUT * max(self.counts.values()))
        done.set()
        poller.join()
        if self.errors:
            raise self.errors[0]
        if any(t.is_alive() for t in threads):
            raise RuntimeError(f"runs still active after {RUN_TIMEOUT}s: {self.active}")

    @property
    def runs_per_second(self) -> float:
        return len(self.sent) / (self.last_final - self.first)

    def _client(self, name: str, count: int) -> None:
        try:
            for _ in range(count):
                final = threading.Event()
                t0 = time.time()
                handle = self.trigger(name)
                with self.lock:
                    self.sent[(name, handle)] = t0
                    self.active[name], self.final[name] = handle, final
                if not final.wait(RUN_TIMEOUT):
                    raise RuntimeError(f"run {name} {handle} not final")
        except BaseException as exc:  # reported by run()
            self.errors.append(exc)

    def _poller(self, done: threading.Event) -> None:
        while not done.is_set():
            time.sleep(POLL_SECONDS)
            with self.lock:
                active = dict(self.active)
            if not active:
                continue
            try:
                finished = self.poll(active)
            except Exception as exc:
                self.errors.append(exc)
                return
            with self.lock:
                for name, status in finished.items():
                    if self.active.get(name) != active[name]:
                        continue  # seen already
                    self.statuses[status] += 1
                    del self.active[name]
                    self.last_final = time.time()
                    self.final[name].set()
