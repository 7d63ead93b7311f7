"""System checks of the jobs app: a job's user can reach WEBJOBS_ROOT."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, register

from jobs.processes import can_enter

E101 = (
    "WEBJOBS_RUN_AS={user!r} cannot reach WEBJOBS_ROOT={root}: it cannot enter "
    "{folder}. Put WEBJOBS_ROOT under folders others may enter (e.g. /srv or "
    "/var/lib), or set WEBJOBS_RUN_AS to a user who can."
)


@register()
def check_root_reachable(app_configs, **kwargs) -> list[Error]:
    """Jobs run as another user (WEBJOBS_RUN_AS) reach their folders through
    WEBJOBS_ROOT's parents, which the emulator does not own."""
    if settings.WEBJOBS_RUN_AS_IDS is None:
        return []
    root = settings.WEBJOBS_ROOT
    for folder in reversed(root.parents):
        if not can_enter(str(folder)):
            message = E101.format(
                user=settings.WEBJOBS_RUN_AS, root=root, folder=folder
            )
            return [Error(message, id="emulator.E101")]
    return []
