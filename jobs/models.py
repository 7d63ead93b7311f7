from __future__ import annotations

import os
from pathlib import Path

from django.conf import settings
from django.db import models


class WebJob(models.Model):
    """A deployed WebJob: its package lives in WEBJOBS_ROOT/site/jobs/<kind>/<name>."""

    class Kind(models.TextChoices):
        TRIGGERED = "triggered", "Triggered"
        CONTINUOUS = "continuous", "Continuous"

    name = models.CharField(max_length=64)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    run_command = models.CharField(max_length=512)  # script path in the package
    script_host = models.CharField(max_length=64)
    extension = models.CharField(max_length=8)
    # Kudu's `error`: set when this host cannot run the job (interpreter missing).
    error = models.TextField(blank=True, default="")
    settings = models.JSONField(default=dict, blank=True)
    deployed_at = models.DateTimeField()
    deployed_by = models.CharField(max_length=150, blank=True, default="")
    # Continuous jobs: the desired state set by start/stop (Kudu's disable.job),
    # read by every instance's host (jobs/host/), so it survives restarts.
    is_stopped = models.BooleanField(default=False)
    # Bumped by every deploy and settings change. The hosts compare it with the
    # revision their process runs and restart the job when it moved: one counter
    # reaches every instance, where a consumed "restart" row would reach only one.
    revision = models.PositiveIntegerField(default=0)

    class Source(models.TextChoices):
        UPLOAD = "upload", "Single upload"
        PACKAGE = "package", "App package"

    # Where the job came from: a PUT of the job itself, or an app package (zip
    # deployment); a package's next deployment removes the jobs it no longer has.
    source = models.CharField(
        max_length=16, choices=Source.choices, default=Source.UPLOAD
    )
    deployment_id = models.CharField(max_length=64, blank=True, default="")

    class Meta:
        verbose_name = "WebJob"
        # Running code is not the same as reading it, nor as changing it.
        permissions = [("run_webjob", "Can run a WebJob")]
        constraints = [
            models.UniqueConstraint(fields=["kind", "name"], name="webjob_kind_name")
        ]
        ordering = ["kind", "name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.kind})"

    # One join, one Path: a run's start asks for these a few dozen times, and
    # four `/` joins each were 5% of a launcher's CPU per run (issue 18).
    @property
    def package_dir(self) -> Path:
        root = settings.WEBJOBS_ROOT
        return Path(os.path.join(root, "site", "jobs", self.kind, self.name))

    @property
    def data_dir(self) -> Path:
        root = settings.WEBJOBS_ROOT
        return Path(os.path.join(root, "data", "jobs", self.kind, self.name))

    @property
    def schedule(self) -> str | None:
        value = (self.settings or {}).get("schedule")
        return value if isinstance(value, str) else None

    @property
    def type_label(self) -> str:
        if self.kind == self.Kind.TRIGGERED and self.schedule:
            return "Scheduled"
        return self.get_kind_display()


class Instance(models.Model):
    """One host of the emulator, like one VM of an App Service plan."""

    instance_id = models.CharField(max_length=64, primary_key=True)
    hostname = models.CharField(max_length=255)
    pid = models.IntegerField(null=True, blank=True)
    started_at = models.DateTimeField()
    heartbeat_at = models.DateTimeField()

    def __str__(self) -> str:
        return self.instance_id[:6]


class ContinuousStatus(models.TextChoices):
    """Kudu's per-instance statuses of a continuous job (its status_{inst6} file)."""

    INITIALIZING = "Initializing"  # no status reported yet (shown, never stored)
    STARTING = "Starting"
    RUNNING = "Running"
    PENDING_RESTART = "PendingRestart"
    STOPPING = "Stopping"
    STOPPED = "Stopped"
    DISABLING = "Disabling"  # /stop was asked; the host has not reacted yet
    INACTIVE_INSTANCE = "InactiveInstance"  # a singleton running elsewhere


class InstanceStatus(models.Model):
    """A continuous job's status on one instance, written by that instance's host.

    `pid` is the job's process, which leads its own process group (so it is the
    group id too): a host restarted after a kill -9 ends what is left of that
    group before it starts the job again (jobs/host/, orphan cleanup).
    """

    job = models.ForeignKey(
        WebJob, on_delete=models.CASCADE, related_name="instance_statuses"
    )
    instance_id = models.CharField(max_length=64)
    status = models.CharField(max_length=20, choices=ContinuousStatus.choices)
    pid = models.IntegerField(null=True, blank=True)
    revision = models.PositiveIntegerField(default=0)  # the package it runs
    updated_at = models.DateTimeField()  # emulator clock: shown to users

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["job", "instance_id"], name="instancestatus_job_instance"
            )
        ]
        ordering = ["job", "instance_id"]

    def __str__(self) -> str:
        return f"{self.job.name} on {self.instance_id[:6]}: {self.status}"


