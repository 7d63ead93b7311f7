"""The WebJobs blade in the browser: add a WebJob by upload, run it with
arguments, watch it succeed, read its output inline and download it; upload a
new package over it."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import assert_fits, shot
from tests.helpers import FIXTURES, make_zip

pytestmark = pytest.mark.django_db(transaction=True)


def test_it_adds_runs_and_reads_a_webjob(signed_in, tmp_path):
    page = signed_in
    page.click(".portal-links >> text=WebJobs")
    page.click(".object-tools a.addlink")
    page.fill("#id_name", "hello")
    page.select_option("#id_kind", "triggered")
    page.set_input_files("#id_package", str(FIXTURES / "hello.sh"))
    page.click("input[name=_save]")

    row = page.locator("#result_list tbody tr", has_text="hello")
    expect(row.locator(".field-type_display")).to_have_text("Triggered")
    expect(row.locator(".field-status")).to_have_text("Ready")
    assert_fits(page)
    shot(page, "webjobs-list-added")
    row.locator("text=Run…").click()
    expect(page.locator("code")).to_contain_text("hello.sh")
    page.fill("#id_arguments", "to the portal")
    page.click("input[value=Run]")

    expect(page.locator(".messagelist")).to_contain_text("run")
    status = page.locator("[data-live=status] .status-pill")
    expect(status).to_have_text("Success", timeout=20_000)
    expect(page.locator("[data-live=exit_code]")).to_have_text("0")
    log = page.locator("#run-output")
    expect(log).to_be_hidden()
    page.click("text=Toggle output")
    expect(log).to_be_visible()
    expect(log).to_contain_text("hello from hello run")
    expect(log).to_contain_text("args: to the portal")
    shot(page, "run-output")
    with page.expect_download() as info:
        page.click("text=Download")
    download = info.value
    assert download.suggested_filename.startswith("hello-")
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    assert "args: to the portal" in saved.read_text()
    page.click("text=Toggle output")
    expect(log).to_be_hidden()

    # The list shows the result; a new package replaces the old one.
    page.click("#content-main >> text=hello")
    expect(page.locator(".field-last_run")).to_contain_text("Success")
    package = tmp_path / "v2.zip"
    package.write_bytes(make_zip({"main.py": "print('version two')"}))
    page.set_input_files("#id_package", str(package))
    page.click("input[name=_continue]")
    expect(page.locator(".field-command .readonly")).to_contain_text("main.py")
    assert_fits(page)
    shot(page, "webjob-details")
