"""A triggered run's processes end with the run, also those that left its
process group (a daemon: `setsid cmd &`, a double fork).

Whoever starts runs (a run monitor, the launcher) is a subreaper
(PR_SET_CHILD_SUBREAPER): a process that outlives its parent inside a run is
reparented to it rather than to init. So a run's strays are among its own
children: those it did not start itself (`known`), whose run, read from the
environment every process of a run inherits (WEBJOBS_NAME, WEBJOBS_RUN_ID), is
not one still going (`running`). They are killed with their process group, and
reaped.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Collection

from jobs.processes import alive, signal_quietly


def own_children() -> list[int]:
    """This process's children, from /proc (one small file per thread)."""
    me = os.getpid()
    found: list[int] = []
    for task in os.scandir(f"/proc/{me}/task"):
        try:
            with open(f"/proc/{me}/task/{task.name}/children") as f:
                found += [int(pid) for pid in f.read().split()]
        except OSError:
            continue
    return found


def run_of(pid: int) -> tuple[str, str] | None:
    """(WEBJOBS_NAME, WEBJOBS_RUN_ID) of a process, from its environment."""
    try:
        with open(f"/proc/{pid}/environ", "rb") as f:
            entries = f.read().split(b"\0")
    except OSError:
        return None
    values = dict(e.split(b"=", 1) for e in entries if b"=" in e)
    name, run_id = values.get(b"WEBJOBS_NAME"), values.get(b"WEBJOBS_RUN_ID")
    if not name or not run_id:
        return None
    return name.decode(errors="replace"), run_id.decode(errors="replace")


def strays_end(
    *, known: Collection[int] = (), running: Collection[tuple[str, str]] = ()
) -> int:
    """Kill the children not `known` whose run is not `running`, with their
    process groups, and reap every stray that ended; how many were killed."""
    killed = 0
    for pid in own_children():
        if pid in known:
            continue
        if alive(pid) and run_of(pid) not in running:
            signal_quietly(pid, signal.SIGKILL, group=True)
            signal_quietly(pid, signal.SIGKILL)
            killed += 1
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass
    return killed
