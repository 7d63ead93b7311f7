"""Points where other parts of the emulator follow a WebJob's life.

Called explicitly from jobs/services.py (not signals), inside the deploy/delete
transaction. The scheduling issue hangs the scheduled-WebJob sync here.
"""

from __future__ import annotations

from jobs.models import WebJob


def webjob_deployed(job: WebJob) -> None:
    """A job was created, replaced, or had its settings changed."""
    from scheduler.webjobs import webjob_schedule_sync

    webjob_schedule_sync(job)


def webjob_deleting(job: WebJob) -> None:
    """A job is about to be deleted (its scheduler job goes with it: CASCADE)."""
