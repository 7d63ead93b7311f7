"""manage.py webjobs, ensureadmin and runinstance, as a user runs them."""

from __future__ import annotations

import signal
import stat
import time
from io import StringIO
from pathlib import Path

import pytest
import requests
from django.core.management import CommandError, call_command
from django.db import connection

from config.env import database_to_url
from config.web import default_workers
from jobs.processes import alive, descendants
from tests.helpers import FIXTURES, make_zip
from tests.instance import (
    free_port,
    instance_env,
    runinstance,
    wait_for_port,
)

pytestmark = pytest.mark.django_db(transaction=True)


def webjobs(*args: str) -> str:
    out = StringIO()
    call_command("webjobs", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_it_deploys_lists_runs_and_deletes_from_the_command_line():
    out = webjobs("deploy", str(FIXTURES / "hello.sh"))
    assert "Deployed triggered WebJob 'hello': runs hello.sh" in out
    assert "hello" in webjobs("list")
    out = webjobs("run", "hello", "--arguments", "a 'b c'", "--wait")
    assert "args: a b c" in out
    assert "Status changed to Success" in out
    assert "args: a b c" in webjobs("logs", "hello")
    assert "Success" in webjobs("list")
    assert "Deleted hello." in webjobs("delete", "hello")
    assert "No WebJobs deployed." in webjobs("list")


def test_it_exits_non_zero_when_a_waited_run_fails():
    webjobs("deploy", str(FIXTURES / "report.py"))
    with pytest.raises(CommandError, match=r"Run \d{18} ended Failed."):
        webjobs("run", "report", "--arguments=--fail", "--wait")


def test_it_reports_bad_input_as_command_errors(tmp_path):
    bad = tmp_path / "bad.zip"
    bad.write_bytes(make_zip({"notes.txt": "x"}))
    with pytest.raises(CommandError, match="No runnable script file was found."):
        webjobs("deploy", str(bad))
    with pytest.raises(CommandError, match="Invalid WebJob name"):
        webjobs("deploy", str(FIXTURES / "hello.sh"), "--name", "bad name")
    with pytest.raises(CommandError, match="No triggered WebJob named 'ghost'."):
        webjobs("run", "ghost")
    with pytest.raises(CommandError, match="No such file"):
        webjobs("deploy", str(tmp_path / "missing.sh"))


def test_it_creates_the_admin_from_djangos_variables(monkeypatch, django_user_model):
    monkeypatch.setenv("DJANGO_SUPERUSER_USERNAME", "boss")
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "first-pass")
    call_command("ensureadmin", stdout=StringIO())
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "second-pass")
    call_command("ensureadmin", stdout=StringIO())
    user = django_user_model.objects.get(username="boss")
    assert user.is_superuser and user.check_password("second-pass")


def test_it_generates_an_admin_password_once_and_keeps_it_private(
    monkeypatch, settings, django_user_model
):
    monkeypatch.delenv("DJANGO_SUPERUSER_USERNAME", raising=False)
    monkeypatch.delenv("DJANGO_SUPERUSER_PASSWORD", raising=False)
    first = StringIO()
    call_command("ensureadmin", stdout=first)
    path = settings.WEBJOBS_ROOT / "admin-password"
    password = path.read_text().strip()
    assert password in first.getvalue()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert django_user_model.objects.get(username="admin").check_password(password)
    second = StringIO()
    call_command("ensureadmin", stdout=second)
    assert password not in second.getvalue()  # printed once only
    path.unlink()


def test_runinstance_serves_runs_and_stops_everything_on_sigterm(
    tmp_path, monkeypatch, settings
):
    from django.conf import global_settings
    from django_q.conf import Conf

    settings.PASSWORD_HASHERS = global_settings.PASSWORD_HASHERS  # as the server has

    monkeypatch.setattr(Conf, "SYNC", False)
    from django.contrib.auth.models import User

    User.objects.create_superuser("ops", password="ops-pass")
    port = free_port()
    home = tmp_path / "home"
    home.mkdir()
    env = instance_env(
        DATABASE_URL=database_to_url(connection.settings_dict),
        WEBSITE_INSTANCE_ID="runinst1",
        HOME=str(home),
        WEBJOBS_WEB_WORKERS="2",
    )
    env.pop("XDG_RUNTIME_DIR", None)
    with runinstance(["--port", str(port)], env, tmp_path / "instance.log") as proc:
        wait_for_port(port)
        base = f"http://127.0.0.1:{port}"
        auth = ("ops", "ops-pass")
        deployed = requests.put(
            f"{base}/api/triggeredwebjobs/forever",
            data=b"echo up\nwhile true; do sleep 0.2; done\n",
            auth=auth,
            headers={"Content-Disposition": 'attachment; filename="run.sh"'},
            timeout=30,
        )
        assert deployed.status_code == 200, deployed.text
        location = requests.post(
            f"{base}/api/triggeredwebjobs/forever/run", auth=auth, timeout=30
        ).headers["Location"]
        deadline = time.monotonic() + 30
        while (
            requests.get(location, auth=auth, timeout=30).json()["status"] != "Running"
        ):
            assert time.monotonic() < deadline, "the run never started"
            time.sleep(0.1)
        # gunicorn >= 25.1 opens a control socket in $HOME once its workers
        # serve (one path for every instance of the user, each removing the
        # other's, and a way in to stop or resize the web): none here.
        assert not (home / ".gunicorn").exists()
        tree = descendants(proc.pid)
        # WEBJOBS_WEB_WORKERS is how many requests are served in parallel.
        web = {
            p for p in tree if b"gunicorn" in Path(f"/proc/{p}/cmdline").read_bytes()
        }
        assert len([p for p in web if parent_of(p) in web]) == 2
        assert len(tree) >= 4  # gunicorn, qcluster, a run monitor and the job at least
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
        assert [p for p in tree if alive(p)] == []
    from history.models import Run

    assert Run.objects.get().status == "Aborted"


def parent_of(pid: int) -> int:
    stat_line = Path(f"/proc/{pid}/stat").read_text()
    return int(stat_line.rsplit(")", 1)[1].split()[1])


def test_runinstance_serves_with_one_web_worker_per_two_cores():
    assert [default_workers(cores) for cores in (1, 2, 3, 4, 8, 64)] == [
        1,
        1,
        1,
        2,
        4,
        32,
    ]


@pytest.mark.parametrize(
    "option, message",
    [
        (["--web-workers", "0"], "--web-workers: must be 1 to 64, not 0"),
        (["--web-threads", "257"], "--web-threads: must be 1 to 256, not 257"),
        (["--web-workers", "two"], "--web-workers: not a whole number: 'two'"),
    ],
)
def test_runinstance_refuses_a_web_server_it_cannot_start(option, message):
    with pytest.raises(CommandError, match=message):
        call_command("runinstance", *option)


def test_the_system_check_refuses_a_non_utc_setup(settings):
    from config.checks import E001, E002, check_time_settings

    settings.USE_TZ = False
    settings.TIME_ZONE = "Europe/Paris"
    assert [e.msg for e in check_time_settings(None)] == [E001, E002]
