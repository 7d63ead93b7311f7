"""NCRONTAB parsing, expansion and occurrences, as Kudu's settings.job reads them."""

from datetime import UTC, datetime, timedelta, timezone
from itertools import islice

import pytest

from core.ncrontab import (
    CronError,
    cron_expand,
    cron_next,
    cron_occurrences,
    cron_validate,
)


def iso(values):
    return [value.isoformat() for value in values]


def first(expr, after, n, tz=None):
    return iso(islice(cron_occurrences(expr, after=after, tz=tz), n))


@pytest.mark.parametrize(
    ("expr", "expanded"),
    [
        ("0 */15 * * * *", "0 0,15,30,45 * * * *"),  # the reference's example
        ("0 0 0 * * *", "0 0 0 * * *"),  # unchanged
        ("0 */5 * * * *", "0 0,5,10,15,20,25,30,35,40,45,50,55 * * * *"),
        ("*/1 0-59 0-23 1-31 1-12 0-6", "* * * * * *"),  # full ranges -> *
        ("0 0 9-17/2 * * *", "0 0 9,11,13,15,17 * * *"),
        ("0 0 0 * * Mon-Fri", "0 0 0 * * 1-5"),  # names -> numbers
        ("0 0 0 1 jan,FEB,Mar,may *", "0 0 0 1 1-3,5 *"),
        ("0 0 0 * * 1,2", "0 0 0 * * 1-2"),  # two consecutive values -> range
        ("0 0 0 * * 5,3,4,1", "0 0 0 * * 1,3-5"),  # sorted, runs joined
        ("0 30/10 * * * *", "0 30,40,50 * * * *"),  # a/n runs to the maximum
        ("0 0 0 * * 5-3", "0 0 0 * * 3-5"),  # NCrontab swaps reversed ranges
        ("0 0 12 * * Sun", "0 0 12 * * 0"),
        ("0 0 0 * * sat,SUNDAY", "0 0 0 * * 0,6"),
        ("0 0 0 * * M", "0 0 0 * * 1"),  # NCrontab prefix match: M is Monday
        ("0 0 0 1 Ma *", "0 0 0 1 3 *"),  # ... and Ma is March
        ("  0  0  0  *  *  *  ", "0 0 0 * * *"),  # extra spaces ignored
        ("0 0,0,0 0 * * *", "0 0 0 * * *"),
        ("0 0 0 * * 0-6/1", "0 0 0 * * *"),
        ("0 0 0 1-31/2 * *", "0 0 0 1,3,5,7,9,11,13,15,17,19,21,23,25,27,29,31 * *"),
    ],
)
def test_it_expands_like_ncrontab(expr, expanded):
    assert cron_expand(expr) == expanded


@pytest.mark.parametrize(
    ("expr", "count"),
    [
        ("0 * * * *", "5 fields"),
        ("0 0 * * * * *", "7 fields"),
        ("*", "1 field"),
        ("", "0 fields"),
    ],
)
def test_it_rejects_anything_but_six_fields(expr, count):
    with pytest.raises(CronError) as error:
        cron_validate(expr)
    assert str(error.value) == (
        f'CRON expression "{expr}" has {count}; a WebJob schedule needs 6: '
        "{second} {minute} {hour} {day} {month} {day-of-week}."
    )


@pytest.mark.parametrize(
    ("expr", "message"),
    [
        (
            "60 * * * * *",
            '60 is out of range in the second field of CRON expression "60 * * * * *";'
            " it must be between 0 and 59.",
        ),
        (
            "0 60 * * * *",
            '60 is out of range in the minute field of CRON expression "0 60 * * * *";'
            " it must be between 0 and 59.",
        ),
        (
            "0 0 24 * * *",
            '24 is out of range in the hour field of CRON expression "0 0 24 * * *";'
            " it must be between 0 and 23.",
        ),
        (
            "0 0 0 0 * *",
            '0 is out of range in the day field of CRON expression "0 0 0 0 * *";'
            " it must be between 1 and 31.",
        ),
        (
            "0 0 0 32 * *",
            '32 is out of range in the day field of CRON expression "0 0 0 32 * *";'
            " it must be between 1 and 31.",
        ),
        (
            "0 0 0 * 13 *",
            '13 is out of range in the month field of CRON expression "0 0 0 * 13 *";'
            " it must be between 1 and 12 or Jan-Dec.",
        ),
        (
            "0 0 0 * * 7",
            "7 is out of range in the day-of-week field of CRON expression"
            ' "0 0 0 * * 7"; it must be between 0 and 6 (Sunday is 0; 7 is not'
            " accepted) or Sun-Sat.",
        ),
        (
            "0 0 1-25 * * *",
            "25 is out of range in the hour field of CRON expression"
            ' "0 0 1-25 * * *"; it must be between 0 and 23.',
        ),
    ],
)
def test_it_rejects_values_out_of_range(expr, message):
    with pytest.raises(CronError) as error:
        cron_validate(expr)
    assert str(error.value) == message


