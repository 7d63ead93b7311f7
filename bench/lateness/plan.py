"""What a fire_lateness run does: the plan of its parts and the instance's set-up."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

PER_SECOND = "* * * * * *"
PER_MINUTE = "0 * * * * *"
# The job's only instruction: a builtin, no fork, so the time is its own start.
JOB_SCRIPT = (
    'printf "%s %s %s\\n" "$WEBJOBS_NAME" "$WEBJOBS_SCHEDULED_TIME" '
    '"$EPOCHREALTIME" >> {starts}\n'
)
FIRING = 100  # scale test: jobs that fire once a minute, whatever the total
FIRING_EVERY = 3  # ... 5 of them due together every 3 seconds
# As celery's prefork pool: 2 processes on a 2-core machine (--q-workers).
Q_WORKERS_DEFAULT = 2
LAUNCHERS_DEFAULT = 2  # WEBJOBS_LAUNCHERS's default


@dataclass
class Plan:
    warm: float  # seconds before a window, after deploying or (re)starting
    window_10: float  # due instants measured, 10 schedules at 1 Hz
    window_100: float
    minutes: int  # per-minute comparison
    djq_drain: float  # django-q2's scheduler runs every ~30 s
    scale: tuple[tuple[int, float], ...]  # (enabled jobs, window seconds)
    counts_a: tuple[int, ...]
    # Our instances: Q_WORKERS of the qcluster; runlauncher processes (0: none,
    # a run monitor forked per fire); BASH_ENV set, so that bash is exec'd at
    # the instant rather than started ahead (jobs/launcher/gate.bash).
    q_workers: int = Q_WORKERS_DEFAULT
    launchers: int = LAUNCHERS_DEFAULT
    exec_bash: bool = False
    code: Path | None = None  # another checkout to run (None: this one)


FULL = Plan(
    warm=6,
    window_10=100,
    window_100=12,
    minutes=3,
    djq_drain=35,
    scale=((1_000, 30), (10_000, 60), (100_000, 60)),
    counts_a=(10,),
)
QUICK = Plan(
    warm=4,
    window_10=10,
    window_100=3,
    minutes=1,
    djq_drain=35,
    scale=((100, 15), (1_000, 15)),
    counts_a=(10,),
)


def firing_offset(index: int) -> int:
    """Second of the minute at which firing job `index` of the scale test is due."""
    return (index % (60 // FIRING_EVERY)) * FIRING_EVERY
