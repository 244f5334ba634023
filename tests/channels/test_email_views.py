"""The channels pages: quarantine and held mail for people, mailboxes for managers, phone calls, and
the embeddable contact form."""

from __future__ import annotations

import time

from django.core import signing

from charterdesk.channels.inbound import receive
from charterdesk.channels.models import InboundMessage, Mailbox, PhoneCall
from charterdesk.channels.secrets import decrypt
from charterdesk.tickets.actions import do_create_ticket, do_find_or_create_customer, linked_tickets
from charterdesk.tickets.models import Ticket

from . import email_corpus
from .email_corpus import plain, raw_lines

email_env = email_corpus.email_env  # the shared fixture


def test_a_lead_sees_a_quarantined_message_whole_and_turns_it_into_a_ticket(email_env, client):
    """The quarantine lists the message and its reason; the page shows it whole; the lead makes the ticket."""
    raw = raw_lines(
        "To: support@acme.example", "Subject: Who am I", "Message-ID: <anon@x.example>", "", "Help!"
    )
    inbound, _ = receive(raw, source="import")
    client.force_login(email_env["agent"])
    assert client.get("/channels/quarantine/").status_code == 403
    client.force_login(email_env["lead"])
    page = client.get("/channels/quarantine/").content.decode()
    assert "Who am I" in page and "no usable sender address" in page
    detail = client.get(f"/channels/quarantine/{inbound.pk}/").content.decode()
    assert "Message-ID: &lt;anon@x.example&gt;" in detail and "Help!" in detail
    bad = client.post(
        f"/channels/quarantine/{inbound.pk}/ticket/",
        {"email": "", "subject": "x", "body": "y", "channel": "email"},
    )
    assert "This field is required" in bad.content.decode()
    client.post(
        f"/channels/quarantine/{inbound.pk}/ticket/",
        {
            "email": "anon@x.example",
            "name": "Anon",
            "subject": "Who am I",
            "body": "Help!",
            "channel": "email",
        },
    )
    ticket = Ticket.objects.get()
    assert ticket.customer.email == "anon@x.example"
    assert ticket.messages.get().attachments.get().filename == "original.eml"
    inbound.refresh_from_db()
    assert inbound.state == "processed" and inbound.decided_by == email_env["lead"]


def test_re_processing_a_quarantined_message_after_the_cause_is_fixed(email_env, client, monkeypatch):
    """A message quarantined by a passing fault goes through when re-processed."""
    monkeypatch.setattr("charterdesk.channels.inbound.version_in_force", lambda: None)
    inbound, _ = receive(plain("later")[0], source="import")
    assert inbound.state == "quarantined" and "no protocol version" in inbound.reason
    monkeypatch.undo()
    client.force_login(email_env["lead"])
    client.post(f"/channels/quarantine/{inbound.pk}/reprocess/")
    inbound.refresh_from_db()
    assert inbound.state == "processed" and Ticket.objects.count() == 1


def test_an_agent_approves_a_held_reply_and_its_sender_becomes_a_participant(email_env, client):
    """A stranger's reply waits; approved, it lands on the ticket and later mail from them is attached."""
    receive(plain("jo")[0], source="import")
    ticket = Ticket.objects.get()
    held, _ = receive(plain("sam", "I am Jo's partner", subject=f"Re: [#{ticket.pk}]")[0], source="import")
    assert held.state == "held"
    client.force_login(email_env["agent"])
    assert "I am Jo" in client.get(f"/channels/held/{held.pk}/").content.decode()
    client.post(f"/channels/held/{held.pk}/approve/")
    assert ticket.messages.filter(kind="customer").count() == 2
    again, _ = receive(
        plain("sam2", "more", sender="sam@customer.example", subject=f"Re: [#{ticket.pk}]")[0],
        source="import",
    )
    assert again.state == "processed" and again.ticket_id == ticket.pk


def test_a_held_reply_can_become_its_own_linked_ticket(email_env, client):
    """A reply from sam held on jo's ticket, turned into its own ticket by an agent, opens a ticket for
    sam@customer.example that is linked to jo's."""
    receive(plain("jo")[0], source="import")
    ticket = Ticket.objects.get()
    held, _ = receive(plain("sam", "Different problem", subject=f"Re: [#{ticket.pk}]")[0], source="import")
    client.force_login(email_env["agent"])
    client.post(f"/channels/held/{held.pk}/new-ticket/")
    new = Ticket.objects.exclude(pk=ticket.pk).get()
    assert new.customer.email == "sam@customer.example"
    assert ticket.pk in {t.pk for t in linked_tickets(new)}


