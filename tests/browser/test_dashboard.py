"""The history dashboard in the browser: reached from the admin index, its
numbers, the duration chart, and the filters of the recent runs."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from jobs.models import WebJob
from tests.browser.conftest import assert_fits, shot
from tests.portal.test_dashboard import add_runs

pytestmark = pytest.mark.django_db(transaction=True)


def test_it_shows_success_rates_a_chart_and_filters_runs(signed_in, api):
    page = signed_in
    api.deploy_fixture("hello", "hello.sh")
    api.deploy_fixture("nightly-report-with-a-rather-long-name-for-layout", "report.py")
    add_runs(WebJob.objects.get(name="hello"), ["Success", "Failed", "Success"] * 4)
    add_runs(
        WebJob.objects.get(name__startswith="nightly"),
        ["Success", "Success", "Aborted", "Success"],
        seconds=40,
    )
    page.click("text=History dashboard")
    expect(page.locator("h1")).to_have_text("History dashboard")
    expect(page.locator('tr[data-job="hello"] .rate')).to_contain_text("67% (8/12)")
    expect(page.locator(".portal-chart rect.bar")).to_have_count(16)
    expect(page.locator(".portal-chart rect.status-failed")).to_have_count(4)
    assert_fits(page)
    shot(page, "dashboard")
    page.select_option("#id_status", "Failed")
    page.click("text=Filter")
    rows = page.locator("#recent-runs tbody tr")
    expect(rows).to_have_count(4)
    expect(rows.first).to_contain_text("Failed")
    page.locator(".portal-chart rect.status-aborted").click()
    expect(page.locator("[data-live=status]")).to_have_text("Aborted")
