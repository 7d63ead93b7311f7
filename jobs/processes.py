"""Process-tree helpers shared by runinstance and the tests: end what we start."""

from __future__ import annotations

import ctypes
import functools
import os
import shutil
import signal
import subprocess
import time

from django.conf import settings

from core.runtimes import Runtime, override_variable, resolve_runtime

PR_SET_CHILD_SUBREAPER = 36


def become_subreaper(on: bool = True) -> bool:
    """Orphaned descendants (run monitors outliving a queue worker) reparent to us,
    so a shutdown can find and end them instead of leaving them behind."""
    try:
        flag = 1 if on else 0
        return (
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, flag) == 0
        )
    except Exception:
        return False


def proc_stats():
    """(pid, fields of /proc/<pid>/stat after "(comm)") for every process:
    fields[0] state, [1] ppid, [2] pgrp, [11] utime, [12] stime."""
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as f:
                fields = f.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        if len(fields) > 12:
            yield int(entry.name), fields


def _ppid_map() -> dict[int, int]:
    return {pid: int(fields[1]) for pid, fields in proc_stats()}


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


def _wait_dead(pids: list[int], until: float) -> None:
    while time.monotonic() < until and any(alive(p) for p in pids):
        reap()
        time.sleep(0.05)


def end_tree(pid: int, *, grace: float, include_root: bool = True) -> None:
    """End a process and everything it started within `grace` seconds
    (end_trees of one root). include_root=False ends only the descendants: a
    supervisor ending its own orphans must not signal itself."""
    end_trees([pid] if include_root else [], grace=grace, also=[pid])


def end_trees(roots: list[int], *, grace: float, also: list[int] = ()) -> None:
    """End processes and everything they started, together, within `grace`
    seconds, however busy or stuck they are.

    1. SIGTERM the roots alone, so a supervisor (django-q2's cluster, gunicorn's
       arbiter) stops its own children gracefully; wait up to half the grace.
    2. SIGTERM whatever of their trees is left (e.g. run monitors in sessions of
       their own, which abort their jobs; the descendants of `also`, whose
       root is spared); wait for the rest of the grace.
    3. SIGKILL what still lives, and each survivor's process group: a process
       that ignores SIGTERM (busy in a long computation, stopped) ends here.
    """
    me = os.getpid()
    tops = [*roots, *also]
    trees = {p for top in tops for p in descendants(top)}
    deadline = time.monotonic() + grace
    for pid in roots:
        signal_quietly(pid, signal.SIGTERM)
    _wait_dead(roots, time.monotonic() + grace / 2)
    trees |= {p for top in tops for p in descendants(top)}
    rest = [p for p in trees if p != me and alive(p)]
    for pid in rest:
        signal_quietly(pid, signal.SIGTERM)
    _wait_dead([*roots, *rest], deadline)
    trees |= {p for top in tops for p in descendants(top)}
    for pid in [*roots, *trees]:
        if pid != me and alive(pid):
            signal_quietly(pid, signal.SIGKILL, group=True)
            signal_quietly(pid, signal.SIGKILL)
    reap()


def group_members(pgid: int) -> list[int]:
    """Live processes whose process group is pgid."""
    return [
        pid
        for pid, fields in proc_stats()
        if int(fields[2]) == pgid and fields[0] not in (b"Z", b"X")
    ]


def environ_has(pid: int, *entries: str) -> bool:
    """True when every NAME=value entry is in the process's initial environment.

    This is how a process is told apart from an unrelated one that reuses its
    pid (Kudu finds a job's processes by its WEBSITE_*_JOB_RUNNING_* marker).
    """
    try:
        with open(f"/proc/{pid}/environ", "rb") as f:
            environ = set(f.read().split(b"\0"))
    except OSError:
        return False
    return all(entry.encode() in environ for entry in entries)


def environ_search(prefix: str, *entries: str) -> list[int]:
    """Live processes with a variable starting with `prefix` and every entry."""
    found = []
    wanted = [e.encode() for e in entries]
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/environ", "rb") as f:
                environ = f.read().split(b"\0")
        except OSError:
            continue
        if all(w in environ for w in wanted) and any(
            e.startswith(prefix.encode()) for e in environ
        ):
            if alive(int(entry.name)):
                found.append(int(entry.name))
    return found


def cmdline(pid: int) -> list[str]:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return [a.decode(errors="replace") for a in f.read().split(b"\0") if a]
    except OSError:
        return []


# --- a job dies with the process that started it ----------------------------------

PR_SET_PDEATHSIG = 1


