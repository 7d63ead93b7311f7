"""`manage.py runlauncher`: this instance's launcher of WebJob runs (scheduled
fires at their instant, on-demand runs at once)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from jobs.launcher.loop import LauncherConflict, serve


class Command(BaseCommand):
    help = (
        "Start this instance's WebJob runs (scheduled ones at their due instants, "
        "on-demand ones at once) in one process (jobs/launcher/); runinstance "
        "starts it. Until Ctrl-C/SIGTERM."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--shard",
            type=int,
            default=0,
            help="which of the instance's WEBJOBS_LAUNCHERS launchers (0-based)",
        )

    def handle(self, *args, shard: int, **options) -> None:
        try:
            serve(shard)
        except LauncherConflict as exc:
            raise CommandError(str(exc)) from None
