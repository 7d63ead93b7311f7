"""Azure Scheduler recurrences (API 2016-03-01): validate and iterate. Their ARM
JSON is read and written by core/recurrence_json.py, put in words by
core/recurrence_words.py.

Pure: no Django, no I/O, no clock read; the caller passes the job's creation time
and ``after``. All datetimes are aware; results are aware UTC. Occurrences are
the points of ``dateutil.rrule`` with every BYxxx value given explicitly, so that
Azure's rules, not rrule's defaults, decide what a missing value means; they are
answered arithmetically (``Series``: the next, the latest, how many in a span,
without walking them), and rrule itself serves the validator's checks.

Azure behaviour copied (reference: MicrosoftDocs "Build advanced schedules and
recurrences", the startTime table and the 31 schedule examples):

* Missing schedule values come from the first execution (the start time, or the
  creation time when there is none): the second always; the minute when
  ``minutes`` is absent; the hour when ``hours`` and ``minutes`` are both absent;
  the weekday for Week and the day for Month. With ``minutes`` but no ``hours`` a
  Day/Week/Month job runs every hour: examples 5, 7, 8, 14 and 30.
* startTime table: no start means "run once immediately" (at the creation time)
  and then follow the recurrence from there; a past start means the series is
  computed from the start and the instances before creation are discarded; a
  future start means the series starts there. A one-time job (no recurrence)
  runs at the start, or at creation when the start is absent or past.
* ``count`` counts runs from creation ("If the start date has already passed, the
  first run is calculated from the creation time"); ``count`` and ``endTime``
  together end at whichever comes first.

Decisions where the reference is silent or contradicts itself:

* ``endTime`` is inclusive (an occurrence exactly at endTime runs), as RFC 5545's
  UNTIL. An endTime earlier than startTime is rejected (the job could never run);
  an endTime in the past is accepted, as the latest doc allows, and simply yields
  no occurrence.
* ``monthDays`` with ``monthlyOccurrences`` means both must match (RFC 5545, as
  rrule); several ``monthlyOccurrences`` add up ("first and last Friday").
* Weeks start on Monday (ISO 8601, rrule's default) for Week intervals above 1.
* Month without a schedule from the 31st skips months without a 31st (RFC 5545)
  rather than clamping to the month's last day.
* Hours are 0-23, as in the examples (one doc says "1 to 24").
* Occurrences are whole seconds, except the immediate run of a job without a
  start time, which is the creation instant itself.
"""

from __future__ import annotations

import calendar
import json
import math
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from itertools import islice
from typing import Any

from dateutil.rrule import DAILY, HOURLY, MINUTELY, MO, MONTHLY, WEEKLY, rrule, weekday

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

_MINUTES = tuple(range(60))
_HOURS = tuple(range(24))
_MONTH_DAYS = (*range(1, 32), *range(-31, 0))
_OCCURRENCES = (1, 2, 3, 4, 5, -1, -2, -3, -4, -5)
RECURRENCE_PATH = "properties.recurrence"
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


# --- values shared with recurrence_json and recurrence_words -------------------


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


# --- validation ------------------------------------------------------------------


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
            _require_aware(name, value)
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
    anchor = _REFERENCE if first is None else _naive(first).replace(microsecond=0)
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
        _require_aware("end_time", rec.end_time)
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


def plural(number: int, unit: str) -> str:
    return f"{number} {unit}" if number == 1 else f"{number} {unit}s"


# --- occurrences -----------------------------------------------------------------


def occurrences(
    *,
    start_time: datetime | None,
    recurrence: Recurrence | None,
    created_at: datetime,
    after: datetime | None = None,
) -> Iterator[datetime]:
    """Every occurrence of a job strictly after ``after`` (all when None), in order.

    The one function that knows Azure's rules: the startTime table, one-time
    jobs, ``count`` counted from creation and ``endTime`` (inclusive). The series
    depends only on the job (start, recurrence, creation time), so
    ``next_occurrence(after=previous)`` walks the same series run by run.
    """
    if after is not None:
        _require_aware("after", after)
    series = Series(start_time=start_time, recurrence=recurrence, created_at=created_at)
    return series.after(after)


def next_occurrence(
    *,
    start_time: datetime | None,
    recurrence: Recurrence | None,
    created_at: datetime,
    after: datetime | None = None,
) -> datetime | None:
    """The first occurrence strictly after ``after``, or None when the job is done."""
    series = occurrences(
        start_time=start_time,
        recurrence=recurrence,
        created_at=created_at,
        after=after,
    )
    return next(series, None)


