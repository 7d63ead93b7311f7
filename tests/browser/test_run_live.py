"""A run's page follows its output while it runs, without reloading, and shows
the final status, exit code and duration when it ends."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from history.models import Run
from tests.browser.conftest import assert_fits, shot
from tests.helpers import make_zip

pytestmark = pytest.mark.django_db(transaction=True)

LONG = "x" * 3000  # one line, no spaces: it must wrap, not widen the page
SLOW = f'echo "first line"\necho "{LONG}"\nsleep 2\necho "second line"\n'


def test_it_follows_a_running_job_live(signed_in, api):
    page = signed_in
    api.deploy("slow", make_zip({"run.sh": SLOW}), filename="slow.zip")
    response = api.run("slow")
    assert response.status_code == 202
    run = Run.objects.get(job__name="slow")
    page.goto(f"/admin/history/run/{run.pk}/change/")
    page.evaluate("window.notReloaded = true")
    expect(page.locator(".portal-live")).to_have_text("Following the output live")
    page.click("text=Toggle output")
    log = page.locator("#run-output")
    expect(log).to_contain_text("first line")
    expect(page.locator("[data-live=status] .status-pill")).to_have_text("Running")
    shot(page, "run-live-running")
    expect(log).to_contain_text("second line", timeout=20_000)
    expect(page.locator("[data-live=status] .status-pill")).to_have_text("Success")
    expect(page.locator("[data-live=exit_code]")).to_have_text("0")
    expect(page.locator("[data-live=duration]")).to_contain_text(" s")
    expect(page.locator(".portal-live")).to_have_count(0)
    assert page.evaluate("window.notReloaded") is True
    assert_fits(page)
    shot(page, "run-live-done")
