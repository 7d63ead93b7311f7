"""What the host knows of each continuous job: the database's description of
it (Spec) and its state on this instance with its current process (Child)."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from core.packaging import JobSettings


@dataclass
class Spec:
    """What the database says about one continuous job."""

    pk: int
    name: str
    revision: int
    is_stopped: bool
    settings: dict
    run_command: str
    script_host: str
    extension: str
    error: str

    @property
    def job_settings(self) -> JobSettings:
        return JobSettings(self.settings or {})


@dataclass
class Child:
    """One continuous job on this instance: its state and its current process."""

    spec: Spec
    state: str = ""  # "" until the first status is set
    proc: subprocess.Popen | None = None
    pipes: dict = field(default_factory=dict)  # pipe -> "INFO" | "ERR"
    partial: dict = field(default_factory=lambda: {"INFO": b"", "ERR": b""})
    launched_at: float = 0.0
    restart_at: float = 0.0
    kill_at: float | None = None
    killed: bool = False
    wait_time: int = 5
    after: str = "stopped"  # after a stop: stopped | restart | remove | inactive
    shutdown_file: Path | None = None
    work_root: Path | None = None
    in_place: bool = False
    lines: int = 0  # output lines of this launch written to job_log.txt
    job_log: list = field(default_factory=list)
    out_log: list = field(default_factory=list)
    holds_lease: bool = False
    lease_retry_at: float = 0.0
