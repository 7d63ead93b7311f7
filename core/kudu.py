"""Kudu's formats for run ids, times and durations (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


def run_id_for(start: datetime) -> str:
    """Kudu's run id: the UTC start time as yyyyMMddHHmmssffff (18 digits)."""
    start = start.astimezone(UTC)
    return start.strftime("%Y%m%d%H%M%S") + f"{start.microsecond // 100:04d}"


def run_id_next(run_id: str) -> str:
    """The next 100-microsecond tick, for two runs created in the same tick."""
    return f"{int(run_id) + 1:018d}"


def iso_utc(value: datetime | None) -> str | None:
    """Json.NET's round-trip form: up to 7 fractional digits, zeros trimmed, Z."""
    if value is None:
        return None
    if value.tzinfo is None or value.utcoffset():
        value = value.astimezone(UTC)  # a naive one is local time, as before
    # isoformat (C) rather than strftime: a quarter less CPU, which Kudu's job
    # list of a thousand jobs spends two thousand times, and the year in four
    # digits, as Json.NET writes it, where strftime wrote year 1 as "1".
    text = value.replace(tzinfo=None).isoformat()
    return (text.rstrip("0") if value.microsecond else text) + "Z"


def timespan(delta: timedelta | None) -> str | None:
    """.NET TimeSpan text: [d.]hh:mm:ss[.fffffff]."""
    if delta is None:
        return None
    total_us = max(int(delta / timedelta(microseconds=1)), 0)
    seconds, micro = divmod(total_us, 1_000_000)
    minutes, sec = divmod(seconds, 60)
    hours, minute = divmod(minutes, 60)
    days, hour = divmod(hours, 24)
    text = f"{hour:02d}:{minute:02d}:{sec:02d}"
    if days:
        text = f"{days}.{text}"
    if micro:
        text += f".{micro * 10:07d}"
    return text


def log_line(
    when: datetime,
    instance: str,
    message: str,
    *,
    level: str = "INFO",
    system: bool = True,
) -> str:
    """Kudu's log line: [MM/dd/yyyy HH:mm:ss > inst6: SYS INFO] message."""
    stamp = when.astimezone(UTC).strftime("%m/%d/%Y %H:%M:%S")
    prefix = "SYS " if system else ""
    return f"[{stamp} > {instance[:6]}: {prefix}{level:<4}] {message}\n"
