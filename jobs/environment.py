"""The environment of a WebJob's process, as Kudu builds it: the app settings,
then the WEBJOBS_* variables of the job and its run.

Nothing of the emulator's own environment reaches a job (its database URL,
broker, secret key, Django's and django-q2's variables, its settings): a job
gets what a program needs to run (SYSTEM_ENV), the operator's declared
application settings (WEBJOBS_APP_SETTINGS, as App Service's: each as NAME and
APPSETTING_NAME) and Kudu's variables.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from django.conf import settings

# Inherited from the emulator's environment: what programs need, no secrets.
SYSTEM_ENV = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ")


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
    """What a job's process sees: SYSTEM_ENV, the app settings, the variables
    every WebJob gets, then `extra` (those of its kind and its run)."""
    env = {key: os.environ[key] for key in SYSTEM_ENV if key in os.environ}
    for key, value in settings.WEBJOBS_APP_SETTINGS.items():
        env[key] = value
        env[f"APPSETTING_{key}"] = value
    env.update(
        {
            "HOME": str(work_root),
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
            "WEBSITE_SITE_NAME": settings.WEBSITE_SITE_NAME,
            "PYTHONUNBUFFERED": "1",
            # App Service sets the process's zone from WEBSITE_TIME_ZONE.
            **({"TZ": zone} if (zone := settings.WEBSITE_TIME_ZONE) else {}),
            **extra,
        }
    )
    return env


def emulator_id(root: Path) -> str:
    """Which emulator (WEBJOBS_ROOT) started a process, without telling the
    job where that root is: a continuous host finds its leftovers by it."""
    return hashlib.sha256(str(root).encode()).hexdigest()[:16]
