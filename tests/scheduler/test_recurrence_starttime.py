"""Azure's startTime table, count from creation, count + endTime, one-time jobs.

startTime | no recurrence | recurrence             | recurrence with schedule
none      | once, now     | now, then step by step | now, then the schedule
past      | once, now     | first start + k*step   | the schedule computed from
          |               | that is not past       | the start, past ones dropped
future    | once, start   | start, then steps      | schedule, no sooner than start
"""

import time
from datetime import UTC, datetime, timedelta
from itertools import islice

import pytest

from core.recurrence import Recurrence, Schedule, next_occurrence, occurrences
from core.recurrence_json import recurrence_from_json


def utc(text):
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def iso(series, n=10):
    return [moment.isoformat() for moment in islice(series, n)]


CREATED = utc("2024-01-10T10:07:03.250000")  # a Wednesday
HOURLY = Recurrence(frequency="Hour")
DAILY_AT_NINE = Recurrence(frequency="Day", schedule=Schedule(hours=(9,), minutes=(0,)))


def series(start, rec, n=3, created=CREATED, after=None):
    return iso(
        occurrences(
            start_time=None if start is None else utc(start),
            recurrence=rec,
            created_at=created,
            after=after,
        ),
        n,
    )


# --- no start time ---------------------------------------------------------------


def test_it_runs_a_one_time_job_without_start_once_immediately():
    assert series(None, None) == ["2024-01-10T10:07:03.250000+00:00"]


def test_it_runs_a_recurrence_without_start_now_then_every_step_from_now():
    assert series(None, HOURLY) == [
        "2024-01-10T10:07:03.250000+00:00",
        "2024-01-10T11:07:03+00:00",
        "2024-01-10T12:07:03+00:00",
    ]


def test_it_runs_a_schedule_without_start_now_then_on_the_schedule():
    """The second comes from the first execution, the creation time."""
    assert series(None, DAILY_AT_NINE) == [
        "2024-01-10T10:07:03.250000+00:00",
        "2024-01-11T09:00:03+00:00",
        "2024-01-12T09:00:03+00:00",
    ]


# --- start time in the past ------------------------------------------------------


def test_it_runs_a_one_time_job_with_past_start_once_immediately():
    assert series("2024-01-01T00:00:00", None) == ["2024-01-10T10:07:03.250000+00:00"]


def test_it_runs_the_first_future_instance_of_a_past_start():
    """The doc's worked example: now 2015-04-08 13:00, start 04-07 14:00, Day 2."""
    rec = Recurrence(frequency="Day", interval=2)
    created = utc("2015-04-08T13:00:00")
    expected = [
        "2015-04-09T14:00:00+00:00",
        "2015-04-11T14:00:00+00:00",
        "2015-04-13T14:00:00+00:00",
        "2015-04-15T14:00:00+00:00",
    ]
    for start in ("2015-04-07T14:00:00", "2015-04-05T14:00:00", "2015-04-01T14:00:00"):
        assert series(start, rec, 4, created=created) == expected


def test_it_keeps_an_instance_exactly_at_creation():
    rec = Recurrence(frequency="Day", interval=2)
    created = utc("2015-04-09T14:00:00")
    assert series("2015-04-07T14:00:00", rec, 1, created=created) == [
        "2015-04-09T14:00:00+00:00"
    ]


def test_it_computes_a_schedule_from_a_past_start():
    """Week 2 on Mondays from Monday 1 January: the 15th, not the 22nd."""
    rec = recurrence_from_json(
        {"frequency": "Week", "interval": 2, "schedule": {"weekDays": ["Monday"]}}
    )
    assert series("2024-01-01T09:00:00", rec) == [
        "2024-01-15T09:00:00+00:00",
        "2024-01-29T09:00:00+00:00",
        "2024-02-12T09:00:00+00:00",
    ]


def test_it_takes_missing_schedule_values_from_a_past_start():
    rec = recurrence_from_json(
        {"frequency": "Week", "schedule": {"weekDays": ["Friday"]}}
    )
    assert series("2023-03-03T06:45:30", rec, 2) == [
        "2024-01-12T06:45:30+00:00",
        "2024-01-19T06:45:30+00:00",
    ]


# --- start time in the future or now --------------------------------------------


def test_it_runs_a_one_time_job_at_a_future_start():
    assert series("2024-02-01T08:00:00", None) == ["2024-02-01T08:00:00+00:00"]


def test_it_treats_a_start_equal_to_creation_as_future():
    assert series("2024-01-10T10:07:03.250000", None) == [
        "2024-01-10T10:07:03.250000+00:00"
    ]


def test_it_starts_a_recurrence_at_a_future_start():
    assert series("2024-02-01T08:00:00", HOURLY) == [
        "2024-02-01T08:00:00+00:00",
        "2024-02-01T09:00:00+00:00",
        "2024-02-01T10:00:00+00:00",
    ]


def test_it_runs_a_schedule_no_sooner_than_a_future_start():
    """Start Thursday 08:00 with Mondays at 07:00: the start itself never runs."""
    rec = recurrence_from_json(
        {"frequency": "Week", "schedule": {"weekDays": ["Monday"], "hours": [7]}}
    )
    assert series("2024-02-01T08:00:00", rec, 2) == [
        "2024-02-05T07:00:00+00:00",
        "2024-02-12T07:00:00+00:00",
    ]


