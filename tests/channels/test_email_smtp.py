"""The SMTP listener with real clients over a socket: Python's smtplib and Debian's swaks."""

from __future__ import annotations

import smtplib
import ssl
import subprocess
import time
from email.message import EmailMessage

import pytest
from django.db import OperationalError

from charterdesk.channels.addressing import reply_address
from charterdesk.channels.models import InboundMessage
from charterdesk.channels.smtpd import DeskHandler, make_controller
from charterdesk.tickets.models import Ticket

from . import email_corpus
from .email_corpus import free_port, require_tool

live_email_env = email_corpus.live_email_env  # the shared fixture

# Seconds a client waits for an answer, and a test for the listener to act on what it accepted:
# plenty for a busy machine (the listener stores each message before it answers); only a hung
# listener runs into it.
CLIENT_TIMEOUT = 300


@pytest.fixture
def listener(live_email_env):
    """A running listener on a free loopback port; yields (port, handler)."""
    started = []

    def start(**options):
        port = free_port()
        handler = DeskHandler(max_recipients=options.pop("max_recipients", None))
        controller, handler = make_controller("127.0.0.1", port, handler=handler, **options)
        controller.start()
        started.append((controller, handler))
        return port, handler

    yield start
    for controller, handler in started:
        controller.stop()
        handler.shutdown()


def _mail(subject="Tent pole snapped", sender="jo@example.com", to="support@acme.example", body="It broke."):
    msg = EmailMessage()
    msg["From"] = f"Jo Walker <{sender}>"
    msg["To"] = to
    msg["Subject"] = subject
    msg["Message-ID"] = f"<{subject.replace(' ', '-')}.{time.monotonic_ns()}@example.com>"
    msg.set_content(body)
    return msg


def test_a_mail_sent_with_smtplib_becomes_a_ticket_after_it_is_stored(listener):
    """smtplib delivers over the socket; the 250 answer names the stored message; the ticket follows."""
    port, handler = listener()
    with smtplib.SMTP("127.0.0.1", port, timeout=CLIENT_TIMEOUT) as client:
        _, answer = client.ehlo()
        assert b"SIZE" in answer and b"SMTPUTF8" in answer
        client.send_message(_mail())
        _code, answer = client.noop()
    handler.drain(CLIENT_TIMEOUT)
    inbound = InboundMessage.objects.get()
    assert inbound.source == "smtp"
    assert inbound.envelope_to == ["support@acme.example"]
    assert inbound.state == "processed", inbound.reason
    assert b"It broke." in inbound.raw_bytes
    ticket = Ticket.objects.get()
    assert ticket.subject == "Tent pole snapped" and ticket.channel == "email"
    assert ticket.customer.email == "jo@example.com"


def test_the_client_keeps_the_message_when_the_desk_cannot_store_it(listener, monkeypatch):
    """If the database refuses the message, the client is told to try later (451), so nothing is lost."""
    port, _handler = listener()

    def broken(*args, **kwargs):
        raise OperationalError("disk I/O error")

    monkeypatch.setattr("charterdesk.channels.actions.store_inbound", broken)
    with (
        smtplib.SMTP("127.0.0.1", port, timeout=CLIENT_TIMEOUT) as client,
        pytest.raises(smtplib.SMTPDataError) as refused,
    ):
        client.send_message(_mail())
    assert refused.value.smtp_code == 451
    assert not InboundMessage.objects.exists()


def test_unknown_recipients_too_many_recipients_and_too_large_mail_are_refused(listener):
    """Only channel addresses take mail (550); recipients are capped (452); the size limit holds (552)."""
    port, _handler = listener(max_recipients=2, max_size=20_000)
    with smtplib.SMTP("127.0.0.1", port, timeout=CLIENT_TIMEOUT) as client:
        with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
            client.send_message(_mail(to="someone@elsewhere.example"))
        assert refused.value.recipients["someone@elsewhere.example"][0] == 550
        client.rset()
        client.mail("jo@example.com")
        assert client.rcpt("support@acme.example")[0] == 250
        assert client.rcpt("SUPPORT+anything@acme.example")[0] == 250
        assert client.rcpt("support@acme.example")[0] == 452
        client.rset()
        with pytest.raises(smtplib.SMTPSenderRefused) as too_big:
            client.send_message(_mail(body="x" * 30_000))
        assert too_big.value.smtp_code == 552
    assert not InboundMessage.objects.exists()


def test_the_same_mail_delivered_twice_makes_one_ticket(listener):
    """A retried delivery (same Message-ID) is acknowledged but stored and acted on once."""
    port, handler = listener()
    msg = _mail()
    with smtplib.SMTP("127.0.0.1", port, timeout=CLIENT_TIMEOUT) as client:
        client.send_message(msg)
        client.send_message(msg)
    handler.drain(CLIENT_TIMEOUT)
    assert InboundMessage.objects.count() == 1
    assert Ticket.objects.count() == 1


