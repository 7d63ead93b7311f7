"""Azure Scheduler recurrences as ARM JSON (``properties.recurrence``): parse
into a validated Recurrence, and write back in the spec's property names.
Pure, as core/recurrence.py."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from core.recurrence_types import (
    EARLIEST,
    FREQUENCIES,
    FREQUENCY_UNKNOWN,
    RECURRENCE_PATH,
    WEEK_DAY_UNKNOWN,
    WEEK_DAYS,
    MonthlyOccurrence,
    Recurrence,
    RecurrenceError,
    Schedule,
    as_integer,
    field_leaf,
    format_datetime,
    json_text,
)
from core.recurrence_validation import validate_recurrence

NOT_AN_OBJECT = "{name} must be a JSON object, got {value}."
NOT_A_LIST = "{name} must be a list, got {value}."
NOT_A_STRING = "{name} must be a string, got {value}."
NOT_A_DATETIME = (
    "{name} must be an ISO 8601 date-time such as 2024-01-31T09:00:00Z, got {value}."
)
OUT_OF_RANGE = (
    "{name} {value} is out of range: date-times run from 1900-01-01T00:00:00Z to "
    "9999-12-31T23:59:59Z."
)
UNKNOWN_PROPERTY = '"{key}" is not a property of {name}; use {known}.'
FREQUENCY_REQUIRED = (
    "frequency is required in a recurrence; use Minute, Hour, Day, Week or Month."
)
OCCURRENCE_DAY_REQUIRED = (
    "day is required in a monthly occurrence; use Monday to Sunday."
)
RECURRENCE_KEYS = ("frequency", "interval", "count", "endTime", "schedule")
SCHEDULE_KEYS = ("minutes", "hours", "weekDays", "monthDays", "monthlyOccurrences")
OCCURRENCE_KEYS = ("day", "occurrence")


def recurrence_from_json(data: dict[str, Any] | None) -> Recurrence | None:
    """Parse ARM JSON (``properties.recurrence``) into a validated Recurrence.

    Property names and enum values are matched case-insensitively, as Json.NET
    does for the real service (which answered ``"frequency": "week"``); the SDK
    sends ``Occurrence`` with a capital O and the docs write ``occurrence``, so
    both are read. Unknown properties are errors, so that a typo such as
    ``weekday`` cannot silently turn a weekly job into a daily one.
    """
    if data is None:
        return None
    values = _object(data, RECURRENCE_PATH, RECURRENCE_KEYS)
    frequency = values.get("frequency")
    if frequency is None:
        raise RecurrenceError(f"{RECURRENCE_PATH}.frequency", FREQUENCY_REQUIRED)
    interval = values.get("interval")
    recurrence = Recurrence(
        frequency=_enum(
            frequency, f"{RECURRENCE_PATH}.frequency", FREQUENCIES, FREQUENCY_UNKNOWN
        ),
        interval=1
        if interval is None
        else as_integer(interval, f"{RECURRENCE_PATH}.interval"),
        count=_optional_integer(values.get("count"), f"{RECURRENCE_PATH}.count"),
        end_time=_optional_datetime(
            values.get("endTime"), f"{RECURRENCE_PATH}.endTime"
        ),
        schedule=_schedule_from_json(values.get("schedule")),
    )
    validate_recurrence(recurrence, start_time=None)
    return recurrence


def recurrence_to_json(rec: Recurrence | None) -> dict[str, Any] | None:
    """The ARM JSON of a recurrence, in the spec's property names.

    Monthly occurrences are written ``Occurrence`` (capital O, as in the spec):
    azure-mgmt-scheduler 7.0.0 reads only that key.
    """
    if rec is None:
        return None
    data: dict[str, Any] = {"frequency": rec.frequency, "interval": rec.interval}
    if rec.count is not None:
        data["count"] = rec.count
    if rec.end_time is not None:
        data["endTime"] = format_datetime(rec.end_time)
    if rec.schedule is not None and not rec.schedule.is_empty():
        data["schedule"] = _schedule_to_json(rec.schedule)
    return data


def _schedule_from_json(data: Any) -> Schedule | None:
    path = f"{RECURRENCE_PATH}.schedule"
    if data is None:
        return None
    values = _object(data, path, SCHEDULE_KEYS)
    schedule = Schedule(
        minutes=tuple(_integers(values.get("minutes"), f"{path}.minutes")),
        hours=tuple(_integers(values.get("hours"), f"{path}.hours")),
        week_days=tuple(
            _enum(item, item_path, WEEK_DAYS, WEEK_DAY_UNKNOWN)
            for item, item_path in _items(values.get("weekDays"), f"{path}.weekDays")
        ),
        month_days=tuple(_integers(values.get("monthDays"), f"{path}.monthDays")),
        monthly_occurrences=tuple(
            _occurrence_from_json(item, item_path)
            for item, item_path in _items(
                values.get("monthlyOccurrences"), f"{path}.monthlyOccurrences"
            )
        ),
    )
    return None if schedule.is_empty() else schedule


def _occurrence_from_json(data: Any, path: str) -> MonthlyOccurrence:
    values = _object(data, path, OCCURRENCE_KEYS)
    day = values.get("day")
    if day is None:
        raise RecurrenceError(f"{path}.day", OCCURRENCE_DAY_REQUIRED)
    return MonthlyOccurrence(
        day=_enum(day, f"{path}.day", WEEK_DAYS, WEEK_DAY_UNKNOWN),
        occurrence=_optional_integer(values.get("occurrence"), f"{path}.occurrence"),
    )


def _schedule_to_json(schedule: Schedule) -> dict[str, Any]:
    data: dict[str, Any] = {}
    if schedule.minutes:
        data["minutes"] = list(schedule.minutes)
    if schedule.hours:
        data["hours"] = list(schedule.hours)
    if schedule.week_days:
        data["weekDays"] = list(schedule.week_days)
    if schedule.month_days:
        data["monthDays"] = list(schedule.month_days)
    if schedule.monthly_occurrences:
        data["monthlyOccurrences"] = [
            {"day": item.day}
            if item.occurrence is None
            else {"day": item.day, "Occurrence": item.occurrence}
            for item in schedule.monthly_occurrences
        ]
    return data


def _object(data: Any, path: str, known: tuple[str, ...]) -> dict[str, Any]:
    """The properties of a JSON object keyed by their spec names."""
    if not isinstance(data, dict):
        raise RecurrenceError(
            path, NOT_AN_OBJECT.format(name=field_leaf(path), value=json_text(data))
        )
    by_lower = {name.lower(): name for name in known}
    values: dict[str, Any] = {}
    for key, value in data.items():
        name = by_lower.get(str(key).lower())
        if name is None:
            raise RecurrenceError(
                f"{path}.{key}",
                UNKNOWN_PROPERTY.format(
                    key=key, name=field_leaf(path), known=", ".join(known)
                ),
            )
        values[name] = value
    return values


def _items(data: Any, path: str) -> Iterator[tuple[Any, str]]:
    if data is None:
        return iter(())
    if not isinstance(data, list):
        raise RecurrenceError(
            path, NOT_A_LIST.format(name=field_leaf(path), value=json_text(data))
        )
    return ((item, f"{path}[{index}]") for index, item in enumerate(data))


def _integers(data: Any, path: str) -> Iterator[int]:
    return (as_integer(item, item_path) for item, item_path in _items(data, path))


def _optional_integer(value: Any, path: str) -> int | None:
    return None if value is None else as_integer(value, path)


def _enum(value: Any, path: str, choices: tuple[str, ...], message: str) -> str:
    if not isinstance(value, str):
        raise RecurrenceError(
            path, NOT_A_STRING.format(name=field_leaf(path), value=json_text(value))
        )
    for choice in choices:
        if choice.lower() == value.lower():
            return choice
    raise RecurrenceError(path, message.format(value=value))


def _optional_datetime(value: Any, path: str) -> datetime | None:
    """ISO 8601 date or date-time; without an offset it is UTC, as Azure assumed."""
    if value is None:
        return None
    if isinstance(value, datetime):
        parsed = value
    else:
        try:
            parsed = datetime.fromisoformat(value)
        except (TypeError, ValueError):
            raise RecurrenceError(
                path,
                NOT_A_DATETIME.format(name=field_leaf(path), value=_shown(value)),
            ) from None
    parsed = parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed
    try:
        in_range = parsed.astimezone(UTC) >= EARLIEST
    except OverflowError:  # 9999-12-31T23:00:00-05:00 is in year 10000 in UTC
        in_range = False
    if not in_range:
        raise RecurrenceError(
            path, OUT_OF_RANGE.format(name=field_leaf(path), value=_shown(value))
        )
    return parsed


def _shown(value: Any) -> str:
    text = json_text(value) if not isinstance(value, datetime) else str(value)
    return text if len(text) <= 60 else text[:60] + "..."