# --- a job's series, answered without walking it ----------------------------------
#
# After a clock jump of years the engine asks how many occurrences were missed and
# which was the latest; `count` numbers the occurrences from creation however old
# the start is. Walking the series for that is linear in the time spanned (a start
# 18 months back cost 2 s per PUT, a jump of months listed 10^5 instants). Minute
# to Week recurrences repeat with a fixed cycle (_Cycle: O(1) answers); Month
# recurrences are answered month by month over the months asked about (_Months).
# The rrule series (_rule_times) stays for the validator's checks near the first
# execution; the property tests hold the grids to a brute-force reference.

_SECOND = timedelta(seconds=1)
_MICRO = timedelta(microseconds=1)
# A Month schedule that matches no day in a 400-year (Gregorian) cycle never will.
_LAST_MONTH = 9999 * 12 + 11


class Series:
    """A job's occurrences: the startTime table, ``count`` numbered from creation,
    ``endTime`` inclusive. Aware datetimes in and (UTC) out."""

    def __init__(
        self,
        *,
        start_time: datetime | None,
        recurrence: Recurrence | None,
        created_at: datetime,
    ) -> None:
        _require_aware("created_at", created_at)
        if start_time is not None:
            _require_aware("start_time", start_time)
        created = _naive(created_at)
        self._once: datetime | None = None
        if recurrence is None:
            # "Run once immediately" unless the start is now or in the future.
            start = None if start_time is None else _naive(start_time)
            self._once = start if start is not None and start >= created else created
            return
        anchor = _naive(start_time or created_at).replace(microsecond=0)
        self._grid = _grid(recurrence, anchor)
        # Without a start the first run is the creation itself, the grid's points
        # after it follow; with a start, the points from creation on.
        self._immediate = created if start_time is None else None
        floor = created.replace(microsecond=0)
        if start_time is None:
            self._low = floor + _SECOND
        else:
            self._low = floor if floor == created else floor + _SECOND
        self._count = recurrence.count
        self._end = None if recurrence.end_time is None else _naive(recurrence.end_time)

    # -- the questions --------------------------------------------------------------

    def first_after(self, after: datetime) -> datetime | None:
        """The first occurrence strictly after ``after``."""
        moment = _naive(after)
        if self._once is not None:
            return _aware(self._once) if self._once > moment else None
        return _aware(self._nth(self._rank(moment) + 1))

    def last_at_or_before(self, moment: datetime) -> datetime | None:
        """The latest occurrence at or before ``moment``."""
        at = _naive(moment)
        if self._once is not None:
            return _aware(self._once) if self._once <= at else None
        rank = self._rank(at)
        return _aware(self._nth(rank)) if rank else None

    def count_between(self, low: datetime, high: datetime) -> int:
        """How many occurrences fall in [low, high]."""
        first, last = _naive(low), _naive(high)
        if last < first:
            return 0
        if self._once is not None:
            return int(first <= self._once <= last)
        return self._rank(last) - self._rank(first - _MICRO)

    def after(self, after: datetime | None = None) -> Iterator[datetime]:
        """Every occurrence strictly after ``after`` (all when None), in order."""
        if self._once is not None:
            if after is None or self._once > _naive(after):
                yield _aware(self._once)
            return
        rank = 0 if after is None else self._rank(_naive(after))
        first = self._nth(rank + 1)
        if first is None:
            return
        yield _aware(first)
        number = rank + 1
        low = max(self._low, first.replace(microsecond=0) + _SECOND)
        for moment in self._grid.points_from(low):
            number += 1
            if (self._count is not None and number > self._count) or (
                self._end is not None and moment > self._end
            ):
                return
            yield _aware(moment)

    # -- numbering ------------------------------------------------------------------

    def _rank(self, moment: datetime) -> int:
        """How many occurrences are at or before ``moment`` (naive UTC)."""
        if self._end is not None and moment > self._end:
            moment = self._end
        number = 0
        if self._immediate is not None:
            if self._immediate > moment:
                return 0
            number = 1
        number += self._grid.count(self._low, moment)
        return number if self._count is None else min(number, self._count)

    def _nth(self, number: int) -> datetime | None:
        """The occurrence numbered ``number`` (1 = the first), or None."""
        if number < 1 or (self._count is not None and number > self._count):
            return None
        if self._immediate is not None:
            moment = (
                self._immediate
                if number == 1
                else self._grid.nth(self._low, number - 1)
            )
        else:
            moment = self._grid.nth(self._low, number)
        if moment is None or (self._end is not None and moment > self._end):
            return None
        return moment