@pytest.mark.parametrize(
    ("expr", "message"),
    [
        (
            "0 0 0 * Foo *",
            '"Foo" is not a valid value in the month field of CRON expression'
            ' "0 0 0 * Foo *"; use a number between 1 and 12 or Jan-Dec.',
        ),
        (
            "0 Mon 0 * * *",
            '"Mon" is not a valid value in the minute field of CRON expression'
            ' "0 Mon 0 * * *"; use a number between 0 and 59.',
        ),
        (
            "0 5x * * * *",
            '"5x" is not a valid value in the minute field of CRON expression'
            ' "0 5x * * * *"; use a number between 0 and 59.',
        ),
        (
            "0 -5 * * * *",
            '"-5" is not a valid value in the minute field of CRON expression'
            ' "0 -5 * * * *"; use a number between 0 and 59.',
        ),
        (
            "0 L * * * *",
            '"L" is not a valid value in the minute field of CRON expression'
            ' "0 L * * * *"; use a number between 0 and 59.',
        ),
        (
            "0 0 0 ? * *",
            '"?" is not a valid value in the day field of CRON expression'
            ' "0 0 0 ? * *"; use a number between 1 and 31.',
        ),
        (
            "0 */0 * * * *",
            '"*/0" is not a valid step in the minute field of CRON expression'
            ' "0 */0 * * * *"; a step is a whole number other than 0, as in */5.',
        ),
        (
            "0 */ * * * *",
            '"*/" is not a valid step in the minute field of CRON expression'
            ' "0 */ * * * *"; a step is a whole number other than 0, as in */5.',
        ),
        (
            "0 1/2/3 * * * *",
            '"1/2/3" is not a valid step in the minute field of CRON expression'
            ' "0 1/2/3 * * * *"; a step is a whole number other than 0, as in */5.',
        ),
        (
            "0 0 0 1,,2 * *",
            'CRON expression "0 0 0 1,,2 * *" has an empty item in its day field'
            ' "1,,2".',
        ),
    ],
)
def test_it_rejects_bad_syntax(expr, message):
    with pytest.raises(CronError) as error:
        cron_validate(expr)
    assert str(error.value) == message


@pytest.mark.parametrize(
    ("expr", "message"),
    [
        (
            "0 0 0 31 2 *",
            'CRON expression "0 0 0 31 2 *" never fires: none of its months has a'
            " day 31.",
        ),
        (
            "0 0 0 30,31 Feb *",
            'CRON expression "0 0 0 30,31 Feb *" never fires: none of its months'
            " has a day 30, 31.",
        ),
        (
            "0 0 0 31 4,6,9,11 *",
            'CRON expression "0 0 0 31 4,6,9,11 *" never fires: none of its months'
            " has a day 31.",
        ),
    ],
)
def test_it_rejects_expressions_that_never_fire(expr, message):
    with pytest.raises(CronError) as error:
        cron_validate(expr)
    assert str(error.value) == message


@pytest.mark.parametrize(
    "expr",
    [
        "0 0 0 29 2 *",  # leap days exist
        "0 0 0 30 2,4 *",  # 30 April exists
        "0 0 0 29 2 1",  # 29 February on a Monday: rare, but it happens
        "*/10 * * * * *",
        "0 0 0 * * Sun-Sat",
    ],
)
def test_it_accepts_sparse_but_possible_expressions(expr):
    cron_validate(expr)


def test_it_needs_both_day_of_month_and_day_of_week():
    """NCrontab's AND: day 13 and Friday, not "day 13 or any Friday"."""
    after = datetime(2024, 1, 1, tzinfo=UTC)
    assert first("0 0 0 13 * 5", after, 5) == [
        "2024-09-13T00:00:00+00:00",
        "2024-12-13T00:00:00+00:00",
        "2025-06-13T00:00:00+00:00",
        "2026-02-13T00:00:00+00:00",
        "2026-03-13T00:00:00+00:00",
    ]


def test_it_finds_a_leap_day_on_a_given_weekday_decades_away():
    after = datetime(2024, 3, 1, tzinfo=UTC)
    assert first("0 0 0 29 2 Mon", after, 3) == [
        "2044-02-29T00:00:00+00:00",
        "2072-02-29T00:00:00+00:00",
        "2112-02-29T00:00:00+00:00",  # 2100 is not a leap year
    ]


def test_it_lists_occurrences_strictly_after_the_given_instant():
    after = datetime(2024, 5, 6, 10, 15, 0, tzinfo=UTC)
    assert first("0 */15 * * * *", after, 3) == [
        "2024-05-06T10:30:00+00:00",
        "2024-05-06T10:45:00+00:00",
        "2024-05-06T11:00:00+00:00",
    ]


