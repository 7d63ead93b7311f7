"""What every benchmark's report carries: the code measured, the load, and a
copy of the table in bench/results/ (git-ignored)."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent.parent


def code_version(root: Path = REPO) -> str:
    """The commit measured, and whether the working tree differs from it (other
    engineers edit product code while benchmarks run)."""

    def git(*args: str) -> str:
        done = subprocess.run(
            ["git", *args], cwd=root, capture_output=True, text=True, check=False
        )
        return done.stdout.rstrip("\n")

    dirty = [
        line[3:]
        for line in git("status", "--porcelain", "--untracked-files=no").splitlines()
        if line.endswith(".py") and not line[3:].startswith(("bench/", "tests/"))
    ]
    extra = f", uncommitted changes in {', '.join(dirty)}" if dirty else ""
    return f"code at {git('rev-parse', '--short', 'HEAD')}{extra}"


def load() -> float:
    """The machine's 1-minute load average."""
    return os.getloadavg()[0]


def save(name: str, text: str) -> Path:
    """Write a report to bench/results/<name>-<time>.md."""
    out = REPO / "bench" / "results"
    out.mkdir(exist_ok=True)
    path = out / f"{name}-{time.strftime('%Y%m%dT%H%M%S')}.md"
    path.write_text(text if text.endswith("\n") else text + "\n")
    return path