def _grid(rec: Recurrence, anchor: datetime) -> _Cycle | _Months:
    """The points of rrule(dtstart=anchor, **_rule_arguments(rec, anchor)),
    before the startTime table, count and endTime: Azure's defaults as there."""
    schedule = rec.schedule or Schedule()
    minutes = sorted(set(schedule.minutes))
    hours = sorted(set(schedule.hours))
    second, interval = anchor.second, rec.interval
    if rec.frequency == "Minute":
        base = anchor.replace(second=0)
        step = 60 * interval
        # byhour/byminute filter the minutes: the pattern repeats daily (hourly).
        repeat = 86400 if hours else 3600 if minutes else step
        length = math.lcm(step, repeat)
        start = base.hour * 60 + base.minute
        offsets = []
        for k in range(length // step):
            hour, minute = divmod((start + k * interval) % 1440, 60)
            if (not hours or hour in hours) and (not minutes or minute in minutes):
                offsets.append(k * step + second)
        return _Cycle(base, length, offsets, anchor)
    if rec.frequency == "Hour":
        base = anchor.replace(minute=0, second=0)
        step = 3600 * interval
        length = math.lcm(step, 86400) if hours else step
        offsets = []
        within = [m * 60 + second for m in minutes or [anchor.minute]]
        for k in range(length // step):
            if not hours or (base.hour + k * interval) % 24 in hours:
                offsets += [k * step + offset for offset in within]
        return _Cycle(base, length, offsets, anchor)
    times = sorted(
        h * 3600 + m * 60 + second
        for h in hours or (range(24) if minutes else [anchor.hour])
        for m in minutes or [anchor.minute]
    )
    midnight = datetime.combine(anchor.date(), time())
    if rec.frequency == "Day":
        return _Cycle(midnight, 86400 * interval, times, anchor)
    if rec.frequency == "Week":
        days = sorted({WEEK_DAYS.index(day) for day in schedule.week_days}) or [
            anchor.weekday()
        ]
        offsets = [day * 86400 + t for day in days for t in times]
        monday = midnight - timedelta(days=anchor.weekday())
        return _Cycle(monday, 604800 * interval, offsets, anchor)
    return _Months(anchor, interval, schedule, times)


class _Cycle:
    """Points ``base + n * length + offset`` (offsets in seconds, sorted, within
    one cycle), none before ``anchor`` (rrule's dtstart)."""

    def __init__(
        self, base: datetime, length: int, offsets: list[int], anchor: datetime
    ) -> None:
        self.base, self.length, self.anchor = base, length, anchor
        self.offsets = sorted(offsets)
        self.size = len(self.offsets)

    def _up_to(self, moment: datetime) -> int:
        """The index of the first point after ``moment`` (points numbered from base)."""
        full, rest = divmod((moment - self.base) // _SECOND, self.length)
        return full * self.size + bisect_right(self.offsets, rest)

    def _point(self, index: int) -> datetime | None:
        full, rest = divmod(index, self.size)
        seconds = full * self.length + self.offsets[rest]
        try:
            return self.base + timedelta(seconds=seconds)
        except OverflowError:
            return None  # past year 9999

    def count(self, low: datetime, high: datetime) -> int:
        low = max(low, self.anchor)
        if not self.size or high < low:
            return 0
        return self._up_to(high) - self._up_to(low - _MICRO)

    def nth(self, low: datetime, number: int) -> datetime | None:
        """The ``number``-th point (1 = the first) at or after ``low``."""
        if not self.size:
            return None
        return self._point(self._up_to(max(low, self.anchor) - _MICRO) + number - 1)

    def points_from(self, low: datetime) -> Iterator[datetime]:
        if not self.size:
            return
        index = self._up_to(max(low, self.anchor) - _MICRO)
        while (moment := self._point(index)) is not None:
            yield moment
            index += 1


class _Months:
    """Month recurrences: every ``interval`` months from the anchor's month, the
    days the schedule picks in each (they depend only on the month's length and
    first weekday), at ``times`` (seconds of the day); none before ``anchor``."""

    def __init__(
        self, anchor: datetime, interval: int, schedule: Schedule, times: list[int]
    ) -> None:
        self.anchor, self.interval, self.times = anchor, interval, times
        self.schedule = schedule
        self.first = _month_index(anchor)
        self._offsets: dict[tuple[int, int], list[int]] = {}

    def offsets(self, index: int) -> list[int]:
        """Seconds from the start of month ``index`` of its points, sorted."""
        year, month = divmod(index, 12)
        length = _month_length(year, month + 1)
        key = (length, date(year, month + 1, 1).weekday())
        if key not in self._offsets:
            days = _picked_days(self.schedule, self.anchor.day, *key)
            self._offsets[key] = [
                (day - 1) * 86400 + moment for day in days for moment in self.times
            ]
        return self._offsets[key]

    def _visited_from(self, index: int) -> int:
        """The first month at or after ``index`` that the recurrence visits."""
        if index <= self.first:
            return self.first
        return self.first - (self.first - index) // self.interval * self.interval

    def _months(
        self, low: datetime, high_index: int
    ) -> Iterator[tuple[datetime, list[int]]]:
        """(month start, offsets at or after ``low``) of visited months up to
        ``high_index``, from the one holding ``low``."""
        low = max(low, self.anchor)
        index = self._visited_from(_month_index(low))
        while index <= min(high_index, _LAST_MONTH):
            start = _month_start(index)
            offsets = self.offsets(index)
            if start < low:
                offsets = offsets[bisect_left(offsets, _ceil_seconds(low - start)) :]
            yield start, offsets
            index += self.interval

    def count(self, low: datetime, high: datetime) -> int:
        if high < max(low, self.anchor):
            return 0
        total = 0
        last = _month_index(high)
        for start, offsets in self._months(low, last):
            if _month_index(start) == last:
                offsets = offsets[: bisect_right(offsets, (high - start) // _SECOND)]
            total += len(offsets)
        return total

    def nth(self, low: datetime, number: int) -> datetime | None:
        for start, offsets in self._months(low, _LAST_MONTH):
            if number <= len(offsets):
                return start + timedelta(seconds=offsets[number - 1])
            number -= len(offsets)
        return None

    def points_from(self, low: datetime) -> Iterator[datetime]:
        for start, offsets in self._months(low, _LAST_MONTH):
            for offset in offsets:
                yield start + timedelta(seconds=offset)


def _month_index(moment: datetime | date) -> int:
    return moment.year * 12 + moment.month - 1


def _month_start(index: int) -> datetime:
    year, month = divmod(index, 12)
    return datetime(year, month + 1, 1)


def _ceil_seconds(delta: timedelta) -> int:
    return -(-delta // _SECOND)


def _aware(moment: datetime | None) -> datetime | None:
    return None if moment is None else moment.replace(tzinfo=UTC)


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
    """rrule arguments with Azure's defaults made explicit (module docstring)."""
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
        if _month_day_matches(schedule, first_day, _month_length(year, month + 1)):
            return True
    return False


def _month_day_matches(schedule: Schedule, first: date, length: int) -> bool:
    return bool(_picked_days(schedule, 0, length, first.weekday()))


def _picked_days(
    schedule: Schedule, default_day: int, length: int, first_weekday: int
) -> list[int]:
    """The days (1-based) a Month schedule picks in a month of ``length`` days
    whose first day is ``first_weekday`` (Monday 0); ``default_day`` (the first
    execution's) when the schedule names no day."""
    if not (schedule.month_days or schedule.monthly_occurrences):
        return [default_day] if 1 <= default_day <= length else []
    days = []
    for day in range(1, length + 1):
        from_end = day - length - 1  # -1 on the last day
        if schedule.month_days and not (
            day in schedule.month_days or from_end in schedule.month_days
        ):
            continue
        if schedule.monthly_occurrences:
            weekday_name = WEEK_DAYS[(first_weekday + day - 1) % 7]
            numbers = (None, (day - 1) // 7 + 1, -((length - day) // 7 + 1))
            if not any(
                item.day == weekday_name and item.occurrence in numbers
                for item in schedule.monthly_occurrences
            ):
                continue
        days.append(day)
    return days


def _month_length(year: int, month: int) -> int:
    return calendar.monthrange(year, month)[1]


def _naive(value: datetime) -> datetime:
    return value.astimezone(UTC).replace(tzinfo=None)


def _require_aware(name: str, value: datetime) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime (UTC), got {value!r}.")


def join_words(words: Iterable[str]) -> str:
    words = list(words)
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]
