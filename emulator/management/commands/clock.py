"""manage.py clock show | set ISO: read and move the emulator's time."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from config.clock import (
    ClockError,
    clock_now,
    clock_offset,
    clock_refresh,
    clock_set,
)
from core.kudu import iso_utc


class Command(BaseCommand):
    help = (
        "Show the emulator clock, or move it forward to an instant so that "
        "schedules fire as if that time had come (it never moves backward)."
    )

    def add_arguments(self, parser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("show", help="Print the emulated now and its offset.")
        move = sub.add_parser("set", help="Move the clock forward to an instant.")
        move.add_argument(
            "instant",
            metavar="ISO",
            help="e.g. 2031-03-01T00:00:00Z (no offset means UTC)",
        )

    def handle(self, *args, action: str, **options) -> None:
        if action == "set":
            try:
                clock_set(options["instant"])
            except ClockError as exc:
                raise CommandError(str(exc)) from None
        clock_refresh()  # another process may have moved it since the last read
        now, offset = clock_now(), clock_offset()
        self.stdout.write(f"Now:    {iso_utc(now)}")
        self.stdout.write(f"Offset: {offset:+.3f} s from real time")
