"""WEBSITE_TIME_ZONE: settings.job schedules are read in the site's zone, a
Windows zone id or an IANA name, across a DST change with the clock moved."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime, timedelta

import pytest

from config.clock import clock_now, clock_set
from core.timezones import TimeZoneError, iana_zone
from scheduler.engine import engine_step
from scheduler.models import Job
from tests.helpers import history_entry, make_zip
from tests.instance import MANAGE, instance_env

pytestmark = pytest.mark.django_db(transaction=True)


def _spring_forward_day(year: int) -> datetime:
    """The second Sunday of March: US clocks jump 02:00 -> 03:00 (10:00 UTC)."""
    first = datetime(year, 3, 1, tzinfo=UTC)
    return first + timedelta(days=(6 - first.weekday()) % 7 + 7)


def test_it_maps_windows_zone_ids_and_keeps_iana_names():
    assert iana_zone("Pacific Standard Time") == "America/Los_Angeles"
    assert iana_zone("w. europe standard time") == "Europe/Berlin"
    assert iana_zone("Asia/Kolkata") == "Asia/Kolkata"
    assert iana_zone("") == ""
    with pytest.raises(TimeZoneError, match="did you mean 'Europe/Berlin'"):
        iana_zone("europe/berlin")


def test_it_refuses_to_start_with_a_zone_it_does_not_know():
    result = subprocess.run(
        [*MANAGE, "check"],
        env=instance_env(WEBSITE_TIME_ZONE="Mars Standard Time"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "WEBSITE_TIME_ZONE 'Mars Standard Time' is neither" in result.stderr


def test_it_fires_a_daily_schedule_in_the_sites_zone_across_spring_forward(
    api, settings
):
    settings.WEBSITE_TIME_ZONE = iana_zone("Pacific Standard Time")
    day = _spring_forward_day(clock_now().year + 1)
    clock_set((day - timedelta(hours=12)).isoformat())  # 04:00 PST the day before
    data = make_zip(
        {"run.sh": "echo tz=$TZ\n", "settings.job": '{"schedule": "0 30 2 * * *"}'}
    )
    assert api.deploy("nightly", data, filename="n.zip").status_code == 200
    timer = Job.objects.get(webjob__name="nightly")
    # 02:30 does not exist that night: it fires when the clocks jump, 10:00 UTC.
    assert timer.next_fire_at == day + timedelta(hours=10)

    clock_set((day + timedelta(hours=10, milliseconds=200)).isoformat())
    engine_step(clock_now())
    history_entry(job=timer)
    latest = api.get("/api/triggeredwebjobs/nightly").json()["latest_run"]
    run = api.wait(latest["url"])
    assert run["status"] == "Success"
    assert run["start_time"].startswith(
        (day + timedelta(hours=10)).strftime("%Y-%m-%dT10:00:00")
    )
    assert "tz=America/Los_Angeles" in api.output(run)
    timer.refresh_from_db()
    # The next day is on summer time: 02:30 PDT is 09:30 UTC.
    assert timer.next_fire_at == day + timedelta(days=1, hours=9, minutes=30)
