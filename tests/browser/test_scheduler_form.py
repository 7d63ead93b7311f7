"""A person creates a recurring scheduler job through the recurrence form, with
no JSON, and sees its schedule in words and its next five occurrences."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from config.clock import clock_refresh, clock_set
from scheduler.services import collection_put
from tests.browser.conftest import assert_fits, shot
from tests.helpers import later

pytestmark = pytest.mark.django_db(transaction=True)

NOW = later(
    "2031-03-01T00:00:00Z"
)  # a Saturday: the emulator clock, so times are exact


@pytest.fixture
def collection():
    clock_refresh()
    clock_set(NOW)
    yield collection_put(
        subscription_id="sub1",
        resource_group="rg1",
        name="reports",
        body={"properties": {"sku": {"name": "Standard"}}},
    )[0]
    clock_refresh()


def test_it_creates_a_weekly_job_and_shows_the_next_occurrences(signed_in, collection):
    page = signed_in
    page.click("text=Scheduler jobs")
    page.click(".object-tools a.addlink")
    page.select_option("#id_collection", label="reports")
    page.fill("#id_name", "weekly-report")
    page.check("input[name=schedule_type][value=recurring]")
    page.check("input[name=start][value=at]")
    page.fill("#id_start_at", later("2031-03-03T08:00"))
    page.fill("#id_interval", "1")
    page.select_option("#id_frequency", "Week")
    page.fill("#id_hours", "9")
    page.fill("#id_minutes", "30")
    for day in ("Monday", "Wednesday", "Friday"):
        page.check(f"input[name=week_days][value={day}]")
    page.check("input[name=end][value=after]")
    page.fill("#id_count", "10")
    page.check("input[name=action_type][value=http]")
    page.fill("#id_url", "http://127.0.0.1:9/report")
    page.select_option("#id_method", "POST")
    assert_fits(page)
    shot(page, "scheduler-job-form")
    page.click("input[name=_continue]")

    expect(page.locator(".messagelist")).to_contain_text("was added successfully")
    expect(page.locator(".field-schedule .readonly")).to_have_text(
        "Every week on Monday, Wednesday and Friday at 09:30 UTC, 10 times"
    )
    expect(page.locator(".portal-upcoming li")).to_have_text(
        [
            later("2031-03-03T09:30:00Z"),
            later("2031-03-05T09:30:00Z"),
            later("2031-03-07T09:30:00Z"),
            later("2031-03-10T09:30:00Z"),
            later("2031-03-12T09:30:00Z"),
        ]
    )
    # The form shows the saved job back, field by field.
    expect(page.locator("#id_hours")).to_have_value("9")
    expect(page.locator("input[name=week_days][value=Friday]")).to_be_checked()
    assert_fits(page)
    shot(page, "scheduler-job-saved")


def test_it_shows_an_invalid_minute_on_the_minutes_field(signed_in, collection):
    page = signed_in
    page.goto("/admin/scheduler/job/add/")
    page.select_option("#id_collection", label="reports")
    page.fill("#id_name", "bad")
    page.select_option("#id_frequency", "Day")
    page.fill("#id_minutes", "0, 75")
    page.fill("#id_url", "http://127.0.0.1:9/x")
    page.click("input[name=_save]")
    expect(page.locator(".field-minutes .errorlist")).to_have_text(
        "75 is not a minute; minutes are 0 to 59."
    )
    shot(page, "scheduler-job-error")
