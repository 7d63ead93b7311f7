"""NCRONTAB fires counted and found without listing them (core.ncrontab.cron_count,
cron_last), held to the list cron_occurrences gives: across DST changes (a
skipped hour fires once at the jump, a repeated one once in its first pass),
from inside a repeated hour, over spans of centuries for sparse schedules.
"""

import random
from datetime import UTC, datetime, timedelta
from itertools import takewhile

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.ncrontab import cron_count, cron_last, cron_occurrences


def utc(text):
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def listed(expr, tz, after, upto):
    return list(
        takewhile(lambda fire: fire <= upto, cron_occurrences(expr, after=after, tz=tz))
    )


# Instants at which the zone's offset changes (2024).
CHANGES = {
    "Europe/Berlin": ["2024-03-31T01:00", "2024-10-27T01:00"],
    "America/New_York": ["2024-03-10T07:00", "2024-11-03T06:00"],
    "Australia/Lord_Howe": ["2024-04-06T15:00", "2024-10-05T15:30"],  # 30 min
}
EXPRESSIONS = [
    "* * * * * *",
    "0 * * * * *",
    "0 */15 * * * *",
    "0 30 2 * * *",
    "0 0,30 1-3 * * *",
    "*/20 * 2 * * *",
    "0 59 1 * * *",
    "0 0 3 * * *",
    "30 45 1,2 * * *",
    "0 15,45 * * * *",
]


def test_it_counts_and_finds_the_latest_fire_as_listed_around_dst_changes():
    rng = random.Random(16)
    for _ in range(200):
        tz = rng.choice(list(CHANGES))
        change = utc(rng.choice(CHANGES[tz]))
        expr = rng.choice(EXPRESSIONS)
        dense = expr == "* * * * * *"  # listed slowly: shorter spans
        after = change + timedelta(
            seconds=rng.randint(-3 * 3600, 3 * 3600),
            microseconds=rng.choice([0, 250000]),
        )
        upto = after + timedelta(seconds=rng.randint(0, 1800 if dense else 4 * 3600))
        fires = listed(expr, tz, after, upto)
        case = (expr, tz, after.isoformat(), upto.isoformat())
        assert cron_count(expr, after=after, upto=upto, tz=tz) == len(fires), case
        back = timedelta(hours=2 if dense else 26)
        before = listed(expr, tz, upto - back, upto)
        assert cron_last(expr, at_or_before=upto, tz=tz) == before[-1], case


def test_it_counts_a_skipped_hour_once_and_a_repeated_hour_once():
    # Berlin: 02:00-02:59 does not exist on 31 March, exists twice on 27 October.
    spring = cron_count(
        "0 0,30 2 * * *",
        after=utc("2024-03-30T12:00"),
        upto=utc("2024-03-31T12:00"),
        tz="Europe/Berlin",
    )
    autumn = cron_count(
        "0 0,30 2 * * *",
        after=utc("2024-10-26T12:00"),
        upto=utc("2024-10-27T12:00"),
        tz="Europe/Berlin",
    )
    assert (spring, autumn) == (1, 2)
    # From inside the second pass, the latest fire is the first pass's 02:30.
    assert cron_last(
        "0 0,30 2 * * *", at_or_before=utc("2024-10-27T01:45"), tz="Europe/Berlin"
    ) == utc("2024-10-27T00:30")


def test_it_counts_ten_years_of_seconds_exactly():
    after = utc("2030-01-01T00:00:00.5")
    upto = utc("2040-01-01T00:00:00")
    seconds = int((upto - after.replace(microsecond=0)).total_seconds())
    assert cron_count("* * * * * *", after=after, upto=upto) == seconds
    berlin = cron_count("* * * * * *", after=after, upto=upto, tz="Europe/Berlin")
    # Each autumn the repeated hour fires in its first pass only: the 3,600
    # seconds of its second pass have no fire (spring loses none: the skipped
    # wall times fire together at the jump, the instant 03:00 fires anyway).
    assert berlin == seconds - 10 * 3600


def expected_daily(expr, after, days):
    """Per day, the way the fields read (NCrontab: the day AND the day-of-week)."""
    from core.ncrontab import _cron

    cron = _cron(expr)
    fire = timedelta(seconds=cron.times[0])
    upto = after + timedelta(days=days)
    count = 0
    for n in range(days + 1):
        day = after.date() + timedelta(days=n)
        moment = datetime.combine(day, datetime.min.time(), UTC) + fire
        if cron.day_matches(day) and after < moment <= upto:
            count += 1
    return count


SPARSE = ["0 0 0 29 2 5", "0 0 12 13 * 5", "0 0 0 31 * 1", "0 0 0 1-7 * 1"]


@settings(
    max_examples=40,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    st.sampled_from(SPARSE),
    st.datetimes(min_value=datetime(1950, 1, 1), max_value=datetime(2300, 1, 1)),
    st.integers(0, 60 * 365),
)
def test_it_counts_sparse_schedules_over_decades(expr, first, days):
    after = first.replace(tzinfo=UTC)
    upto = after + timedelta(days=days)
    assert cron_count(expr, after=after, upto=upto) == expected_daily(expr, after, days)


@pytest.mark.parametrize("expr", SPARSE)
def test_it_counts_sparse_schedules_over_centuries(expr):
    """Past 400 years the count goes by Gregorian cycles."""
    after = utc("2001-05-17T13:00:00")
    days = 900 * 365
    upto = after + timedelta(days=days)
    assert cron_count(expr, after=after, upto=upto) == expected_daily(expr, after, days)


@pytest.mark.parametrize("tz", [None, "Europe/Berlin"])
def test_it_finds_the_latest_fire_of_a_rare_schedule_years_back(tz):
    # Friday 29 February: 2008 before 2024-03-01 (midnight in Berlin: 23:00Z).
    latest = cron_last("0 0 0 29 2 5", at_or_before=utc("2024-03-01T00:00"), tz=tz)
    assert latest == utc("2008-02-28T23:00" if tz else "2008-02-29T00:00")