def test_it_fires_on_seconds():
    after = datetime(2024, 5, 6, 10, 0, 7, 500000, tzinfo=UTC)
    assert first("*/10 * * * * *", after, 3) == [
        "2024-05-06T10:00:10+00:00",
        "2024-05-06T10:00:20+00:00",
        "2024-05-06T10:00:30+00:00",
    ]


def test_it_runs_weekdays_at_nine():
    after = datetime(2024, 5, 3, 12, 0, tzinfo=UTC)  # a Friday
    assert first("0 0 9 * * Mon-Fri", after, 3) == [
        "2024-05-06T09:00:00+00:00",
        "2024-05-07T09:00:00+00:00",
        "2024-05-08T09:00:00+00:00",
    ]


def test_it_skips_months_without_the_day():
    after = datetime(2024, 1, 1, tzinfo=UTC)
    assert first("0 0 0 31 * *", after, 3) == [
        "2024-01-31T00:00:00+00:00",
        "2024-03-31T00:00:00+00:00",
        "2024-05-31T00:00:00+00:00",
    ]


def test_it_returns_utc_for_an_after_in_another_offset():
    after = datetime(2024, 5, 6, 12, 0, tzinfo=timezone(timedelta(hours=2)))
    assert cron_next("0 0 * * * *", after=after).isoformat() == (
        "2024-05-06T11:00:00+00:00"
    )


def test_it_computes_in_the_given_time_zone():
    after = datetime(2024, 7, 1, tzinfo=UTC)
    assert cron_next("0 0 9 * * *", after=after, tz="Europe/Berlin").isoformat() == (
        "2024-07-01T07:00:00+00:00"
    )


def test_it_rejects_a_naive_after():
    with pytest.raises(ValueError, match="aware"):
        cron_next("0 0 0 * * *", after=datetime(2024, 1, 1))


def test_it_rejects_an_unknown_time_zone():
    with pytest.raises(CronError) as error:
        cron_next("0 0 0 * * *", after=datetime(2024, 1, 1, tzinfo=UTC), tz="Mars/Base")
    assert str(error.value) == (
        'Unknown time zone "Mars/Base"; use an IANA name such as Europe/Berlin.'
    )


def test_it_raises_on_call_not_on_first_iteration():
    with pytest.raises(CronError):
        cron_occurrences("0 * * * *", after=datetime(2024, 1, 1, tzinfo=UTC))


def test_it_stops_at_the_end_of_the_calendar():
    after = datetime(9999, 12, 31, 23, 0, tzinfo=UTC)
    assert first("0 0 0 1 1 *", after, 1) == []


def test_it_says_when_there_is_no_next_occurrence():
    after = datetime(9999, 12, 31, 23, 0, tzinfo=UTC)
    with pytest.raises(CronError) as error:
        cron_next("0 0 0 1 1 *", after=after)
    assert str(error.value) == (
        'CRON expression "0 0 0 1 1 *" has no occurrence after '
        "9999-12-31T23:00:00+00:00."
    )


@pytest.mark.parametrize(
    ("expr", "expanded"),
    [
        ("0 */+20 * * * *", "0 0,20,40 * * * *"),  # int.Parse takes a sign
        ("0 */-1 * * * *", "0 * * * * *"),  # NCrontab clamps a step below 1 to 1
        ("0 0-10/-3 * * * *", "0 0-10 * * * *"),
        ("1\t 0 * * * *", "1 0 * * * *"),  # white space after a number
        ("0 */\t5 0 * * *", "0 0,5,10,15,20,25,30,35,40,45,50,55 0 * * *"),
        ("0 1\t-5 0 * * *", "0 1-5 0 * * *"),
        ("0 5/1 0 * * *", "0 5-59 0 * * *"),  # NCrontab 3.2's fix of 2.0.0's a/1
    ],
    ids=repr,
)
def test_it_reads_numbers_as_ncrontab_does(expr, expanded):
    assert cron_expand(expr) == expanded


@pytest.mark.parametrize(
    "expr",
    ["0 +5 * * * *", "0 \t5 * * * *", "0 */-0 * * * *", "0 */+ * * * *"],
    ids=repr,
)
def test_it_refuses_what_ncrontab_refuses_and_a_zero_step(expr):
    with pytest.raises(CronError):
        cron_validate(expr)


def test_it_starts_the_seconds_again_when_the_minute_moves_on():
    """NCrontab issue #90 (fixed in 3.4; Kudu's 2.0.0 gives 09:55:36)."""
    after = datetime(2024, 5, 6, 9, 50, 35, tzinfo=UTC)
    assert cron_next("* 55 * * * *", after=after) == after.replace(minute=55, second=0)
