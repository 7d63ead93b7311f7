"""Hostile packages and settings: 400 with the reason, the deployed version kept.

Every zip entry counts towards WEBJOBS_MAX_FILES (folders too: each is a
mkdir); entries that cannot all be extracted as written (`a` then `a/b`, a
folder and a file of one name, `.`) are refused; numbers in settings.job are
range-checked; what the timer's columns hold is checked before the swap.
"""

from __future__ import annotations

import io
import zipfile

import pytest
from django.conf import settings

from core.ncrontab import CronError, cron_validate

pytestmark = pytest.mark.django_db(transaction=True)


def zip_of(*entries: tuple[str, str | None]) -> bytes:
    """Entries in order; a None body makes a folder entry."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, body in entries:
            if body is None:
                zf.writestr(zipfile.ZipInfo(name.rstrip("/") + "/"), "")
            else:
                zf.writestr(name, body)
    return buf.getvalue()


@pytest.fixture
def deployed(api):
    v1 = zip_of(("run.sh", "echo v1\n"))
    response = api.deploy("pkg", v1, filename="pkg.zip")
    assert response.status_code == 200, response.content
    return settings.WEBJOBS_ROOT / "site" / "jobs" / "triggered" / "pkg"


def assert_kept(live) -> None:
    assert sorted(p.name for p in live.iterdir()) == ["run.sh"]
    assert (live / "run.sh").read_text() == "echo v1\n"
    siblings = [p.name for p in live.parent.iterdir() if p.name.startswith(".")]
    assert siblings == [] or siblings == [".uploads"]


def test_it_counts_folders_towards_the_entry_limit(api, deployed):
    folders = [(f"d{i}/", None) for i in range(12_000)]
    response = api.deploy(
        "pkg", zip_of(("run.sh", "echo v2\n"), *folders), filename="pkg.zip"
    )
    assert response.status_code == 400
    assert response.content == (
        b"The zip holds 12001 entries (files and folders); the limit is 10000."
    )
    assert_kept(deployed)


@pytest.mark.parametrize(
    "entries",
    [
        [("a", "file"), ("a/b", "under a file")],
        [("a/b", "x"), ("a", "a file where a folder is")],
        [("a/", None), ("a", "a file and a folder")],
        [("a", "once"), ("a", "twice")],
        [(".", "the job folder itself")],
        [("./", None), ("x/../", None)],
    ],
    ids=["a then a/b", "a/b then a", "folder then file", "twice", "dot", "dot folder"],
)
@pytest.mark.filterwarnings("ignore:Duplicate name")
def test_it_refuses_conflicting_entries(api, deployed, entries):
    data = zip_of(("run.sh", "echo v2\n"), *entries)
    response = api.deploy("pkg", data, filename="pkg.zip")
    assert response.status_code == 400, response.content
    assert b"conflicts with another" in response.content or b"not allowed" in (
        response.content
    )
    assert_kept(deployed)


@pytest.mark.parametrize(
    ("job_settings", "expected"),
    [
        ('{"stopping_wait_time": ' + "9" * 5000 + "}", b"settings.job is not valid"),
        ('{"stopping_wait_time": 10000000000}', b"at most 86400 seconds"),
        ('{"schedule": "0 0 ' + "9" * 5000 + ' * * *"}', b"the limit is 200"),
        ('{"schedule_time_zone": "' + "x" * 65 + '"}', b"the limit is 64"),
        ("[" * 10_000, b"settings.job is not valid"),
    ],
    ids=["5000 digits", "wait too long", "5000-digit field", "zone", "nesting"],
)
def test_it_refuses_settings_out_of_range(api, deployed, job_settings, expected):
    data = zip_of(("run.sh", "echo v2\n"), ("settings.job", job_settings))
    response = api.deploy("pkg", data, filename="pkg.zip")
    assert response.status_code == 400
    assert expected in response.content
    assert_kept(deployed)
    response = api.put_settings("pkg", job_settings)
    assert response.status_code == 400
    assert api.get("/api/triggeredwebjobs/pkg/settings").json() == {}


def test_it_refuses_a_script_deeper_than_the_column_holds(api, deployed):
    deep = "/".join(["d" * 100] * 6) + "/run.sh"
    response = api.deploy("pkg", zip_of((deep, "echo v2\n")), filename="pkg.zip")
    assert response.status_code == 400
    assert b"the limit is 512" in response.content
    assert_kept(deployed)


@pytest.mark.parametrize(
    "expr",
    ["0 0 " + "9" * 5000 + " * * *", "*/" + "9" * 5000 + " 0 " + "9" * 5000 + " * * *"],
    ids=["value", "step and value"],
)
def test_a_cron_field_of_thousands_of_digits_is_a_cron_error(expr):
    with pytest.raises(CronError, match="out of range in the hour field"):
        cron_validate(expr)
