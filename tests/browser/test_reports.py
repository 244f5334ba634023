"""A manager's reports page shows a customer's rating, and the weekly report arrives by SMTP with it."""

from __future__ import annotations

import datetime as dt
import email
import io
import socket
import threading
from email import policy
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from pypdf import PdfReader

from .conftest import sign_in

pytestmark = pytest.mark.browser


class Sink:
    """An SMTP server on loopback that keeps every message it is handed (the team's mail server)."""

    def __init__(self) -> None:
        self.messages: list[bytes] = []
        self.arrived = threading.Event()

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(envelope.content)
        self.arrived.set()
        return "250 OK"


@pytest.fixture
def smtp(settings):
    from aiosmtpd.controller import Controller

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = port
    yield sink
    controller.stop()


def test_a_rating_shows_in_csat_on_the_page_and_chart_and_in_the_weekly_pdf(page, demo_live, smtp):
    """Two customers rate last week's tickets 5 and 2: Dana's reports page for that week shows CSAT
    50% in the KPI table and as a 50 percent point on the CSAT chart; 'Send now' on the weekly
    schedule mails her the report over SMTP with a PDF whose text says 50% too."""
    from charterdesk.accounts.models import Person
    from charterdesk.library.versions import protocol_of, version_in_force
    from charterdesk.reports.figures import kpi_engine
    from charterdesk.reports.schedule import covered_days, entries, latest_instant
    from charterdesk.tickets.actions import do_create_customer, do_create_ticket, do_reply, do_set_status
    from charterdesk.tickets.lifecycle import HistoryEvent, hookimpl, register, unregister

    version = version_in_force()
    engine = kpi_engine(version, protocol_of(version))
    weekly = entries(protocol_of(version), engine.timezone)[0]
    now = timezone.now()
    first, last = covered_days("weekly", latest_instant(weekly, now).astimezone(ZoneInfo(weekly.zone)).date())
    day = dt.datetime.combine(first + dt.timedelta(days=1), dt.time(15), tzinfo=dt.UTC)

    class Surveys:
        """The survey answers, as the surveys family gives them to the reports."""

        events: list[HistoryEvent] = []

        @hookimpl
        def history_events(self, ticket_ids):
            return [e for e in self.events if ticket_ids is None or e.ticket_id in ticket_ids]

    surveys = Surveys()
    alex = Person.objects.get(email="alex@acme.example")
    body = "Hello Casey,\n\nThanks for writing; it is sorted.\n\nRegards,\nAcme"
    for n, score in enumerate((5, 2)):
        customer = do_create_customer(actor=None, name="Casey Client", email=f"casey{n}@example.com")
        ticket = do_create_ticket(
            customer=customer,
            subject=f"Order {n}",
            body="Hello",
            channel="email",
            at=day + dt.timedelta(hours=n),
        )
        do_reply(ticket, author=alex, body=body, at=day + dt.timedelta(hours=n, minutes=30), send_email=False)
        do_set_status(ticket, "solved", actor=alex, at=day + dt.timedelta(hours=n, minutes=40))
        surveys.events.append(
            HistoryEvent(
                ticket.pk, day + dt.timedelta(days=1, hours=n), "survey", {"kind": "csat", "score": score}
            )
        )
    register(surveys)
    try:
        sign_in(page, demo_live, "dana@acme.example", "demo-manager-1")
        page.goto(f"{demo_live}/reports/?period=custom&from={first.isoformat()}&to={last.isoformat()}")
        assert page.locator("#kpis tr[data-kpi=csat] td.value").inner_text() == "50%"
        chart = page.locator("svg.chart", has=page.locator("title", has_text="Customer satisfaction"))
        assert chart.locator("circle title", has_text="50 percent").count() == 1
        assert page.locator("tr[data-objective=happy-customers] .met").inner_text() == "Missed"

        page.goto(f"{demo_live}/reports/schedule/")
        page.click("#entry-0 button[type=submit]")
        page.wait_for_url(f"{demo_live}/reports/schedule/")
        assert smtp.arrived.wait(120)
    finally:
        unregister(surveys)
    message = email.message_from_bytes(smtp.messages[0], policy=policy.default)
    assert message["To"] == "dana@acme.example"
    pdf = next(part for part in message.iter_attachments() if part.get_content_type() == "application/pdf")
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.get_content())).pages)
    assert "Customer satisfaction" in text and "50%" in text
