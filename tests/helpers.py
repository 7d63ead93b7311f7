"""Test helpers: an authenticated Kudu API client that waits for runs to end."""

from __future__ import annotations

import io
import os
import re
import time
import zipfile
from datetime import UTC, datetime
from pathlib import Path

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
FINAL = ("Success", "Failed", "Aborted")

# The emulator clock only moves forward, so a test cannot set it to a date that
# has become the past. Tests that need a calendar (a Saturday, a month's end)
# write their scenario in the years 2027 to 2033 and pass every date through
# `later()`, which moves it ahead by whole 28-year cycles (between 1901 and 2099
# the Gregorian calendar repeats every 28 years: same weekdays, same leap years)
# until the earliest scenario year is after this one.
SCENARIO_YEARS = (2027, 2033)
_YEAR = re.compile(r"\b(20[0-9][0-9])(?=-[01][0-9]-[0-3][0-9])")


def years_ahead() -> int:
    """How far the scenario years move: a multiple of 28, 0 while they are
    all to come (today's year is before the first). TEST_YEARS_AHEAD (a
    multiple of 28) moves them further, to run the suite as a later year will."""
    shift = int(os.environ.get("TEST_YEARS_AHEAD", "0"))
    assert shift % 28 == 0, "TEST_YEARS_AHEAD must be a multiple of 28"
    while SCENARIO_YEARS[0] + shift <= datetime.now(UTC).year:
        shift += 28
    return shift


def later(text: str) -> str:
    """`text` with the year of every ISO date in it moved by years_ahead():
    ``later("2031-03-01T00:00:00Z")`` is a Saturday in the future, always."""
    shift = years_ahead()
    return _YEAR.sub(lambda match: str(int(match.group(1)) + shift), text)


def later_at(text: str) -> datetime:
    """``later(text)`` as an aware UTC datetime (no offset: UTC)."""
    moment = datetime.fromisoformat(later(text).replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def history_entry(timeout: float = 15.0, **lookup):
    """The scheduler history entry of a WebJob action, once its monitor wrote it:
    a WebJob fire is recorded by the run's monitor at the due instant, after the
    engine step that handed it over has returned."""
    from scheduler.models import JobHistory

    deadline = time.monotonic() + timeout
    while True:
        entry = JobHistory.objects.filter(**lookup).first()
        if entry is not None or time.monotonic() > deadline:
            assert entry is not None, f"no history entry for {lookup} in {timeout} s"
            return entry
        time.sleep(0.05)


def make_zip(
    files: dict[str, bytes | str], *, links: dict[str, str] | None = None
) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in files.items():
            info = zipfile.ZipInfo(name)
            info.external_attr = 0o755 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, data)
        for name, target in (links or {}).items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (0o120777) << 16
            zf.writestr(info, target)
    return buf.getvalue()


class Api:
    def __init__(self, client, headers: dict[str, str]) -> None:
        self.client = client
        self.headers = headers

    def get(self, path: str, **extra):
        return self.client.get(path, **self.headers, **extra)

    def post(self, path: str, **extra):
        return self.client.post(path, **self.headers, **extra)

    def delete(self, path: str):
        return self.client.delete(path, **self.headers)

    def put_settings(self, name: str, body: str | bytes):
        return self.client.put(
            f"/api/triggeredwebjobs/{name}/settings",
            data=body,
            content_type="application/json",
            **self.headers,
        )

    def deploy(
        self,
        name: str,
        data: bytes,
        *,
        filename: str,
        content_type: str = "application/octet-stream",
        **extra,
    ):
        return self.client.put(
            f"/api/triggeredwebjobs/{name}",
            data=data,
            content_type=content_type,
            HTTP_CONTENT_DISPOSITION=f'attachment; filename="{filename}"',
            **self.headers,
            **extra,
        )

    def deploy_fixture(self, name: str, fixture: str):
        response = self.deploy(
            name, (FIXTURES / fixture).read_bytes(), filename=fixture
        )
        assert response.status_code == 200, response.content
        return response.json()

    def run(self, name: str, arguments: str | None = None):
        query = "" if arguments is None else "?" + _q(arguments)
        return self.post(f"/api/triggeredwebjobs/{name}/run{query}")

    def wait(self, location: str, timeout: float = 30.0) -> dict:
        path = location.replace("http://testserver", "")
        deadline = time.monotonic() + timeout
        while True:
            body = self.get(path).json()
            if body["status"] in FINAL:
                return body
            if time.monotonic() > deadline:
                raise AssertionError(f"run did not end in {timeout}s: {body}")
            time.sleep(0.05)

    def output(self, run: dict) -> str:
        response = self.get(run["output_url"].replace("http://testserver", ""))
        assert response.status_code == 200
        return b"".join(response.streaming_content).decode()

    def run_and_wait(
        self, name: str, arguments: str | None = None, timeout: float = 30.0
    ):
        response = self.run(name, arguments)
        assert response.status_code == 202, response.content
        return self.wait(response["Location"], timeout)


def _q(arguments: str) -> str:
    from urllib.parse import urlencode

    return urlencode({"arguments": arguments})
