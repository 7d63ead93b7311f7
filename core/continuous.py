"""Continuous WebJobs, the pure part: restart delay, status summary, log lines.

Plain functions over plain values (no Django, no I/O, no clock read); the host
(jobs/host/) and the API (jobs/selectors.py) call them.
"""

from __future__ import annotations

from collections.abc import Iterable

# Kudu (ContinuousJobRunner): a process that lived at least two minutes is
# relaunched at once; one that died sooner waits WEBJOBS_RESTART_TIME.
LONG_LIVED_SECONDS = 120.0
# Kudu keeps at most this many output lines of one launch in job_log.txt.
MAX_OUTPUT_LINES = 200
# job_log.txt is renamed to job_prev_log.txt once it passes 1 MiB (Kudu).
JOB_LOG_BYTES = 1024 * 1024

INACTIVE = "InactiveInstance"
INITIALIZING = "Initializing"

# Log lines of the host (SYS lines). Kudu's own wording where Kudu has one.
MSG_STATUS = "Status changed to {status}"
MSG_RUN_SCRIPT = "Run script '{script}' with script host - '{host}'"
MSG_WENT_DOWN = "Process went down, waiting for {seconds} seconds"
MSG_EXIT_CODE = "Job failed due to exit code {code}"
MSG_EXIT_ZERO = "Process exited with code 0"
MSG_REFRESH = "Detected WebJob file/s were updated, refreshing WebJob"
MSG_SHUTDOWN_FILE = (
    "Stopping: shutdown notification written to WEBJOBS_SHUTDOWN_FILE; waiting up "
    "to {seconds} seconds (stopping_wait_time) for the process to exit"
)
MSG_STOPPED_CLEANLY = "Process exited with code {code} after the shutdown notification"
MSG_KILLED = (
    "Process did not exit within stopping_wait_time ({seconds} seconds); killing "
    "its process group"
)
MSG_OUTPUT_CAP = (
    "Reached maximum allowed output lines for this run, to see all of the job's "
    "logs read output_log.txt"
)
MSG_START_FAILED = "The job could not be started: {error}"
MSG_LEFTOVERS = (
    "Ended {count} leftover process(es) of this job from a previous host of this "
    "instance (pid group {pgid})"
)
MSG_LEASE_LOST = "This instance lost the singleton lease; stopping the job here"


def restart_delay(*, lived: float, restart_time: float) -> float:
    """Seconds to wait before relaunching a process that lived `lived` seconds."""
    return 0.0 if lived >= LONG_LIVED_SECONDS else restart_time


def seconds_text(value: float) -> str:
    """60.0 -> '60', 0.5 -> '0.5' (Kudu prints whole seconds)."""
    return f"{value:g}"


def summarize(
    statuses: Iterable[tuple[str, str]], *, local_instance: str, fallback: str
) -> tuple[str, str]:
    """Kudu's `status` and `detailed_status` from (instance id, status) pairs.

    `detailed_status` has one "{inst6} - {status}" line per instance; `status`
    is one instance's status, preferring any other than InactiveInstance (so a
    singleton shows Running wherever it runs). No statuses at all: one line for
    the local instance with `fallback` (Kudu: Initializing).
    """
    pairs = sorted(statuses)
    if not pairs:
        return fallback, f"{local_instance[:6]} - {fallback}\n"
    detailed = "".join(f"{inst[:6]} - {status}\n" for inst, status in pairs)
    active = [status for _, status in pairs if status != INACTIVE]
    return (active[0] if active else pairs[0][1]), detailed


def split_lines(
    pending: bytes, chunk: bytes, *, final: bool = False
) -> tuple[list[bytes], bytes]:
    """Complete lines of pending + chunk, and the unfinished rest.

    A line longer than 64 KiB without a newline is cut, so a job writing no
    newlines cannot grow the host's memory.
    """
    buf = pending + chunk
    *lines, rest = buf.split(b"\n")
    if (final and rest) or len(rest) > 65536:
        lines, rest = [*lines, rest], b""
    return [line.rstrip(b"\r") for line in lines], rest
