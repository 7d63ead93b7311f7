"""manage.py webjobs for continuous jobs, and runinstance running their host."""

from __future__ import annotations

import re
import signal
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.management import CommandError, call_command
from django.db import connection

from config.env import database_to_url
from jobs.models import WebJob
from tests.continuous.conftest import (
    SH_LOOP,
    host_log,
    job_groups,
    job_log,
    wait_for,
)
from tests.helpers import FIXTURES
from tests.instance import instance_env, runinstance

pytestmark = pytest.mark.django_db(transaction=True)


def webjobs(*args: str) -> str:
    out = StringIO()
    call_command("webjobs", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def script(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_it_deploys_starts_stops_lists_and_deletes_continuous_jobs(
    tmp_path, start_host
):
    out = webjobs(
        "deploy", script(tmp_path, "worker.sh", SH_LOOP), "--type", "continuous"
    )
    assert "Deployed continuous WebJob 'worker': runs worker.sh" in out
    webjobs("deploy", str(FIXTURES / "hello.sh"))
    listing = webjobs("list")
    assert "hello" in listing
    assert re.search(r"worker +Continuous +- +testin - Initializing", listing)

    assert (
        webjobs("stop", "worker") == "Stopped worker: it stays stopped until started.\n"
    )
    assert WebJob.objects.get(name="worker").is_stopped
    start_host("hostW1")
    wait_for(lambda: "hostW1 - Stopped" in webjobs("list"), "Stopped in the list")
    assert job_groups("worker") == set()
    assert (
        webjobs("start", "worker") == "Started worker: every instance's host runs it.\n"
    )
    wait_for(lambda: "hostW1 - Running" in webjobs("list"), "Running in the list")
    wait_for(lambda: "tick 1" in job_log("worker"), "output")
    assert "INFO] tick 1" in webjobs("logs", "worker")

    for verb in ("start", "stop"):
        with pytest.raises(
            CommandError, match=r"^No continuous WebJob named 'hello'\.$"
        ):
            webjobs(verb, "hello")
        with pytest.raises(
            CommandError, match=r"^No continuous WebJob named 'ghost'\.$"
        ):
            webjobs(verb, "ghost")

    assert webjobs("delete", "worker") == "Deleted worker.\n"
    wait_for(lambda: not job_groups("worker"), "the deleted job to stop")
    assert "Traceback" not in host_log(tmp_path, "hostW1")
    root = django_settings.WEBJOBS_ROOT
    assert not (root / "site/jobs/continuous/worker").exists()
    assert not (root / "data/jobs/continuous/worker").exists()


def test_runinstance_runs_the_host_and_stops_its_jobs_gracefully(tmp_path):
    webjobs("deploy", script(tmp_path, "loop.sh", SH_LOOP), "--type", "continuous")
    env = instance_env(
        DATABASE_URL=database_to_url(connection.settings_dict),
        WEBSITE_INSTANCE_ID="runinst2",
    )
    with runinstance(["--no-web"], env, tmp_path / "instance.log") as proc:
        wait_for(lambda: "runins - Running" in webjobs("list"), "the job to run")
        assert len(job_groups("loop")) == 1
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
    assert job_groups("loop") == set()
    assert "Process exited with code 0 after the shutdown notification" in job_log(
        "loop"
    )
