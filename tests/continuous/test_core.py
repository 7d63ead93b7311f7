"""The pure part of continuous jobs: restart delay, status summary, lines, and
the log rotation rule (on a temporary folder)."""

from __future__ import annotations

from core.continuous import restart_delay, seconds_text, split_lines, summarize
from jobs.host.logs import append_log


def test_it_restarts_at_once_only_after_two_minutes_of_life():
    assert restart_delay(lived=5, restart_time=60) == 60
    assert restart_delay(lived=119.9, restart_time=60) == 60
    assert restart_delay(lived=120, restart_time=60) == 0
    assert seconds_text(60.0) == "60" and seconds_text(0.5) == "0.5"


def test_it_summarizes_statuses_as_kudu_prefering_any_but_inactive():
    pairs = [("instB-x", "Running"), ("instA-x", "InactiveInstance")]
    assert summarize(pairs, local_instance="web000", fallback="Initializing") == (
        "Running",
        "instA- - InactiveInstance\ninstB- - Running\n",
    )
    assert summarize([], local_instance="web000xyz", fallback="Initializing") == (
        "Initializing",
        "web000 - Initializing\n",
    )
    only_inactive = [("a1b2c3d4", "InactiveInstance")]
    assert summarize(only_inactive, local_instance="x", fallback="Stopped")[0] == (
        "InactiveInstance"
    )


def test_it_splits_lines_keeping_the_unfinished_rest_and_cutting_huge_ones():
    assert split_lines(b"he", b"llo\r\nwor") == ([b"hello"], b"wor")
    assert split_lines(b"wor", b"", final=True) == ([b"wor"], b"")
    lines, rest = split_lines(b"", b"x" * 70000)
    assert lines == [b"x" * 70000] and rest == b""


def test_it_rotates_the_job_log_past_its_limit_keeping_two_files(tmp_path):
    log = tmp_path / "job_log.txt"
    assert append_log(log, b"a" * 60, limit=100, prev_name="job_prev_log.txt")
    append_log(log, b"b" * 60, limit=100, prev_name="job_prev_log.txt")
    assert not (tmp_path / "job_prev_log.txt").exists()  # 60 <= 100 before write
    append_log(log, b"c" * 10, limit=100, prev_name="job_prev_log.txt")
    assert (tmp_path / "job_prev_log.txt").read_bytes() == b"a" * 60 + b"b" * 60
    assert log.read_bytes() == b"c" * 10
    # A deleted job's folder is not recreated by a late write.
    gone = tmp_path / "deleted" / "job_log.txt"
    assert not append_log(gone, b"x", limit=100, prev_name="job_prev_log.txt")
    assert not gone.parent.exists()
