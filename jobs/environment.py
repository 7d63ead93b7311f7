"""The environment of a WebJob's process, as Kudu builds it: the app settings,
then the WEBJOBS_* variables of the job and its run."""

from __future__ import annotations

import os
from pathlib import Path

from django.conf import settings

# Variables of the emulator itself that a job must not inherit.
PRIVATE_ENV = ("DJANGO_SETTINGS_MODULE", "SECRET_KEY", "DJANGO_SUPERUSER_PASSWORD")


def job_environment(
    *,
    name: str,
    kind: str,
    work_root: Path,
    data_dir: Path,
    shutdown_file: Path,
    instance_id: str,
    extra: dict[str, str],
) -> dict[str, str]:
    """What a job's process sees: the inherited app settings, the variables
    every WebJob gets, then `extra` (those of its kind and its run)."""
    env = {k: v for k, v in os.environ.items() if k not in PRIVATE_ENV}
    env.update(
        {
            "WEBJOBS_NAME": name,
            "WEBJOBS_TYPE": kind,
            "WEBJOBS_PATH": str(work_root),
            "WEBJOBS_DATA_PATH": str(data_dir),
            # Kudu sets it for continuous jobs only; an abort of a triggered run
            # writes it too, so one graceful-stop idiom works for both kinds
            # (docs/behaviour.md).
            "WEBJOBS_SHUTDOWN_FILE": str(shutdown_file),
            "WEBROOT_PATH": str(settings.WEBJOBS_ROOT / "site" / "wwwroot"),
            "WEBSITE_INSTANCE_ID": instance_id,
            "PYTHONUNBUFFERED": "1",
            # App Service sets the process's zone from WEBSITE_TIME_ZONE.
            **({"TZ": zone} if (zone := settings.WEBSITE_TIME_ZONE) else {}),
            **extra,
        }
    )
    return env