def test_a_manager_adds_a_mailbox_and_the_password_is_never_shown_back(email_env, client):
    """Mailboxes need channels.manage; the password is stored encrypted and the form never echoes it."""
    client.force_login(email_env["lead"])
    assert client.get("/channels/mailboxes/").status_code == 403
    client.force_login(email_env["manager"])
    form = {
        "name": "Support inbox",
        "channel": "email",
        "host": "imap.acme.example",
        "port": "993",
        "security": "ssl",
        "username": "support",
        "password": "hunter2-secret",
        "folder": "INBOX",
        "is_active": "on",
        "verify_certificate": "on",
    }
    assert (
        "enter the mailbox password"
        in client.post("/channels/mailboxes/new/", {**form, "password": ""}).content.decode()
    )
    assert (
        "enter a host name"
        in client.post("/channels/mailboxes/new/", {**form, "host": "bad host!"}).content.decode()
    )
    client.post("/channels/mailboxes/new/", form)
    box = Mailbox.objects.get()
    assert "hunter2" not in box.password_encrypted and decrypt(box.password_encrypted) == "hunter2-secret"
    page = client.get(f"/channels/mailboxes/{box.pk}/").content.decode()
    assert "hunter2" not in page and "A password is stored" in page
    client.post(f"/channels/mailboxes/{box.pk}/", {**form, "password": "", "name": "Renamed"})
    box.refresh_from_db()
    assert box.name == "Renamed" and decrypt(box.password_encrypted) == "hunter2-secret"
    # The stored password goes only where it went before: a new host (or port, user, security)
    # needs it typed again.
    moved = client.post(f"/channels/mailboxes/{box.pk}/", {**form, "password": "", "host": "evil.example"})
    assert "type the password again: the host changed" in moved.content.decode()
    box.refresh_from_db()
    assert box.host == "imap.acme.example"
    # With the password typed again it moves, and the last poll (of the old server) is forgotten.
    Mailbox.objects.filter(pk=box.pk).update(last_error="old server: refused", last_count=3)
    client.post(f"/channels/mailboxes/{box.pk}/", {**form, "name": "Renamed", "host": "imap2.acme.example"})
    box.refresh_from_db()
    assert (box.host, box.last_error, box.last_count, box.last_polled_at) == (
        "imap2.acme.example",
        "",
        0,
        None,
    )
    for host in ("imap..acme.example", "-imap.acme.example", "[::1", "a" * 64 + ".example"):
        bad = client.post(f"/channels/mailboxes/{box.pk}/", {**form, "host": host})
        assert "enter a host name such as imap.example.com" in bad.content.decode(), host
    page = client.get(f"/channels/mailboxes/{box.pk}/").content.decode()
    assert 'data-confirm="Remove the mailbox Renamed?' in page  # asks before removing
    # Poll now on a paused mailbox says it is paused (not that another worker has it).
    client.post(f"/channels/mailboxes/{box.pk}/", {**form, "name": "Renamed", "is_active": ""})
    polled = client.post(f"/channels/mailboxes/{box.pk}/poll/", follow=True).content.decode()
    assert "this mailbox is paused" in polled


def test_an_outbound_call_counts_as_a_reply_and_an_inbound_call_does_not(email_env, client):
    """Logging a call: inbound opens a ticket whose first response is still due; an outbound call on it
    fulfils the first response; no email is sent for a call."""
    from django.core import mail

    client.force_login(email_env["agent"])  # agents may log calls on tickets, not open new ones
    assert (
        client.post(
            "/channels/phone/",
            {"customer_email": "jo@example.com", "direction": "inbound", "duration": "1", "notes": "x"},
        ).status_code
        == 403
    )
    client.force_login(email_env["lead"])
    response = client.post(
        "/channels/phone/",
        {
            "customer_email": "jo@example.com",
            "customer_name": "Jo",
            "direction": "inbound",
            "duration": "4:30",
            "notes": "Tent broke",
        },
    )
    assert response.status_code == 302
    ticket = Ticket.objects.get()
    assert ticket.channel == "phone"
    assert ticket.sla_state["metrics"]["first_response"][0]["fulfilled"] is None
    bad = client.post(
        "/channels/phone/", {"ticket": ticket.pk, "direction": "outbound", "duration": "abc", "notes": "x"}
    )
    assert "minutes:seconds" in bad.content.decode()
    mistyped = client.post(
        "/channels/phone/", {"ticket": 999999, "direction": "inbound", "duration": "1", "notes": "Long notes"}
    )
    assert mistyped.status_code == 200
    assert "there is no ticket #999999" in mistyped.content.decode()
    assert "Long notes" in mistyped.content.decode()  # what was typed is kept
    client.post(
        "/channels/phone/",
        {"ticket": ticket.pk, "direction": "outbound", "duration": "2", "notes": "Called back"},
    )
    ticket.refresh_from_db()
    assert ticket.sla_state["metrics"]["first_response"][0]["fulfilled"] is not None
    assert [c.duration_seconds for c in PhoneCall.objects.order_by("at", "id")] == [270, 120]
    assert not mail.outbox


