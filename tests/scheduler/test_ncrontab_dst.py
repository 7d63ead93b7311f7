"""DST table for a time-zoned NCRONTAB schedule (Kudu computes in local time).

Rules under test (core.ncrontab._wall_to_utc): a wall time skipped by
spring-forward fires once, at the instant the clocks jump; a wall time repeated by
fall-back fires once, at its first (summer-time) pass.

Berlin 2024: 31 March 01:00Z CET->CEST, 27 October 01:00Z CEST->CET.
New York 2024: 10 March 07:00Z EST->EDT, 3 November 06:00Z EDT->EST.
"""

from datetime import UTC, datetime
from itertools import islice

import pytest

from core.ncrontab import cron_occurrences


def utc(text):
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


DST_TABLE = [
    # daily 02:30 in Berlin: the spring day has no 02:30, it runs at the jump
    (
        "0 30 2 * * *",
        "Europe/Berlin",
        "2024-03-30T00:00",
        ["2024-03-30T01:30", "2024-03-31T01:00", "2024-04-01T00:30"],
    ),
    # daily 02:30 in Berlin: the autumn day has two, it runs at the first
    (
        "0 30 2 * * *",
        "Europe/Berlin",
        "2024-10-26T00:00",
        ["2024-10-26T00:30", "2024-10-27T00:30", "2024-10-28T01:30"],
    ),
    # every 30 minutes in Berlin across spring-forward: no gap, no double
    (
        "0 */30 * * * *",
        "Europe/Berlin",
        "2024-03-31T00:00",
        ["2024-03-31T00:30", "2024-03-31T01:00", "2024-03-31T01:30"],
    ),
    # every 30 minutes in Berlin across fall-back: the repeated hour fires once
    (
        "0 */30 * * * *",
        "Europe/Berlin",
        "2024-10-27T00:00",
        ["2024-10-27T00:30", "2024-10-27T02:00", "2024-10-27T02:30"],
    ),
    # every 15 minutes, asked from inside the second pass of the repeated hour
    (
        "0 */15 * * * *",
        "Europe/Berlin",
        "2024-10-27T01:10",
        ["2024-10-27T02:00", "2024-10-27T02:15"],
    ),
    # 02:00 and 02:30 are both skipped: they fire once, together, at the jump
    (
        "0 0,30 2 * * *",
        "Europe/Berlin",
        "2024-03-31T00:00",
        ["2024-03-31T01:00", "2024-04-01T00:00", "2024-04-01T00:30"],
    ),
    # daily 02:30 in New York across spring-forward
    (
        "0 30 2 * * *",
        "America/New_York",
        "2024-03-09T00:00",
        ["2024-03-09T07:30", "2024-03-10T07:00", "2024-03-11T06:30"],
    ),
    # daily 01:30 in New York across fall-back
    (
        "0 30 1 * * *",
        "America/New_York",
        "2024-11-02T00:00",
        ["2024-11-02T05:30", "2024-11-03T05:30", "2024-11-04T06:30"],
    ),
    # hourly in New York across spring-forward: 02:00 does not exist
    (
        "0 0 * * * *",
        "America/New_York",
        "2024-03-10T05:00",
        ["2024-03-10T06:00", "2024-03-10T07:00", "2024-03-10T08:00"],
    ),
    # hourly in New York across fall-back: 01:00 EST (06:00Z) is a repeat
    (
        "0 0 * * * *",
        "America/New_York",
        "2024-11-03T04:00",
        ["2024-11-03T05:00", "2024-11-03T07:00", "2024-11-03T08:00"],
    ),
    # weekly Sunday 02:30 in New York on the spring-forward Sunday
    (
        "0 30 2 * * Sun",
        "America/New_York",
        "2024-03-09T00:00",
        ["2024-03-10T07:00", "2024-03-17T06:30"],
    ),
    # without a time zone the schedule is UTC, which has no DST
    (
        "0 30 2 * * *",
        None,
        "2024-03-31T00:00",
        ["2024-03-31T02:30", "2024-04-01T02:30"],
    ),
]


@pytest.mark.parametrize(("expr", "tz", "after", "expected"), DST_TABLE)
def test_it_follows_the_dst_table(expr, tz, after, expected):
    fires = islice(cron_occurrences(expr, after=utc(after), tz=tz), len(expected))
    assert [fire.isoformat() for fire in fires] == [
        f"{value}:00+00:00" for value in expected
    ]


@pytest.mark.parametrize("tz", ["Europe/Berlin", "America/New_York"])
def test_it_never_goes_backwards_or_repeats_over_a_year(tz):
    fires = list(
        islice(
            cron_occurrences("0 */20 * * * *", after=utc("2024-01-01T00:00"), tz=tz),
            3 * 24 * 366,
        )
    )
    assert all(a < b for a, b in zip(fires, fires[1:], strict=False))
    assert all(fire.tzinfo is UTC for fire in fires)
