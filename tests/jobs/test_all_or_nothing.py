"""All-or-nothing changes: a deploy or a settings change that fails leaves the
previous version (files, row, timer) and nothing else; a run whose log cannot be
written ends Failed with the reason, at its start or midway, and frees Kudu's lock.

Tests run as root, so permissions cannot make a folder unwritable: a file where
the run's folder must be makes its log fail at the start, and a file-size limit
(RLIMIT_FSIZE, set on the running monitor) makes it fail midway, with the
kernel's own errors (ENOTDIR, EFBIG).
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import time

import pytest
from django.conf import settings

from history.models import Run
from jobs.hooks import webjob_deployed_hooks
from jobs.models import WebJob
from scheduler.models import Job
from tests.helpers import make_zip

pytestmark = pytest.mark.django_db(transaction=True)


def package(version: str, job_settings: dict | None = None) -> bytes:
    files = {"run.sh": f"echo {version}\n"}
    if job_settings is not None:
        files["settings.job"] = json.dumps(job_settings)
    return make_zip(files)


def leftovers() -> list[str]:
    root = settings.WEBJOBS_ROOT / "site" / "jobs" / "triggered"
    return sorted(p.name for p in root.iterdir() if p.name.startswith("."))


def deploy_v1(api) -> None:
    v1 = package("v1", {"schedule": "0 0 0 * * *"})
    response = api.deploy("tz", v1, filename="tz.zip", content_type="application/zip")
    assert response.status_code == 200, response.content


def assert_v1_intact(api) -> None:
    live = settings.WEBJOBS_ROOT / "site" / "jobs" / "triggered" / "tz"
    assert (live / "run.sh").read_text() == "echo v1\n"
    assert json.loads((live / "settings.job").read_text()) == {
        "schedule": "0 0 0 * * *"
    }
    assert api.get("/api/triggeredwebjobs/tz/settings").json() == {
        "schedule": "0 0 0 * * *"
    }
    timer = Job.objects.get(webjob__name="tz")
    assert (timer.cron, timer.cron_time_zone) == ("0 0 0 * * *", "")
    assert leftovers() == []


def test_a_deploy_naming_an_unknown_time_zone_is_refused_before_the_swap(api):
    deploy_v1(api)
    v2 = package("v2", {"schedule": "0 0 9 * * *", "schedule_time_zone": "Mars/Base"})
    response = api.deploy("tz", v2, filename="tz.zip", content_type="application/zip")
    assert response.status_code == 400
    assert 'Unknown time zone "Mars/Base"' in response.content.decode()
    assert_v1_intact(api)


def test_a_settings_put_naming_an_unknown_time_zone_changes_nothing(api):
    deploy_v1(api)
    body = json.dumps({"schedule": "0 0 9 * * *", "schedule_time_zone": "Mars/Base"})
    response = api.put_settings("tz", body)
    assert response.status_code == 400
    assert 'Unknown time zone "Mars/Base"' in response.content.decode()
    assert_v1_intact(api)
    scripts = settings.WEBJOBS_ROOT / "site" / "jobs" / "triggered" / "tz"
    assert sorted(p.name for p in scripts.iterdir()) == ["run.sh", "settings.job"]


@pytest.fixture
def failing_commit():
    """Arms a deployed hook that leaves a row whose foreign key points nowhere:
    the database checks it at COMMIT (Django's foreign keys are deferred), so
    the transaction fails after everything in it, the swap included, ran."""

    def dangling(job: WebJob) -> None:
        Run.objects.create(
            job_id=10**9, run_id="1", trigger="test", start_time=job.deployed_at
        )

    yield lambda: webjob_deployed_hooks.append(dangling)
    if dangling in webjob_deployed_hooks:
        webjob_deployed_hooks.remove(dangling)


def test_a_deploy_whose_commit_fails_after_the_swap_puts_the_previous_version_back(
    api, failing_commit
):
    from django.db import IntegrityError

    deploy_v1(api)
    failing_commit()
    with pytest.raises(IntegrityError):
        api.deploy(
            "tz", package("v2"), filename="tz.zip", content_type="application/zip"
        )
    assert_v1_intact(api)


def test_a_settings_put_whose_commit_fails_puts_the_previous_file_back(
    api, failing_commit
):
    from django.db import IntegrityError

    deploy_v1(api)
    failing_commit()
    with pytest.raises(IntegrityError):
        api.put_settings("tz", json.dumps({"schedule": "0 0 9 * * *"}))
    assert_v1_intact(api)


def block_data_folder(name: str):
    """A file where the job's data folder (its runs' logs) must be."""
    data = settings.WEBJOBS_ROOT / "data" / "jobs" / "triggered" / name
    shutil.rmtree(data, ignore_errors=True)  # made at deploy
    data.parent.mkdir(parents=True, exist_ok=True)
    data.write_text("not a folder")
    return data


def test_a_run_whose_log_cannot_be_written_at_start_ends_failed_and_frees_the_lock(
    api,
):
    api.deploy("blocked", b"echo hi\n", filename="run.sh")
    blocker = block_data_folder("blocked")
    first = api.run("blocked")
    assert first.status_code == 202, first.content
    run = api.wait(first["Location"], timeout=5)
    assert run["status"] == "Failed"
    assert run["message"].startswith("The run's log could not be written:")
    assert "Not a directory" in run["message"] or "File exists" in run["message"]
    second = api.run("blocked")  # Kudu's lock is free: not 409
    assert second.status_code == 202, second.content
    assert api.wait(second["Location"], timeout=5)["status"] == "Failed"
    blocker.unlink()
    assert api.run_and_wait("blocked")["status"] == "Success"


def test_a_log_that_cannot_be_written_midway_ends_the_run_failed(api):
    # 8 MB of output first: the limit set at the log's size is then above every
    # offset the monitor's database files are written at (SQLite: a few MB), so
    # only the log fails.
    script = (
        "head -c 8000000 /dev/zero | tr '\\0' x | fold -w 1000\n"
        "while :; do echo tick; sleep 0.1; done\n"
    )
    api.deploy("chatty", script.encode(), filename="run.sh")
    response = api.run("chatty")
    assert response.status_code == 202
    deadline = time.monotonic() + 30
    run = Run.objects.get(job__name="chatty")
    while b"tick" not in run.output_path.read_bytes()[-200:]:
        assert time.monotonic() < deadline, "the run did not print"
        time.sleep(0.1)
        run.refresh_from_db()
    # The monitor may write no further byte: its next line fails with EFBIG.
    size = run.output_path.stat().st_size
    resource.prlimit(run.monitor_pid, resource.RLIMIT_FSIZE, (size, size))
    ended = api.wait(response["Location"], timeout=15)
    assert ended["status"] == "Failed"
    assert ended["message"] == (
        "The run's log could not be written: [Errno 27] File too large"
    )
    with pytest.raises(ProcessLookupError):  # its job was ended with it
        for _ in range(50):
            os.kill(run.pid, 0)
            time.sleep(0.1)
    # Kudu's lock is free: a new version runs at once.
    api.deploy("chatty", b"echo done\n", filename="run.sh")
    assert api.run_and_wait("chatty")["status"] == "Success"
