"""The one validator of an Azure Scheduler recurrence (validate_recurrence), for
model, API, admin and commands: values, elements for the frequency, endTime
after startTime, a schedule that can fire, the collection's quota.

Whether a schedule can fire and how often it recurs are read from the series
``dateutil.rrule`` gives with every BYxxx value explicit (Azure's defaults, as
core/recurrence_series.py's docstring describes them and its grids compute
them), near the job's first execution. Pure: no Django, no I/O, no clock read.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import replace
from datetime import date, datetime, timedelta
from itertools import islice
from typing import Any

from dateutil.rrule import DAILY, HOURLY, MINUTELY, MO, MONTHLY, WEEKLY, rrule, weekday

from core.recurrence_series import month_length, picked_days
from core.recurrence_types import (
    COUNT_TOO_LARGE,
    COUNT_TOO_SMALL,
    ELEMENT_NEEDS_FREQUENCY,
    END_BEFORE_START,
    FREQUENCIES,
    FREQUENCY_UNKNOWN,
    HOUR_OUT_OF_RANGE,
    INTERVAL_TOO_LARGE,
    INTERVAL_TOO_SMALL,
    MAX_COUNT,
    MAX_INTERVAL,
    MINUTE_OUT_OF_RANGE,
    MONTH_DAY_OUT_OF_RANGE,
    NEVER_FIRES,
    OCCURRENCE_OUT_OF_RANGE,
    QUOTA_EXCEEDED,
    RECURRENCE_PATH,
    WEEK_DAY_UNKNOWN,
    WEEK_DAYS,
    Recurrence,
    RecurrenceError,
    RecurrenceQuotaError,
    Schedule,
    as_integer,
    every_text,
    format_datetime,
    join_words,
    naive_utc,
    plural,
    require_aware,
)

_MINUTES = tuple(range(60))
_HOURS = tuple(range(24))
_MONTH_DAYS = (*range(1, 32), *range(-31, 0))
_OCCURRENCES = (1, 2, 3, 4, 5, -1, -2, -3, -4, -5)
_RRULE_FREQUENCY = {
    "Minute": MINUTELY,
    "Hour": HOURLY,
    "Day": DAILY,
    "Week": WEEKLY,
    "Month": MONTHLY,
}
_UNIT = {
    "Minute": timedelta(minutes=1),
    "Hour": timedelta(hours=1),
    "Day": timedelta(days=1),
    "Week": timedelta(weeks=1),
    "Month": timedelta(days=28),  # the shortest month: never stricter than Azure
}
# A Month schedule that finds no day in 400 years (a Gregorian cycle) never will.
_MONTHS_SEARCHED = 400 * 12
# Occurrences sampled to find a recurrence's shortest gap (quota check): enough
# to cover every pattern of a schedule several times over.
_GAP_SAMPLE = 500
# Anchor for checks that do not know the job's first execution: a Monday.
_REFERENCE = datetime(2001, 1, 1)


def validate_recurrence(
    rec: Recurrence | None,
    *,
    start_time: datetime | None,
    created_at: datetime | None = None,
    max_recurrence: tuple[str, int] | None = None,
) -> None:
    """The one validator of a recurrence, for model, API, admin and commands.

    Raises RecurrenceError naming the JSON field, or RecurrenceQuotaError when
    the job recurs more often than ``max_recurrence`` (the collection's quota
    ``maxRecurrence``, e.g. ``("Hour", 1)`` for a Free collection). Whether the
    schedule can fire depends on the first execution (an every-2-hours job at
    hour 3 needs an odd start hour): it is checked from ``start_time``, else from
    ``created_at``; with neither, only what no start could fix is rejected.
    """
    if rec is None:
        return
    for name, value in (("start_time", start_time), ("created_at", created_at)):
        if value is not None:
            require_aware(name, value)
    _validate_values(rec)
    _validate_elements(rec)
    if start_time is not None and rec.end_time is not None:
        if rec.end_time < start_time:
            raise RecurrenceError(
                f"{RECURRENCE_PATH}.endTime",
                END_BEFORE_START.format(
                    end=format_datetime(rec.end_time),
                    start=format_datetime(start_time),
                ),
            )
    first = start_time or created_at
    anchor = _REFERENCE if first is None else naive_utc(first).replace(microsecond=0)
    if not _can_fire(rec if first is not None else replace(rec, interval=1), anchor):
        raise RecurrenceError(
            f"{RECURRENCE_PATH}.schedule",
            NEVER_FIRES.format(
                every=every_text(rec.frequency, rec.interval).lower(),
                elements=join_words(_schedule_elements(rec.schedule)),
            ),
        )
    if max_recurrence is not None:
        _validate_quota(rec, anchor, max_recurrence)


def _validate_values(rec: Recurrence) -> None:
    if rec.frequency not in FREQUENCIES:
        raise RecurrenceError(
            f"{RECURRENCE_PATH}.frequency",
            FREQUENCY_UNKNOWN.format(value=rec.frequency),
        )
    as_integer(rec.interval, f"{RECURRENCE_PATH}.interval")
    if rec.count is not None:
        as_integer(rec.count, f"{RECURRENCE_PATH}.count")
    if rec.interval < 1:
        raise RecurrenceError(
            f"{RECURRENCE_PATH}.interval",
            INTERVAL_TOO_SMALL.format(interval=rec.interval),
        )
    maximum = MAX_INTERVAL[rec.frequency]
    if rec.interval > maximum:
        raise RecurrenceError(
            f"{RECURRENCE_PATH}.interval",
            INTERVAL_TOO_LARGE.format(
                interval=rec.interval, frequency=rec.frequency, maximum=maximum
            ),
        )
    if rec.count is not None and rec.count < 1:
        raise RecurrenceError(
            f"{RECURRENCE_PATH}.count", COUNT_TOO_SMALL.format(count=rec.count)
        )
    if rec.count is not None and rec.count > MAX_COUNT:
        raise RecurrenceError(
            f"{RECURRENCE_PATH}.count", COUNT_TOO_LARGE.format(count=rec.count)
        )
    if rec.end_time is not None:
        require_aware("end_time", rec.end_time)
    schedule = rec.schedule or Schedule()
    path = f"{RECURRENCE_PATH}.schedule"
    _check_each(f"{path}.minutes", schedule.minutes, _MINUTES, MINUTE_OUT_OF_RANGE)
    _check_each(f"{path}.hours", schedule.hours, _HOURS, HOUR_OUT_OF_RANGE)
    _check_each(f"{path}.weekDays", schedule.week_days, WEEK_DAYS, WEEK_DAY_UNKNOWN)
    _check_each(
        f"{path}.monthDays", schedule.month_days, _MONTH_DAYS, MONTH_DAY_OUT_OF_RANGE
    )
    for index, item in enumerate(schedule.monthly_occurrences):
        item_path = f"{path}.monthlyOccurrences[{index}]"
        if item.day not in WEEK_DAYS:
            raise RecurrenceError(
                f"{item_path}.day", WEEK_DAY_UNKNOWN.format(value=item.day)
            )
        if item.occurrence is not None and item.occurrence not in _OCCURRENCES:
            raise RecurrenceError(
                f"{item_path}.occurrence",
                OCCURRENCE_OUT_OF_RANGE.format(value=item.occurrence),
            )


def _check_each(
    path: str, values: Iterable[Any], allowed: tuple[Any, ...], message: str
) -> None:
    for index, value in enumerate(values):
        # type() too: True == 1 and 5.0 == 5, but neither is a JSON minute.
        if type(value) is not type(allowed[0]) or value not in allowed:
            raise RecurrenceError(f"{path}[{index}]", message.format(value=value))


def _validate_elements(rec: Recurrence) -> None:
    """weekDays only with Week; monthDays and monthlyOccurrences only with Month."""
    schedule = rec.schedule or Schedule()
    for element, present, needed in (
        ("weekDays", schedule.week_days, "Week"),
        ("monthDays", schedule.month_days, "Month"),
        ("monthlyOccurrences", schedule.monthly_occurrences, "Month"),
    ):
        if present and rec.frequency != needed:
            raise RecurrenceError(
                f"{RECURRENCE_PATH}.schedule.{element}",
                ELEMENT_NEEDS_FREQUENCY.format(
                    element=element, needed=needed, frequency=rec.frequency
                ),
            )


def _schedule_elements(schedule: Schedule | None) -> list[str]:
    schedule = schedule or Schedule()
    return [
        name
        for name, present in (
            ("minutes", schedule.minutes),
            ("hours", schedule.hours),
            ("monthDays", schedule.month_days),
            ("monthlyOccurrences", schedule.monthly_occurrences),
        )
        if present
    ]


def _validate_quota(
    rec: Recurrence, anchor: datetime, max_recurrence: tuple[str, int]
) -> None:
    """Azure: "a job with higher frequency than the collection's max -> 409".

    The job's frequency is its shortest gap between two occurrences (a daily job
    at 09:00 and 09:30 recurs every 30 minutes), sampled over many occurrences.
    """
    frequency, interval = max_recurrence
    allowed = _UNIT[frequency] * interval
    gap = _shortest_gap(rec, anchor)
    if gap is not None and gap < allowed:
        raise RecurrenceQuotaError(
            RECURRENCE_PATH,
            QUOTA_EXCEEDED.format(
                every=_duration_text(gap), allowed=_duration_text(allowed)
            ),
        )


def _shortest_gap(rec: Recurrence, anchor: datetime) -> timedelta | None:
    times = list(islice(_rule_times(rec, anchor), _GAP_SAMPLE))
    gaps = [later - earlier for earlier, later in zip(times, times[1:], strict=False)]
    return min(gaps, default=None)


def _duration_text(value: timedelta) -> str:
    seconds = int(value.total_seconds())
    for unit, size in (("week", 604800), ("day", 86400), ("hour", 3600)):
        if seconds % size == 0:
            return plural(seconds // size, unit)
    if seconds % 60 == 0:
        return plural(seconds // 60, "minute")
    return plural(seconds, "second")


# --- the rrule series ------------------------------------------------------------


def _rule_times(rec: Recurrence, anchor: datetime) -> Iterator[datetime]:
    """The rrule series of ``rec`` from ``anchor``; empty if it can never fire.

    dateutil raises ValueError for an hour/minute set an interval never reaches,
    and walks to year 9999 for a month set that never matches: both mean "no
    occurrence", the second is caught before it starts.
    """
    if not _month_days_reachable(rec, anchor):
        return iter(())
    try:
        rule = rrule(dtstart=anchor, **_rule_arguments(rec, anchor))
    except ValueError:
        return iter(())
    return _until_exhausted(iter(rule))


def _until_exhausted(times: Iterator[datetime]) -> Iterator[datetime]:
    try:
        yield from times
    except ValueError:  # rrule: "Invalid combination of interval and byhour"
        return


def _rule_arguments(rec: Recurrence, anchor: datetime) -> dict[str, Any]:
    """rrule arguments with Azure's defaults made explicit (recurrence_series)."""
    schedule = rec.schedule or Schedule()
    minutes = sorted(set(schedule.minutes)) or None
    hours = sorted(set(schedule.hours)) or None
    arguments: dict[str, Any] = {
        "freq": _RRULE_FREQUENCY[rec.frequency],
        "interval": rec.interval,
        "wkst": MO,
        "bysecond": anchor.second,
        "byminute": minutes,
        "byhour": hours,
    }
    if rec.frequency == "Minute":
        return arguments
    arguments["byminute"] = minutes or anchor.minute
    if rec.frequency == "Hour":
        return arguments
    arguments["byhour"] = hours or (list(range(24)) if minutes else anchor.hour)
    if rec.frequency == "Week":
        arguments["byweekday"] = [
            WEEK_DAYS.index(day) for day in schedule.week_days
        ] or anchor.weekday()
    elif rec.frequency == "Month":
        arguments.update(_month_arguments(schedule, anchor))
    return arguments


