"""Random recurrences against a brute-force reference that knows no rrule.

The reference walks the window day by day, hour by hour, minute by minute and
asks of each instant "is this an occurrence?" with Azure's rules written out
plainly: the period grid counted from the first execution, the schedule values
with their defaults, then the startTime table, count from creation and an
inclusive endTime.
"""

from datetime import UTC, date, datetime, time, timedelta
from itertools import takewhile

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.recurrence import (
    WEEK_DAYS,
    MonthlyOccurrence,
    Recurrence,
    Schedule,
    Series,
    occurrences,
)

SPAN = {
    "Minute": timedelta(days=2),
    "Hour": timedelta(days=6),
    "Day": timedelta(days=25),
    "Week": timedelta(weeks=10),
    "Month": timedelta(days=730),
}
MAX_INTERVAL = {"Minute": 150, "Hour": 50, "Day": 12, "Week": 5, "Month": 14}
EPOCH = datetime(2000, 1, 3, tzinfo=UTC)  # a Monday at midnight


# --- the reference ---------------------------------------------------------------


def brute_force(start, rec, created, window_end):
    """Every occurrence up to ``window_end``, found by testing every minute."""
    anchor = (start or created).replace(microsecond=0)
    candidates = []
    day = max(anchor, created).date()
    while day <= window_end.date():
        if day_matches(rec, anchor, day):
            for hour in range(24):
                if not hour_matches(rec, anchor, day, hour):
                    continue
                for minute in range(60):
                    moment = datetime.combine(
                        day, time(hour, minute, anchor.second), tzinfo=UTC
                    )
                    if anchor <= moment <= window_end and minute_matches(
                        rec, anchor, moment
                    ):
                        candidates.append(moment)
        day += timedelta(days=1)
    return apply_start_table(start, rec, created, candidates)


def apply_start_table(start, rec, created, candidates):
    if start is None:  # run once immediately, then the recurrence
        series = [created] + [moment for moment in candidates if moment > created]
    else:  # instances before creation are discarded
        series = [moment for moment in candidates if moment >= created]
    kept = []
    for moment in series:
        if rec.end_time is not None and moment > rec.end_time:
            break
        if rec.count is not None and len(kept) == rec.count:
            break
        kept.append(moment)
    return kept


def schedule_of(rec):
    return rec.schedule or Schedule()


def day_matches(rec, anchor, day):
    schedule = schedule_of(rec)
    if rec.frequency == "Day":
        return (day - anchor.date()).days % rec.interval == 0
    if rec.frequency == "Week":
        weeks = (monday(day) - monday(anchor.date())).days // 7
        days = set(schedule.week_days) or {WEEK_DAYS[anchor.weekday()]}
        return weeks % rec.interval == 0 and WEEK_DAYS[day.weekday()] in days
    if rec.frequency == "Month":
        months = (day.year - anchor.year) * 12 + day.month - anchor.month
        return months % rec.interval == 0 and month_day_matches(schedule, anchor, day)
    return True  # Minute and Hour recur within days


def monday(day):
    return day - timedelta(days=day.weekday())


