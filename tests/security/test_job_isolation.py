"""A job learns nothing it was not given: none of the emulator's environment,
and none of its files (the secret key, the database, another job's logs).

The file tests need the emulator to run as root, so that jobs run as
WEBJOBS_RUN_AS (nobody); CI runs as root. As another user, jobs run as that
user and these reads are that user's to make (docs/behaviour.md).
"""

from __future__ import annotations

import os
import stat

import pytest
from django.conf import settings as django_settings

from config.env import secret_key_from_file
from history.models import Run
from jobs.models import WebJob

pytestmark = pytest.mark.django_db(transaction=True)

SNOOP = b"""env | sort
for path in "$@"; do
  if cat "$path" >/dev/null 2>&1; then echo "READ $path"; else echo "DENIED $path"; fi
done
top="$WEBJOBS_DATA_PATH/../.."
ls "$top" >/dev/null 2>&1 && echo "LISTED data" || echo "DENIED listing"
echo mine > "$WEBJOBS_DATA_PATH/mine.txt" && echo "WROTE its data folder"
echo here > ./scratch.txt && echo "WROTE its working copy"
id -un
"""
LEAKS = {
    "DATABASE_URL": "postgres://app:hunter2@db.example/app",
    "REDIS_URL": "redis://:hunter2@cache.example:6379/0",
    "DJANGO_SUPERUSER_PASSWORD": "hunter2-admin",
    "Q_TIMEOUT": "6161616",
    "AWS_SECRET_ACCESS_KEY": "hunter2-cloud",
}


@pytest.fixture
def snoop(api, monkeypatch):
    """The snooping job, run with the emulator's environment full of secrets
    (its run monitor is forked from this process, as a queue worker's is)."""
    for key, value in LEAKS.items():
        monkeypatch.setenv(key, value)
    api.deploy("snoop", SNOOP, filename="run.sh")

    def run(*paths: str) -> str:
        arguments = " ".join(f"'{p}'" for p in paths)
        finished = api.run_and_wait("snoop", arguments)
        assert finished["status"] == "Success", api.output(finished)
        return api.output(finished)

    return run


def test_it_gives_a_job_none_of_the_emulators_environment(snoop, settings):
    settings.WEBJOBS_APP_SETTINGS = {"GREETING": "hello"}
    output = snoop()
    for key, value in LEAKS.items():
        assert key not in output and value not in output
    assert django_settings.SECRET_KEY not in output
    assert "DJANGO_SETTINGS_MODULE" not in output and "SECRET_KEY" not in output
    assert str(django_settings.WEBJOBS_ROOT) + "\n" not in output
    # What it was given: Kudu's variables and the declared app settings.
    assert "WEBJOBS_NAME=snoop" in output
    assert "GREETING=hello" in output and "APPSETTING_GREETING=hello" in output


@pytest.mark.skipif(
    os.geteuid() != 0,
    reason="jobs run as the emulator's own user unless it is root (WEBJOBS_RUN_AS)",
)
def test_it_keeps_the_emulators_files_from_a_job(snoop, api):
    root = django_settings.WEBJOBS_ROOT
    secret = root / "secret_key"
    secret.unlink(missing_ok=True)
    secret_key_from_file(secret)  # as settings make it when SECRET_KEY is unset
    database = django_settings.DATABASES["default"]["NAME"]
    api.deploy_fixture("other", "hello.sh")
    other = api.run_and_wait("other")
    other_log = Run.objects.get(run_id=other["id"]).output_path
    output = snoop(str(secret), database, str(other_log))
    assert f"DENIED {secret}" in output
    assert f"DENIED {database}" in output
    assert f"DENIED {other_log}" in output
    assert "DENIED listing" in output
    # What is its own it may use: its data folder and its working copy.
    assert "WROTE its data folder" in output and "WROTE its working copy" in output
    assert f"INFO] {django_settings.WEBJOBS_RUN_AS}\n" in output  # `id -un`
    snoop_job = WebJob.objects.get(name="snoop")
    assert (snoop_job.data_dir / "mine.txt").read_text() == "mine\n"


def test_it_writes_its_own_files_for_itself_only(api):
    api.deploy_fixture("hello", "hello.sh")
    finished = api.run_and_wait("hello")
    run = Run.objects.get(run_id=finished["id"])
    root = django_settings.WEBJOBS_ROOT
    private = [
        django_settings.DATABASES["default"]["NAME"],
        run.output_path,
        run.data_dir,
    ]
    for path in private:
        assert stat.S_IMODE(os.stat(path).st_mode) & 0o077 == 0, path
    assert stat.S_IMODE(root.stat().st_mode) == 0o711  # passable, not listable
