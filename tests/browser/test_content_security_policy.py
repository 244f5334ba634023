"""The desk's pages under their Content-Security-Policy in a real browser: nothing is blocked, and
what htmx does (the protocol editor's live check, the composer's reply check, the handbook search)
still works."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from .conftest import WAIT_MS, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.message_checks]

# Playwright's init scripts run outside the page's policy: this one records every violation the
# browser reports, before any script of the page runs.
RECORD_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  const what = event.blockedURI || "inline";
  const where = `${event.sourceFile}:${event.lineNumber}`;
  window.__violations.push(`${event.violatedDirective} blocked ${what} at ${where}`);
});
"""


class Watched:
    """A browser page whose console messages and policy violations are kept for the asserts."""

    def __init__(self, browser):
        self.context = browser.new_context(viewport={"width": 1280, "height": 900})
        self.context.add_init_script(RECORD_VIOLATIONS)
        self.page = self.context.new_page()
        self.page.set_default_timeout(WAIT_MS)
        self.console: list[str] = []
        self.page.on("console", lambda message: self.console.append(f"{message.type}: {message.text}"))
        self.page.on("pageerror", lambda error: self.console.append(f"pageerror: {error}"))

    def violations(self) -> list[str]:
        """Everything blocked on the current page, by the event and by the console's words."""
        seen = list(self.page.evaluate("window.__violations || []"))
        seen += [line for line in self.console if "Content Security Policy" in line or "pageerror" in line]
        return seen

    def visit(self, url: str) -> None:
        self.page.goto(url)
        self.page.wait_for_load_state("load")
        # Deferred scripts and htmx's start-up have run once "load" has fired.
        assert self.violations() == [], url

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def live_desk(demo_live, settings):
    from charterdesk.library.models import ProtocolVersion

    # The ticket actions count whole seconds: make the demo version in force since yesterday.
    ProtocolVersion.objects.update(effective_at=timezone.now() - dt.timedelta(days=1))
    settings.CHARTERDESK_PORTAL_MIN_SECONDS = 0
    return demo_live


def test_queue_ticket_page_and_the_composers_live_check_run_with_nothing_blocked(browser, live_desk):
    """Alex opens the queue, a ticket and the API's documentation with no script, style or image
    blocked; writing 'calm down' in the composer still brings the live reply check's three problems."""
    from charterdesk.tickets.actions import do_create_ticket, do_find_or_create_customer

    customer = do_find_or_create_customer(email="maria@example.com", name="Maria Lopez")
    ticket = do_create_ticket(customer=customer, subject="Where is my stove?", body="Late.", channel="email")
    alex = Watched(browser)
    sign_in(alex.page, live_desk, "alex@acme.example", "demo-agent-1")
    alex.visit(f"{live_desk}/tickets/")
    assert "Where is my stove?" in alex.page.locator("table.queue").inner_text()
    alex.visit(f"{live_desk}/tickets/{ticket.pk}/")
    alex.page.fill("#id_body", "Maria, calm down, your stove ships today.")
    alex.page.dispatch_event("#id_body", "input")
    alex.page.locator("#reply-check [data-reply-problems] li").nth(2).wait_for()
    assert "'calm down' is on the banned list" in alex.page.locator("#reply-check").inner_text()
    assert alex.violations() == []
    alex.visit(f"{live_desk}/api/docs")
    alex.page.locator(".swagger-ui .opblock").first.wait_for()
    assert alex.violations() == []
    alex.close()


def test_the_protocol_editor_and_the_handbook_search_work_with_nothing_blocked(
    browser, live_desk, example_source
):
    """Dana edits a draft: typing a misspelt key brings the live check's problem at its line without
    a reload; the handbook's search answers as she types; these and every other page she opens
    (reports with their charts, channels, people, audit log, her account, a 404) have nothing blocked."""
    from charterdesk.accounts.models import Person
    from charterdesk.library.actions import do_create_draft

    draft = do_create_draft(example_source, actor=Person.objects.get(email="dana@acme.example"))
    dana = Watched(browser)
    sign_in(dana.page, live_desk, "dana@acme.example", "demo-manager-1")
    dana.visit(f"{live_desk}/protocols/{draft.pk}/edit/")
    source = dana.page.locator("textarea[name=source]")
    source.fill(example_source.replace("company: Acme Outdoor Gear", "compny: Acme Outdoor Gear"))
    source.dispatch_event("input")
    dana.page.locator("#problems", has_text="unknown key 'compny'").wait_for()
    assert dana.violations() == []
    dana.visit(f"{live_desk}/handbook/")
    dana.page.fill("input[type=search]", "refund")
    dana.page.dispatch_event("input[type=search]", "input")
    dana.page.wait_for_url("**/handbook/?**refund**")
    dana.page.locator("#results a").first.wait_for()
    assert dana.violations() == []
    # Every other kind of page a manager opens: charts, forms, lists, the account's QR code.
    for path in (
        "/protocols/",
        f"/protocols/{draft.pk}/preview/",
        f"/protocols/diff/?new={draft.pk}",
        f"/whatif/draft/{draft.pk}/",
        "/reports/",
        "/reports/schedule/",
        "/reports/schedule/0/preview/",
        "/channels/",
        "/channels/embed/",
        "/people/",
        "/people/invite/",
        "/audit/",
        "/notifications/",
        "/account/",
        "/account/two-factor/",
        "/tokens/",
        "/no-such-page/",
    ):
        dana.visit(f"{live_desk}{path}")
    dana.close()


def test_the_portal_runs_with_nothing_blocked(browser, live_desk):
    """A customer opens the portal's start page and its new-ticket form; nothing is blocked."""
    customer = Watched(browser)
    customer.visit(f"{live_desk}/portal/")
    customer.visit(f"{live_desk}/portal/new/")
    assert customer.page.locator("form").count() >= 1
    customer.close()


def test_a_blocked_inline_script_is_caught_by_the_watch(browser, live_desk):
    """The watch itself is proven: an inline script added to a desk page is refused by the policy
    and reported, so an empty list above means nothing was blocked."""
    watch = Watched(browser)
    watch.visit(f"{live_desk}/sign-in/")
    watch.page.evaluate(
        "() => { const s = document.createElement('script'); s.textContent = 'window.ran = 1'; "
        "document.body.appendChild(s); }"
    )
    watch.page.wait_for_function("() => window.__violations.length > 0")
    assert watch.page.evaluate("window.ran") is None
    assert any("script-src" in line for line in watch.violations())
    watch.close()
