"""Process-tree helpers shared by runinstance and the tests: end what we start."""

from __future__ import annotations

import ctypes
import os
import signal
import time

PR_SET_CHILD_SUBREAPER = 36


def become_subreaper() -> bool:
    """Orphaned descendants (run monitors outliving a queue worker) reparent to us,
    so a shutdown can find and end them instead of leaving them behind."""
    try:
        return ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1) == 0
    except Exception:
        return False


def _ppid_map() -> dict[int, int]:
    parents: dict[int, int] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                with open(f"/proc/{entry.name}/stat", "rb") as f:
                    fields = f.read().rsplit(b")", 1)[1].split()
                parents[int(entry.name)] = int(fields[1])
            except (OSError, IndexError, ValueError):
                continue
    return parents


def descendants(pid: int) -> list[int]:
    """All live descendants of pid, parents before children."""
    parents = _ppid_map()
    children: dict[int, list[int]] = {}
    for child, parent in parents.items():
        children.setdefault(parent, []).append(child)
    out, stack = [], list(children.get(pid, []))
    while stack:
        p = stack.pop()
        out.append(p)
        stack.extend(children.get(p, []))
    return out


def signal_quietly(pid: int, sig: int, *, group: bool = False) -> None:
    try:
        (os.killpg if group else os.kill)(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def reap() -> None:
    """Collect exited children (we may be a subreaper)."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            state = f.read().rsplit(b")", 1)[1].split()[0]
        return state not in (b"Z", b"X")
    except OSError:
        return False


def end_tree(pid: int, *, grace: float, include_root: bool = True) -> None:
    """SIGTERM a process group and every descendant, SIGKILL what remains.

    include_root=False ends only the descendants (a supervisor ending its own
    orphans must not signal itself or its terminal's process group).
    """
    targets = [pid, *descendants(pid)] if include_root else descendants(pid)
    for p in targets:
        if p == os.getpid():
            continue
        signal_quietly(p, signal.SIGTERM, group=True)
        signal_quietly(p, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(alive(p) for p in targets):
        reap()
        time.sleep(0.05)
    for p in [*targets, *descendants(pid)]:
        if p == os.getpid():
            continue
        signal_quietly(p, signal.SIGKILL, group=True)
        signal_quietly(p, signal.SIGKILL)
    reap()
