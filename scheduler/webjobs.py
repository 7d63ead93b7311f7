"""Scheduled WebJobs are scheduler jobs: one engine fires everything.

Deploying a triggered WebJob whose settings.job has a `schedule` creates (or
updates) a scheduler job in the emulator's own collection, with that NCRONTAB
and the action "run this WebJob"; removing the schedule or the WebJob removes
it. Kudu's job_scheduler.log is written beside the job's runs.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.urls import reverse

from config.clock import clock_now
from core.kudu import log_line, timespan
from core.ncrontab import cron_expand, cron_next
from jobs.hooks import Timer
from scheduler.models import Job, JobCollection, JobState, Sku
from scheduler.services import job_time_zone

log = logging.getLogger("scheduler.webjobs")
# The collection that holds the timers of scheduled WebJobs (ARM-visible, so the
# same history API and admin pages explain them).
SUBSCRIPTION = "local"
RESOURCE_GROUP = "webjobs"
COLLECTION = "webjobs"


def webjobs_collection() -> JobCollection:
    collection, _ = JobCollection.objects.get_or_create(
        subscription_id=SUBSCRIPTION,
        resource_group=RESOURCE_GROUP,
        name=COLLECTION,
        defaults={
            "sku": Sku.P20_PREMIUM,
            "created_at": clock_now(),
            "max_job_count": 1000,
        },
    )
    return collection


def webjob_schedule_sync(webjob) -> Job | None:
    """Create, update or remove the scheduler job behind a WebJob's schedule."""
    existing = Job.objects.filter(webjob=webjob).first()
    schedule = webjob.schedule if webjob.kind == "triggered" else None
    if not schedule:
        if existing is not None:
            existing.delete()
            scheduler_log(webjob, "Removing current schedule from WebJob")
        return None
    tz = (webjob.settings or {}).get("schedule_time_zone") or ""
    now = clock_now()
    job = existing or Job(
        collection=webjobs_collection(), name=webjob.name, webjob=webjob, created_at=now
    )
    changed = existing is None or job.cron != schedule or job.cron_time_zone != tz
    job.cron, job.cron_time_zone = schedule, tz
    job.action = {
        "type": "WebJob",
        "webJob": {"name": webjob.name, "arguments": ""},
        # Kudu does not retry a scheduled invocation.
        "retryPolicy": {"retryType": "None"},
    }
    job.recurrence = None
    if changed or job.state != JobState.ENABLED:
        job.state = JobState.ENABLED
        job.next_fire_at = cron_next(schedule, after=now, tz=job_time_zone(job))
        wait = timespan(job.next_fire_at - now)
        scheduler_log(
            webjob,
            f"Scheduling WebJob with {schedule} next schedule expected in {wait}",
        )
    job.save()
    return job


def scheduler_log(webjob, message: str) -> None:
    """Kudu's job_scheduler.log (1 MiB, then rotated to job_prev_log.txt). A log
    that cannot be written (disk full) fails neither a deploy nor a fire."""
    folder = webjob.data_dir
    path = folder / "job_scheduler.log"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        if path.exists() and path.stat().st_size > 1024 * 1024:
            path.replace(folder / "job_scheduler_prev.log")
        with open(path, "a", encoding="utf-8") as f:
            f.write(log_line(clock_now(), settings.WEBSITE_INSTANCE_ID, message))
    except OSError as exc:
        log.warning("%s could not be written: %s", path, exc)


def trigger_text(job: Job) -> str:
    """Kudu writes NCrontab's expanded form: `Schedule - 0 0,15,30,45 * * * *`."""
    return f"Schedule - {cron_expand(job.cron)}"


def webjob_timer(webjob) -> Timer | None:
    """A scheduled WebJob's timer as the portal shows it (jobs.hooks)."""
    job = Job.objects.filter(webjob=webjob).first()
    if job is None:
        return None
    return Timer(
        next_fire_at=job.next_fire_at,
        url=reverse("admin:scheduler_job_change", args=[job.pk]),
    )