def _month_arguments(schedule: Schedule, anchor: datetime) -> dict[str, Any]:
    if not (schedule.month_days or schedule.monthly_occurrences):
        return {"bymonthday": anchor.day}
    weekdays = set()
    for item in schedule.monthly_occurrences:
        index = WEEK_DAYS.index(item.day)
        # Every Friday is written as the 1st to 5th Friday: rrule would otherwise
        # intersect a plain weekday with the numbered ones instead of adding up.
        for number in (
            (1, 2, 3, 4, 5) if item.occurrence is None else (item.occurrence,)
        ):
            weekdays.add(weekday(index, number))
    return {
        "bymonthday": sorted(set(schedule.month_days)) or None,
        "byweekday": list(weekdays) or None,
    }


def _can_fire(rec: Recurrence, anchor: datetime) -> bool:
    return next(_rule_times(rec, anchor), None) is not None


def _month_days_reachable(rec: Recurrence, anchor: datetime) -> bool:
    """Whether a Month schedule finds a matching day in the months it visits."""
    schedule = rec.schedule or Schedule()
    if rec.frequency != "Month" or not (
        schedule.month_days or schedule.monthly_occurrences
    ):
        return True
    first = anchor.year * 12 + anchor.month - 1
    for number in range(0, _MONTHS_SEARCHED, rec.interval):
        year, month = divmod(first + number, 12)
        if year > 9999:
            return False
        first_day = date(year, month + 1, 1)
        if _month_day_matches(schedule, first_day, month_length(year, month + 1)):
            return True
    return False


def _month_day_matches(schedule: Schedule, first: date, length: int) -> bool:
    return bool(picked_days(schedule, 0, length, first.weekday()))
