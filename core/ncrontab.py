"""NCRONTAB schedules of triggered WebJobs (the ``schedule`` key of settings.job).

Kudu parses the schedule with NCrontab 2 "including seconds": exactly six fields,
``{second} {minute} {hour} {day} {month} {day-of-week}``. NCrontab's parser
(``CrontabFieldImpl``, with the rules it reads fields by) is copied in
core/ncrontab_parser.py; this module writes NCrontab's expanded form
(``CrontabSchedule.ToString``, which Kudu writes after ``Schedule - `` in a run's
``trigger``), puts a schedule in words, iterates with croniter and counts fires
in a time zone. Pure: no Django, no I/O, no clock read.

Behaviour copied from NCrontab, on purpose:

* Day-of-month AND day-of-week must both match (NCrontab checks the day, then
  ``_daysOfWeek.Contains(...)``), unlike Vixie cron's OR; ``0 0 0 13 * 5`` fires on
  Friday the 13th only. croniter is run with ``day_or=False`` for that.

Kudu pins NCrontab 2.0.0; its bug of keeping the second when the minute or hour
moves on (NCrontab issue #90, fixed in 3.4) is not copied: the seconds start
again from the first allowed second.
"""

from __future__ import annotations

import calendar
import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cron_descriptor import ExpressionDescriptor, Options
from croniter import CroniterError, croniter

from core.ncrontab_parser import (
    FIELDS,
    CronError,
    format_field,
    parse_fields,
    split_fields,
)

__all__ = [
    "NAIVE_AFTER",
    "NO_NEXT",
    "UNKNOWN_TIME_ZONE",
    "CronError",
    "CronSeries",
    "cron_count",
    "cron_expand",
    "cron_last",
    "cron_next",
    "cron_occurrences",
    "cron_validate",
    "cron_validate_time_zone",
    "cron_words",
    "cron_words_or_text",
]

UNKNOWN_TIME_ZONE = 'Unknown time zone "{tz}"; use an IANA name such as Europe/Berlin.'
NO_NEXT = 'CRON expression "{expr}" has no occurrence after {after}.'
NAIVE_AFTER = "after must be an aware datetime (UTC), got {after!r}."

# A day-of-month/month pair that exists meets every weekday within 400 years
# (even 29 February); croniter needs a bound to give up on sparse schedules.
_MAX_YEARS_BETWEEN_MATCHES = 400


def cron_validate(expr: str) -> None:
    """Raise CronError unless ``expr`` is a 6-field NCRONTAB that can fire."""
    parse_fields(expr)


def cron_expand(expr: str) -> str:
    """NCrontab's expanded form, as Kudu writes it in ``Schedule - {expanded}``.

    Copies ``CrontabFieldImpl.Format``: values become numbers, a field holding
    every value becomes ``*``, and runs of two or more consecutive values become
    ``a-b``; everything else is a comma list. ``0 */15 * * * *`` gives
    ``0 0,15,30,45 * * * *``; ``0 0 0 * * Mon-Fri`` gives ``0 0 0 * * 1-5``.
    """
    return " ".join(
        format_field(field, values)
        for field, values in zip(FIELDS, parse_fields(expr), strict=True)
    )


def cron_words(expr: str) -> str:
    """The schedule in plain English (cron-descriptor): ``0 */15 * * * *`` gives
    ``Every 15 minutes``; raises CronError as cron_validate.

    NCRONTAB puts seconds first. cron-descriptor reads six fields as seconds-first
    too, except when the last looks like a year or a field is ``?``; a seventh
    field (any year) makes seconds-first certain. Fields with names are given as
    numbers (NCrontab's prefix names, ``M`` for Monday, are not cron-descriptor's).
    A day and a day-of-week both match in NCrontab (see above) where
    cron-descriptor says Vixie cron's "or": its words are changed to say "and".
    """
    expanded = cron_expand(expr).split()
    fields = [
        own if _PLAIN.fullmatch(own) else exp
        for own, exp in zip(split_fields(expr), expanded, strict=True)
    ]
    words = ExpressionDescriptor(" ".join([*fields, "*"]), _WORDS).get_description()
    return words.replace(", or on ", ", and only on ")


def cron_words_or_text(expr: str) -> str:
    """``cron_words``, or the expression itself when it cannot be read."""
    try:
        return cron_words(expr)
    except CronError:
        return expr


# A field cron-descriptor reads as NCrontab does; others (names, signed steps,
# white space) are given in NCrontab's expanded form.
_PLAIN = re.compile(r"(?!.*/[+-])[0-9*,/-]+")
# English and 24-hour times whatever the machine's locale.
_WORDS = Options(locale_code="en_US", use_24hour_time_format=True)


