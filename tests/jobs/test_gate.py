"""A bash job held at its gate waits for its go wherever the emulator's code
lives: the job's user (WEBJOBS_RUN_AS) may not reach the checkout, and bash
skips a BASH_ENV it cannot read without a word."""

from __future__ import annotations

import os
import time

from jobs.launcher import gate


def test_a_bash_job_waits_for_its_go_even_when_the_checkout_is_private(
    settings, scratch, tmp_path, monkeypatch
):
    private = tmp_path / "checkout"  # as a checkout in a 0700 home or temp folder
    private.mkdir(mode=0o700)
    copy = private / "gate.bash"
    copy.write_bytes(gate.BASH_GATE.read_bytes())
    monkeypatch.setattr(gate, "BASH_GATE", copy)
    monkeypatch.setattr(gate, "_COPIES", {})
    settings.WEBJOBS_ROOT = scratch / "root"
    work = scratch / "job"
    work.mkdir()
    work.chmod(0o755)  # the emulator's umask is 077
    (work / "run.sh").write_text(f'echo "$WEBJOBS_RUN_ID" > {scratch}/ledger\n')
    (work / "run.sh").chmod(0o644)
    spec = {
        "work_root": str(work),
        "run_command": "run.sh",
        "argv": ["bash", "run.sh"],
        "env": {"PATH": os.environ["PATH"]},
        "script_host": "BashScriptHost",
    }
    held = gate.gate_start(spec)
    try:
        time.sleep(1.0)  # time enough for a gate that does not hold to run it
        assert held.poll() is None
        assert not (scratch / "ledger").exists()
        gate.gate_open(held, "run-1")
        assert held.wait(timeout=30) == 0
        assert (scratch / "ledger").read_text() == "run-1\n"
    finally:
        if held.poll() is None:
            held.kill()
            held.wait()
        for pipe in (held.stdout, held.stderr):
            pipe.close()
