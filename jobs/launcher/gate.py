"""The wait-for-the-instant gate: a job's process started ahead of its due
instant and held until the launcher writes its run id.

The shell waits for its run id on stdin, then execs the job's own command in
place (same process, same group). At the due instant, after the claim and the
insert, the launcher writes the run id: what is left to do then is one write
per run and the job's own exec, which run in parallel on every core. A fire
that does not run (skipped, claimed elsewhere) gets end of file: the gate exits
and the job's command never starts.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

from django.conf import settings

from jobs.processes import die_with, pdeathsig_wrapper
from jobs.storage import spine

GATE = (
    "IFS= read -r WEBJOBS_RUN_ID || exit 0; "
    'exec </dev/null; export WEBJOBS_RUN_ID; exec "$@"'
)
# A bash job needs no exec at the due instant: bash itself is started ahead and
# waits in gate.bash, which it runs before the script (BASH_ENV). The run id
# reaches the script at the same instant; the ~1.2 ms of CPU that loading bash
# costs here is spent ahead, not when every job due then competes for the cores.
# (A job whose settings set BASH_ENV keep it: they get the GATE above.)
BASH_GATE = Path(__file__).with_name("gate.bash")
# The copy bash reads, under WEBJOBS_ROOT: the job's user (WEBJOBS_RUN_AS) may not
# reach the checkout (a 0700 home or temporary folder above it), and bash skips
# a BASH_ENV it cannot read without a word, so the script would start at once,
# before its go. WEBJOBS_ROOT is reachable by that user (system check E101).
_COPIES: dict[str, Path] = {}


def bash_gate() -> Path:
    """gate.bash where the job's user can read it, written once per root and
    process (atomically: another launcher may be writing it too)."""
    root = str(settings.WEBJOBS_ROOT)
    if root not in _COPIES:
        folder = spine(Path(root) / "gate")
        target = folder / BASH_GATE.name
        text = BASH_GATE.read_bytes()
        if not target.is_file() or target.read_bytes() != text:
            fd, tmp = tempfile.mkstemp(dir=folder, prefix=".gate-")
            with os.fdopen(fd, "wb") as f:
                f.write(text)
            os.chmod(tmp, 0o644)
            os.replace(tmp, target)
        _COPIES[root] = target
    return _COPIES[root]


def gate_start(spec: dict) -> subprocess.Popen:
    """Start the run's process at its gate (raises OSError when it cannot)."""
    cwd = Path(spec["work_root"]) / Path(spec["run_command"]).parent
    argv, env = ["/bin/sh", "-c", GATE, "webjobs", *spec["argv"]], spec["env"]
    if spec["script_host"] == "BashScriptHost" and "BASH_ENV" not in env:
        argv, env = spec["argv"], {**env, "BASH_ENV": str(bash_gate())}
    return subprocess.Popen(
        [*pdeathsig_wrapper(), *argv],
        cwd=cwd,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,  # its own group: what an abort kills
        preexec_fn=die_with(os.getpid()),
    )


def gate_open(gate: subprocess.Popen, run_id: str) -> None:
    """Let the job run: its run id, then end of file on its stdin."""
    try:
        gate.stdin.write(run_id.encode() + b"\n")
        gate.stdin.close()
    except OSError:
        pass  # the gate died: its exit code tells


def gate_close(gate: subprocess.Popen) -> None:
    """The fire does not run: end of file, and the job's command never starts
    (the caller reaps the gate)."""
    for pipe in (gate.stdin, gate.stdout, gate.stderr):
        pipe.close()
