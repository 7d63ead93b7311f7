"""The 31 schedule examples of Azure's "Build advanced schedules and recurrences".

Each runs with a start time in the future (2024-01-01 09:00:00Z, a Monday, unless
the example names another), interval 1 and the frequency the doc assumes, and
asserts the first occurrences exactly. Dates checked against a 2024 calendar:
Fridays in January 5, 12, 19, 26; February 2, 9, 16, 23; March 1, 8, 15, 22, 29.
"""

from datetime import UTC, datetime
from itertools import islice

import pytest

from core.recurrence import occurrences
from core.recurrence_json import recurrence_from_json

START = "2024-01-01T09:00:00"
CREATED = datetime(2023, 12, 1, tzinfo=UTC)


def utc(text):
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def first(frequency, schedule, n, *, start=START, after=None):
    rec = recurrence_from_json({"frequency": frequency, "schedule": schedule})
    series = occurrences(
        start_time=utc(start),
        recurrence=rec,
        created_at=CREATED,
        after=None if after is None else utc(after),
    )
    return [moment.strftime("%Y-%m-%dT%H:%M:%S") for moment in islice(series, n)]


EXAMPLES = [
    # 1: 5 AM every day (the minute is the start's, 00)
    (
        "Day",
        {"hours": [5]},
        ["2024-01-02T05:00:00", "2024-01-03T05:00:00", "2024-01-04T05:00:00"],
    ),
    # 2: 5:15 AM every day
    (
        "Day",
        {"minutes": [15], "hours": [5]},
        ["2024-01-02T05:15:00", "2024-01-03T05:15:00", "2024-01-04T05:15:00"],
    ),
    # 3: 5:15 AM and 5:15 PM every day
    (
        "Day",
        {"minutes": [15], "hours": [5, 17]},
        [
            "2024-01-01T17:15:00",
            "2024-01-02T05:15:00",
            "2024-01-02T17:15:00",
            "2024-01-03T05:15:00",
        ],
    ),
    # 4: 5:15, 5:45, 17:15, 17:45 every day
    (
        "Day",
        {"minutes": [15, 45], "hours": [5, 17]},
        [
            "2024-01-01T17:15:00",
            "2024-01-01T17:45:00",
            "2024-01-02T05:15:00",
            "2024-01-02T05:45:00",
            "2024-01-02T17:15:00",
            "2024-01-02T17:45:00",
        ],
    ),
    # 5: every 15 minutes
    (
        "Day",
        {"minutes": [0, 15, 30, 45]},
        [
            "2024-01-01T09:00:00",
            "2024-01-01T09:15:00",
            "2024-01-01T09:30:00",
            "2024-01-01T09:45:00",
            "2024-01-01T10:00:00",
        ],
    ),
    # 7: every hour on the hour (frequency day)
    (
        "Day",
        {"minutes": [0]},
        ["2024-01-01T09:00:00", "2024-01-01T10:00:00", "2024-01-01T11:00:00"],
    ),
    # 8: 15 minutes past every hour
    (
        "Day",
        {"minutes": [15]},
        ["2024-01-01T09:15:00", "2024-01-01T10:15:00", "2024-01-01T11:15:00"],
    ),
    # 9: 5 PM on Saturday every week
    (
        "Week",
        {"hours": [17], "weekDays": ["saturday"]},
        ["2024-01-06T17:00:00", "2024-01-13T17:00:00", "2024-01-20T17:00:00"],
    ),
    # 10: 5 PM on Monday, Wednesday and Friday
    (
        "Week",
        {"hours": [17], "weekDays": ["monday", "wednesday", "friday"]},
        [
            "2024-01-01T17:00:00",
            "2024-01-03T17:00:00",
            "2024-01-05T17:00:00",
            "2024-01-08T17:00:00",
        ],
    ),
    # 11: 5:15 PM and 5:45 PM on Monday, Wednesday and Friday
    (
        "Week",
        {
            "minutes": [15, 45],
            "hours": [17],
            "weekDays": ["monday", "wednesday", "friday"],
        },
        [
            "2024-01-01T17:15:00",
            "2024-01-01T17:45:00",
            "2024-01-03T17:15:00",
            "2024-01-03T17:45:00",
            "2024-01-05T17:15:00",
        ],
    ),
    # 12: 5 AM and 5 PM on Monday, Wednesday and Friday
    (
        "Week",
        {"hours": [5, 17], "weekDays": ["monday", "wednesday", "friday"]},
        [
            "2024-01-01T17:00:00",  # Monday 05:00 is before the start
            "2024-01-03T05:00:00",
            "2024-01-03T17:00:00",
            "2024-01-05T05:00:00",
            "2024-01-05T17:00:00",
            "2024-01-08T05:00:00",
        ],
    ),
    # 13: 5:15, 5:45, 17:15, 17:45 on Monday, Wednesday and Friday
    (
        "Week",
        {
            "minutes": [15, 45],
            "hours": [5, 17],
            "weekDays": ["monday", "wednesday", "friday"],
        },
        [
            "2024-01-01T17:15:00",
            "2024-01-01T17:45:00",
            "2024-01-03T05:15:00",
            "2024-01-03T05:45:00",
            "2024-01-03T17:15:00",
            "2024-01-03T17:45:00",
            "2024-01-05T05:15:00",
        ],
    ),
    # 14: every 15 minutes on weekdays
    (
        "Week",
        {
            "minutes": [0, 15, 30, 45],
            "weekDays": ["monday", "tuesday", "wednesday", "thursday", "friday"],
        },
        ["2024-01-01T09:00:00", "2024-01-01T09:15:00", "2024-01-01T09:30:00"],
    ),
    # 15: every 15 minutes on weekdays between 9 AM and 4:45 PM
    (
        "Week",
        {
            "minutes": [0, 15, 30, 45],
            "hours": [9, 10, 11, 12, 13, 14, 15, 16],
            "weekDays": ["monday", "tuesday", "wednesday", "thursday", "friday"],
        },
        ["2024-01-01T09:00:00", "2024-01-01T09:15:00", "2024-01-01T09:30:00"],
    ),
    # 16: Sundays at start time
    (
        "Week",
        {"weekDays": ["sunday"]},
        ["2024-01-07T09:00:00", "2024-01-14T09:00:00", "2024-01-21T09:00:00"],
    ),
    # 17: Tuesdays and Thursdays at start time
    (
        "Week",
        {"weekDays": ["tuesday", "thursday"]},
        [
            "2024-01-02T09:00:00",
            "2024-01-04T09:00:00",
            "2024-01-09T09:00:00",
            "2024-01-11T09:00:00",
        ],
    ),
    # 18: 6 AM on the 28th of every month
    (
        "Month",
        {"minutes": [0], "hours": [6], "monthDays": [28]},
        ["2024-01-28T06:00:00", "2024-02-28T06:00:00", "2024-03-28T06:00:00"],
    ),
    # 19: 6 AM on the last day of the month
    (
        "Month",
        {"minutes": [0], "hours": [6], "monthDays": [-1]},
        [
            "2024-01-31T06:00:00",
            "2024-02-29T06:00:00",
            "2024-03-31T06:00:00",
            "2024-04-30T06:00:00",
        ],
    ),
    # 20: 6 AM on the first and last day of every month
    (
        "Month",
        {"minutes": [0], "hours": [6], "monthDays": [1, -1]},
        [
            "2024-01-31T06:00:00",  # 1 January 06:00 is before the start
            "2024-02-01T06:00:00",
            "2024-02-29T06:00:00",
            "2024-03-01T06:00:00",
        ],
    ),
    # 21: first and last day of every month at start time
    (
        "Month",
        {"monthDays": [1, -1]},
        [
            "2024-01-01T09:00:00",
            "2024-01-31T09:00:00",
            "2024-02-01T09:00:00",
            "2024-02-29T09:00:00",
        ],
    ),
    # 22: 1st and 14th of every month at start time
    (
        "Month",
        {"monthDays": [1, 14]},
        [
            "2024-01-01T09:00:00",
            "2024-01-14T09:00:00",
            "2024-02-01T09:00:00",
            "2024-02-14T09:00:00",
        ],
    ),
    # 23: 2nd day of the month at start time
    (
        "Month",
        {"monthDays": [2]},
        ["2024-01-02T09:00:00", "2024-02-02T09:00:00", "2024-03-02T09:00:00"],
    ),
    # 24: first Friday of every month at 5 AM
    (
        "Month",
        {
            "minutes": [0],
            "hours": [5],
            "monthlyOccurrences": [{"day": "friday", "occurrence": 1}],
        },
        ["2024-01-05T05:00:00", "2024-02-02T05:00:00", "2024-03-01T05:00:00"],
    ),
    # 25: first Friday of every month at start time
    (
        "Month",
        {"monthlyOccurrences": [{"day": "friday", "occurrence": 1}]},
        ["2024-01-05T09:00:00", "2024-02-02T09:00:00", "2024-03-01T09:00:00"],
    ),
    # 26: third Friday from the end of the month at start time
    (
        "Month",
        {"monthlyOccurrences": [{"day": "friday", "occurrence": -3}]},
        ["2024-01-12T09:00:00", "2024-02-09T09:00:00", "2024-03-15T09:00:00"],
    ),
    # 27: first and last Friday of every month at 5:15 AM
    (
        "Month",
        {
            "minutes": [15],
            "hours": [5],
            "monthlyOccurrences": [
                {"day": "friday", "occurrence": 1},
                {"day": "friday", "occurrence": -1},
            ],
        },
        [
            "2024-01-05T05:15:00",
            "2024-01-26T05:15:00",
            "2024-02-02T05:15:00",
            "2024-02-23T05:15:00",
            "2024-03-01T05:15:00",
            "2024-03-29T05:15:00",
        ],
    ),
    # 28: first and last Friday of every month at start time
    (
        "Month",
        {
            "monthlyOccurrences": [
                {"day": "friday", "occurrence": 1},
                {"day": "friday", "occurrence": -1},
            ]
        },
        [
            "2024-01-05T09:00:00",
            "2024-01-26T09:00:00",
            "2024-02-02T09:00:00",
            "2024-02-23T09:00:00",
        ],
    ),
    # 29: fifth Friday of every month; months without one are skipped
    (
        "Month",
        {"monthlyOccurrences": [{"day": "friday", "occurrence": 5}]},
        ["2024-03-29T09:00:00", "2024-05-31T09:00:00", "2024-08-30T09:00:00"],
    ),
    # 30: every 15 minutes on the last Friday of the month
    (
        "Month",
        {
            "minutes": [0, 15, 30, 45],
            "monthlyOccurrences": [{"day": "friday", "occurrence": -1}],
        },
        [
            "2024-01-26T00:00:00",
            "2024-01-26T00:15:00",
            "2024-01-26T00:30:00",
            "2024-01-26T00:45:00",
            "2024-01-26T01:00:00",
        ],
    ),
    # 31: 5:15, 5:45, 17:15, 17:45 on the third Wednesday of every month
    (
        "Month",
        {
            "minutes": [15, 45],
            "hours": [5, 17],
            "monthlyOccurrences": [{"day": "wednesday", "occurrence": 3}],
        },
        [
            "2024-01-17T05:15:00",
            "2024-01-17T05:45:00",
            "2024-01-17T17:15:00",
            "2024-01-17T17:45:00",
            "2024-02-21T05:15:00",
        ],
    ),
]