def cron_occurrences(
    expr: str, *, after: datetime, tz: str | None = None
) -> Iterator[datetime]:
    """Yield the fire instants (aware UTC) strictly after ``after``, in order.

    The schedule is read in the wall clock of ``tz`` (an IANA name; UTC when
    None), as Kudu reads it in the machine's local time. Wall times are turned
    into instants by ``_wall_to_utc`` only; see there for the DST rules. Two wall
    times that land on the same instant fire once.
    """
    if after.tzinfo is None or after.utcoffset() is None:
        raise ValueError(NAIVE_AFTER.format(after=after))
    expanded = cron_expand(expr)  # errors raise here, not at the first next()
    zone = _zone(tz)
    wall = after.astimezone(zone).replace(tzinfo=None)
    times = croniter(
        expanded,
        wall,
        ret_type=datetime,
        day_or=False,
        second_at_beginning=True,
        max_years_between_matches=_MAX_YEARS_BETWEEN_MATCHES,
    )
    return _fires(times, zone, after.astimezone(UTC))


def _fires(times: croniter, zone: tzinfo, after: datetime) -> Iterator[datetime]:
    last = after
    while True:
        try:
            fire = _wall_to_utc(times.get_next(), zone)
        except (CroniterError, OverflowError, ValueError):
            return  # past year 9999: no further occurrence
        if fire > last:
            last = fire
            yield fire


def cron_next(expr: str, *, after: datetime, tz: str | None = None) -> datetime:
    """The first fire instant (aware UTC) strictly after ``after``.

    Raises CronError only at the end of the calendar (year 9999): a valid
    expression otherwise always has a next occurrence.
    """
    fire = next(cron_occurrences(expr, after=after, tz=tz), None)
    if fire is None:
        raise CronError(NO_NEXT.format(expr=expr, after=after.isoformat()))
    return fire


def cron_count(
    expr: str, *, after: datetime, upto: datetime, tz: str | None = None
) -> int:
    """How many fire instants fall in (``after``, ``upto``], without listing them.

    Arithmetic on the day's fire times and on the matching days (month by month,
    400-year cycles for long spans), so a clock jump of years over a per-second
    schedule costs what a day does. Time zones: the span is cut at the zone's
    offset changes (_transitions); a wall time repeated by fall-back counts once
    (its first pass), the wall times skipped by spring-forward once together (at
    the jump), as cron_occurrences fires them.
    """
    for value in (after, upto):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(NAIVE_AFTER.format(after=value))
    cron, zone = _cron(expr), _zone(tz)
    low = _naive_utc(after).replace(microsecond=0) + _SECOND  # first instant counted
    high = _naive_utc(upto).replace(microsecond=0) + _SECOND  # first not counted
    if high <= low:
        return 0
    if zone is UTC:
        return cron.walls_between(low, high)
    changes = _transitions(zone, low - timedelta(days=1), high)
    cuts = [low, *(t for t, _, _ in changes if low < t < high), high]
    total = 0
    for start, end in zip(cuts, cuts[1:], strict=False):
        offset = _offset(zone, start)
        walls_from = start + offset
        governing = [c for c in changes if c[0] <= start]
        if governing:
            when, before, _ = governing[-1]
            if before > offset and start < when + (before - offset):
                # Inside the second pass of a repeated hour: its wall times
                # fired in the first pass.
                walls_from = max(walls_from, when + before)
            if when == start and before < offset:
                # The wall times the jump skipped fire once, at the jump (with
                # the first wall time after it, if that one matches too).
                skipped = cron.walls_between(start + before, start + offset)
                if skipped and not cron.matches(start + offset):
                    total += 1
        total += cron.walls_between(walls_from, end + offset)
    return total


def cron_last(
    expr: str, *, at_or_before: datetime, tz: str | None = None
) -> datetime | None:
    """The latest fire instant (aware UTC) at or before ``at_or_before``; None
    when there is none within 400 years before it."""
    if at_or_before.tzinfo is None or at_or_before.utcoffset() is None:
        raise ValueError(NAIVE_AFTER.format(after=at_or_before))
    cron, zone = _cron(expr), _zone(tz)
    moment = _naive_utc(at_or_before)
    local = at_or_before.astimezone(zone)
    wall = local.replace(tzinfo=None)
    if local.fold:
        # The second pass of a repeated hour: every wall time of that hour fired
        # in the first pass, the latest before the clocks went back.
        when, before = _fold_start(zone, moment)
        wall = when + before - timedelta(microseconds=1)
    found = cron.last_wall(wall)
    return None if found is None else _wall_to_utc(found, zone)


