"""The logs of a continuous job: job_log.txt (Kudu's status log) and
output_log.txt (all of its output), appended in batches and rotated as Kudu
does."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from django.conf import settings

from config.clock import clock_now
from core import continuous as core
from core.kudu import log_line
from jobs.host.children import Child

log = logging.getLogger("jobs.host")


def append_log(path: Path, data: bytes, *, limit: int, prev_name: str) -> bool:
    """Append to a log, first renaming it to prev_name once it passed `limit`.

    Kudu's rule for job_log.txt (1 MiB, then job_prev_log.txt; two files at most).
    The file is opened per batch rather than kept open, so a rename by another
    instance sharing the folder is seen at once. Returns False when the job's
    data folder is gone (the job was deleted): nothing is written, nothing made.
    """
    try:
        if path.stat().st_size > limit:
            os.replace(path, path.with_name(prev_name))
    except FileNotFoundError:
        pass
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    except FileNotFoundError:
        return False
    try:
        os.write(fd, data)
    finally:
        os.close(fd)
    return True


def job_log_note(job, message: str, *, level: str = "WARN") -> None:
    """One system line in a continuous job's job_log.txt, from outside its host
    (a deploy, a settings change)."""
    folder = job.data_dir
    folder.mkdir(parents=True, exist_ok=True)
    line = log_line(clock_now(), settings.WEBSITE_INSTANCE_ID, message, level=level)
    try:
        append_log(
            folder / "job_log.txt",
            line.encode("utf-8"),
            limit=core.JOB_LOG_BYTES,
            prev_name="job_prev_log.txt",
        )
    except OSError:
        log.exception("could not write %s", folder / "job_log.txt")


def logs_flush(child: Child, folder: Path) -> None:
    """Append what the child's buffers hold to its job_log.txt (Kudu's 200
    lines a launch, 1 MiB) and output_log.txt (WEBJOBS_MAX_LOG_BYTES)."""
    for buffer, name, limit, prev in (
        ("job_log", "job_log.txt", core.JOB_LOG_BYTES, "job_prev_log.txt"),
        (
            "out_log",
            "output_log.txt",
            settings.WEBJOBS_MAX_LOG_BYTES,
            "output_prev_log.txt",
        ),
    ):
        lines = getattr(child, buffer)
        if not lines:
            continue
        try:
            append_log(folder / name, b"".join(lines), limit=limit, prev_name=prev)
        except OSError:
            log.exception("could not write %s", folder / name)
        setattr(child, buffer, [])