def _token(channel="web", age=10):
    signer = signing.TimestampSigner(salt="charterdesk.channels.embed")
    return signer.sign(channel) if age == 0 else _backdated(signer, channel, age)


def _backdated(signer, value, age):
    real = time.time
    try:
        time.time = lambda: real() - age
        return signer.sign(value)
    finally:
        time.time = real


def test_the_embedded_form_posts_tickets_only_from_allowed_sites(email_env, client, monkeypatch):
    """The script renders with a signed token; submissions need an allowed Origin, a human delay and an
    empty honeypot; a good one opens a ticket on the web channel."""
    client.force_login(email_env["manager"])
    bad = client.post(
        "/channels/embed/?channel=web",
        {"channel": "web", "enabled": "on", "title": "Write to us", "allowed_origins": "www.acme.example"},
    )
    assert "is not an origin" in bad.content.decode()
    for origin, why in (
        ("https://acme.example:99999", "has a port that does not exist"),
        ("https://user:pw@acme.example", "is not an origin"),
    ):
        refused = client.post(
            "/channels/embed/?channel=web",
            {"channel": "web", "enabled": "on", "title": "Write to us", "allowed_origins": origin},
        )
        assert why in refused.content.decode(), origin
    client.post(
        "/channels/embed/?channel=web",
        {
            "channel": "web",
            "enabled": "on",
            "title": "Write to us",
            "allowed_origins": "https://www.acme.example/",
        },
    )
    assert "data-target" in client.get("/channels/embed/?channel=web").content.decode()
    client.logout()
    js = client.get("/channels/embed/web.js")
    assert js.status_code == 200 and b"Write to us" in js.content and js["Cache-Control"] == "no-store"
    good = {"name": "Jo", "email": "jo@example.com", "message": "Where is my order?", "token": _token()}
    denied = client.post("/channels/embed/web/submit", good, HTTP_ORIGIN="https://evil.example")
    # Refused, and readable by the page's script, so the visitor sees why (not a generic failure).
    assert denied.status_code == 403 and denied.json() == {"error": "This site may not send this form."}
    assert denied["Access-Control-Allow-Origin"] == "https://evil.example" and not Ticket.objects.exists()
    preflight = client.options("/channels/embed/web/submit", HTTP_ORIGIN="https://www.acme.example")
    assert preflight["Access-Control-Allow-Origin"] == "https://www.acme.example"
    # Sent the second it was shown: the clock stands still while the request runs, however slowly.
    shown = time.time()
    with monkeypatch.context() as frozen:
        frozen.setattr(time, "time", lambda: shown)
        fast = client.post(
            "/channels/embed/web/submit",
            {**good, "token": _token(age=0)},
            HTTP_ORIGIN="https://www.acme.example",
        )
    assert fast.status_code == 400 and "quick" in fast.json()["error"]
    trap = client.post(
        "/channels/embed/web/submit", {**good, "website": "spam"}, HTTP_ORIGIN="https://www.acme.example"
    )
    assert trap.status_code == 202 and not Ticket.objects.exists()
    invalid = client.post(
        "/channels/embed/web/submit", {**good, "email": "nope"}, HTTP_ORIGIN="https://www.acme.example"
    )
    assert invalid.json()["errors"]["email"].startswith("Enter your email")
    ok = client.post("/channels/embed/web/submit", good, HTTP_ORIGIN="https://www.acme.example")
    assert ok.status_code == 201 and ok["Access-Control-Allow-Origin"] == "https://www.acme.example"
    ticket = Ticket.objects.get()
    assert (ticket.channel, ticket.subject, ticket.customer.email) == (
        "web",
        "Where is my order?",
        "jo@example.com",
    )


