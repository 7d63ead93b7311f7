"""Azure Scheduler recurrences in plain English, for the portal and the
commands. Pure, as core/recurrence.py."""

from __future__ import annotations

from datetime import UTC, datetime

from core.recurrence_types import (
    WEEK_DAYS,
    MonthlyOccurrence,
    Recurrence,
    Schedule,
    every_text,
    format_datetime,
    join_words,
    plural,
)

_ORDINALS = {1: "first", 2: "second", 3: "third", 4: "fourth", 5: "fifth"}


def describe_recurrence(rec: Recurrence | None, start_time: datetime | None) -> str:
    """Plain English, e.g. ``Every 2 weeks on Monday and Friday at 09:00, 17:00 UTC,
    10 times``. Times come from the start time where the schedule leaves them out.
    """
    if rec is None:
        if start_time is None:
            return "Once, immediately"
        return f"Once at {format_datetime(start_time)}"
    schedule = rec.schedule or Schedule()
    text = every_text(rec.frequency, rec.interval)
    if schedule.week_days:
        ordered = sorted(set(schedule.week_days), key=WEEK_DAYS.index)
        text += " on " + join_words(ordered)
    if schedule.month_days:
        text += " on " + join_words(
            _month_day_text(day) for day in _sorted_days(schedule)
        )
        text += " of the month"
    if schedule.monthly_occurrences:
        text += " on " + join_words(
            _occurrence_text(i) for i in schedule.monthly_occurrences
        )
        text += " of the month"
    times = _times_text(rec, schedule, start_time)
    if times:
        text += " " + times
    return text + _end_text(rec)


def _sorted_days(schedule: Schedule) -> list[int]:
    return sorted(set(schedule.month_days), key=lambda day: (day < 0, day))


def _month_day_text(day: int) -> str:
    if day > 0:
        return f"day {day}"
    if day == -1:
        return "the last day"
    return f"the {_ordinal_number(-day)}-last day"


def _occurrence_text(item: MonthlyOccurrence) -> str:
    if item.occurrence is None:
        return f"every {item.day}"
    if item.occurrence > 0:
        return f"the {_ORDINALS[item.occurrence]} {item.day}"
    if item.occurrence == -1:
        return f"the last {item.day}"
    return f"the {_ORDINALS[-item.occurrence]}-last {item.day}"


def _ordinal_number(number: int) -> str:
    if 10 <= number % 100 <= 20:
        return f"{number}th"
    return f"{number}{({1: 'st', 2: 'nd', 3: 'rd'}).get(number % 10, 'th')}"


def _times_text(
    rec: Recurrence, schedule: Schedule, start_time: datetime | None
) -> str:
    minutes = sorted(set(schedule.minutes))
    hours = sorted(set(schedule.hours))
    if rec.frequency in ("Minute", "Hour"):
        parts = []
        if minutes:
            parts.append("at minute " + join_words(str(m) for m in minutes))
        if hours:
            parts.append("in hour " + join_words(str(h) for h in hours) + " UTC")
        return " ".join(parts)
    start = None if start_time is None else start_time.astimezone(UTC)
    if minutes and not hours:
        return "at minute " + join_words(str(m) for m in minutes) + " of every hour"
    if not hours:
        if start is None:
            return "at the time of the first run"
        hours = [start.hour]
    if not minutes:
        if start is None:
            return "in hour " + join_words(str(h) for h in hours) + " UTC"
        minutes = [start.minute]
    return (
        "at " + ", ".join(f"{h:02d}:{m:02d}" for h in hours for m in minutes) + " UTC"
    )


def _end_text(rec: Recurrence) -> str:
    count = None if rec.count is None else plural(rec.count, "time")
    end = None if rec.end_time is None else format_datetime(rec.end_time)
    if count and end:
        return f", {count} or until {end}, whichever comes first"
    if count:
        return f", {count}"
    if end:
        return f", until {end}"
    return ""