class CronSeries:
    """A scheduled WebJob's fire instants, asked as the engine asks a recurrence
    (core.recurrence.Series): the next, the latest, how many in a span."""

    def __init__(self, expr: str, *, tz: str | None, created_at: datetime) -> None:
        self.expr, self.tz, self.created_at = expr, tz, created_at

    def after(self, after: datetime | None = None) -> Iterator[datetime]:
        return cron_occurrences(self.expr, after=after or self.created_at, tz=self.tz)

    def first_after(self, after: datetime) -> datetime | None:
        return next(self.after(after), None)

    def last_at_or_before(self, moment: datetime) -> datetime | None:
        return cron_last(self.expr, at_or_before=moment, tz=self.tz)

    def count_between(self, low: datetime, high: datetime) -> int:
        """How many fire instants fall in [low, high]."""
        return cron_count(
            self.expr, after=low - timedelta(microseconds=1), upto=high, tz=self.tz
        )


_SECOND = timedelta(seconds=1)
_DAY_SECONDS = 86400
_CYCLE_DAYS = 146097  # 400 Gregorian years: dates and weekdays repeat


class _Cron:
    """A parsed expression as day and time arithmetic (wall clock, naive)."""

    def __init__(self, fields: tuple[frozenset[int], ...]) -> None:
        seconds, minutes, hours, self.days, self.months, self.weekdays = fields
        self.times = sorted(
            h * 3600 + m * 60 + s for h in hours for m in minutes for s in seconds
        )
        self.per_day = len(self.times)
        self._month_days: dict[tuple[int, int, int], int] = {}
        self._per_cycle: int | None = None

    def day_matches(self, day: date) -> bool:
        # NCrontab: the day AND the day-of-week (Sunday 0) must both match.
        return (
            day.month in self.months
            and day.day in self.days
            and (day.weekday() + 1) % 7 in self.weekdays
        )

    def matches(self, wall: datetime) -> bool:
        if wall.microsecond or not self.day_matches(wall.date()):
            return False
        seconds = wall.hour * 3600 + wall.minute * 60 + wall.second
        index = bisect_left(self.times, seconds)
        return index < self.per_day and self.times[index] == seconds

    def walls_between(self, low: datetime, high: datetime) -> int:
        """Matching wall times w (whole seconds) with low <= w < high."""
        if high <= low:
            return 0
        first, last = low.date(), high.date()
        low_s = _ceil_seconds(low - datetime.combine(first, time()))
        high_s = _ceil_seconds(high - datetime.combine(last, time()))
        if first == last:
            if not self.day_matches(first):
                return 0
            return bisect_left(self.times, high_s) - bisect_left(self.times, low_s)
        total = 0
        if self.day_matches(first):
            total += self.per_day - bisect_left(self.times, low_s)
        total += self.days_between(first + timedelta(days=1), last) * self.per_day
        if self.day_matches(last):
            total += bisect_left(self.times, high_s)
        return total

    def days_between(self, first: date, end: date, *, cycles: bool = True) -> int:
        """Matching days d with first <= d < end."""
        total = 0
        cycles = (end - first).days // _CYCLE_DAYS if cycles else 0
        if cycles:
            total += cycles * self._cycle_count()
            first = _add_days(first, cycles * _CYCLE_DAYS)
        while first < end:
            month_end = _next_month(first)
            if first.day == 1 and month_end <= end:
                total += self._whole_month(first)
            else:
                stop = min(month_end, end)
                total += sum(
                    self.day_matches(first + timedelta(days=n))
                    for n in range((stop - first).days)
                )
            first = month_end
        return total

    def _whole_month(self, first: date) -> int:
        length = calendar.monthrange(first.year, first.month)[1]
        key = (first.month, length, first.weekday())
        if key not in self._month_days:
            self._month_days[key] = sum(
                self.day_matches(first + timedelta(days=n)) for n in range(length)
            )
        return self._month_days[key]

    def _cycle_count(self) -> int:
        if self._per_cycle is None:
            start = date(2000, 1, 1)
            self._per_cycle = self.days_between(
                start, _add_days(start, _CYCLE_DAYS), cycles=False
            )
        return self._per_cycle

    def last_wall(self, wall: datetime) -> datetime | None:
        """The latest matching wall time at or before ``wall``."""
        day = wall.date()
        if self.day_matches(day):
            seconds = (wall - datetime.combine(day, time())) // _SECOND
            index = bisect_right(self.times, seconds)
            if index:
                return datetime.combine(day, time()) + timedelta(
                    seconds=self.times[index - 1]
                )
        found = self._last_day_before(day)
        if found is None:
            return None
        return datetime.combine(found, time()) + timedelta(seconds=self.times[-1])

    def _last_day_before(self, day: date) -> date | None:
        """The latest matching day before ``day``, within 400 years."""
        month = day.replace(day=1)
        last = day - timedelta(days=1)  # the first month: the days before `day`
        for _ in range(_MAX_YEARS_BETWEEN_MATCHES * 12 + 1):
            whole = last == _next_month(month) - timedelta(days=1)
            if last >= month and (not whole or self._whole_month(month)):
                while last >= month:
                    if self.day_matches(last):
                        return last
                    last -= timedelta(days=1)
            if month == date.min:
                return None
            last = month - timedelta(days=1)
            month = last.replace(day=1)
        return None