@pytest.mark.parametrize(("frequency", "schedule", "expected"), EXAMPLES)
def test_it_runs_the_documented_examples(frequency, schedule, expected):
    assert first(frequency, schedule, len(expected)) == expected


def test_it_runs_every_hour_at_the_start_minute_for_all_24_hours():
    """Example 6: hours 0-23 take the minute from startTime (12:25 -> xx:25)."""
    schedule = {"hours": list(range(24))}
    assert first("Day", schedule, 13, start="2024-01-01T12:25:00") == [
        *(f"2024-01-01T{hour}:25:00" for hour in range(12, 24)),
        "2024-01-02T00:25:00",
    ]


def test_it_makes_all_24_hours_equal_to_an_hourly_recurrence():
    """Example 6: "equivalent to frequency hour, interval 1, no schedule"."""
    schedule = {"hours": list(range(24))}
    hourly = first("Hour", None, 60, start="2024-01-01T12:25:00")
    assert first("Day", schedule, 60, start="2024-01-01T12:25:00") == hourly


def test_it_runs_all_24_hours_on_one_day_a_month_with_frequency_month():
    """Example 6: "with frequency month it would run only once a month"."""
    schedule = {"hours": list(range(24))}
    late = first(
        "Month", schedule, 3, start="2024-01-01T12:25:00", after=START[:11] + "23:00:00"
    )
    assert late == [
        "2024-01-01T23:25:00",
        "2024-02-01T00:25:00",
        "2024-02-01T01:25:00",
    ]


