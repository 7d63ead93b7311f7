"""System checks: the emulator's time arithmetic assumes aware UTC datetimes."""

from django.conf import settings
from django.core.checks import Error, register

E001 = "USE_TZ must be True: every time the emulator stores is an aware UTC datetime."
E002 = "TIME_ZONE must be 'UTC': Azure Scheduler and Kudu work in UTC."


@register()
def check_time_settings(app_configs, **kwargs) -> list[Error]:
    errors = []
    if not settings.USE_TZ:
        errors.append(Error(E001, id="emulator.E001"))
    if settings.TIME_ZONE != "UTC":
        errors.append(Error(E002, id="emulator.E002"))
    return errors
