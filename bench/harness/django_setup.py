"""Django set up inside a benchmark's own process, on a temporary WEBJOBS_ROOT.

A benchmark that calls the project's services in-process (rather than over
HTTP) calls `django_setup` in its main() before it imports any project module
that needs the apps loaded; those imports are then made inside functions, each
with a comment saying so.
"""

from __future__ import annotations

import os
from pathlib import Path

import django


def django_setup(
    root: Path, *, database: str | None = None, instance_id: str = "bench0"
) -> None:
    """Settings from the environment, as an instance's processes read them:
    WEBJOBS_ROOT, the database (`None`: SQLite in WEBJOBS_ROOT), no Redis; then
    migrate."""
    os.environ.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        WEBJOBS_ROOT=str(root),
        SECRET_KEY="bench-secret-key",
        WEBSITE_INSTANCE_ID=instance_id,
    )
    os.environ.pop("REDIS_URL", None)
    if database:
        os.environ["DATABASE_URL"] = database
    else:
        os.environ.pop("DATABASE_URL", None)
    django.setup()
    from django.core.management import call_command  # needs the apps loaded

    call_command("migrate", "--noinput", verbosity=0)