def test_it_runs_minute_zero_hourly_on_one_weekday_with_frequency_week():
    """Example 7: with frequency week, every hour but only one day a week."""
    after = "2024-01-01T22:30:00"
    assert first("Week", {"minutes": [0]}, 3, after=after) == [
        "2024-01-01T23:00:00",
        "2024-01-08T00:00:00",
        "2024-01-08T01:00:00",
    ]


def test_it_runs_minute_zero_hourly_on_one_day_with_frequency_month():
    """Example 7: with frequency month, every hour but only one day a month."""
    after = "2024-01-01T22:30:00"
    assert first("Month", {"minutes": [0]}, 2, after=after) == [
        "2024-01-01T23:00:00",
        "2024-02-01T00:00:00",
    ]


def test_it_skips_weekends_every_15_minutes_on_weekdays():
    """Example 14 over a weekend."""
    schedule = EXAMPLES[12][1]
    assert first("Week", schedule, 2, after="2024-01-05T23:45:00") == [
        "2024-01-08T00:00:00",
        "2024-01-08T00:15:00",
    ]


def test_it_stops_at_4_45_pm_and_resumes_next_weekday_at_9():
    """Example 15: between 9 AM and 4:45 PM on weekdays."""
    schedule = EXAMPLES[13][1]
    assert first("Week", schedule, 2, after="2024-01-01T16:30:00") == [
        "2024-01-01T16:45:00",
        "2024-01-02T09:00:00",
    ]
    assert first("Week", schedule, 1, after="2024-01-05T16:45:00") == [
        "2024-01-08T09:00:00",
    ]


