from __future__ import annotations

from django.db import models


class EmulatorClock(models.Model):
    """The one row that moves the emulator's time (see config/clock.py).

    It lives in the database so every process of every instance agrees on "now".
    The table keeps the name it was created with (the scheduler app made it
    before the clock moved down to the base layer).
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    offset_seconds = models.FloatField(default=0.0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "scheduler_emulatorclock"
        verbose_name = "emulator clock"
        # Reading the clock needs only a login; moving it changes what fires.
        permissions = [("move_emulatorclock", "Can move the emulator clock")]

    def __str__(self) -> str:
        return f"clock offset {self.offset_seconds:+.3f}s"
