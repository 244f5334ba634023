"""Playwright driving Debian's Chromium against a live desk."""

from __future__ import annotations

import os
import shutil

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"

# How long Playwright waits for a page, a click's effect or a text to appear. Each wait ends as soon
# as the thing is there, so only a broken page uses it up; a quiet machine needs a few seconds,
# one busy with other builds far more.
WAIT_MS = 120_000


@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CHARTERDESK_REQUIRE_BROWSER") == "1":
            pytest.fail("Debian's chromium is required for browser tests: apt-get install chromium")
        pytest.skip("Debian's chromium is not installed")
    # Playwright's sync API runs an event loop in this thread; the ORM calls the tests make
    # around it are still plain synchronous calls.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    yield page
    context.close()


@pytest.fixture
def demo_live(live_server, transactional_db):
    from charterdesk.demo.loader import load_demo
    from tests.shared import DEMO_SINCE

    load_demo(now=DEMO_SINCE)
    return live_server.url


def sign_in(page, base_url: str, email: str, password: str) -> None:
    page.goto(f"{base_url}/sign-in/")
    page.fill("#id_email", email)
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base_url}/handbook/")