class SingletonLease(models.Model):
    """Which instance may run an `is_singleton` continuous job (Kudu's
    singleton.job.lock). Taken and renewed by a conditional UPDATE; it lapses at
    `expires_at` (database time, so hosts with skewed clocks agree) when its
    holder stops renewing, e.g. after a kill -9."""

    job = models.OneToOneField(
        WebJob, on_delete=models.CASCADE, primary_key=True, related_name="lease"
    )
    holder = models.CharField(max_length=64, blank=True, default="")
    expires_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.job.name}: {self.holder[:6] or '-'}"


class ApiToken(models.Model):
    """A bearer token for the APIs (as ARM's), made by `manage.py apitoken`.

    Only a SHA-256 of the token is stored; the token is shown once at creation.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100, blank=True, default="")
    key_hash = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=12)  # to tell tokens apart in listings
    created_at = models.DateTimeField(auto_now_add=True)
    # Real time, not the emulator clock: moving the clock must not expire tokens.
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "API token"

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"

    def state(self, *, now) -> str:
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= now:
            return "expired"
        return "active"


class DeployStatus(models.IntegerChoices):
    """Kudu's DeployStatus, sent as these integers."""

    PENDING = 0, "Pending"
    BUILDING = 1, "Building"
    DEPLOYING = 2, "Deploying"
    FAILED = 3, "Failed"
    SUCCESS = 4, "Success"


class Deployment(models.Model):
    """One zip deployment of the app package (Kudu's deployment status file).

    At most one is in progress (`in_progress`, a partial unique index): a second
    push meanwhile gets Kudu's 409. The log is kept on the row: a few lines.
    """

    id = models.CharField(max_length=64, primary_key=True)
    status = models.IntegerField(
        choices=DeployStatus.choices, default=DeployStatus.PENDING
    )
    status_text = models.TextField(blank=True, default="")
    author = models.CharField(max_length=300, default="N/A")
    author_email = models.CharField(max_length=300, default="N/A")
    deployer = models.CharField(max_length=100, default="ZipDeploy")
    message = models.TextField(blank=True, default="")
    received_time = models.DateTimeField()
    start_time = models.DateTimeField(null=True, blank=True)
    end_time = models.DateTimeField(null=True, blank=True)
    in_progress = models.BooleanField(null=True, default=True)
    # Real time (not the emulator clock) the lock was taken: a deployment whose
    # process died holds it no longer after jobs.deployments.STALE_AFTER.
    locked_at = models.DateTimeField(auto_now_add=True)
    deployed_by = models.CharField(max_length=150, blank=True, default="")
    log = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-received_time"]
        constraints = [
            models.UniqueConstraint(
                fields=["in_progress"],
                condition=models.Q(in_progress=True),
                name="deployment_one_in_progress",
            )
        ]

    def __str__(self) -> str:
        return f"{self.id[:10]} ({self.get_status_display()})"

    @property
    def complete(self) -> bool:
        return self.status in (DeployStatus.FAILED, DeployStatus.SUCCESS)


class WebHook(models.Model):
    """A Kudu web hook subscription (/api/hooks): a POST to `url` on `event`."""

    class Event(models.TextChoices):
        TRIGGERED_JOB_FINISHED = "TriggeredJobFinished"
        POST_DEPLOYMENT = "PostDeployment"

    id = models.CharField(max_length=32, primary_key=True)  # Kudu: UtcNow.Ticks
    event = models.CharField(max_length=32, choices=Event.choices)
    url = models.URLField(max_length=2000)
    insecure_ssl = models.BooleanField(default=False)
    # Scheme and host of the request that subscribed: the base of the URLs in
    # what is posted (Kudu uses its last request's).
    base_url = models.CharField(max_length=300)
    last_status = models.CharField(max_length=64, blank=True, default="")
    last_reason = models.TextField(blank=True, default="")
    last_datetime = models.DateTimeField(null=True, blank=True)
    last_context = models.TextField(blank=True, default="")

    class Meta:
        verbose_name = "web hook"
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.event} -> {self.url}"


class InstanceActivity(models.Model):
    """When an instance's web server last saw a request (Always On emulation):
    written by jobs.middleware at most every few seconds per process."""

    instance_id = models.CharField(max_length=64, primary_key=True)
    last_request_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.instance_id[:6]}: {self.last_request_at}"
