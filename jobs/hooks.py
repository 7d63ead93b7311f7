"""Named hooks through which a higher layer follows a WebJob's life.

The jobs app sits below the scheduler (docs/architecture.md) and never imports
it. Where a deploy must reach the scheduler (a settings.job schedule is a
scheduler job with a WebJob action), the scheduler fills these lists in its
AppConfig.ready(); the call sites read ``for hook in webjob_deployed_hooks:
hook(job)``, so a reader sees the flow.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from jobs.models import WebJob


class Timer(NamedTuple):
    """What the portal shows of a scheduled WebJob's timer."""

    next_fire_at: object  # an aware datetime, or None when it will not fire
    url: str  # the timer's own page in the portal


# A job was created, replaced, or had its settings changed; called inside the
# deploy's transaction, so a hook that raises undoes the deploy.
webjob_deployed_hooks: list[Callable[[WebJob], None]] = []
# A job is about to be deleted, inside the delete's transaction.
webjob_deleting_hooks: list[Callable[[WebJob], None]] = []
# The timer of a scheduled WebJob, for the portal; None when it has none.
webjob_timer_hooks: list[Callable[[WebJob], Timer | None]] = []


def webjob_timer(job: WebJob) -> Timer | None:
    for hook in webjob_timer_hooks:
        timer = hook(job)
        if timer is not None:
            return timer
    return None
