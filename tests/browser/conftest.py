"""Browser tests: Playwright (sync API) driving Debian's Chromium against
pytest-django's live_server. Without /usr/bin/chromium they skip with the
reason, except under REQUIRE_SERVICES=1 (CI), where they fail.

Every request the page makes outside the live server is refused and fails the
test: the portal must load nothing from the internet.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.instance import BASE_DIR, services_required

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = BASE_DIR / "test-artifacts"
VIEWPORT = {"width": 1366, "height": 800}  # a laptop screen
TIMEOUT_MS = 15_000
PASSWORD = "s3cret-pass"  # tests/conftest.py's `user`


def _unavailable(reason: str) -> None:
    if services_required():
        pytest.fail(f"{reason} (REQUIRE_SERVICES=1: browser tests must run)")
    pytest.skip(reason)


@pytest.fixture
def browser(monkeypatch) -> Iterator[object]:
    """Chromium for one test. Playwright's sync API keeps an asyncio loop in this
    thread while it lives, which Django's ORM takes for an async context; the
    test's own ORM calls are synchronous, so they are allowed for the test only
    (and Playwright ends with it, so no later test sees that loop)."""
    if not CHROMIUM.exists():
        _unavailable(f"{CHROMIUM} is missing; install Debian's chromium package")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("Playwright for Python is not installed")
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        yield launched
        launched.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call":
        item.failed_call = report.failed
    return report


@pytest.fixture
def page(request, browser, live_server) -> Iterator[object]:
    """A fresh browser context on the live server; off-site requests fail."""
    context = browser.new_context(
        base_url=live_server.url, viewport=VIEWPORT, accept_downloads=True
    )
    context.set_default_timeout(TIMEOUT_MS)
    offsite: list[str] = []

    def guard(route) -> None:
        if route.request.url.startswith(live_server.url):
            route.continue_()
        else:
            offsite.append(route.request.url)
            route.abort()

    context.route(re.compile(r".*"), guard)
    new_page = context.new_page()
    yield new_page
    if getattr(request.node, "failed_call", False):
        shot(new_page, f"FAILED-{request.node.name}")
    context.close()
    assert not offsite, f"the portal loaded from outside: {offsite}"


@pytest.fixture
def signed_in(page, user):
    """The page, signed in to the portal as the staff user ``deployer``."""
    page.goto("/admin/login/?next=/admin/")
    page.fill("#id_username", user.get_username())
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url("**/admin/")
    return page


def shot(page, name: str) -> Path:
    """A full-page screenshot in test-artifacts/ (git-ignored) to look at."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def assert_fits(page) -> None:
    """Nothing (a long name, a long log line) reaches past the screen's right edge,
    unless it sits in a box made to scroll: the admin's form rows clip what
    overflows them, so the page's own width would not tell."""
    outside = page.evaluate(
        """() => {
        const width = window.innerWidth, found = [];
        for (const el of document.querySelectorAll("#content *")) {
            const box = el.getBoundingClientRect();
            if (!box.width || box.right <= width + 1) continue;
            let up = el.parentElement, scrolls = false;
            while (up && up.id !== "content") {
                if (["auto", "scroll"].includes(getComputedStyle(up).overflowX)) {
                    scrolls = true;
                    break;
                }
                up = up.parentElement;
            }
            if (!scrolls) found.push(`${el.tagName}.${el.className}`);
        }
        return found.slice(0, 5);
    }"""
    )
    assert not outside, f"past the right edge of the screen: {outside}"
