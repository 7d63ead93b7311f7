"""ARM JSON in and out: case-insensitive input, spec names and casing out."""

from datetime import UTC, datetime, timedelta, timezone

from core.recurrence import MonthlyOccurrence, Recurrence, Schedule
from core.recurrence_json import recurrence_from_json, recurrence_to_json


def test_it_reads_what_the_real_service_and_the_sdk_send():
    """Lower-case enums as the service echoed them; SDK's capital "Occurrence"."""
    rec = recurrence_from_json(
        {
            "frequency": "month",
            "interval": 2,
            "count": 10000,
            "endTime": "2020-10-10T10:10:10Z",
            "schedule": {
                "monthlyOccurrences": [
                    {"day": "monday", "Occurrence": 1},
                    {"day": "FRIDAY", "occurrence": -1},
                    {"day": "Sunday"},
                ]
            },
        }
    )
    assert rec == Recurrence(
        frequency="Month",
        interval=2,
        count=10000,
        end_time=datetime(2020, 10, 10, 10, 10, 10, tzinfo=UTC),
        schedule=Schedule(
            monthly_occurrences=(
                MonthlyOccurrence("Monday", 1),
                MonthlyOccurrence("Friday", -1),
                MonthlyOccurrence("Sunday", None),
            )
        ),
    )


def test_it_matches_property_names_without_case():
    rec = recurrence_from_json(
        {"Frequency": "Week", "SCHEDULE": {"weekdays": ["tuesday"], "Hours": [7]}}
    )
    assert rec.schedule == Schedule(week_days=("Tuesday",), hours=(7,))


def test_it_defaults_interval_to_one_and_ignores_nulls():
    rec = recurrence_from_json(
        {"frequency": "Day", "interval": None, "count": None, "schedule": None}
    )
    assert rec == Recurrence(frequency="Day")


def test_it_reads_an_empty_schedule_as_none():
    rec = recurrence_from_json({"frequency": "Day", "schedule": {"hours": []}})
    assert rec.schedule is None


def test_it_reads_end_times_as_dates_offsets_or_utc():
    def end(text):
        return recurrence_from_json({"frequency": "Day", "endTime": text}).end_time

    assert end("2012-11-04") == datetime(2012, 11, 4, tzinfo=UTC)
    assert end("2016-01-01T00:00:00.000Z") == datetime(2016, 1, 1, tzinfo=UTC)
    assert end("2016-01-01T02:00:00") == datetime(2016, 1, 1, 2, tzinfo=UTC)
    assert end("2016-01-01T02:00:00+02:00") == datetime(
        2016, 1, 1, 2, tzinfo=timezone(timedelta(hours=2))
    )


def test_it_keeps_the_order_of_schedule_lists():
    rec = recurrence_from_json(
        {"frequency": "Day", "schedule": {"hours": [17, 5], "minutes": [45, 15]}}
    )
    assert rec.schedule == Schedule(hours=(17, 5), minutes=(45, 15))


def test_it_writes_spec_names_and_canonical_values():
    rec = recurrence_from_json(
        {
            "frequency": "week",
            "count": 3,
            "endTime": "2024-05-01T12:00:00+02:00",
            "schedule": {"weekDays": ["friday"], "minutes": [0], "hours": [9]},
        }
    )
    assert recurrence_to_json(rec) == {
        "frequency": "Week",
        "interval": 1,
        "count": 3,
        "endTime": "2024-05-01T10:00:00Z",
        "schedule": {"minutes": [0], "hours": [9], "weekDays": ["Friday"]},
    }


def test_it_writes_occurrence_with_a_capital_o_for_the_sdk():
    rec = Recurrence(
        frequency="Month",
        schedule=Schedule(
            month_days=(1, -1),
            monthly_occurrences=(
                MonthlyOccurrence("Friday", -1),
                MonthlyOccurrence("Monday"),
            ),
        ),
    )
    assert recurrence_to_json(rec)["schedule"] == {
        "monthDays": [1, -1],
        "monthlyOccurrences": [
            {"day": "Friday", "Occurrence": -1},
            {"day": "Monday"},
        ],
    }


def test_it_round_trips():
    data = {
        "frequency": "Month",
        "interval": 3,
        "count": 4,
        "schedule": {
            "minutes": [15],
            "hours": [5, 17],
            "monthlyOccurrences": [{"day": "Wednesday", "Occurrence": 3}],
        },
    }
    assert recurrence_to_json(recurrence_from_json(data)) == data


def test_it_maps_none_to_none():
    assert recurrence_from_json(None) is None
    assert recurrence_to_json(None) is None
