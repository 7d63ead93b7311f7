"""Azure Scheduler recurrences (API 2016-03-01): a job's occurrences. The values
are core/recurrence_types.py, the validator core/recurrence_validation.py (it
reads the same rules from dateutil.rrule); core/recurrence.py gathers them.

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
import math
from bisect import bisect_left, bisect_right
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta

from core.recurrence_types import (
    WEEK_DAYS,
    Recurrence,
    Schedule,
    naive_utc,
    require_aware,
)

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
        require_aware("after", after)
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
# The rrule series (_rule_times, core/recurrence_validation.py) stays for the
# validator's checks near the first execution; the property tests hold the grids
# to a brute-force reference.

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
        require_aware("created_at", created_at)
        if start_time is not None:
            require_aware("start_time", start_time)
        created = naive_utc(created_at)
        self._once: datetime | None = None
        if recurrence is None:
            # "Run once immediately" unless the start is now or in the future.
            start = None if start_time is None else naive_utc(start_time)
            self._once = start if start is not None and start >= created else created
            return
        anchor = naive_utc(start_time or created_at).replace(microsecond=0)
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
        self._end = (
            None if recurrence.end_time is None else naive_utc(recurrence.end_time)
        )

    # -- the questions --------------------------------------------------------------

    def first_after(self, after: datetime) -> datetime | None:
        """The first occurrence strictly after ``after``."""
        moment = naive_utc(after)
        if self._once is not None:
            return _aware(self._once) if self._once > moment else None
        return _aware(self._nth(self._rank(moment) + 1))

    def last_at_or_before(self, moment: datetime) -> datetime | None:
        """The latest occurrence at or before ``moment``."""
        at = naive_utc(moment)
        if self._once is not None:
            return _aware(self._once) if self._once <= at else None
        rank = self._rank(at)
        return _aware(self._nth(rank)) if rank else None

    def count_between(self, low: datetime, high: datetime) -> int:
        """How many occurrences fall in [low, high]."""
        first, last = naive_utc(low), naive_utc(high)
        if last < first:
            return 0
        if self._once is not None:
            return int(first <= self._once <= last)
        return self._rank(last) - self._rank(first - _MICRO)

    def after(self, after: datetime | None = None) -> Iterator[datetime]:
        """Every occurrence strictly after ``after`` (all when None), in order."""
        if self._once is not None:
            if after is None or self._once > naive_utc(after):
                yield _aware(self._once)
            return
        rank = 0 if after is None else self._rank(naive_utc(after))
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
    """The points of rrule(dtstart=anchor, **_rule_arguments(rec, anchor))
    (core/recurrence_validation.py), before the startTime table, count and
    endTime: Azure's defaults as there."""
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
        length = month_length(year, month + 1)
        key = (length, date(year, month + 1, 1).weekday())
        if key not in self._offsets:
            days = picked_days(self.schedule, self.anchor.day, *key)
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


def picked_days(
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


def month_length(year: int, month: int) -> int:
    return calendar.monthrange(year, month)[1]
