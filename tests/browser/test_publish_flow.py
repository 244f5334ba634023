"""A manager publishes a new protocol version in a real browser; an agent cannot."""

from __future__ import annotations

import re

import pytest

from charterdesk.demo.loader import EXAMPLE

from .conftest import sign_in

pytestmark = pytest.mark.browser


def test_manager_fixes_an_error_publishes_and_reads_the_new_clause(page, demo_live, tmp_path):
    """Upload with an error -> error at its line -> fix -> publish -> handbook and diff show the clause."""
    source = EXAMPLE.read_text().replace('version: "3.2"', 'version: "3.3"')
    source = source.replace("window_days: 30", "window_days: 45 days")
    bad_line = next(n for n, text in enumerate(source.splitlines(), 1) if "45 days" in text)
    upload = tmp_path / "acme-3.3.protocol.yaml"
    upload.write_text(source)

    sign_in(page, demo_live, "dana@acme.example", "demo-manager-1")
    page.click("text=Protocol library")
    page.click("text=New draft")
    page.set_input_files("#id_file", str(upload))
    page.click("button:has-text('Upload')")

    # The editor shows the error beside the text and marks its line in the gutter.
    problem = page.locator(f'#problems li[data-line="{bad_line}"]')
    problem.wait_for()
    assert "refunds.window_days" in problem.inner_text()
    assert "bad" in page.locator(f'[data-gutter-line="{bad_line}"]').get_attribute("class")

    # Fix it in the browser: the problems list updates live, then save.
    editor = page.locator("#source")
    editor.fill(editor.input_value().replace("window_days: 45 days", "window_days: 45"))
    page.locator("#problems", has_text="The file is valid").wait_for()
    page.click("button:has-text('Save draft')")
    page.locator(".messages", has_text="The file is valid").wait_for()

    page.click("text=Publish…")
    page.locator(".diff", has_text="45").wait_for()
    page.click("button:has-text('Publish version 3.3')")
    page.locator(".messages", has_text="Version 3.3 is published").wait_for()
    assert page.locator("tr", has_text="3.3").locator(".badge").inner_text() == "in force"

    # The handbook now reads the new clause.
    page.click("text=Handbook")
    refunds = page.locator("section#refunds")
    assert re.search(r"\b45\b", refunds.inner_text())

    # And the diff page shows it between 3.2 and 3.3.
    page.goto(f"{demo_live}/protocols/diff/")
    page.select_option("#old", label="3.2")
    page.select_option("#new", label="3.3")
    page.click("button:has-text('Compare')")
    refunds_changes = page.locator("#changes-refunds")
    assert "Returns and refunds" in refunds_changes.locator("h3").inner_text()
    assert refunds_changes.locator("td.before").first.inner_text() == "30 days"
    assert refunds_changes.locator("td.after").first.inner_text() == "45 days"


def test_agent_gets_403_on_the_publish_page(page, demo_live):
    """An agent opening a draft's publish page gets 403 'Not allowed'."""
    from charterdesk.accounts.models import Person
    from charterdesk.library.actions import do_create_draft

    draft = do_create_draft(
        EXAMPLE.read_text().replace('version: "3.2"', 'version: "3.9"'),
        actor=Person.objects.get(email="dana@acme.example"),
    )
    sign_in(page, demo_live, "alex@acme.example", "demo-agent-1")
    response = page.goto(f"{demo_live}/protocols/{draft.pk}/publish/")
    assert response.status == 403
    assert "Not allowed" in page.content()
