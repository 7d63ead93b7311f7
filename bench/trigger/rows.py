"""The Django side of run_trigger, imported once Django is set up
(bench/harness/tasks.py): many jobs and runs made, and the queries of a list
counted through the real view."""

from __future__ import annotations

import base64
import tempfile
from datetime import timedelta
from pathlib import Path

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from bench.lateness.rows import task_create_jobs
from config.clock import clock_now
from history.models import Run
from jobs.services import webjob_deploy


def task_fill(jobs: int, runs: int) -> dict:
    """`jobs` triggered WebJobs (webjob_deploy, as the API deploys), each with
    `runs` finished runs; and a collection of 1,000 scheduler jobs
    (idle000, made as fire_lateness's scale test makes them)."""
    now = clock_now()
    with tempfile.TemporaryDirectory() as folder:
        script = Path(folder) / "run.sh"
        script.write_text("echo hi\n")
        for i in range(jobs):
            job = webjob_deploy(
                name=f"list{i:04d}",
                kind="triggered",
                filename="run.sh",
                upload=script,
                is_zip=False,
            )
            Run.objects.bulk_create(
                Run(
                    job=job,
                    run_id=(now - timedelta(minutes=k)).strftime("%Y%m%d%H%M%S%f")[:18],
                    status="Success",
                    trigger="bench",
                    start_time=now - timedelta(minutes=k),
                    end_time=now - timedelta(minutes=k, seconds=-1),
                    exit_code=0,
                )
                for k in range(runs)
            )
    task_create_jobs(port=9, start=100, stop=1100)  # collection idle000
    return {"jobs": jobs, "runs": jobs * runs}


def task_queries(user: str, password: str, paths: dict[str, str]) -> dict:
    """How many queries each of the lists (name -> path) makes, through the
    real views."""
    client = Client(HTTP_HOST="127.0.0.1")
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    auth = {"HTTP_AUTHORIZATION": f"Basic {token}"}
    out = {}
    for key, path in paths.items():
        client.get(path, **auth)  # the credentials' cache, warm
        with CaptureQueriesContext(connection) as captured:
            response = client.get(path, **auth)
        assert response.status_code == 200, response.content[:200]
        out[key] = len(captured.captured_queries)
    return out


TASKS = {"fill": task_fill, "queries": task_queries}
