"""Always On, emulated (opt-in): with WEBSITE_ALWAYS_ON=false an instance that
has seen no request for WEBJOBS_SITE_IDLE_TIME seconds is idle, as App Service
unloads an idle site: its host stops the continuous jobs and the engine stops
firing settings.job schedules, until the next request.

Whether an instance saw a request is per instance, as in Azure: each web
process writes its instance's `InstanceActivity` row (jobs.middleware), at most
every ACTIVITY_EVERY seconds. Real time throughout (not the emulator clock):
idleness is about wall-clock silence. A process that starts counts as a
request, so an instance is awake for the idle time after it starts.
"""

from __future__ import annotations

import time
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from jobs.models import InstanceActivity

# The middleware writes at most this often per process (and never less often
# than a fifth of the idle time, so a short test idle time still works).
ACTIVITY_EVERY = 5.0
# Kudu's warning, written to a continuous job's log as it starts without Always On.
MSG_ALWAYS_ON = (
    "'Always On' doesn't appear to be enabled for this Web App. To ensure your "
    "continuous job doesn't stop running when the SCM host is idle for too long, "
    "consider enabling 'Always On' in the configuration settings for your Web App. "
    "Note: 'Always On' is available only in Basic, Standard and Premium modes."
)
# Kudu's line when the site shuts down under a running continuous job.
MSG_SHUTTING_DOWN = "WebJob is stopping due to website shutting down"

_process_started = timezone.now()
_last_written = 0.0


def activity_note(instance_id: str) -> None:
    """A request reached this instance: write it down, at most every few seconds."""
    global _last_written
    every = min(ACTIVITY_EVERY, settings.WEBJOBS_SITE_IDLE_TIME / 5)
    mono = time.monotonic()
    if mono - _last_written < every:
        return
    _last_written = mono
    InstanceActivity.objects.update_or_create(
        instance_id=instance_id, defaults={"last_request_at": timezone.now()}
    )


def instance_idle(instance_id: str, *, since) -> bool:
    """Whether the instance saw no request for WEBJOBS_SITE_IDLE_TIME (its
    process start at `since` counting as one)."""
    if settings.WEBSITE_ALWAYS_ON:
        return False
    cutoff = timezone.now() - timedelta(seconds=settings.WEBJOBS_SITE_IDLE_TIME)
    if since > cutoff:
        return False
    return not InstanceActivity.objects.filter(
        instance_id=instance_id, last_request_at__gt=cutoff
    ).exists()


def site_asleep() -> bool:
    """Every instance is idle (the engine's view: a scheduled fire runs when
    any instance is awake, as Kudu's schedulers race on every instance)."""
    if settings.WEBSITE_ALWAYS_ON:
        return False
    cutoff = timezone.now() - timedelta(seconds=settings.WEBJOBS_SITE_IDLE_TIME)
    if _process_started > cutoff:
        return False
    return not InstanceActivity.objects.filter(last_request_at__gt=cutoff).exists()