@lru_cache(maxsize=4096)
def _cron(expr: str) -> _Cron:
    return _Cron(parse_fields(expr))


def _next_month(day: date) -> date:
    if day.month == 12:
        return date(day.year + 1, 1, 1)
    return date(day.year, day.month + 1, 1)


def _add_days(day: date, days: int) -> date:
    return day + timedelta(days=days)


def _ceil_seconds(delta: timedelta) -> int:
    return -(-delta // _SECOND)


def _naive_utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None)


def _offset(zone: tzinfo, moment: datetime) -> timedelta:
    """The zone's UTC offset at a naive UTC instant."""
    return moment.replace(tzinfo=UTC).astimezone(zone).utcoffset()


# Offsets are sampled this often to find a zone's changes (then bisected to the
# second): two changes within one step that cancel out would be missed; tzdata
# has none since 1970 closer than Morocco's ~30-day Ramadan pauses.
_SAMPLE = timedelta(days=7)


def _transitions(
    zone: tzinfo, low: datetime, high: datetime
) -> list[tuple[datetime, timedelta, timedelta]]:
    """(instant, offset before, offset after) of the zone's offset changes in
    (low, high], naive UTC, to the second."""
    changes = []
    moment, offset = low, _offset(zone, low)
    while moment < high:
        step = min(moment + _SAMPLE, high)
        following = _offset(zone, step)
        if following == offset:
            moment = step
            continue
        # The first second in (moment, step] whose offset is not `offset`.
        early, late = moment, step
        while late - early > _SECOND:
            middle = early + (late - early) // 2
            middle = middle.replace(microsecond=0)
            if middle <= early:
                middle = early + _SECOND
            if _offset(zone, middle) == offset:
                early = middle
            else:
                late = middle
        after = _offset(zone, late)
        changes.append((late, offset, after))
        moment, offset = late, after
    return changes


def _fold_start(zone: tzinfo, moment: datetime) -> tuple[datetime, timedelta]:
    """For an instant in the second pass of a repeated hour: the instant the
    clocks went back and the offset before it (naive UTC)."""
    changes = _transitions(zone, moment - timedelta(days=1), moment)
    when, before, _ = changes[-1]
    return when, before


def _wall_to_utc(wall: datetime, zone: tzinfo) -> datetime:
    """Turn a naive wall-clock time of ``zone`` into an aware UTC instant.

    The one place where local schedule times become instants. DST rules, as
    Vixie cron does it for fixed-time jobs:

    1. A repeated wall time (autumn fall-back) is taken at its first pass
       (``fold=0``), so a schedule fires once in the repeated hour, in summer time.
    2. A wall time skipped by spring-forward fires at the instant the clocks jump
       (03:00 CEST on the Berlin spring day), so a daily 02:30 job still runs that
       day. Every skipped time maps to that instant, so they fire once together.

    Kudu itself has no rule: it arms a timer with naive local subtraction, so its
    result depends on when the timer was armed. Cron's rule is predictable.
    """
    instant = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
    if instant.astimezone(zone).replace(tzinfo=None) == wall:
        return instant
    return _gap_end(wall, zone)


def _gap_end(wall: datetime, zone: tzinfo) -> datetime:
    """The instant the clocks jumped over the nonexistent wall time ``wall``.

    ``fold=1`` reads the wall time with the offset after the jump (an instant
    before it), ``fold=0`` with the offset before (an instant after it); the jump
    lies between. Binary search on whole seconds: transitions fall on them.
    """
    low = wall.replace(tzinfo=zone, fold=1).astimezone(UTC)  # before the jump
    high = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)  # after the jump
    while high - low > timedelta(seconds=1):
        middle = low + (high - low) // 2
        middle = middle.replace(microsecond=0)
        if middle.astimezone(zone).replace(tzinfo=None) > wall:
            high = middle
        else:
            low = middle
    return high


def cron_validate_time_zone(tz: str) -> None:
    """Raise CronError unless ``tz`` is a time zone this host knows (IANA)."""
    _zone(tz)


def _zone(tz: str | None) -> tzinfo:
    if tz is None:
        return UTC
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise CronError(UNKNOWN_TIME_ZONE.format(tz=tz)) from error
