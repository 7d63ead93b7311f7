from __future__ import annotations

from django.db import models


class EmulatorClock(models.Model):
    """The one row that moves the emulator's time (see scheduler/clock.py).

    It lives in the database so every process of every instance agrees on "now".
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    offset_seconds = models.FloatField(default=0.0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "emulator clock"

    def __str__(self) -> str:
        return f"clock offset {self.offset_seconds:+.3f}s"
