"""NCrontab's parser of a WebJob schedule, copied: six fields (seconds first)
read into sets of values as ``CrontabFieldImpl`` reads them (atifaziz/NCrontab),
and a field written back in its expanded form (``CrontabFieldImpl.Format``), for
core/ncrontab.py. Pure: no Django, no I/O, no clock read.

Behaviour copied from NCrontab, on purpose:

* Day-of-week is 0-6 with Sunday = 0. ``7`` is rejected, as NCrontab rejects it
  ("7 is higher than the maximum allowable value for the [DayOfWeek] field").
* Names are matched the NCrontab way: a case-insensitive prefix of the English
  name, first match wins (``Mon``, ``monday`` and ``M`` all mean Monday; ``Ma``
  means March). Names are allowed in the month and day-of-week fields only.
* A range written backwards is swapped: ``5-3`` means ``3-5``.
* Numbers are read as .NET's ``int.Parse`` reads them: white space after a
  number inside a field is allowed (``1<TAB>``; NCrontab splits fields on the
  space character only), and a step may carry a sign (``*/+20`` is ``*/20``; a
  negative step, ``*/-1``, means every value, as NCrontab clamps it to 1).

Deliberate differences from NCrontab, both for expressions that cannot be meant:

* A step of 0 (``*/0``) is an error; NCrontab silently reads it as a step of 1.
* An expression that can never fire (``0 0 0 30 2 *``) is an error; NCrontab
  parses it and returns "no occurrence" for ever, so the job silently never runs.

Kudu pins NCrontab 2.0.0; one of its bugs, fixed upstream since, is not copied:
``a/1`` means ``a`` to the maximum (2.0.0 read it as ``a`` alone; fixed in 3.2).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

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
# .NET's int.Parse (NumberStyles.Integer), as NCrontab reads numbers: white space
# around (U+0009-U+000D, U+0020) and a sign. A value must start with its digit
# (NCrontab tests the first character), so only trailing space is allowed there.
_WHITE = "\t\n\x0b\x0c\r "
_VALUE = re.compile(f"([0-9]+)[{_WHITE}]*")
_STEP = re.compile(f"[{_WHITE}]*([+-]?)([0-9]+)[{_WHITE}]*")


@dataclass(frozen=True)
class Field:
    """One of the six fields: its name in messages, its range, its names."""

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


FIELDS = (
    Field("second", 0, 59),
    Field("minute", 0, 59),
    Field("hour", 0, 23),
    Field("day", 1, 31),
    Field("month", 1, 12, _MONTH_NAMES),
    Field("day-of-week", 0, 6, _DAY_NAMES),
)


class CronError(ValueError):
    """A WebJob schedule that Kudu would not run; the message says what is wrong."""


@lru_cache(maxsize=4096)
def parse_fields(expr: str) -> tuple[frozenset[int], ...]:
    """Parse the six fields into sets of values, the NCrontab way."""
    tokens = split_fields(expr)
    if len(tokens) != len(FIELDS):
        count = len(tokens)
        raise CronError(
            FIELD_COUNT.format(expr=expr, count=count, plural="" if count == 1 else "s")
        )
    fields = tuple(
        _parse_field(field, token, expr)
        for field, token in zip(FIELDS, tokens, strict=True)
    )
    _check_can_fire(expr, days=fields[3], months=fields[4])
    return fields


def split_fields(expr: str) -> list[str]:
    """NCrontab splits on the space character only, dropping empty entries."""
    return [token for token in expr.split(" ") if token]


def _parse_field(field: Field, token: str, expr: str) -> frozenset[int]:
    values: set[int] = set()
    for item in token.split(","):
        if not item:
            raise CronError(EMPTY_ITEM.format(expr=expr, field=field.name, token=token))
        values.update(_parse_item(field, item, expr))
    return frozenset(values)


def _parse_item(field: Field, item: str, expr: str) -> range:
    """One list item: ``*``, ``a``, ``a-b``, each with an optional ``/step``.

    As in NCrontab, ``a/n`` runs from ``a`` to the field's maximum and a reversed
    range ``b-a`` is read as ``a-b``.
    """
    body, slash, step_text = item.partition("/")
    step = 1
    if slash:
        match = _STEP.fullmatch(step_text)
        if not match or _whole(match.group(2)) == 0:  # 0: refused on purpose
            raise CronError(BAD_STEP.format(expr=expr, field=field.name, token=item))
        # NCrontab clamps a step below 1 to 1: */-1 means every value. Any step
        # past the field's range picks its first value alone; a step of
        # thousands of digits is read as such without int() (it refuses them).
        step = 1 if match.group(1) == "-" else min(_whole(match.group(2)), 100)
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


def _parse_value(field: Field, text: str, item: str, expr: str) -> int:
    match = _VALUE.fullmatch(text)
    if match:
        value = _whole(match.group(1))
        if not field.low <= value <= field.high:
            raise CronError(
                OUT_OF_RANGE.format(
                    expr=expr,
                    field=field.name,
                    value=value if value < 10**6 else _shown(text),
                    range=field.range,
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


def _shown(text: str) -> str:
    return text if len(text) <= 12 else text[:12] + "..."


def _whole(digits: str) -> int:
    """The value of a string of digits; past 6 digits, 10**6 (out of every
    field's range), so that a 5,000-digit field is an error, not int()'s."""
    return int(digits) if len(digits.lstrip("0")) <= 6 else 10**6


def _check_can_fire(expr: str, *, days: frozenset[int], months: frozenset[int]) -> None:
    """Reject expressions whose day never exists in their months (30 February).

    Any day that exists in a month meets every weekday within the 400-year
    Gregorian cycle, so the day-of-week field never makes an expression dead.
    """
    if any(day <= _MONTH_DAYS[month - 1] for day in days for month in months):
        return
    listed = ", ".join(str(day) for day in sorted(days))
    raise CronError(NEVER_FIRES.format(expr=expr, days=listed))


def format_field(field: Field, values: frozenset[int]) -> str:
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
