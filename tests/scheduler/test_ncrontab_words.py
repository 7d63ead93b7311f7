"""A WebJob's NCRONTAB schedule in words (cron-descriptor), seconds first."""

from __future__ import annotations

import pytest

from core.ncrontab import CronError, cron_words


@pytest.mark.parametrize(
    ("expr", "words"),
    [
        ("0 */15 * * * *", "Every 15 minutes"),
        ("*/30 * * * * *", "Every 30 seconds"),
        ("5 30 9 * * *", "At 09:30:05"),
        ("0 0 9 * * Mon-Fri", "At 09:00, Monday through Friday"),
        ("0 0 9 * * M-F", "At 09:00, Monday through Friday"),  # NCrontab's prefixes
        ("0 0 0 1 * *", "At 00:00, on day 1 of the month"),
        ("0 0 12 * Jan,Jul Sun", "At 12:00, only on Sunday, only in January and July"),
        # NCrontab: the day AND the day of week (Friday the 13th), not cron's OR.
        ("0 0 0 13 * 5", "At 00:00, on day 13 of the month, and only on Friday"),
        # What NCrontab refuses is refused (CronError), not described.
        ("0 0 0 L * *", None),
        ("0 0 * * *", None),
    ],
)
def test_it_describes_ncrontab_in_words(expr, words):
    if words is None:
        with pytest.raises(CronError):
            cron_words(expr)
    else:
        assert cron_words(expr) == words
