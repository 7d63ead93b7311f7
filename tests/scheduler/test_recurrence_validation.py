"""One validator for every way a recurrence comes in; each bad input, its message.

Fields are JSON paths as ARM names them; messages are the module's constants.
"""

from datetime import UTC, datetime

import pytest

from core.recurrence import (
    MonthlyOccurrence,
    Recurrence,
    RecurrenceError,
    RecurrenceQuotaError,
    Schedule,
    validate_recurrence,
)
from core.recurrence_json import recurrence_from_json

R = "properties.recurrence"
S = "properties.recurrence.schedule"


def utc(text):
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def error_of(data, **kwargs):
    with pytest.raises(RecurrenceError) as raised:
        rec = recurrence_from_json(data)
        if kwargs:
            validate_recurrence(rec, **kwargs)
    return raised.value.field, raised.value.message


BAD_JSON = [
    (
        [1],
        R,
        "recurrence must be a JSON object, got [1].",
    ),
    (
        {"interval": 3},
        f"{R}.frequency",
        "frequency is required in a recurrence; use Minute, Hour, Day, Week or Month.",
    ),
    (
        {"frequency": "Year"},
        f"{R}.frequency",
        '"Year" is not a recurrence frequency; use Minute, Hour, Day, Week or Month.',
    ),
    (
        {"frequency": "Second"},
        f"{R}.frequency",
        '"Second" is not a recurrence frequency; use Minute, Hour, Day, Week or Month.',
    ),
    (
        {"frequency": 1},
        f"{R}.frequency",
        "frequency must be a string, got 1.",
    ),
    (
        {"frequency": "Day", "interval": "2"},
        f"{R}.interval",
        'interval must be a whole number, got "2".',
    ),
    (
        {"frequency": "Day", "interval": 1.5},
        f"{R}.interval",
        "interval must be a whole number, got 1.5.",
    ),
    (
        {"frequency": "Day", "interval": True},
        f"{R}.interval",
        "interval must be a whole number, got true.",
    ),
    (
        {"frequency": "Day", "interval": 0},
        f"{R}.interval",
        "interval must be at least 1, got 0.",
    ),
    (
        {"frequency": "Day", "interval": -3},
        f"{R}.interval",
        "interval must be at least 1, got -3.",
    ),
    (
        {"frequency": "Day", "count": 0},
        f"{R}.count",
        "count must be at least 1, got 0.",
    ),
    (
        {"frequency": "Day", "count": "ten"},
        f"{R}.count",
        'count must be a whole number, got "ten".',
    ),
    (
        {"frequency": "Day", "endTime": "next tuesday"},
        f"{R}.endTime",
        "endTime must be an ISO 8601 date-time such as 2024-01-31T09:00:00Z, "
        'got "next tuesday".',
    ),
    (
        {"frequency": "Day", "endTime": 20240101},
        f"{R}.endTime",
        "endTime must be an ISO 8601 date-time such as 2024-01-31T09:00:00Z, "
        "got 20240101.",
    ),
    (
        {"frequency": "Day", "weekDays": ["Monday"]},
        f"{R}.weekDays",
        '"weekDays" is not a property of recurrence; use frequency, interval, count, '
        "endTime, schedule.",
    ),
    (
        {"frequency": "Month", "schedule": {"months": [1]}},
        f"{S}.months",
        '"months" is not a property of schedule; use minutes, hours, weekDays, '
        "monthDays, monthlyOccurrences.",
    ),
    (
        {"frequency": "Day", "schedule": [5]},
        S,
        "schedule must be a JSON object, got [5].",
    ),
    (
        {"frequency": "Day", "schedule": {"hours": 5}},
        f"{S}.hours",
        "hours must be a list, got 5.",
    ),
    (
        {"frequency": "Day", "schedule": {"hours": [5, "6"]}},
        f"{S}.hours[1]",
        'hours[1] must be a whole number, got "6".',
    ),
    (
        {"frequency": "Day", "schedule": {"hours": [1, 24]}},
        f"{S}.hours[1]",
        "24 is not an hour; hours are 0 to 23.",
    ),
    (
        {"frequency": "Day", "schedule": {"hours": [-1]}},
        f"{S}.hours[0]",
        "-1 is not an hour; hours are 0 to 23.",
    ),
    (
        {"frequency": "Day", "schedule": {"minutes": [0, 30, 60]}},
        f"{S}.minutes[2]",
        "60 is not a minute; minutes are 0 to 59.",
    ),
    (
        {"frequency": "Week", "schedule": {"weekDays": ["Monday", "Funday"]}},
        f"{S}.weekDays[1]",
        '"Funday" is not a day of the week; use Monday to Sunday.',
    ),
    (
        {"frequency": "Week", "schedule": {"weekDays": [1]}},
        f"{S}.weekDays[0]",
        "weekDays[0] must be a string, got 1.",
    ),
    (
        {"frequency": "Month", "schedule": {"monthDays": [1, 0]}},
        f"{S}.monthDays[1]",
        "0 is not a day of the month; use 1 to 31, or -1 (the last day) to -31.",
    ),
    (
        {"frequency": "Month", "schedule": {"monthDays": [32]}},
        f"{S}.monthDays[0]",
        "32 is not a day of the month; use 1 to 31, or -1 (the last day) to -31.",
    ),
    (
        {"frequency": "Month", "schedule": {"monthDays": [-32]}},
        f"{S}.monthDays[0]",
        "-32 is not a day of the month; use 1 to 31, or -1 (the last day) to -31.",
    ),
    (
        {"frequency": "Month", "schedule": {"monthlyOccurrences": [{"occurrence": 1}]}},
        f"{S}.monthlyOccurrences[0].day",
        "day is required in a monthly occurrence; use Monday to Sunday.",
    ),
    (
        {"frequency": "Month", "schedule": {"monthlyOccurrences": [{"day": "Fri"}]}},
        f"{S}.monthlyOccurrences[0].day",
        '"Fri" is not a day of the week; use Monday to Sunday.',
    ),
    (
        {
            "frequency": "Month",
            "schedule": {"monthlyOccurrences": [{"day": "Friday", "Occurrence": 0}]},
        },
        f"{S}.monthlyOccurrences[0].occurrence",
        "0 is not an occurrence in a month; use 1 to 5, or -1 (the last) to -5.",
    ),
    (
        {
            "frequency": "Month",
            "schedule": {"monthlyOccurrences": [{"day": "Friday", "occurrence": -6}]},
        },
        f"{S}.monthlyOccurrences[0].occurrence",
        "-6 is not an occurrence in a month; use 1 to 5, or -1 (the last) to -5.",
    ),
    (
        {"frequency": "Month", "schedule": {"monthlyOccurrences": [["Friday", 1]]}},
        f"{S}.monthlyOccurrences[0]",
        'monthlyOccurrences[0] must be a JSON object, got ["Friday", 1].',
    ),
    (
        {"frequency": "Day", "schedule": {"weekDays": ["Monday"]}},
        f"{S}.weekDays",
        "weekDays can be used only with frequency Week; this recurrence has "
        "frequency Day.",
    ),
    (
        {"frequency": "Week", "schedule": {"monthDays": [1]}},
        f"{S}.monthDays",
        "monthDays can be used only with frequency Month; this recurrence has "
        "frequency Week.",
    ),
    (
        {"frequency": "Day", "schedule": {"monthlyOccurrences": [{"day": "Monday"}]}},
        f"{S}.monthlyOccurrences",
        "monthlyOccurrences can be used only with frequency Month; this recurrence "
        "has frequency Day.",
    ),
    (
        {
            "frequency": "Month",
            "schedule": {
                "monthDays": [10],
                "monthlyOccurrences": [{"day": "Friday", "occurrence": 1}],
            },
        },
        S,
        "This recurrence never produces an occurrence: every month from the first "
        "run never matches the schedule's monthDays and monthlyOccurrences.",
    ),
]


