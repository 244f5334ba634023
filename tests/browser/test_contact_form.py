"""A visitor on the company's own site writes through the embedded contact form."""

from __future__ import annotations

import datetime as dt
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.db.models import F

pytestmark = pytest.mark.browser

TOO_LONG = "The middle pole snapped on the first night. " * 500  # 22,000 characters


@pytest.fixture
def shop(demo_live):
    """The company's own site: a page on another origin (127.0.0.1, its own port) that embeds the
    desk's contact form with the snippet the settings page gives."""
    page = (
        "<!DOCTYPE html><html><head><title>Acme shop</title></head><body><h1>Contact Acme</h1>"
        f'<div id="contact"></div><script src="{demo_live}/channels/embed/web.js" '
        'data-target="#contact"></script></body></html>'
    ).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def form_on(demo_live, monkeypatch):
    """Switches the web channel's form on for the given origins; the form's three-second minimum is
    off (the test types faster than a person and does not wait)."""
    from django.core.cache import cache

    from charterdesk.accounts.models import Person
    from charterdesk.channels.actions import do_save_embed_form
    from charterdesk.library.models import ProtocolVersion

    # The ticket actions count whole seconds: make the demo version in force since a second ago.
    ProtocolVersion.objects.update(effective_at=F("effective_at") - dt.timedelta(seconds=1))
    monkeypatch.setattr("charterdesk.channels.embed.MIN_SECONDS", 0)
    cache.clear()
    manager = Person.objects.get(email="dana@acme.example")

    def switch_on(*origins: str) -> None:
        do_save_embed_form(
            "web", actor=manager, allowed_origins=list(origins), enabled=True, title="Write to us"
        )

    return switch_on


def _type(page) -> None:
    page.fill("form.charterdesk-form input[name=name]", "Jo Walker")
    page.fill("form.charterdesk-form input[name=email]", "jo@example.com")
    page.fill("form.charterdesk-form input[name=subject]", "Tent pole")
    page.fill("form.charterdesk-form textarea[name=message]", TOO_LONG)


def test_a_mistake_keeps_what_the_visitor_typed_and_a_corrected_message_opens_a_ticket(page, shop, form_on):
    """Jo's 22,000-character message is refused with "The message is too long (at most 20,000
    characters)." beside it and everything Jo typed still in the form; shortened, it is sent: Jo reads
    "Thank you, we have your message (#N).", the form is empty again, and #N is a web ticket."""
    from charterdesk.tickets.models import Ticket

    form_on(shop)
    page.goto(f"{shop}/")
    page.locator("form.charterdesk-form h3", has_text="Write to us").wait_for()
    _type(page)
    page.click("form.charterdesk-form button[type=submit]")

    error = page.locator('.charterdesk-error[data-field="message"]')
    error.filter(has_text="The message is too long (at most 20,000 characters).").wait_for()
    assert (
        page.locator("form.charterdesk-form [role=status]").inner_text() == "Please check the fields above."
    )
    assert page.input_value("form.charterdesk-form input[name=name]") == "Jo Walker"
    assert page.input_value("form.charterdesk-form input[name=email]") == "jo@example.com"
    assert page.input_value("form.charterdesk-form input[name=subject]") == "Tent pole"
    assert page.input_value("form.charterdesk-form textarea[name=message]") == TOO_LONG
    assert not Ticket.objects.exists()

    page.fill("form.charterdesk-form textarea[name=message]", "The middle pole snapped on the first night.")
    page.click("form.charterdesk-form button[type=submit]")
    status = page.locator("form.charterdesk-form [role=status]")
    status.filter(has_text="Thank you, we have your message").wait_for()
    ticket = Ticket.objects.get()
    assert status.inner_text() == f"Thank you, we have your message (#{ticket.pk})."
    assert error.inner_text() == ""
    assert page.input_value("form.charterdesk-form input[name=name]") == ""
    assert (ticket.channel, ticket.subject, ticket.customer.name) == ("web", "Tent pole", "Jo Walker")


def test_a_site_the_manager_did_not_list_shows_the_visitor_why_nothing_was_sent(page, shop, form_on):
    """The form is on only for https://www.acme.example: on another site's page, the visitor who presses
    Send reads "This site may not send this form." and keeps what they typed; no ticket is opened."""
    from charterdesk.tickets.models import Ticket

    form_on("https://www.acme.example")
    page.goto(f"{shop}/")
    page.locator("form.charterdesk-form h3", has_text="Write to us").wait_for()
    _type(page)
    page.fill("form.charterdesk-form textarea[name=message]", "Where is order 1042?")
    page.click("form.charterdesk-form button[type=submit]")

    status = page.locator("form.charterdesk-form [role=status]")
    status.filter(has_text="This site may not send this form.").wait_for()
    assert page.input_value("form.charterdesk-form textarea[name=message]") == "Where is order 1042?"
    assert not Ticket.objects.exists()