def test_it_skips_months_without_the_start_day():
    rec = Recurrence(frequency="Month")
    assert series("2024-01-31T12:00:00", rec, 4) == [
        "2024-01-31T12:00:00+00:00",
        "2024-03-31T12:00:00+00:00",
        "2024-05-31T12:00:00+00:00",
        "2024-07-31T12:00:00+00:00",
    ]


# --- count, endTime, one-time ----------------------------------------------------


def test_it_counts_from_creation_when_the_start_is_past():
    rec = Recurrence(frequency="Day", count=3)
    assert series("2024-01-01T09:00:00", rec, 10) == [
        "2024-01-11T09:00:00+00:00",
        "2024-01-12T09:00:00+00:00",
        "2024-01-13T09:00:00+00:00",
    ]


def test_it_finishes_a_daily_count_of_7_from_monday_on_sunday():
    rec = Recurrence(frequency="Day", count=7)
    runs = series("2024-01-15T09:00:00", rec, 10)  # a Monday
    assert runs[-1] == "2024-01-21T09:00:00+00:00"  # a Sunday
    assert len(runs) == 7


def test_it_counts_the_immediate_run_of_a_job_without_start():
    rec = Recurrence(frequency="Hour", count=2)
    assert series(None, rec, 10) == [
        "2024-01-10T10:07:03.250000+00:00",
        "2024-01-10T11:07:03+00:00",
    ]


def test_it_ends_at_end_time_when_it_comes_before_count():
    rec = Recurrence(frequency="Day", count=10, end_time=utc("2024-02-03T09:00:00"))
    assert series("2024-02-01T09:00:00", rec, 20) == [
        "2024-02-01T09:00:00+00:00",
        "2024-02-02T09:00:00+00:00",
        "2024-02-03T09:00:00+00:00",  # endTime is inclusive
    ]


def test_it_ends_at_count_when_it_comes_before_end_time():
    rec = Recurrence(frequency="Day", count=2, end_time=utc("2024-12-31T00:00:00"))
    assert series("2024-02-01T09:00:00", rec, 20) == [
        "2024-02-01T09:00:00+00:00",
        "2024-02-02T09:00:00+00:00",
    ]


def test_it_yields_nothing_once_end_time_has_passed():
    rec = Recurrence(frequency="Day", end_time=utc("2024-01-05T00:00:00"))
    assert series("2024-01-01T09:00:00", rec) == []
    assert series(None, rec) == []  # not even the immediate run


def test_it_runs_a_one_time_job_once():
    once = utc("2024-02-01T08:00:00")
    kwargs = {"start_time": once, "recurrence": None, "created_at": CREATED}
    assert next_occurrence(**kwargs) == once
    assert next_occurrence(**kwargs, after=once) is None


def test_it_walks_the_same_series_one_run_at_a_time():
    rec = Recurrence(
        frequency="Week",
        count=5,
        schedule=Schedule(week_days=("Tuesday", "Saturday"), hours=(6, 18)),
    )
    kwargs = {"start_time": utc("2024-01-01T00:00:00"), "recurrence": rec}
    walked, previous = [], None
    while moment := next_occurrence(**kwargs, created_at=CREATED, after=previous):
        walked.append(moment)
        previous = moment
    assert walked == list(occurrences(**kwargs, created_at=CREATED))
    assert iso(walked) == [
        "2024-01-13T06:00:00+00:00",  # created on Wednesday the 10th
        "2024-01-13T18:00:00+00:00",
        "2024-01-16T06:00:00+00:00",
        "2024-01-16T18:00:00+00:00",
        "2024-01-20T06:00:00+00:00",
    ]


def test_it_lists_only_occurrences_strictly_after_after():
    after = utc("2024-02-01T09:00:00")
    assert series("2024-02-01T08:00:00", HOURLY, 2, after=after) == [
        "2024-02-01T10:00:00+00:00",
        "2024-02-01T11:00:00+00:00",
    ]


def test_it_jumps_ahead_without_walking_years_of_minutes():
    rec = Recurrence(frequency="Minute", interval=7, schedule=Schedule(hours=(9,)))
    began = time.perf_counter()
    runs = series("2020-01-01T00:00:30", rec, 2, after=utc("2024-06-01T09:59:00"))
    assert time.perf_counter() - began < 0.5
    # 1614 days after 2020-01-01, 2024-06-02T00:00 is 6 (mod 7) minutes past the
    # grid, so 09:00 (540 = 1 mod 7) is on it; on 1 June hour 9 ran 09:05-09:54.
    assert runs == ["2024-06-02T09:00:30+00:00", "2024-06-02T09:07:30+00:00"]


@pytest.mark.parametrize("name", ["created_at", "start_time", "after"])
def test_it_rejects_naive_datetimes(name):
    kwargs = {
        "start_time": utc("2024-01-01T00:00:00"),
        "recurrence": HOURLY,
        "created_at": CREATED,
        "after": CREATED + timedelta(days=1),
    }
    kwargs[name] = kwargs[name].replace(tzinfo=None)
    with pytest.raises(ValueError, match=f"{name} must be an aware datetime"):
        occurrences(**kwargs)