@pytest.mark.parametrize(("data", "field", "message"), BAD_JSON)
def test_it_rejects_bad_json_naming_the_field(data, field, message):
    assert error_of(data) == (field, message)


@pytest.mark.parametrize(
    ("frequency", "maximum"),
    [("Minute", 1000), ("Hour", 1000), ("Day", 548), ("Week", 78), ("Month", 18)],
)
def test_it_caps_the_interval_per_frequency(frequency, maximum):
    assert recurrence_from_json({"frequency": frequency, "interval": maximum})
    assert error_of({"frequency": frequency, "interval": maximum + 1}) == (
        f"{R}.interval",
        f"interval {maximum + 1} is too large for frequency {frequency}; "
        f"the maximum is {maximum}.",
    )


def test_it_rejects_an_end_time_before_the_start_time():
    data = {"frequency": "Day", "endTime": "2024-01-01"}
    assert error_of(data, start_time=utc("2024-02-01T00:00:00")) == (
        f"{R}.endTime",
        "endTime 2024-01-01T00:00:00Z is before startTime 2024-02-01T00:00:00Z; "
        "the job would never run.",
    )


def test_it_accepts_an_end_time_equal_to_the_start_time():
    rec = recurrence_from_json({"frequency": "Day", "endTime": "2024-02-01T00:00:00Z"})
    validate_recurrence(rec, start_time=utc("2024-02-01T00:00:00"))


def test_it_accepts_an_end_time_in_the_past():
    """The latest doc: "You can set a value for endTime that's in the past"."""
    rec = recurrence_from_json({"frequency": "Day", "endTime": "2001-01-01T00:00:00Z"})
    validate_recurrence(rec, start_time=None, created_at=utc("2024-01-01T00:00:00"))