@functools.cache
def _setpriv() -> str | None:
    """util-linux's setpriv, when this machine has one with --pdeathsig."""
    path = shutil.which("setpriv")
    if not path:
        return None
    try:
        usage = subprocess.run(
            [path, "--help"], capture_output=True, text=True, timeout=5
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return path if "--pdeathsig" in usage else None


def pdeathsig_wrapper(*, as_job: bool = True, sig: str = "KILL") -> tuple[str, ...]:
    """The prefix of every job's command: `setpriv [--reuid U --regid G
    --clear-groups] --pdeathsig KILL --` when this machine has setpriv.

    The job dies with the process that started it (PR_SET_PDEATHSIG, set by
    setpriv after it drops to WEBJOBS_RUN_AS, since a change of user clears
    it). A preexec_fn makes CPython fork the whole parent (~10 ms with Django
    loaded) instead of vfork (~3 ms), which a burst of 100 starts pays 100
    times; the tiny setpriv exec does the same in the child instead. What it
    gives up is preexec's parent check: a parent killed in the millisecond
    between vfork and setpriv's prctl leaves that one job running (the next
    host of the instance ends it, as any leftover). Without setpriv, preexec.
    `as_job=False`: a process of the emulator's own (Azurite), which keeps its
    user.
    """
    path = _setpriv()
    if path is None:
        return ()
    ids = settings.WEBJOBS_RUN_AS_IDS if as_job else None
    user = (f"--reuid={ids[0]}", f"--regid={ids[1]}", "--clear-groups") if ids else ()
    return (path, *user, "--pdeathsig", sig, "--")


def die_with(parent: int, *, as_job: bool = True, sig: int = signal.SIGKILL):
    """Popen's preexec_fn when there is no setpriv, else None: the job runs as
    WEBJOBS_RUN_AS and gets `sig` when `parent` dies, even by kill -9. If the
    parent died between fork and prctl, the signal would never come; the
    parent-pid check closes that."""
    if _setpriv() is not None:
        return None
    ids = settings.WEBJOBS_RUN_AS_IDS if as_job else None

    def set_pdeathsig() -> None:
        if ids is not None:  # the user first: a change of user clears the signal
            os.setgroups([])
            os.setgid(ids[1])
            os.setuid(ids[0])
        parent_death_signal(sig)
        if os.getppid() != parent:
            os._exit(1)

    return set_pdeathsig


def parent_death_signal(sig: int) -> None:
    """This process gets `sig` when its parent dies (PR_SET_PDEATHSIG)."""
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, sig)


class SignalWake:
    """A supervisor loop's signals (the continuous host, the launcher):
    SIGTERM/SIGINT set the owner's `stopping`, SIGCHLD its `sigchld`, and each
    writes to a pipe whose read end (`fd`) the loop's selector waits on, so a
    signal ends the wait at once (signal.set_wakeup_fd)."""

    def __init__(self, owner) -> None:
        self.owner = owner
        self.fd, self._w = os.pipe()
        os.set_blocking(self.fd, False)
        os.set_blocking(self._w, False)

    def install(self) -> None:
        signal.set_wakeup_fd(self._w)
        owner = self.owner

        def request_stop(signum, frame) -> None:
            owner.stopping = True

        def child_exited(signum, frame) -> None:
            owner.sigchld = True

        signal.signal(signal.SIGTERM, request_stop)
        signal.signal(signal.SIGINT, request_stop)
        signal.signal(signal.SIGCHLD, child_exited)

    def drain(self) -> None:
        """Read what the signals wrote (the selector said fd is readable)."""
        try:
            while os.read(self.fd, 512):
                pass
        except BlockingIOError:
            pass

    def close(self) -> None:
        signal.set_wakeup_fd(-1)
        os.close(self.fd)
        os.close(self._w)


# --- what a job's user may run ------------------------------------------------


def runnable_by_jobs(path: str) -> bool:
    """Whether WEBJOBS_RUN_AS may execute `path`: every folder on the way
    searchable by it and the file executable (the permission bits it would
    get: owner, group or other). Always true when jobs run as ourselves."""
    ids = settings.WEBJOBS_RUN_AS_IDS
    if ids is None:
        return True
    uid, gid = ids
    real = os.path.realpath(path)
    parts = [real, *_ancestors(real), *_ancestors(os.path.abspath(path))]
    return all(_permits(part, uid, gid) for part in dict.fromkeys(parts))


def can_enter(folder: str) -> bool:
    """Whether WEBJOBS_RUN_AS may pass through `folder` (its x bit for them)."""
    ids = settings.WEBJOBS_RUN_AS_IDS
    return ids is None or _permits(folder, *ids)


def _ancestors(path: str) -> list[str]:
    found = []
    while (parent := os.path.dirname(path)) != path:
        found.append(parent)
        path = parent
    return found


def _permits(path: str, uid: int, gid: int) -> bool:
    try:
        info = os.stat(path)
    except OSError:
        return False
    if info.st_uid == uid:
        return bool(info.st_mode & 0o100)
    if info.st_gid == gid:
        return bool(info.st_mode & 0o010)
    return bool(info.st_mode & 0o001)


# Interpreters found lately, per PATH and job user: every run's start looked its
# interpreter up again (a stat of each PATH folder's candidate and of the
# folders above the one found; 5% of a launcher's CPU per on-demand run, issue
# 18). Kept RUNTIME_TTL seconds, so an interpreter installed or removed meanwhile
# counts for the runs started after that.
RUNTIME_TTL = 10.0
_RUNTIMES: dict[tuple, tuple[float, Runtime]] = {}


def job_runtime(extension: str, script: str, host: str) -> Runtime:
    """The interpreter of a job's script, one its user may run."""
    key = (
        extension.lower(),
        script,
        host,
        os.environ.get("PATH"),
        os.environ.get(override_variable(extension)),
        settings.WEBJOBS_RUN_AS_IDS,
    )
    now = time.monotonic()
    known = _RUNTIMES.get(key)
    if known is not None and known[0] > now:
        return known[1]
    runtime = resolve_runtime(extension, script, host, runnable=runnable_by_jobs)
    if len(_RUNTIMES) > 256:  # scripts of many jobs: start again
        _RUNTIMES.clear()
    _RUNTIMES[key] = (now + RUNTIME_TTL, runtime)
    return runtime
