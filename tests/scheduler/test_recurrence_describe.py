"""Plain-English descriptions of recurrences, for the admin and the CLI."""

from datetime import UTC, datetime

import pytest

from core.recurrence_json import recurrence_from_json
from core.recurrence_words import describe_recurrence

START = datetime(2024, 1, 1, 9, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("data", "start", "text"),
    [
        (
            {
                "frequency": "Week",
                "interval": 2,
                "count": 10,
                "schedule": {
                    "weekDays": ["Friday", "Monday"],
                    "hours": [9, 17],
                    "minutes": [0],
                },
            },
            None,
            "Every 2 weeks on Monday and Friday at 09:00, 17:00 UTC, 10 times",
        ),
        ({"frequency": "Minute"}, None, "Every minute"),
        ({"frequency": "Minute", "interval": 5}, None, "Every 5 minutes"),
        (
            {"frequency": "Minute", "interval": 5, "schedule": {"hours": [9, 10]}},
            None,
            "Every 5 minutes in hour 9 and 10 UTC",
        ),
        (
            {"frequency": "Hour", "schedule": {"minutes": [0, 30]}},
            None,
            "Every hour at minute 0 and 30",
        ),
        ({"frequency": "Day"}, START, "Every day at 09:30 UTC"),
        ({"frequency": "Day"}, None, "Every day at the time of the first run"),
        (
            {"frequency": "Day", "schedule": {"hours": [5]}},
            START,
            "Every day at 05:30 UTC",
        ),
        (
            {"frequency": "Day", "schedule": {"hours": [5]}},
            None,
            "Every day in hour 5 UTC",
        ),
        (
            {"frequency": "Day", "schedule": {"minutes": [0, 15, 30, 45]}},
            START,
            "Every day at minute 0, 15, 30 and 45 of every hour",
        ),
        (
            {
                "frequency": "Month",
                "schedule": {
                    "monthDays": [-1, 1, 14, -3],
                    "hours": [6],
                    "minutes": [0],
                },
            },
            None,
            "Every month on day 1, day 14, the 3rd-last day and the last day of the "
            "month at 06:00 UTC",
        ),
        (
            {
                "frequency": "Month",
                "schedule": {
                    "monthlyOccurrences": [
                        {"day": "Friday", "occurrence": 1},
                        {"day": "Friday", "occurrence": -1},
                        {"day": "Friday", "occurrence": -3},
                        {"day": "Sunday"},
                    ]
                },
            },
            START,
            "Every month on the first Friday, the last Friday, the third-last Friday "
            "and every Sunday of the month at 09:30 UTC",
        ),
        (
            {"frequency": "Day", "count": 1, "endTime": "2024-03-01"},
            START,
            "Every day at 09:30 UTC, 1 time or until 2024-03-01T00:00:00Z, whichever "
            "comes first",
        ),
        (
            {"frequency": "Week", "endTime": "2024-03-01"},
            START,
            "Every week at 09:30 UTC, until 2024-03-01T00:00:00Z",
        ),
    ],
)
def test_it_describes_recurrences(data, start, text):
    assert describe_recurrence(recurrence_from_json(data), start) == text


def test_it_describes_one_time_jobs():
    assert describe_recurrence(None, START) == "Once at 2024-01-01T09:30:00Z"
    assert describe_recurrence(None, None) == "Once, immediately"