def test_it_runs_every_15_minutes_all_day_on_the_last_friday_only():
    """Example 30: after the last slot of the day comes next month's last Friday."""
    schedule = EXAMPLES[28][1]
    assert first("Month", schedule, 2, after="2024-01-26T23:30:00") == [
        "2024-01-26T23:45:00",
        "2024-02-23T00:00:00",
    ]


def test_it_runs_the_basic_example_ten_times():
    """The doc's basic example: Week, MWF at 10 and 22, count 10, endTime."""
    rec = recurrence_from_json(
        {
            "frequency": "Week",
            "interval": 1,
            "schedule": {
                "weekDays": ["Monday", "Wednesday", "Friday"],
                "hours": [10, 22],
            },
            "count": 10,
            "endTime": "2012-11-04",
        }
    )
    series = occurrences(
        start_time=utc("2012-08-04T00:00:00"),  # a Saturday
        recurrence=rec,
        created_at=utc("2012-08-01T00:00:00"),
    )
    assert [moment.isoformat() for moment in series] == [
        "2012-08-06T10:00:00+00:00",
        "2012-08-06T22:00:00+00:00",
        "2012-08-08T10:00:00+00:00",
        "2012-08-08T22:00:00+00:00",
        "2012-08-10T10:00:00+00:00",
        "2012-08-10T22:00:00+00:00",
        "2012-08-13T10:00:00+00:00",
        "2012-08-13T22:00:00+00:00",
        "2012-08-15T10:00:00+00:00",
        "2012-08-15T22:00:00+00:00",
    ]
