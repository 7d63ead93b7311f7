"""The web server of an instance: gunicorn's command line, in one place, so that
`runinstance`, the tests' instances and the benchmarks start the same server.

Workers and threads (measured with bench/run_trigger.py, issue 18): gunicorn's
gthread workers are processes, each with a pool of threads. On this project's
2-core machine one worker of 8 threads served 600 on-demand runs with about 40%
less web CPU a run than two workers of 4 threads (machine CPU a run 12-14 ms ->
10-12 ms, 130-150 -> 150-180 runs a second, three alternating rounds of each,
SQLite and PostgreSQL): on two cores the instance's other processes (queue,
launchers, engine, database) already take the second core, and a second web
worker only adds its own caches and hand-offs to compete with them. So the
default is one worker per two cores. Same 8 request slots as before: a slow
upload or log download holds a thread, not the instance.
"""

from __future__ import annotations

import os
import sys

# Threads of each worker: requests one worker serves at once.
THREADS = 8
MAX_WORKERS = 64
MAX_THREADS = 256


def default_workers(cores: int | None = None) -> int:
    """One gunicorn worker per two cores, at least one."""
    return max(1, (cores or os.cpu_count() or 1) // 2)


def gunicorn_command(
    bind: str, *, workers: int, threads: int = THREADS, access_log: bool = False
) -> list[str]:
    """The command that serves config.wsgi on `bind` (host:port)."""
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "config.wsgi:application",
        "--bind",
        bind,
        "--workers",
        str(workers),
        "--threads",
        str(threads),
        "--graceful-timeout",
        "10",
        "--timeout",
        "120",
        *(["--access-logfile", "-"] if access_log else []),
        "--log-level",
        "warning",
        # gunicorn >= 25.1 would listen on a control socket in $HOME, the same
        # path for every instance of the user.
        "--no-control-socket",
    ]
