"""WEBSITE_TIME_ZONE: App Service's time zone setting, as an IANA zone name.

App Service on Windows takes a Windows time zone id (``Pacific Standard Time``,
the names of the registry's ``Time Zones`` key); on Linux an IANA name
(``America/Los_Angeles``). Both are accepted here. Windows ids are mapped the
way the Unicode CLDR does it (``windowsZones.xml``, territory ``001``): the
table is tzlocal's ``windows_tz.win_tz``, which its maintainers regenerate from
CLDR; it is not copied here so that it stays current with ``pip install -U``.
Pure: no Django, no clock.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from tzlocal.windows_tz import win_tz

ERR_ZONE = (
    "WEBSITE_TIME_ZONE {value!r} is neither a Windows time zone id (such as "
    "'Pacific Standard Time' or 'W. Europe Standard Time') nor an IANA time zone "
    "name (such as 'America/Los_Angeles'){hint}."
)


class TimeZoneError(ValueError):
    pass


def iana_zone(value: str) -> str:
    """The IANA name for a Windows zone id or an IANA name; "" (UTC) when empty.

    Windows ids are matched without regard to case, as Windows does; IANA
    names must be spelled as the tz database spells them.
    """
    name = value.strip()
    if not name:
        return ""
    windows = {key.lower(): iana for key, iana in win_tz.items()}
    if name.lower() in windows:
        return windows[name.lower()]
    if "/" in name or name.upper() == "UTC":
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            pass
        else:
            return name
    raise TimeZoneError(ERR_ZONE.format(value=value, hint=_hint(name)))


def _hint(name: str) -> str:
    """A near miss, named: ``america/new_york`` -> ``America/New_York``."""
    lowered = name.lower()
    for zone in sorted(available_timezones()):
        if zone.lower() == lowered:
            return f"; did you mean {zone!r}?"
    for windows in sorted(win_tz):
        if windows.lower().replace(" ", "") == lowered.replace(" ", ""):
            return f"; did you mean {windows!r}?"
    return ""