def month_day_matches(schedule, anchor, day):
    if not schedule.month_days and not schedule.monthly_occurrences:
        return day.day == anchor.day
    length = days_in_month(day.year, day.month)
    if schedule.month_days and (
        day.day not in schedule.month_days
        and day.day - length - 1 not in schedule.month_days
    ):
        return False
    if schedule.monthly_occurrences:
        nth = (day.day - 1) // 7 + 1
        nth_from_end = -((length - day.day) // 7 + 1)
        return any(
            item.day == WEEK_DAYS[day.weekday()]
            and item.occurrence in (None, nth, nth_from_end)
            for item in schedule.monthly_occurrences
        )
    return True


def days_in_month(year, month):
    count = 28
    while (date(year, month, 1) + timedelta(days=count)).month == month:
        count += 1
    return count


def hour_matches(rec, anchor, day, hour):
    schedule = schedule_of(rec)
    if rec.frequency == "Minute":
        return not schedule.hours or hour in schedule.hours
    if rec.frequency == "Hour":
        moment = datetime.combine(day, time(hour), tzinfo=UTC)
        hours = hours_since_epoch(moment) - hours_since_epoch(anchor)
        return hours % rec.interval == 0 and (
            not schedule.hours or hour in schedule.hours
        )
    if schedule.hours:
        return hour in schedule.hours
    return bool(schedule.minutes) or hour == anchor.hour


def minute_matches(rec, anchor, moment):
    schedule = schedule_of(rec)
    if rec.frequency == "Minute":
        minutes = minutes_since_epoch(moment) - minutes_since_epoch(anchor)
        return minutes % rec.interval == 0 and (
            not schedule.minutes or moment.minute in schedule.minutes
        )
    return moment.minute in (schedule.minutes or (anchor.minute,))


def minutes_since_epoch(moment):
    return int((moment - EPOCH).total_seconds()) // 60


def hours_since_epoch(moment):
    return int((moment - EPOCH).total_seconds()) // 3600


# --- strategies ------------------------------------------------------------------

moments = st.datetimes(
    min_value=datetime(2023, 1, 1), max_value=datetime(2025, 12, 31)
).map(lambda value: value.replace(tzinfo=UTC))


def small_lists(elements, size):
    return st.lists(elements, max_size=size, unique=True).map(tuple)


@st.composite
def recurrences(draw):
    frequency = draw(st.sampled_from(["Minute", "Hour", "Day", "Week", "Month"]))
    month = frequency == "Month"
    schedule = Schedule(
        minutes=draw(small_lists(st.integers(0, 59), 4)),
        hours=draw(small_lists(st.integers(0, 23), 3)),
        week_days=draw(small_lists(st.sampled_from(WEEK_DAYS), 3))
        if frequency == "Week"
        else (),
        month_days=draw(small_lists(st.integers(1, 31) | st.integers(-31, -1), 3))
        if month
        else (),
        monthly_occurrences=draw(
            small_lists(
                st.builds(
                    MonthlyOccurrence,
                    st.sampled_from(WEEK_DAYS),
                    st.none() | st.integers(1, 5) | st.integers(-5, -1),
                ),
                2,
            )
        )
        if month
        else (),
    )
    return Recurrence(
        frequency=frequency,
        interval=draw(st.integers(1, MAX_INTERVAL[frequency])),
        count=draw(st.none() | st.integers(1, 40)),
        schedule=None if schedule.is_empty() else schedule,
    )


@st.composite
def jobs(draw):
    rec = draw(recurrences())
    created = draw(moments)
    span = SPAN[rec.frequency]
    # A third without start; the rest spread over past and future starts.
    start = (
        None
        if draw(st.integers(0, 2)) == 0
        else (created + draw(st.timedeltas(-span * 3, span))).replace(microsecond=0)
    )
    # On the occurrences' second, so that an occurrence can fall on endTime.
    second = (start or created).second
    end_time = draw(
        st.none()
        | st.timedeltas(-span / 4, span).map(
            lambda offset: (created + offset).replace(second=second, microsecond=0)
        )
    )
    if end_time is not None:
        rec = Recurrence(
            frequency=rec.frequency,
            interval=rec.interval,
            count=rec.count,
            end_time=end_time,
            schedule=rec.schedule,
        )
    after = created + draw(st.timedeltas(-span / 4, span))
    return start, rec, created, created + span, after


# --- the property ----------------------------------------------------------------


@settings(
    max_examples=150,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(jobs())
def test_it_matches_a_brute_force_reference(job):
    start, rec, created, window_end, after = job
    expected = brute_force(start, rec, created, window_end)

    def engine(after_value):
        series = occurrences(
            start_time=start, recurrence=rec, created_at=created, after=after_value
        )
        return list(takewhile(lambda moment: moment <= window_end, series))

    assert engine(None) == expected
    assert engine(after) == [moment for moment in expected if moment > after]


@settings(
    max_examples=150,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(jobs(), st.data())
def test_it_counts_and_finds_occurrences_as_the_reference_lists_them(job, data):
    """What the engine asks after a clock jump (how many were missed, which was
    the latest, which comes next) answered without walking the series."""
    start, rec, created, window_end, after = job
    expected = brute_force(start, rec, created, window_end)
    series = Series(start_time=start, recurrence=rec, created_at=created)
    span = window_end - created
    low = created + data.draw(st.timedeltas(-span / 4, span))
    high = low + data.draw(st.timedeltas(timedelta(0), span))
    high = min(high, window_end)
    assert series.count_between(low, high) == len(
        [moment for moment in expected if low <= moment <= high]
    )
    before = [moment for moment in expected if moment <= high]
    assert series.last_at_or_before(high) == (before[-1] if before else None)
    later = [moment for moment in expected if moment > after]
    if later or rec.count is not None or rec.end_time is not None:
        beyond = list(takewhile(lambda m: m <= window_end, series.after(after)))
        assert beyond == later
        if later:
            assert series.first_after(after) == later[0]
