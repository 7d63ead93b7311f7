from __future__ import annotations

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

    class Meta:
        verbose_name = "WebJob"
        constraints = [
            models.UniqueConstraint(fields=["kind", "name"], name="webjob_kind_name")
        ]
        ordering = ["kind", "name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.kind})"

    @property
    def package_dir(self) -> Path:
        return settings.WEBJOBS_ROOT / "site" / "jobs" / self.kind / self.name

    @property
    def data_dir(self) -> Path:
        return settings.WEBJOBS_ROOT / "data" / "jobs" / self.kind / self.name

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
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"
