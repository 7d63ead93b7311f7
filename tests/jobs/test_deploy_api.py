"""Deploying through Kudu's PUT route, and every bad input it must refuse."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings
from django.db.models import QuerySet

from jobs.models import WebJob
from jobs.services import JobNotFound, webjob_settings_put
from tests.helpers import make_zip

pytestmark = pytest.mark.django_db(transaction=True)


def package_files(name: str) -> list[str]:
    root = settings.WEBJOBS_ROOT / "site" / "jobs" / "triggered" / name
    return sorted(
        p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()
    )


def test_it_deploys_a_single_script_with_kudus_json(api):
    response = api.deploy("hello", b"echo hi\n", filename="hello.sh")
    assert response.status_code == 200
    assert response.json() == {
        "latest_run": None,
        "history_url": "http://testserver/api/triggeredwebjobs/hello/history",
        "scheduler_logs_url": None,
        "name": "hello",
        "run_command": "hello.sh",
        "url": "http://testserver/api/triggeredwebjobs/hello",
        "extra_info_url": "http://testserver/azurejobs/#/jobs/triggered/hello",
        "type": "triggered",
        "error": None,
        "using_sdk": False,
        "settings": {},
    }
    assert api.get("/api/triggeredwebjobs/hello").json()["name"] == "hello"
    assert [j["name"] for j in api.get("/api/triggeredwebjobs").json()] == ["hello"]
    assert [j["name"] for j in api.get("/api/webjobs").json()] == ["hello"]


def test_it_deploys_a_zip_by_content_type_or_file_name(api):
    data = make_zip({"app/run.py": "print('zipped')\n", "app/lib.txt": "x"})
    by_type = api.deploy(
        "zipped", data, filename="package", content_type="application/zip"
    )
    assert by_type.status_code == 200
    assert by_type.json()["run_command"] == "app/run.py"  # Kudu descends one folder
    by_name = api.deploy("zipped2", data, filename="package.zip")
    assert by_name.json()["run_command"] == "app/run.py"


def test_it_picks_the_runnable_script_as_kudu_does(api):
    files = {"foo.cmd": "x", "bar.py": "x", "run.js": "x", "a.sh": "x"}
    assert (
        api.deploy("pick", make_zip(files), filename="p.zip").json()["run_command"]
        == "run.js"
    )
    files = {"foo.sh": "x", "bar.py": "x"}
    assert (
        api.deploy("pick", make_zip(files), filename="p.zip").json()["run_command"]
        == "foo.sh"
    )


def test_it_replaces_the_whole_package_on_redeploy(api):
    api.deploy(
        "job", make_zip({"run.sh": "echo one", "old.txt": "old"}), filename="a.zip"
    )
    api.deploy(
        "job", make_zip({"run.sh": "echo two", "new.txt": "new"}), filename="b.zip"
    )
    assert package_files("job") == ["new.txt", "run.sh"]


def test_it_reads_settings_job_and_keeps_unknown_keys(api):
    settings_job = '{"schedule": "0 */15 * * * *", "is_in_place": false, "my_key": 1}'
    data = make_zip({"run.sh": "echo", "settings.job": settings_job})
    job = api.deploy("sched", data, filename="s.zip").json()
    assert job["settings"] == {
        "schedule": "0 */15 * * * *",
        "is_in_place": False,
        "my_key": 1,
    }
    assert api.get("/api/triggeredwebjobs/sched/settings").json()["my_key"] == 1


def test_it_replaces_settings_through_the_settings_route(api):
    api.deploy("job", b"echo", filename="run.sh")
    assert api.put_settings("job", '{"schedule": "0 0 0 * * *"}').status_code == 200
    assert api.get("/api/triggeredwebjobs/job/settings").json() == {
        "schedule": "0 0 0 * * *"
    }
    assert api.get("/api/triggeredwebjobs/job").json()["settings"] == {
        "schedule": "0 0 0 * * *"
    }


def test_it_answers_settings_of_an_unknown_job_with_an_empty_object(api):
    assert api.get("/api/triggeredwebjobs/ghost/settings").json() == {}


def test_it_deletes_a_job_with_its_history(api):
    api.deploy_fixture("hello", "hello.sh")
    api.run_and_wait("hello")
    assert api.delete("/api/triggeredwebjobs/hello").status_code == 200
    assert api.get("/api/triggeredwebjobs/hello").status_code == 404
    assert not (settings.WEBJOBS_ROOT / "data/jobs/triggered/hello").exists()
    assert not (settings.WEBJOBS_ROOT / "site/jobs/triggered/hello").exists()
    assert api.delete("/api/triggeredwebjobs/hello").status_code == 200  # Kudu: no-op


BAD_ZIPS = {
    "traversal": (
        make_zip({"../evil.sh": "x", "run.sh": "x"}),
        "The zip entry '../evil.sh' is not allowed",
    ),
    "absolute": (
        make_zip({"/etc/evil.sh": "x", "run.sh": "x"}),
        "The zip entry '/etc/evil.sh' is not allowed",
    ),
    "symlink": (
        make_zip({"run.sh": "x"}, links={"link": "/etc/passwd"}),
        "The zip entry 'link' is a symbolic link; links are not allowed.",
    ),
    "no-runnable": (
        make_zip({"readme.txt": "x"}),
        "No runnable script file was found.",
    ),
    "bad-settings": (
        make_zip({"run.sh": "x", "settings.job": "{nope"}),
        "settings.job is not valid JSON",
    ),
    "settings-array": (
        make_zip({"run.sh": "x", "settings.job": "[1]"}),
        "settings.job must be a JSON object, not list.",
    ),
    "settings-type": (
        make_zip({"run.sh": "x", "settings.job": '{"is_singleton": "yes"}'}),
        "settings.job key 'is_singleton' must be true or false.",
    ),
    "cron-5-fields": (
        make_zip({"run.sh": "x", "settings.job": '{"schedule": "*/5 * * * *"}'}),
        "settings.job schedule is invalid",
    ),
    "cron-range": (
        make_zip({"run.sh": "x", "settings.job": '{"schedule": "0 61 * * * *"}'}),
        "settings.job schedule is invalid",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_ZIPS))
def test_it_refuses_a_bad_zip_and_keeps_the_previous_version(api, case):
    data, message = BAD_ZIPS[case]
    api.deploy("keep", make_zip({"run.sh": "echo v1"}), filename="v1.zip")
    response = api.deploy("keep", data, filename="v2.zip")
    assert response.status_code == 400
    assert message in response.content.decode()
    assert package_files("keep") == ["run.sh"]
    assert api.get("/api/triggeredwebjobs/keep").json()["run_command"] == "run.sh"
    leftovers = list((settings.WEBJOBS_ROOT / "site/jobs/triggered").iterdir())
    assert [p.name for p in leftovers] == ["keep"], (
        "no half-written folders stay behind"
    )
    # Nothing at the places the entries name: beside the staging folder the zip
    # is unpacked in (../evil.sh), at the absolute path, anywhere in the root.
    triggered = settings.WEBJOBS_ROOT / "site/jobs/triggered"
    assert not (triggered / "evil.sh").exists()
    assert not Path("/etc/evil.sh").exists()
    assert list(settings.WEBJOBS_ROOT.rglob("evil.sh")) == []
    assert not (triggered / "keep" / "link").exists()


def test_it_refuses_a_zip_bomb_by_unpacked_size(api, settings):
    settings.WEBJOBS_MAX_UNPACKED_BYTES = 1_000_000
    bomb = make_zip({"run.sh": "x", "zeros.bin": b"\0" * 5_000_000})
    assert len(bomb) < 50_000  # small on the wire, huge unpacked
    response = api.deploy("bomb", bomb, filename="bomb.zip")
    assert response.status_code == 400
    assert (
        response.content
        == b"The zip unpacks to more than 1000000 bytes; the limit is 1000000 bytes."
    )  # noqa: E501
    assert api.get("/api/triggeredwebjobs/bomb").status_code == 404


def test_it_refuses_a_zip_with_too_many_files(api, settings):
    settings.WEBJOBS_MAX_FILES = 10
    data = make_zip({f"f{i}.txt": "x" for i in range(11)} | {"run.sh": "x"})
    response = api.deploy("many", data, filename="many.zip")
    assert response.status_code == 400
    assert (
        response.content
        == b"The zip holds 12 entries (files and folders); the limit is 10."
    )


def test_it_refuses_an_upload_over_the_size_limit(api, settings):
    settings.WEBJOBS_MAX_UPLOAD_BYTES = 1000
    response = api.deploy("big", b"x" * 5000, filename="run.sh")
    assert response.status_code == 413
    assert b"the limit is 1000 bytes" in response.content
    assert not list((settings.WEBJOBS_ROOT / "site/jobs/.uploads").iterdir())


@pytest.mark.parametrize(
    "name", ["-lead", "has space", "dot.name", "ünï", "a/b", "x" * 65]
)
def test_it_refuses_an_invalid_name(api, name):
    from urllib.parse import quote

    response = api.deploy(quote(name, safe=""), b"echo", filename="run.sh")
    assert response.status_code in (400, 404)
    if response.status_code == 400:
        assert b"Invalid WebJob name" in response.content


def test_it_refuses_an_empty_upload(api):
    response = api.deploy("empty", b"", filename="run.sh")
    assert response.status_code == 400
    assert (
        response.content
        == b"The upload is empty: send the script or zip file as the request body."
    )  # noqa: E501


def test_it_refuses_a_body_that_is_not_a_zip(api):
    response = api.deploy("notzip", b"plain text", filename="x.zip")
    assert response.status_code == 400
    assert response.content.startswith(b"The upload is not a valid zip file")


def test_it_requires_a_content_disposition_file_name(api):
    response = api.client.put(
        "/api/triggeredwebjobs/x",
        data=b"echo",
        content_type="text/plain",
        **api.headers,
    )
    assert response.status_code == 400
    assert response.content == b"Missing Content-Disposition header."


def test_it_refuses_bad_settings_through_the_settings_route(api):
    api.deploy("job", b"echo", filename="run.sh")
    api.put_settings("job", '{"schedule": "0 0 * * * *"}')
    bad = api.put_settings("job", '{"schedule": "0 0 25 * * *"}')
    assert bad.status_code == 400
    assert b"settings.job schedule is invalid" in bad.content
    malformed = api.put_settings("job", "{oops")
    assert malformed.status_code == 400
    assert api.get("/api/triggeredwebjobs/job/settings").json() == {
        "schedule": "0 0 * * * *"
    }


def test_it_refuses_settings_the_database_cannot_store_naming_where(api):
    api.deploy("job", b"echo", filename="run.sh")
    nul = api.put_settings("job", '{"note": "a\\u0000b"}')
    assert nul.status_code == 400
    assert nul.content.decode() == (
        "settings.job.note contains a NUL character (\\u0000), which cannot be stored."
    )
    assert api.get("/api/triggeredwebjobs/job/settings").json() == {}


def test_it_answers_409_when_another_request_creates_the_job_meanwhile(
    api, monkeypatch
):
    # The deploy reads "no such job" (as if the other request had not
    # committed yet): its insert loses the race on (kind, name).
    assert api.deploy("raced", b"echo first\n", filename="run.sh").status_code == 200
    real_first = QuerySet.first

    def none_for_the_lock(queryset):
        return None if queryset.query.select_for_update else real_first(queryset)

    monkeypatch.setattr(QuerySet, "first", none_for_the_lock)
    response = api.deploy("raced", b"echo hi\n", filename="run.sh")
    assert response.status_code == 409
    assert response.content.decode() == (
        "WebJob 'raced' was being created by another request at the same time; "
        "send it again."
    )
    monkeypatch.undo()
    # The job the other request deployed is left as it was.
    assert api.get("/api/triggeredwebjobs/raced").json()["run_command"] == "run.sh"
    package = settings.WEBJOBS_ROOT / "site" / "jobs" / "triggered" / "raced"
    assert (package / "run.sh").read_bytes() == b"echo first\n"


def test_it_answers_404_to_settings_of_a_job_deleted_meanwhile(api):
    api.deploy("gone", b"echo", filename="run.sh")
    job = WebJob.objects.get(name="gone")
    WebJob.objects.filter(pk=job.pk).delete()
    with pytest.raises(JobNotFound, match="No triggered WebJob named 'gone'"):
        webjob_settings_put(job=job, raw={"is_singleton": True})


def test_it_answers_401_to_anonymous_and_wrong_credentials(client, user):
    assert client.get("/api/webjobs").status_code == 401
    assert client.put("/api/triggeredwebjobs/x", data=b"echo").status_code == 401
    bad = client.get("/api/webjobs", HTTP_AUTHORIZATION="Basic ZGVwbG95ZXI6d3Jvbmc=")
    assert bad.status_code == 401
    assert "WWW-Authenticate" in bad.headers
