from __future__ import annotations

import os
from pathlib import Path

from django.db import models


class RunStatus(models.TextChoices):
    """Kudu's triggered-run statuses, spelled as Kudu spells them."""

    INITIALIZING = "Initializing"
    RUNNING = "Running"
    SUCCESS = "Success"
    FAILED = "Failed"
    ABORTED = "Aborted"


ACTIVE_STATUSES = (RunStatus.INITIALIZING, RunStatus.RUNNING)


class Run(models.Model):
    """One execution of a triggered WebJob (a row per run, Kudu's run folder)."""

    job = models.ForeignKey(
        "jobs.WebJob", on_delete=models.CASCADE, related_name="runs"
    )
    run_id = models.CharField(max_length=18)  # Kudu's yyyyMMddHHmmssffff start time
    status = models.CharField(
        max_length=16, choices=RunStatus.choices, default=RunStatus.INITIALIZING
    )
    trigger = models.CharField(max_length=300)
    arguments = models.TextField(blank=True, default="")
    start_time = models.DateTimeField()
    end_time = models.DateTimeField(null=True, blank=True)
    exit_code = models.IntegerField(null=True, blank=True)
    instance_id = models.CharField(max_length=64, blank=True, default="")
    # The process that owns the job's process (a run monitor, jobs/runner.py, or
    # a launcher, jobs/launcher/), set by the run's claim; and the job's group
    # (not written for an on-demand run a launcher starts: one write fewer, and
    # nothing reads it; the launcher keeps it).
    monitor_pid = models.IntegerField(null=True, blank=True)
    pid = models.IntegerField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    message = models.TextField(blank=True, default="")
    # The occurrence a scheduled run serves (emulator addition; the job sees it as
    # WEBJOBS_SCHEDULED_TIME), so lateness is measurable from inside the job.
    scheduled_time = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["job", "run_id"], name="run_job_run_id"),
            # Kudu's triggeredJob.lock: one active run per job, across all instances.
            # A partial unique index makes the database the lock, so two API calls
            # racing on two instances cannot both start a run.
            models.UniqueConstraint(
                fields=["job"],
                condition=models.Q(status__in=["Initializing", "Running"]),
                name="run_one_active_per_job",
            ),
        ]
        indexes = [models.Index(fields=["job", "-run_id"], name="run_job_newest")]
        ordering = ["-run_id"]

    def __str__(self) -> str:
        return f"{self.job.name} #{self.run_id}"

    # One join, one Path (as WebJob's): a run's start and end ask for these
    # several times each.
    @property
    def data_dir(self) -> Path:
        return Path(os.path.join(self.job.data_dir, self.run_id))

    @property
    def output_path(self) -> Path:
        return Path(os.path.join(self.job.data_dir, self.run_id, "output_log.txt"))

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES
