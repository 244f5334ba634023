"""An agent's reply is checked as it is written and refused on send; a lead sends it anyway with
a reason, and the audit log says so."""

from __future__ import annotations

import pytest

from .conftest import WAIT_MS, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.message_checks]


def _write(page, text: str) -> None:
    page.fill("#id_body", text)
    page.dispatch_event("#id_body", "input")


def test_an_agent_sees_three_problems_fixes_two_is_refused_and_a_lead_overrides(browser, demo_live):
    """Alex writes a reply without greeting or closing that says 'calm down': three problems in
    plain words. With a greeting and a closing one remains, and sending is refused with the text
    kept. Ravi (lead) sends the same text with a reason; Dana finds the override in the audit log."""
    from charterdesk.tickets.actions import do_create_ticket, do_find_or_create_customer

    customer = do_find_or_create_customer(email="maria@example.com", name="Maria Lopez")
    ticket = do_create_ticket(customer=customer, subject="Where is my stove?", body="Late.", channel="email")
    url = f"{demo_live}/tickets/{ticket.pk}/"

    agent = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    agent.set_default_timeout(WAIT_MS)
    sign_in(agent, demo_live, "alex@acme.example", "demo-agent-1")
    agent.goto(url)
    _write(agent, "Maria, calm down, your stove ships today.")
    problems = agent.locator("#reply-check [data-reply-problems] li")
    problems.nth(2).wait_for()
    words = problems.all_inner_texts()
    assert len(words) == 3
    assert words[0].startswith("No greeting") and words[1].startswith("No closing")
    assert "'calm down' is on the banned list" in words[2]
    assert agent.locator("[data-override]").is_hidden()  # an agent may not send it anyway

    fixed = "Hi Maria, calm down, your stove ships today.\n\nKind regards"
    _write(agent, fixed)
    # A function, not an expression: Playwright evaluates an expression with eval, which the page's
    # Content-Security-Policy refuses.
    agent.wait_for_function(
        "() => document.querySelectorAll('#reply-check [data-reply-problems] li').length === 1"
    )
    agent.click("[data-send]")
    agent.wait_for_selector("#composer .problems[role=alert]")
    assert "Not sent: fix these first." in agent.locator("#composer").inner_text()
    assert agent.input_value("#id_body") == fixed
    assert "banned list" in agent.locator("#reply-check").inner_text()
    agent.context.close()

    lead = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    lead.set_default_timeout(WAIT_MS)
    sign_in(lead, demo_live, "ravi@acme.example", "demo-lead-1")
    lead.goto(url)
    _write(lead, fixed)
    lead.wait_for_selector("[data-override]:not([hidden])")
    lead.fill("#id_override_reason", "Maria asked us to quote her own words back")
    lead.click("[data-send]")
    lead.wait_for_url(url)
    assert "Reply sent" in lead.content()
    lead.context.close()

    manager = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    manager.set_default_timeout(WAIT_MS)
    sign_in(manager, demo_live, "dana@acme.example", "demo-manager-1")
    manager.goto(f"{demo_live}/audit/?action=ticket.reply")
    row = manager.locator("tr", has_text="despite").first
    text = row.inner_text()
    assert "Ravi Menon" in text and "'calm down' is on the banned list" in text
    assert "reason: [name] asked us to quote her own words back" in text  # no name in the log
    assert "etiquette.banned_phrases[0]" in text and "3.2" in text
    manager.context.close()


def test_a_lead_opening_a_ticket_sees_its_first_message_checked_and_opens_it_with_a_reason(
    browser, demo_live
):
    """Ravi opens a ticket for Sam whose first message says 'calm down': the form lists the
    problem as he types and offers a reason; with the reason the ticket opens with that message."""
    lead = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    lead.set_default_timeout(WAIT_MS)
    sign_in(lead, demo_live, "ravi@acme.example", "demo-lead-1")
    lead.goto(f"{demo_live}/tickets/new/")
    lead.fill("#id_email", "sam@example.com")
    lead.fill("#id_name", "Sam Reed")
    lead.fill("#id_subject", "Your stove")
    text = "Hi Sam, calm down, your stove ships today.\n\nKind regards"
    _write(lead, text)
    lead.wait_for_selector("#reply-check [data-reply-problems] li")
    assert "'calm down' is on the banned list" in lead.locator("#reply-check").inner_text()
    lead.wait_for_selector("[data-override]:not([hidden])")
    lead.fill("#id_override_reason", "Sam used these words himself")
    lead.click("button.primary")
    lead.wait_for_selector("ol.timeline")
    assert "Opened" in lead.content() and "ships today" in lead.locator("ol.timeline").inner_text()
    lead.context.close()