def _demo_agent():
    from charterdesk.accounts.models import Person

    return Person.objects.get(email="alex@acme.example")


def test_a_different_mail_reusing_a_message_id_is_stored_not_dropped(listener):
    """A second, different mail with an earlier Message-ID is answered "Stored as", becomes its own
    ticket and is flagged; only the very same mail again is "Already have it"."""
    port, handler = listener()
    first = _mail()
    other = _mail(subject="Something else entirely", sender="someone@example.net", body="Other text.")
    other.replace_header("Message-ID", first["Message-ID"])
    with smtplib.SMTP("127.0.0.1", port, timeout=CLIENT_TIMEOUT) as client:
        client.ehlo()
        answers = []
        for msg in (first, other, first):
            client.mail("jo@example.com")
            client.rcpt("support@acme.example")
            answers.append(client.data(msg.as_bytes())[1].decode())
    handler.drain(CLIENT_TIMEOUT)
    assert [a.split(" (")[0].split(" as ")[0] for a in answers] == [
        "2.0.0 Stored",
        "2.0.0 Stored",
        "2.0.0 Already have it",
    ]
    assert InboundMessage.objects.count() == 2
    assert InboundMessage.objects.filter(reused_message_id=True).count() == 1
    assert Ticket.objects.count() == 2
    from django.test import Client

    flagged = InboundMessage.objects.get(reused_message_id=True)
    client = Client()
    client.force_login(_demo_agent())
    page = client.get(f"/tickets/{flagged.ticket_id}/").content.decode()
    assert "reused the Message-ID of an earlier, different message" in page


def test_a_reply_to_the_ticket_address_over_smtp_lands_on_the_ticket(listener):
    """Mail to the signed plus address is accepted and threaded onto its ticket."""
    port, handler = listener()
    with smtplib.SMTP("127.0.0.1", port, timeout=CLIENT_TIMEOUT) as client:
        client.send_message(_mail())
        handler.drain(CLIENT_TIMEOUT)
        ticket = Ticket.objects.get()
        client.send_message(_mail(subject="Re: tent", to=reply_address("support@acme.example", ticket.pk)))
    handler.drain(CLIENT_TIMEOUT)
    assert Ticket.objects.count() == 1
    assert ticket.messages.filter(kind="customer").count() == 2


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    require_tool("openssl")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return str(cert), str(key)


def test_starttls_is_offered_with_a_certificate_and_can_be_required(listener, certificate):
    """With a certificate configured the listener offers STARTTLS; when required, plain mail is refused."""
    port, handler = listener(tls_files=certificate, require_tls=True)
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with smtplib.SMTP("127.0.0.1", port, timeout=CLIENT_TIMEOUT) as client:
        client.ehlo()
        assert client.has_extn("starttls")
        with pytest.raises(smtplib.SMTPSenderRefused) as refused:
            client.send_message(_mail())
        assert refused.value.smtp_code == 530
    with smtplib.SMTP("127.0.0.1", port, timeout=CLIENT_TIMEOUT) as client:
        client.starttls(context=context)
        client.send_message(_mail(subject="Over TLS"))
    handler.drain(CLIENT_TIMEOUT)
    assert Ticket.objects.get().subject == "Over TLS"


def test_swaks_delivers_a_mail_with_an_attachment(listener, tmp_path):
    """Debian's swaks, a real SMTP client, sends a mail with an attachment; the ticket has the file."""
    swaks = require_tool("swaks")
    port, handler = listener()
    report = tmp_path / "report.csv"
    report.write_text("order,state\n1234,lost\n")
    result = subprocess.run(
        [
            swaks,
            "--server",
            f"127.0.0.1:{port}",
            "--from",
            "sam@example.org",
            "--to",
            "support@acme.example",
            "--header",
            "Subject: Lost parcel",
            "--body",
            "Where is my parcel?",
            "--attach-type",
            "text/csv",
            "--attach-name",
            "report.csv",
            "--attach",
            f"@{report}",
            "--timeout",
            str(CLIENT_TIMEOUT),
        ],
        capture_output=True,
        text=True,
        timeout=2 * CLIENT_TIMEOUT,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "250 2.0.0 Stored as" in result.stdout
    handler.drain(CLIENT_TIMEOUT)
    ticket = Ticket.objects.get()
    assert ticket.subject == "Lost parcel"
    message = ticket.messages.get()
    assert "Where is my parcel?" in message.body_text
    assert [a.filename for a in message.attachments.all()] == ["report.csv"]
