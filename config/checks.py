"""System checks: the emulator's time arithmetic assumes aware UTC datetimes."""

from django.conf import settings
from django.core.checks import Error, Warning, register

E001 = "USE_TZ must be True: every time the emulator stores is an aware UTC datetime."
E002 = "TIME_ZONE must be 'UTC': Azure Scheduler and Kudu work in UTC."
W003 = (
    "Q_TIMEOUT ({timeout} s) must exceed SCHEDULER_HTTP_TIMEOUT ({http:g} s) by 30 s "
    "or more: the queue kills a worker still in an Http action's call at Q_TIMEOUT "
    "(the call is then concluded as interrupted, after its lease)."
)
# What an Http action's task needs beyond its call: the record, the retry.
HTTP_MARGIN = 30


@register()
def check_time_settings(app_configs, **kwargs) -> list[Error]:
    errors = []
    if not settings.USE_TZ:
        errors.append(Error(E001, id="emulator.E001"))
    if settings.TIME_ZONE != "UTC":
        errors.append(Error(E002, id="emulator.E002"))
    return errors


@register()
def check_queue_timeout(app_configs, **kwargs) -> list[Warning]:
    timeout, http = settings.Q_CLUSTER["timeout"], settings.SCHEDULER_HTTP_TIMEOUT
    if timeout < http + HTTP_MARGIN:
        return [Warning(W003.format(timeout=timeout, http=http), id="emulator.W003")]
    return []
