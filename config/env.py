"""Strict helpers that read settings from the environment.

They raise on values they do not understand instead of guessing, so a typo in a
deployment fails at start-up with a message that names the variable.
Kudu's own app settings (WEBJOBS_*) are "true-like" when they are 1 or true.
"""

from __future__ import annotations

import os
import pwd
import re
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar
from urllib.parse import unquote, urlparse

from core.timezones import TimeZoneError, iana_zone


class EnvError(ValueError):
    pass


T = TypeVar("T")


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise EnvError(f"{name} must be true or false (or 1/0), not {raw!r}.")


def env_int(
    name: str, default: int, *, minimum: int | None = None, maximum: int | None = None
) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise EnvError(f"{name} must be an integer, not {raw!r}.") from None
    if minimum is not None and value < minimum:
        raise EnvError(f"{name} must be at least {minimum}, not {value}.")
    if maximum is not None and value > maximum:
        raise EnvError(f"{name} must be at most {maximum}, not {value}.")
    return value


def env_choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().lower()
    if value not in choices:
        raise EnvError(f"{name} must be one of {', '.join(choices)}, not {raw!r}.")
    return value


def env_parsed(name: str, parse: Callable[[str], T], default: T) -> T:
    """A structured value: `parse` checks the text and raises ValueError with
    what is wrong; the error then names the variable too."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return parse(raw.strip())
    except ValueError as exc:
        raise EnvError(f"{name}: {exc}") from None


def env_float(name: str, default: float, *, minimum: float | None = None) -> float:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise EnvError(f"{name} must be a number, not {raw!r}.") from None
    if minimum is not None and value < minimum:
        raise EnvError(f"{name} must be at least {minimum}, not {value}.")
    return value


def env_float_list(
    name: str, default: tuple[float, ...], *, minimum: float, most: int
) -> tuple[float, ...]:
    """Comma-separated numbers, each at least `minimum`, at most `most` of them."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        values = tuple(float(part) for part in raw.split(",") if part.strip())
    except ValueError:
        raise EnvError(
            f"{name} must be numbers separated by commas, not {raw!r}."
        ) from None
    if len(values) > most or any(v < minimum for v in values):
        raise EnvError(
            f"{name} must be at most {most} numbers, each at least {minimum}, "
            f"not {raw!r}."
        )
    return values


def env_time_zone(name: str) -> str:
    """A time zone setting (WEBSITE_TIME_ZONE): a Windows zone id or an IANA
    name, answered as the IANA name; "" (UTC) when unset."""
    try:
        return iana_zone(os.environ.get(name, ""))
    except TimeZoneError as exc:
        raise EnvError(str(exc)) from None


_SITE_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,58}[A-Za-z0-9])?$")


def env_site_name(name: str, default: str) -> str:
    """An App Service site name: 1-60 letters, digits and hyphens, not starting
    or ending with a hyphen (what the Azure portal accepts)."""
    value = os.environ.get(name) or default
    if not _SITE_NAME.match(value):
        raise EnvError(
            f"{name} must be 1-60 letters, digits and hyphens (not first or last), "
            f"not {value!r}."
        )
    return value


def env_run_as(name: str) -> tuple[str, tuple[int, int] | None]:
    """The user WebJobs run as, and its (uid, gid) when that is a switch.

    Unset: ``nobody`` when this process is root (a job is arbitrary code; it
    must not read the emulator's files), else this process's own user. A
    switch needs root: any other user while not root is a start-up error.
    """
    me = os.geteuid()
    raw = os.environ.get(name, "").strip() or ("nobody" if me == 0 else "")
    if not raw:
        return pwd.getpwuid(me).pw_name, None
    try:
        entry = pwd.getpwnam(raw)
    except KeyError:
        raise EnvError(f"{name}: there is no user {raw!r} on this machine.") from None
    if entry.pw_uid == me:
        return raw, None
    if me != 0:
        raise EnvError(
            f"{name}={raw!r} needs the emulator to run as root to switch users; "
            "unset it to run jobs as yourself."
        )
    return raw, (entry.pw_uid, entry.pw_gid)


_SETTING_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def env_app_settings(name: str) -> dict[str, str]:
    """App Service's application settings for WebJobs: a file of NAME=VALUE
    lines (blank lines and # comments skipped) named by the variable."""
    path = os.environ.get(name, "").strip()
    if not path:
        return {}
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise EnvError(f"{name}: cannot read {path}: {exc}") from None
    values: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        key = key.strip()
        if not sep or not _SETTING_NAME.match(key):
            raise EnvError(
                f"{name}: line {number} of {path} is not NAME=VALUE "
                "(a name is letters, digits and _, not starting with a digit)."
            )
        values[key] = value.strip()
    return values


def database_from_url(url: str, *, default_sqlite: Path) -> dict:
    """Django DATABASES entry from a DATABASE_URL (sqlite:///path or postgres://...)."""
    if not url:
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": str(default_sqlite)}
    parsed = urlparse(url)
    if parsed.scheme == "sqlite":
        # sqlite:///relative/path or sqlite:////absolute/path, as dj-database-url.
        path = unquote(url[len("sqlite:///") :]) if url.startswith("sqlite:///") else ""
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": path or ":memory:"}
    if parsed.scheme in ("postgres", "postgresql"):
        return {
            "ENGINE": "config.postgresql",  # Django's, its health check cheaper
            "NAME": unquote(parsed.path.lstrip("/")),
            "USER": unquote(parsed.username or ""),
            "PASSWORD": unquote(parsed.password or ""),
            "HOST": parsed.hostname or "",
            "PORT": str(parsed.port or ""),
        }
    raise EnvError(
        f"DATABASE_URL must start with sqlite:/// or postgres://, "
        f"not {parsed.scheme!r}."
    )


def database_to_url(settings_dict: dict) -> str:
    """The inverse of database_from_url, for handing this process's DB to a child.

    A child process (a run monitor, a test's qcluster) must use the database its
    parent actually uses, which in tests is the test database, not DATABASE_URL.
    """
    engine = settings_dict["ENGINE"]
    if engine.endswith("sqlite3"):
        return f"sqlite:///{settings_dict['NAME']}"
    if engine.endswith("postgresql"):
        auth = settings_dict.get("USER") or ""
        if settings_dict.get("PASSWORD"):
            auth += ":" + settings_dict["PASSWORD"]
        host = settings_dict.get("HOST") or "localhost"
        port = settings_dict.get("PORT") or "5432"
        at = f"{auth}@" if auth else ""
        return f"postgres://{at}{host}:{port}/{settings_dict['NAME']}"
    raise EnvError(f"Cannot hand database engine {engine} to a child process.")


def secret_key_from_file(path: Path) -> str:
    """Read the generated SECRET_KEY, creating it (mode 0600) on first use."""
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(50)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(key)
    return key
