"""Start and stop a continuous WebJob from the list, with a real host
(`manage.py runhost`) running it."""

from __future__ import annotations

import json
import time

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import assert_fits, shot
from tests.continuous.conftest import SH_LOOP, start_host  # noqa: F401  (fixture)
from tests.helpers import make_zip

pytestmark = pytest.mark.django_db(transaction=True)

GUARD = 30.0  # seconds: against hanging, never an assertion on speed


def reload_until(page, locator, text: str) -> None:
    """The list does not refresh itself: reload until the row says ``text``."""
    deadline = time.monotonic() + GUARD
    while text not in locator.inner_text():
        if time.monotonic() > deadline:
            raise AssertionError(f"{text!r} never showed; last: {locator.inner_text()}")
        time.sleep(0.3)
        page.reload()


def test_it_starts_and_stops_a_continuous_job(signed_in, start_host, tmp_path):  # noqa: F811
    page = signed_in
    package = tmp_path / "worker.zip"
    package.write_bytes(
        make_zip(
            {"run.sh": SH_LOOP, "settings.job": json.dumps({"stopping_wait_time": 1})}
        )
    )
    page.goto("/admin/jobs/webjob/add/")
    page.fill("#id_name", "worker")
    page.select_option("#id_kind", "continuous")
    page.set_input_files("#id_package", str(package))
    page.click("input[name=_save]")
    start_host("hostB1")

    row = page.locator("#result_list tbody tr", has_text="worker")
    status = row.locator(".field-status")
    reload_until(page, status, "hostB1 - Running")
    expect(row.locator(".field-type_display")).to_have_text("Continuous")
    assert_fits(page)
    shot(page, "continuous-running")
    row.locator("button", has_text="Stop").click()
    expect(page.locator(".messagelist")).to_contain_text("Worker: stopped.")
    reload_until(page, status, "hostB1 - Stopped")
    shot(page, "continuous-stopped")
    row.locator("button", has_text="Start").click()
    expect(page.locator(".messagelist")).to_contain_text("Worker: started.")
    reload_until(page, status, "hostB1 - Running")
