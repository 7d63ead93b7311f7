"""Kudu's `GET /api/triggeredwebjobs` with 1,000 jobs of 30 runs each, and the
ARM job list of a collection of 1,000 jobs (a page of 100), over HTTP on one
instance; and how many queries each makes (bench/trigger/rows.py)."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

from bench.harness.instance import LABELS, PASSWORD, USER, instance

ROWS = "bench.trigger.rows"  # the Django side, run with the instance's env
ARM = "/subscriptions/bench/resourceGroups/bench/providers/Microsoft.Scheduler"
PATHS = {
    "kudu": "/api/triggeredwebjobs",
    # The collection of 1,000 jobs the fill task makes (idle000).
    "arm": f"{ARM}/jobCollections/idle000/jobs?api-version=2016-03-01",
}


@dataclass
class Lists:
    label: str
    jobs: int
    runs: int
    ms: dict[str, list[float]] = field(default_factory=dict)  # list -> timings
    queries: dict[str, int] = field(default_factory=dict)


def lists(
    key: str, tmp: Path, *, jobs: int, runs: int, gets: int, code: Path | None = None
) -> Lists:
    out = Lists(LABELS[key] + (", before" if code else ""), jobs, runs)
    print(f"{out.label}: {jobs} jobs x {runs} runs, the lists...", file=sys.stderr)
    root = tmp / f"lists-{key}{'-before' if code else ''}"
    where = {"code": code} if code else {}
    with instance(key, root, **where) as inst, requests.Session() as http:
        http.auth = (USER, PASSWORD)
        inst.django(ROWS, "fill", jobs=jobs, runs=runs)
        out.queries = inst.django(
            ROWS, "queries", user=USER, password=PASSWORD, paths=PATHS
        )
        for name, path in PATHS.items():
            url = inst.base + path
            for _ in range(5):  # warm-up: each gunicorn worker's first calls
                http.get(url).raise_for_status()
            timings = out.ms[name] = []
            for _ in range(gets):
                t0 = time.perf_counter()
                response = http.get(url)
                timings.append((time.perf_counter() - t0) * 1000)
                response.raise_for_status()
            body = response.json()
            count = len(body) if name == "kudu" else len(body["value"])
            assert count == (jobs if name == "kudu" else 100), count
    return out
