"""Azure Scheduler recurrences (API 2016-03-01): the values, their limits and
the messages a user sees, and the small helpers the other recurrence modules
share. The series of a job is core/recurrence_series.py (with Azure's rules in
its docstring), the validator core/recurrence_validation.py; core/recurrence.py
gathers them for the layers above. Pure: no Django, no I/O, no clock read.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

FREQUENCIES = ("Minute", "Hour", "Day", "Week", "Month")
# advanced-complexity doc: "18 months, 78 weeks, 548 days; for hours and minutes
# 1 <= interval <= 1000".
MAX_INTERVAL = {"Minute": 1000, "Hour": 1000, "Day": 548, "Week": 78, "Month": 18}
WEEK_DAYS = (
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
)  # index == datetime.weekday()

NOT_AN_INTEGER = "{name} must be a whole number, got {value}."
FREQUENCY_UNKNOWN = (
    '"{value}" is not a recurrence frequency; use Minute, Hour, Day, Week or Month.'
)
INTERVAL_TOO_SMALL = "interval must be at least 1, got {interval}."
INTERVAL_TOO_LARGE = (
    "interval {interval} is too large for frequency {frequency}; "
    "the maximum is {maximum}."
)
COUNT_TOO_SMALL = "count must be at least 1, got {count}."
COUNT_TOO_LARGE = (
    "count must be at most 2147483647 (an Int32, as Azure's), got {count}."
)
MAX_COUNT = 2**31 - 1
MINUTE_OUT_OF_RANGE = "{value} is not a minute; minutes are 0 to 59."
HOUR_OUT_OF_RANGE = "{value} is not an hour; hours are 0 to 23."
MONTH_DAY_OUT_OF_RANGE = (
    "{value} is not a day of the month; use 1 to 31, or -1 (the last day) to -31."
)
WEEK_DAY_UNKNOWN = '"{value}" is not a day of the week; use Monday to Sunday.'
OCCURRENCE_OUT_OF_RANGE = (
    "{value} is not an occurrence in a month; use 1 to 5, or -1 (the last) to -5."
)
ELEMENT_NEEDS_FREQUENCY = (
    "{element} can be used only with frequency {needed}; "
    "this recurrence has frequency {frequency}."
)
END_BEFORE_START = "endTime {end} is before startTime {start}; the job would never run."
NEVER_FIRES = (
    "This recurrence never produces an occurrence: {every} from the first run "
    "never matches the schedule's {elements}."
)
QUOTA_EXCEEDED = (
    "The job recurs every {every}, more often than its job collection allows "
    "(maxRecurrence: once every {allowed})."
)
RECURRENCE_PATH = "properties.recurrence"
# The earliest start or end accepted: far enough for any real schedule, and the
# series' arithmetic never comes near the calendar's start.
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)


class RecurrenceError(ValueError):
    """An invalid recurrence; ``field`` is the JSON path, as ARM errors name it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


class RecurrenceQuotaError(RecurrenceError):
    """The recurrence is valid but more frequent than the collection's quota.

    Azure answers this with 409 Conflict, not 400, hence its own class.
    """


@dataclass(frozen=True)
class MonthlyOccurrence:
    """``{"day": "Friday", "occurrence": -1}``: the last Friday of the month.

    ``occurrence`` None means every such weekday of the month.
    """

    day: str
    occurrence: int | None = None


@dataclass(frozen=True)
class Schedule:
    """The optional ``schedule`` of a recurrence; an empty tuple means absent."""

    minutes: tuple[int, ...] = ()
    hours: tuple[int, ...] = ()
    week_days: tuple[str, ...] = ()
    month_days: tuple[int, ...] = ()
    monthly_occurrences: tuple[MonthlyOccurrence, ...] = ()

    def is_empty(self) -> bool:
        return not (
            self.minutes
            or self.hours
            or self.week_days
            or self.month_days
            or self.monthly_occurrences
        )


@dataclass(frozen=True)
class Recurrence:
    frequency: str
    interval: int = 1
    count: int | None = None
    end_time: datetime | None = None
    schedule: Schedule | None = None


# --- text helpers shared by the recurrence modules -----------------------------


def format_datetime(value: datetime) -> str:
    """``2024-01-31T09:00:00Z``: UTC, whole seconds, as the service wrote them."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def as_integer(value: Any, path: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise RecurrenceError(
            path, NOT_AN_INTEGER.format(name=field_leaf(path), value=json_text(value))
        )
    return value


def field_leaf(path: str) -> str:
    """``properties.recurrence.schedule.hours[1]`` -> ``hours[1]``."""
    return path.rsplit(".", 1)[-1]


def json_text(value: Any) -> str:
    try:
        return json.dumps(value)
    except (TypeError, ValueError):
        return repr(value)


def every_text(frequency: str, interval: int) -> str:
    unit = frequency.lower()
    return f"Every {unit}" if interval == 1 else f"Every {interval} {unit}s"


def plural(number: int, unit: str) -> str:
    return f"{number} {unit}" if number == 1 else f"{number} {unit}s"


def join_words(words: Iterable[str]) -> str:
    words = list(words)
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]


# --- aware datetimes in, naive UTC inside -------------------------------------


def naive_utc(value: datetime) -> datetime:
    return value.astimezone(UTC).replace(tzinfo=None)


def require_aware(name: str, value: datetime) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime (UTC), got {value!r}.")
