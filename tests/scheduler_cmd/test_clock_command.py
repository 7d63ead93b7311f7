"""manage.py clock show | set: the emulator's time from the command line.

The clock's row lives in the database, so every transactional test starts at
real time.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from config.clock import clock_now, clock_refresh
from tests.helpers import later

pytestmark = pytest.mark.django_db(transaction=True)

SLACK = timedelta(seconds=2)
LINES = r"Now:    (?P<now>\S+Z)\nOffset: (?P<offset>[+-]\d+\.\d{3}) s from real time\n"


@pytest.fixture(autouse=True)
def _fresh_clock_cache():
    clock_refresh()
    yield
    clock_refresh()


def clock(*args: str) -> re.Match:
    out = StringIO()
    call_command("clock", *args, stdout=out, stderr=StringIO())
    match = re.fullmatch(LINES, out.getvalue())
    assert match, out.getvalue()
    return match


def instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_it_shows_real_time_when_the_clock_was_never_moved():
    shown = clock("show")
    assert abs(instant(shown["now"]) - datetime.now(UTC)) < SLACK
    assert shown["offset"] == "+0.000"


def test_it_moves_the_clock_forward():
    moved = clock("set", later("2031-03-01T00:00:00Z"))
    assert abs(instant(moved["now"]) - instant(later("2031-03-01T00:00:00Z"))) < SLACK
    assert float(moved["offset"]) > 86400 * 365
    shown = clock("show")
    assert abs(instant(shown["now"]) - instant(later("2031-03-01T00:00:00Z"))) < SLACK
    assert abs(clock_now() - instant(later("2031-03-01T00:00:00Z"))) < SLACK


def test_it_reads_an_instant_without_offset_as_utc():
    moved = clock("set", later("2031-03-01T12:30:00"))
    assert abs(instant(moved["now"]) - instant(later("2031-03-01T12:30:00Z"))) < SLACK


def test_it_refuses_to_move_the_clock_backward():
    clock("set", later("2031-03-01T00:00:00Z"))
    with pytest.raises(CommandError) as error:
        clock("set", later("2030-01-01T00:00:00Z"))
    assert re.fullmatch(
        later(
            r"The emulator clock only moves forward: 2030-01-01T00:00:00\+00:00 is "
            r"before its current time 2031-03-01T00:00:0\d\.\d+\+00:00\. Schedules, "
            r"counters and history assume time never runs backwards; start a fresh "
            r"database \(or set EMULATOR_CLOCK_START\) to begin earlier\."
        ),
        str(error.value),
    ), str(error.value)
    assert abs(clock_now() - instant(later("2031-03-01T00:00:00Z"))) < SLACK


def test_it_refuses_an_instant_it_cannot_read():
    with pytest.raises(CommandError) as error:
        clock("set", "next tuesday")
    assert str(error.value) == (
        "'next tuesday' is not an ISO 8601 instant like 2030-01-31T23:59:00Z."
    )
