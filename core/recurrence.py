"""Azure Scheduler recurrences (API 2016-03-01), as the layers above import them.

The code lives in three modules; this one only gathers their public names:

* core/recurrence_types.py: the values (Recurrence, Schedule, ...), their limits,
  the errors and the messages a user sees;
* core/recurrence_series.py: a job's occurrences, answered arithmetically
  (Series), with Azure's rules (the startTime table, count, endTime) in its
  docstring;
* core/recurrence_validation.py: the one validator (validate_recurrence).

Their ARM JSON is read and written by core/recurrence_json.py, put in words by
core/recurrence_words.py. Modules of core/ import from the module that defines
a name, so that none of them depends on this one.
"""

from __future__ import annotations

from core.recurrence_series import Series, next_occurrence, occurrences
from core.recurrence_types import (
    COUNT_TOO_LARGE,
    COUNT_TOO_SMALL,
    EARLIEST,
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
    NOT_AN_INTEGER,
    OCCURRENCE_OUT_OF_RANGE,
    QUOTA_EXCEEDED,
    RECURRENCE_PATH,
    WEEK_DAY_UNKNOWN,
    WEEK_DAYS,
    MonthlyOccurrence,
    Recurrence,
    RecurrenceError,
    RecurrenceQuotaError,
    Schedule,
    format_datetime,
)
from core.recurrence_validation import validate_recurrence

__all__ = [
    # the values
    "EARLIEST",
    "FREQUENCIES",
    "MAX_COUNT",
    "MAX_INTERVAL",
    "RECURRENCE_PATH",
    "WEEK_DAYS",
    "MonthlyOccurrence",
    "Recurrence",
    "Schedule",
    "format_datetime",
    # the errors and their messages
    "RecurrenceError",
    "RecurrenceQuotaError",
    "COUNT_TOO_LARGE",
    "COUNT_TOO_SMALL",
    "ELEMENT_NEEDS_FREQUENCY",
    "END_BEFORE_START",
    "FREQUENCY_UNKNOWN",
    "HOUR_OUT_OF_RANGE",
    "INTERVAL_TOO_LARGE",
    "INTERVAL_TOO_SMALL",
    "MINUTE_OUT_OF_RANGE",
    "MONTH_DAY_OUT_OF_RANGE",
    "NEVER_FIRES",
    "NOT_AN_INTEGER",
    "OCCURRENCE_OUT_OF_RANGE",
    "QUOTA_EXCEEDED",
    "WEEK_DAY_UNKNOWN",
    # the series and the validator
    "Series",
    "next_occurrence",
    "occurrences",
    "validate_recurrence",
]
