"""A manager tries a draft on the demo's history before publishing it, in a real browser."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.utils import timezone

from .conftest import sign_in

pytestmark = pytest.mark.browser

FIRST_RESPONSE = "first_response: {urgent: 1h, high: 2h, normal: 8h, low: 24h}"


def test_manager_sees_what_a_tighter_first_response_would_have_done(page, demo_live):
    """Copy the version in force, tighten high priority's first response from 2h to 30m, try it on
    the last 30 days: the report shows more high-priority breaches under the draft, and a sample
    ticket's page explains both timelines."""
    from charterdesk.demo.tickets import load_demo_tickets

    load_demo_tickets(150, seed=4, now=timezone.now().replace(microsecond=0), workers=1)

    sign_in(page, demo_live, "dana@acme.example", "demo-manager-1")
    page.click("text=Protocol library")
    page.click("text=New draft")
    page.click("button:has-text('Copy version')")
    editor = page.locator("#source")
    source = editor.input_value()
    assert FIRST_RESPONSE in source
    # The text is set as a paste would (filling the whole file key by key is slow on a busy machine).
    tighter = source.replace(FIRST_RESPONSE, FIRST_RESPONSE.replace("high: 2h", "high: 30m"))
    editor.evaluate("(area, text) => { area.value = text; }", tighter)
    page.click("button:has-text('Save draft')")
    page.locator(".messages", has_text="The file is valid").wait_for()

    page.click("text=Try on history")
    page.check("input[name=period][value='30d']")
    page.click("button:has-text('Try on history')")
    page.locator("#progress").wait_for()  # waiting for the worker, with a progress bar

    call_command("worker", "--once")  # the worker picks the run up
    # The page polls the progress and reloads itself with the report.
    row = page.locator('#metrics tr[data-metric="first_response"][data-priority="high"]')
    row.wait_for()
    before = int(row.locator(".base-breached").inner_text())
    after = int(row.locator(".draft-breached").inner_text())
    assert after > before
    assert page.locator("svg.chart").first.is_visible()

    page.locator("#samples a").first.click()
    why = page.locator("#why").inner_text()
    assert "->" in why
    explained = page.locator(".timeline-explained")
    assert explained.count() == 2
    # The draft's side says why: the first response now has a 30-minute target, and was breached.
    draft_side = explained.nth(1).inner_text()
    assert "first_response under policy" in draft_side and "target 30m" in draft_side