def test_attachments_are_served_only_to_people_who_may_see_tickets(email_env, client):
    """A mailed PDF's attachment link sends a visitor who is not signed in away (302); a signed-in agent
    downloads the very bytes, as an attachment."""
    from .email_corpus import Context, build_corpus

    case = next(c for c in build_corpus() if c.name == "pdf")
    receive(case.build(Context()), source="import")
    attachment = Ticket.objects.get().messages.get().attachments.get()
    assert client.get(f"/tickets/attachments/{attachment.pk}/").status_code == 302
    client.force_login(email_env["agent"])
    response = client.get(f"/tickets/attachments/{attachment.pk}/")
    assert response.status_code == 200 and response["Content-Disposition"].startswith("attachment")
    assert b"".join(response.streaming_content) == b"%PDF-1.4 fake"
    assert do_create_ticket and do_find_or_create_customer and InboundMessage  # imported for readers


def test_behind_trusted_proxies_each_visitor_is_counted_by_their_own_address(settings, rf):
    """Limits count the client: X-Forwarded-For is read only from the proxies listed in
    CHARTERDESK_TRUSTED_PROXIES, right to left past them; from anyone else it is ignored."""
    from charterdesk.core.client import client_ip

    def seen(remote, forwarded=None):
        extra = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded is not None else {}
        return client_ip(rf.post("/", REMOTE_ADDR=remote, **extra))

    settings.CHARTERDESK_TRUSTED_PROXIES = []
    assert seen("10.0.0.5", "203.0.113.9") == "10.0.0.5"  # no proxies trusted: the header is ignored
    settings.CHARTERDESK_TRUSTED_PROXIES = ["10.0.0.0/8", "127.0.0.1"]
    assert seen("10.0.0.5", "203.0.113.9") == "203.0.113.9"
    assert seen("10.0.0.5", "198.51.100.7, 203.0.113.9, 10.0.0.2") == "203.0.113.9"  # past our proxies
    assert seen("10.0.0.5") == "10.0.0.5"  # a proxy that wrote nothing
    assert seen("198.51.100.7", "203.0.113.9") == "198.51.100.7"  # not a proxy: its header is its word
    assert seen("127.0.0.1", "garbage, 203.0.113.9") == "203.0.113.9"


def test_opening_a_raw_email_is_audited(email_env, client):
    """The quarantine page (which shows the message as it arrived) and its .eml download each
    record who read which message, by id."""
    from charterdesk.audit.models import AuditEntry

    raw = raw_lines("To: support@acme.example", "Subject: Who", "Message-ID: <a@x.example>", "", "Hi")
    inbound, _ = receive(raw, source="import")
    client.force_login(email_env["lead"])
    client.get(f"/channels/quarantine/{inbound.pk}/")
    client.get(f"/channels/quarantine/{inbound.pk}/raw/")
    reads = AuditEntry.objects.filter(action="read.raw_email").order_by("id")
    assert [(e.target, e.data["how"], e.actor) for e in reads] == [
        (f"inbound:{inbound.pk}", "page", email_env["lead"]),
        (f"inbound:{inbound.pk}", "download", email_env["lead"]),
    ]


def test_the_held_page_names_the_tickets_customer_by_the_customer_data_rule(email_env, client, monkeypatch):
    """An agent whose roles do not give access to customer data reads 'Held for #N (Jo W.)' without
    jo@customer.example; one who does reads 'Jo Walker <jo@customer.example>'."""
    from charterdesk.channels import views

    receive(plain("jo")[0], source="import")
    ticket = Ticket.objects.get()
    ticket.customer.name = "Jo Walker"
    ticket.customer.save()
    held, _ = receive(plain("sam", "I am Jo's partner", subject=f"Re: [#{ticket.pk}]")[0], source="import")
    client.force_login(email_env["agent"])
    page = client.get(f"/channels/held/{held.pk}/").content.decode()
    assert f"Held for #{ticket.pk} (Jo Walker &lt;jo@customer.example&gt;)" in page
    monkeypatch.setattr(views, "sees_customer_contact", lambda person, protocol: False)
    page = client.get(f"/channels/held/{held.pk}/").content.decode()
    assert f"Held for #{ticket.pk} (Jo W.)" in page and "jo@customer.example" not in page
