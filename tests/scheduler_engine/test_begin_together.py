"""Fires due in the same instant begin together (scheduler.actions.begin_together,
what the launcher calls at the instant), on both databases: on PostgreSQL the
claims and the inserts are one statement, elsewhere one transaction. Either way
an attempt another process took starts nothing, and a WebJob whose previous run
is still going skips its fire (Kudu's lock) without holding the others back.

Run in a real instance's Django (manage.py shell) on its own database, since the
suite's own database is SQLite.
"""

from __future__ import annotations

import json
import subprocess
from contextlib import contextmanager

import pytest

from tests.instance import (
    BASE_DIR,
    MANAGE,
    instance_env,
    postgres_database,
    require_services,
)

SCRIPT = """
import json, tempfile, zipfile
from datetime import timedelta
from pathlib import Path
from history.models import Run
from jobs.services import webjob_deploy
from scheduler.actions import begin_together, webjob_fires
from config.clock import clock_now, clock_set
from scheduler.engine import engine_step
from scheduler.models import Attempt, Job, JobHistory

clock_set((clock_now() + timedelta(days=30)).isoformat())  # relative: never past
for name in "abcd":
    upload = Path(tempfile.mkdtemp()) / f"{name}.zip"
    with zipfile.ZipFile(upload, "w") as z:
        z.writestr("run.sh", "echo hi\\n")
        z.writestr("settings.job", '{"schedule": "0 0 * * * *"}')
    webjob_deploy(name=name, kind="triggered", filename=upload.name, upload=upload,
                  is_zip=True)
due = clock_now().replace(microsecond=0) + timedelta(seconds=30)
Job.objects.update(next_fire_at=due)
engine_step(due)
pks = list(Attempt.objects.values_list("pk", flat=True))
fires = {f.webjob.name: f for f in webjob_fires(pks)}
begins = {name: fire.prepare() for name, fire in fires.items()}
# b's attempt was claimed elsewhere (a second delivery); c's WebJob still runs.
Attempt.objects.filter(pk=begins["b"].attempt.pk).update(status="Done")
Run.objects.create(job=fires["c"].webjob, run_id="20310501100000000", status="Running",
                   trigger="Manual", start_time=clock_now(), heartbeat_at=clock_now())
report = {}
for batch in (["a", "b"], ["c", "d"]):
    outcomes = begin_together([begins[name] for name in batch])
    for name, outcome in zip(batch, outcomes):
        row = None
        if outcome is not None:
            run = outcome[0]
            fields = ["run_id", "status", "trigger", "start_time", "scheduled_time",
                      "heartbeat_at", "monitor_pid"]
            row = Run.objects.filter(pk=run.pk).values("job__name", *fields).first()
            row = {k: str(v) for k, v in row.items()} if row else "no row"
            mine = {"job__name": name, **{f: getattr(run, f) for f in fields}}
            row["matches"] = row == {k: str(v) for k, v in mine.items()}
            row["due"] = str(due)
        attempt = begins[name].attempt
        attempt.refresh_from_db()
        history = JobHistory.objects.filter(job=attempt.job)
        history = [list(h) for h in history.values_list("status", "message")]
        report[name] = {"outcome": row, "attempt": attempt.status, "history": history,
                        "runs": Run.objects.filter(job=fires[name].webjob).count()}
print(json.dumps(report))
"""


@contextmanager
def database(kind: str, tmp_path):
    if kind == "sqlite":
        url = f"sqlite:///{tmp_path}/db.sqlite3"
        env = instance_env(DATABASE_URL=url)
        subprocess.run([*MANAGE, "migrate", "-v0"], env=env, cwd=BASE_DIR, check=True)
        yield url
    else:
        require_services()
        with postgres_database() as url:
            yield url


@pytest.mark.parametrize(
    "kind", ["sqlite", pytest.param("postgresql", marks=pytest.mark.services)]
)
def test_fires_due_together_begin_together_exactly_once(kind, tmp_path, scratch):
    with database(kind, tmp_path) as url:
        env = instance_env(DATABASE_URL=url, WEBJOBS_ROOT=str(scratch / "root"))
        env.pop("REDIS_URL", None)
        out = subprocess.run(
            [*MANAGE, "shell", "-c", SCRIPT],
            env=env,
            cwd=BASE_DIR,
            capture_output=True,
            text=True,
        )
        assert out.returncode == 0, out.stderr
        report = json.loads(out.stdout.strip().splitlines()[-1])
    for name in ("a", "d"):  # started: the run's row is what the launcher holds
        fire = report[name]
        assert fire["outcome"]["matches"], fire
        assert fire["outcome"]["scheduled_time"] == fire["outcome"]["due"]
        assert fire["outcome"]["trigger"] == "Schedule - 0 0 * * * *"
        assert fire["attempt"] == "Done"
        assert fire["runs"] == 1
    # Taken by another delivery: nothing started, nothing recorded twice.
    assert report["b"] == {"outcome": None, "attempt": "Done", "history": [], "runs": 0}
    # Still running: the fire is skipped, and the history says so.
    skipped = report["c"]
    assert skipped["outcome"] is None
    assert skipped["attempt"] == "Done"
    assert skipped["runs"] == 1  # only the run that was going
    [(status, message)] = skipped["history"]
    assert status == "Postponed"
    assert "WebJob is still running; this schedule was skipped" in message
