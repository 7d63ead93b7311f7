"""`manage.py runlauncher`: this instance's launcher of scheduled WebJob runs."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from jobs.launcher import LauncherConflict, serve


class Command(BaseCommand):
    help = (
        "Start this instance's scheduled WebJob runs at their due instants, in one "
        "process (jobs/launcher.py); runinstance starts it. Until Ctrl-C/SIGTERM."
    )

    def handle(self, *args, **options) -> None:
        try:
            serve()
        except LauncherConflict as exc:
            raise CommandError(str(exc)) from None
