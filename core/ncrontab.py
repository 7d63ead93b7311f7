"""NCRONTAB schedules of triggered WebJobs (the ``schedule`` key of settings.job).

Kudu parses the schedule with NCrontab 2 "including seconds": exactly six fields,
``{second} {minute} {hour} {day} {month} {day-of-week}``. This module copies
NCrontab's parser (atifaziz/NCrontab, ``CrontabFieldImpl``) and its expanded form
(``CrontabSchedule.ToString``, which Kudu writes after ``Schedule - `` in a run's
``trigger``), and iterates with croniter. Pure: no Django, no I/O, no clock read.

Behaviour copied from NCrontab, on purpose:

* Day-of-week is 0-6 with Sunday = 0. ``7`` is rejected, as NCrontab rejects it
  ("7 is higher than the maximum allowable value for the [DayOfWeek] field").
* Names are matched the NCrontab way: a case-insensitive prefix of the English
  name, first match wins (``Mon``, ``monday`` and ``M`` all mean Monday; ``Ma``
  means March). Names are allowed in the month and day-of-week fields only.
* A range written backwards is swapped: ``5-3`` means ``3-5``.
* Day-of-month AND day-of-week must both match (NCrontab checks the day, then
  ``_daysOfWeek.Contains(...)``), unlike Vixie cron's OR; ``0 0 0 13 * 5`` fires on
  Friday the 13th only. croniter is run with ``day_or=False`` for that.

* Numbers are read as .NET's ``int.Parse`` reads them: white space after a
  number inside a field is allowed (``1<TAB>``; NCrontab splits fields on the
  space character only), and a step may carry a sign (``*/+20`` is ``*/20``; a
  negative step, ``*/-1``, means every value, as NCrontab clamps it to 1).

Deliberate differences from NCrontab, both for expressions that cannot be meant:

* A step of 0 (``*/0``) is an error; NCrontab silently reads it as a step of 1.
* An expression that can never fire (``0 0 0 30 2 *``) is an error; NCrontab
  parses it and returns "no occurrence" for ever, so the job silently never runs.

Kudu pins NCrontab 2.0.0; two of its bugs, fixed upstream since, are not copied:
``a/1`` means ``a`` to the maximum (2.0.0 read it as ``a`` alone; fixed in 3.2),
and the seconds start again from the first allowed second when the minute or hour
moves on (2.0.0 kept the second; NCrontab issue #90, fixed in 3.4).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cron_descriptor import ExpressionDescriptor, Options
from croniter import CroniterError, croniter

FIELD_COUNT = (
    'CRON expression "{expr}" has {count} field{plural}; a WebJob schedule needs 6: '
    "{{second}} {{minute}} {{hour}} {{day}} {{month}} {{day-of-week}}."
)
EMPTY_ITEM = (
    'CRON expression "{expr}" has an empty item in its {field} field "{token}".'
)
BAD_VALUE = (
    '"{token}" is not a valid value in the {field} field of CRON expression '
    '"{expr}"; use a number between {range}.'
)
BAD_STEP = (
    '"{token}" is not a valid step in the {field} field of CRON expression '
    '"{expr}"; a step is a whole number other than 0, as in */5.'
)
OUT_OF_RANGE = (
    '{value} is out of range in the {field} field of CRON expression "{expr}"; '
    "it must be between {range}."
)
NEVER_FIRES = (
    'CRON expression "{expr}" never fires: none of its months has a day {days}.'
)
UNKNOWN_TIME_ZONE = 'Unknown time zone "{tz}"; use an IANA name such as Europe/Berlin.'
NO_NEXT = 'CRON expression "{expr}" has no occurrence after {after}.'
NAIVE_AFTER = "after must be an aware datetime (UTC), got {after!r}."

_MONTH_NAMES = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_DAY_NAMES = (
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
)
# Longest month length, February counted as 29: a day that fits here can fire.
_MONTH_DAYS = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
# A day-of-month/month pair that exists meets every weekday within 400 years
# (even 29 February); croniter needs a bound to give up on sparse schedules.
_MAX_YEARS_BETWEEN_MATCHES = 400
# .NET's int.Parse (NumberStyles.Integer), as NCrontab reads numbers: white space
# around (U+0009-U+000D, U+0020) and a sign. A value must start with its digit
# (NCrontab tests the first character), so only trailing space is allowed there.
_WHITE = "\t\n\x0b\x0c\r "
_VALUE = re.compile(f"([0-9]+)[{_WHITE}]*")
_STEP = re.compile(f"[{_WHITE}]*([+-]?)([0-9]+)[{_WHITE}]*")


@dataclass(frozen=True)
class _Field:
    name: str
    low: int
    high: int
    names: tuple[str, ...] = ()

    @property
    def range(self) -> str:
        if self.name == "day-of-week":
            return "0 and 6 (Sunday is 0; 7 is not accepted) or Sun-Sat"
        if self.names:
            return f"{self.low} and {self.high} or Jan-Dec"
        return f"{self.low} and {self.high}"


_FIELDS = (
    _Field("second", 0, 59),
    _Field("minute", 0, 59),
    _Field("hour", 0, 23),
    _Field("day", 1, 31),
    _Field("month", 1, 12, _MONTH_NAMES),
    _Field("day-of-week", 0, 6, _DAY_NAMES),
)


class CronError(ValueError):
    """A WebJob schedule that Kudu would not run; the message says what is wrong."""


def cron_validate(expr: str) -> None:
    """Raise CronError unless ``expr`` is a 6-field NCRONTAB that can fire."""
    _parse(expr)


def cron_expand(expr: str) -> str:
    """NCrontab's expanded form, as Kudu writes it in ``Schedule - {expanded}``.

    Copies ``CrontabFieldImpl.Format``: values become numbers, a field holding
    every value becomes ``*``, and runs of two or more consecutive values become
    ``a-b``; everything else is a comma list. ``0 */15 * * * *`` gives
    ``0 0,15,30,45 * * * *``; ``0 0 0 * * Mon-Fri`` gives ``0 0 0 * * 1-5``.
    """
    return " ".join(
        _format(field, values)
        for field, values in zip(_FIELDS, _parse(expr), strict=True)
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
        for own, exp in zip(_tokens(expr), expanded, strict=True)
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


def _zone(tz: str | None) -> tzinfo:
    if tz is None:
        return UTC
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise CronError(UNKNOWN_TIME_ZONE.format(tz=tz)) from error


def _parse(expr: str) -> tuple[frozenset[int], ...]:
    """Parse the six fields into sets of values, the NCrontab way."""
    tokens = _tokens(expr)
    if len(tokens) != len(_FIELDS):
        count = len(tokens)
        raise CronError(
            FIELD_COUNT.format(expr=expr, count=count, plural="" if count == 1 else "s")
        )
    fields = tuple(
        _parse_field(field, token, expr)
        for field, token in zip(_FIELDS, tokens, strict=True)
    )
    _check_can_fire(expr, days=fields[3], months=fields[4])
    return fields


def _tokens(expr: str) -> list[str]:
    """NCrontab splits on the space character only, dropping empty entries."""
    return [token for token in expr.split(" ") if token]


def _parse_field(field: _Field, token: str, expr: str) -> frozenset[int]:
    values: set[int] = set()
    for item in token.split(","):
        if not item:
            raise CronError(EMPTY_ITEM.format(expr=expr, field=field.name, token=token))
        values.update(_parse_item(field, item, expr))
    return frozenset(values)


def _parse_item(field: _Field, item: str, expr: str) -> range:
    """One list item: ``*``, ``a``, ``a-b``, each with an optional ``/step``.

    As in NCrontab, ``a/n`` runs from ``a`` to the field's maximum and a reversed
    range ``b-a`` is read as ``a-b``.
    """
    body, slash, step_text = item.partition("/")
    step = 1
    if slash:
        match = _STEP.fullmatch(step_text)
        if not match or int(match.group(2)) == 0:  # 0: refused on purpose
            raise CronError(BAD_STEP.format(expr=expr, field=field.name, token=item))
        # NCrontab clamps a step below 1 to 1: */-1 means every value.
        step = 1 if match.group(1) == "-" else int(match.group(2))
    if body == "*":
        return range(field.low, field.high + 1, step)
    first_text, dash, last_text = body.partition("-")
    first = _parse_value(field, first_text, item, expr)
    if dash:
        last = _parse_value(field, last_text, item, expr)
        first, last = min(first, last), max(first, last)
    else:
        last = field.high if slash else first
    return range(first, last + 1, step)


def _parse_value(field: _Field, text: str, item: str, expr: str) -> int:
    match = _VALUE.fullmatch(text)
    if match:
        value = int(match.group(1))
        if not field.low <= value <= field.high:
            raise CronError(
                OUT_OF_RANGE.format(
                    expr=expr, field=field.name, value=value, range=field.range
                )
            )
        return value
    if text and not text[0].isdigit():
        for index, name in enumerate(field.names):
            if name.lower().startswith(text.lower()):
                return field.low + index
    raise CronError(
        BAD_VALUE.format(
            expr=expr, field=field.name, token=text or item, range=field.range
        )
    )


def _check_can_fire(expr: str, *, days: frozenset[int], months: frozenset[int]) -> None:
    """Reject expressions whose day never exists in their months (30 February).

    Any day that exists in a month meets every weekday within the 400-year
    Gregorian cycle, so the day-of-week field never makes an expression dead.
    """
    if any(day <= _MONTH_DAYS[month - 1] for day in days for month in months):
        return
    listed = ", ".join(str(day) for day in sorted(days))
    raise CronError(NEVER_FIRES.format(expr=expr, days=listed))


def _format(field: _Field, values: frozenset[int]) -> str:
    """Copy of NCrontab's ``CrontabFieldImpl.Format`` with ``noNames``."""
    ordered = sorted(values)
    if ordered == list(range(field.low, field.high + 1)):
        return "*"
    runs: list[str] = []
    start = previous = ordered[0]
    for value in [*ordered[1:], None]:
        if value is not None and value == previous + 1:
            previous = value
            continue
        runs.append(str(start) if start == previous else f"{start}-{previous}")
        if value is not None:
            start = previous = value
    return ",".join(runs)
