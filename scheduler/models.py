from __future__ import annotations

from django.db import models


class Sku(models.TextChoices):
    FREE = "Free"
    STANDARD = "Standard"
    P10_PREMIUM = "P10Premium"
    P20_PREMIUM = "P20Premium"


# Plan defaults from Azure's plans page (2016): jobs per collection, most
# frequent recurrence allowed.
PLAN_DEFAULTS: dict[str, tuple[int, tuple[str, int]]] = {
    Sku.FREE: (5, ("Hour", 1)),
    Sku.STANDARD: (50, ("Minute", 1)),
    Sku.P10_PREMIUM: (50, ("Minute", 1)),
    Sku.P20_PREMIUM: (1000, ("Minute", 1)),
}


class CollectionState(models.TextChoices):
    ENABLED = "Enabled"
    DISABLED = "Disabled"
    SUSPENDED = "Suspended"
    DELETED = "Deleted"


class JobCollection(models.Model):
    subscription_id = models.CharField(max_length=100)
    resource_group = models.CharField(max_length=100)
    name = models.CharField(max_length=100)
    location = models.CharField(max_length=100, blank=True, default="")
    tags = models.JSONField(default=dict, blank=True)
    sku = models.CharField(max_length=16, choices=Sku.choices, default=Sku.STANDARD)
    state = models.CharField(
        max_length=16, choices=CollectionState.choices, default=CollectionState.ENABLED
    )
    # Quota overrides; None means the plan's default (PLAN_DEFAULTS).
    max_job_count = models.PositiveIntegerField(null=True, blank=True)
    max_job_occurrence = models.PositiveIntegerField(null=True, blank=True)
    max_recurrence_frequency = models.CharField(max_length=8, blank=True, default="")
    max_recurrence_interval = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["subscription_id", "resource_group", "name"],
                name="collection_unique_name",
            )
        ]
        ordering = ["subscription_id", "resource_group", "name"]

    def __str__(self) -> str:
        return self.name

    @property
    def effective_max_job_count(self) -> int:
        return self.max_job_count or PLAN_DEFAULTS[self.sku][0]

    @property
    def effective_max_recurrence(self) -> tuple[str, int]:
        if self.max_recurrence_frequency:
            return (self.max_recurrence_frequency, self.max_recurrence_interval or 1)
        return PLAN_DEFAULTS[self.sku][1]


class JobState(models.TextChoices):
    ENABLED = "Enabled"
    DISABLED = "Disabled"
    COMPLETED = "Completed"
    FAULTED = "Faulted"


class Job(models.Model):
    """An Azure Scheduler job; also the timer of every scheduled WebJob."""

    collection = models.ForeignKey(
        JobCollection, on_delete=models.CASCADE, related_name="jobs"
    )
    name = models.CharField(max_length=100)
    start_time = models.DateTimeField(null=True, blank=True)
    action = models.JSONField()  # the ARM JSON, secrets included (never returned)
    recurrence = models.JSONField(null=True, blank=True)  # ARM JSON, validated
    # A scheduled WebJob's NCRONTAB (settings.job) instead of an Azure recurrence.
    cron = models.CharField(max_length=200, blank=True, default="")
    cron_time_zone = models.CharField(max_length=64, blank=True, default="")
    state = models.CharField(
        max_length=16, choices=JobState.choices, default=JobState.ENABLED
    )
    execution_count = models.PositiveIntegerField(default=0)
    failure_count = models.PositiveIntegerField(default=0)
    faulted_count = models.PositiveIntegerField(default=0)
    last_execution_time = models.DateTimeField(null=True, blank=True)
    # The engine's column: the next due occurrence, None when there is none.
    # Read by scheduler.engine's claim query, hence the index.
    next_fire_at = models.DateTimeField(null=True, blank=True, db_index=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField(auto_now=True)
    # SDK 7 sends retryInterval as ISO 8601, SDK 2 and the real service as a
    # .NET TimeSpan; the job answers in the format it was given.
    retry_interval_format = models.CharField(max_length=8, default="iso")
    webjob = models.OneToOneField(
        "jobs.WebJob",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="scheduler_job",
    )

    class Meta:
        # Running a job's action now executes it (an Http call, a WebJob run).
        permissions = [("run_job", "Can run a scheduler job's action now")]
        constraints = [
            models.UniqueConstraint(
                fields=["collection", "name"], name="job_unique_name"
            )
        ]
        ordering = ["collection", "name"]

    def __str__(self) -> str:
        return f"{self.collection.name}/{self.name}"


class HistoryStatus(models.TextChoices):
    COMPLETED = "Completed"
    FAILED = "Failed"
    POSTPONED = "Postponed"


class ActionName(models.TextChoices):
    MAIN = "MainAction"
    ERROR = "ErrorAction"


class JobHistory(models.Model):
    """One execution of a scheduler job's action, in Azure's history shape."""

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="history")
    start_time = models.DateTimeField()
    end_time = models.DateTimeField(null=True, blank=True)
    expected_execution_time = models.DateTimeField(null=True, blank=True)
    action_name = models.CharField(
        max_length=16, choices=ActionName.choices, default=ActionName.MAIN
    )
    status = models.CharField(max_length=16, choices=HistoryStatus.choices)
    message = models.TextField(blank=True, default="")
    retry_count = models.PositiveIntegerField(default=0)
    repeat_count = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name_plural = "job history"
        ordering = ["-start_time", "-pk"]
        indexes = [
            models.Index(fields=["job", "-start_time"], name="history_job_newest")
        ]

    def __str__(self) -> str:
        return f"{self.job} {self.action_name} {self.status}"


class Attempt(models.Model):
    """One due execution of a job's action: an occurrence or one of its retries.

    A row per (job, due time, retry) makes each execution happen once: the unique
    constraint refuses a second claim, and the row is what the queue task runs.
    """

    class Status(models.TextChoices):
        PENDING = "Pending"  # due at due_at; the engine hands it to the queue
        QUEUED = "Queued"
        # An Http call under way since claimed_at. Concluded (history, counters,
        # retry or error action) in one transaction with Running -> Done; one
        # still Running past its lease lost its worker, and the outbox sends it
        # again, to be concluded as interrupted (scheduler/actions.py).
        RUNNING = "Running"
        DONE = "Done"

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="attempts")
    expected_time = models.DateTimeField()  # the occurrence this attempt serves
    due_at = models.DateTimeField(db_index=True)
    retry_count = models.PositiveIntegerField(default=0)
    action_name = models.CharField(
        max_length=16, choices=ActionName.choices, default=ActionName.MAIN
    )
    status = models.CharField(
        max_length=8, choices=Status.choices, default=Status.PENDING
    )
    manual = models.BooleanField(default=False)  # a "run now", not an occurrence
    created_at = models.DateTimeField(auto_now_add=True)
    # Real time of the last hand-over to the queue. The row is its own outbox: a
    # Queued attempt the worker has not claimed after a while is sent again (the
    # claim makes a second delivery a no-op), so a broker restart loses nothing.
    queued_at = models.DateTimeField(null=True, blank=True)
    # Real time an Http call's worker claimed it (Running), for its lease.
    claimed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["job", "expected_time", "retry_count", "action_name", "manual"],
                name="attempt_once",
            )
        ]
        # The engine's loop asks for Pending/Queued rows by due or queued time.
        indexes = [models.Index(fields=["status", "due_at"], name="attempt_status_due")]

    def __str__(self) -> str:
        return (
            f"{self.job} @ {self.expected_time:%Y-%m-%dT%H:%M:%SZ} #{self.retry_count}"
        )