def test_it_rejects_month_days_an_interval_never_reaches():
    """Every 12 months from February only ever visits February: no 30th."""
    data = {"frequency": "Month", "interval": 12, "schedule": {"monthDays": [30]}}
    assert error_of(data, start_time=utc("2024-02-01T00:00:00")) == (
        S,
        "This recurrence never produces an occurrence: every 12 months from the "
        "first run never matches the schedule's monthDays.",
    )
    validate_recurrence(recurrence_from_json(data), start_time=utc("2024-03-01T00:00"))


def test_it_rejects_hours_an_interval_never_reaches_from_the_start():
    """Every 2 hours from an even hour never reaches hour 3."""
    data = {"frequency": "Hour", "interval": 2, "schedule": {"hours": [3]}}
    assert error_of(data, start_time=utc("2024-02-01T00:00:00")) == (
        S,
        "This recurrence never produces an occurrence: every 2 hours from the "
        "first run never matches the schedule's hours.",
    )
    validate_recurrence(recurrence_from_json(data), start_time=utc("2024-02-01T01:00"))


def test_it_checks_reachability_from_creation_without_a_start_time():
    data = {"frequency": "Minute", "interval": 2, "schedule": {"minutes": [1]}}
    assert error_of(data, start_time=None, created_at=utc("2024-02-01T10:00:00")) == (
        S,
        "This recurrence never produces an occurrence: every 2 minutes from the "
        "first run never matches the schedule's minutes.",
    )
    rec = recurrence_from_json(data)  # the first run is unknown: accepted
    validate_recurrence(rec, start_time=None, created_at=utc("2024-02-01T10:01:00"))


def test_it_accepts_a_fifth_friday_in_february_every_year():
    """Rare (29 February on a Friday) but possible: 2008, 2036, ..."""
    data = {
        "frequency": "Month",
        "interval": 12,
        "schedule": {"monthlyOccurrences": [{"day": "Friday", "occurrence": 5}]},
    }
    validate_recurrence(recurrence_from_json(data), start_time=utc("2024-02-01T00:00"))


@pytest.mark.parametrize(
    ("data", "quota", "every", "allowed"),
    [
        ({"frequency": "Minute", "interval": 30}, ("Hour", 1), "30 minutes", "1 hour"),
        (
            {"frequency": "Day", "schedule": {"minutes": [0, 30]}},
            ("Hour", 1),
            "30 minutes",
            "1 hour",
        ),
        (
            {"frequency": "Month", "schedule": {"monthDays": [1, -1]}},
            ("Week", 1),
            "1 day",
            "1 week",
        ),
        ({"frequency": "Minute"}, ("Minute", 5), "1 minute", "5 minutes"),
    ],
)
def test_it_rejects_recurrences_more_frequent_than_the_quota(
    data, quota, every, allowed
):
    with pytest.raises(RecurrenceQuotaError) as raised:
        validate_recurrence(
            recurrence_from_json(data), start_time=None, max_recurrence=quota
        )
    assert raised.value.field == R
    assert raised.value.message == (
        f"The job recurs every {every}, more often than its job collection allows "
        f"(maxRecurrence: once every {allowed})."
    )


@pytest.mark.parametrize(
    ("data", "quota"),
    [
        ({"frequency": "Hour"}, ("Hour", 1)),
        ({"frequency": "Minute", "interval": 60}, ("Hour", 1)),
        ({"frequency": "Day", "schedule": {"hours": [9, 10]}}, ("Hour", 1)),
        ({"frequency": "Month"}, ("Month", 1)),
        ({"frequency": "Minute"}, ("Minute", 1)),
    ],
)
def test_it_accepts_recurrences_within_the_quota(data, quota):
    validate_recurrence(
        recurrence_from_json(data), start_time=None, max_recurrence=quota
    )


def test_it_validates_values_built_without_json():
    """Admin and commands build Recurrence values directly: same validator."""
    bad = [
        (Recurrence(frequency="day"), f"{R}.frequency"),
        (Recurrence(frequency="Day", interval=0), f"{R}.interval"),
        (Recurrence(frequency="Day", interval="2"), f"{R}.interval"),
        (Recurrence(frequency="Day", count=2.5), f"{R}.count"),
        (Recurrence(frequency="Day", count=0), f"{R}.count"),
        (
            Recurrence(frequency="Day", schedule=Schedule(hours=(True,))),
            f"{S}.hours[0]",
        ),
        (
            Recurrence(frequency="Day", schedule=Schedule(minutes=(5.0,))),
            f"{S}.minutes[0]",
        ),
        (
            Recurrence(frequency="Week", schedule=Schedule(week_days=("monday",))),
            f"{S}.weekDays[0]",
        ),
        (
            Recurrence(
                frequency="Month",
                schedule=Schedule(
                    monthly_occurrences=(MonthlyOccurrence("Friday", 9),)
                ),
            ),
            f"{S}.monthlyOccurrences[0].occurrence",
        ),
    ]
    for rec, field in bad:
        with pytest.raises(RecurrenceError) as raised:
            validate_recurrence(rec, start_time=None)
        assert raised.value.field == field


def test_it_accepts_no_recurrence():
    validate_recurrence(None, start_time=None)
