"""Mail that uses an existing customer's address must prove it: real DKIM signatures (dkimpy, a
generated RSA key, a fake DNS), SPF through the SMTP listener, a receiving server's
Authentication-Results only when a mailbox trusts it; otherwise the message is marked "unverified
sender" and kept from the customer's portal until they confirm by the link mailed to them."""

from __future__ import annotations

import base64
import re
import smtplib

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.core import mail

from charterdesk.audit.models import AuditEntry
from charterdesk.channels import senders
from charterdesk.channels.addressing import reply_address
from charterdesk.channels.choices import OutboundKind, OutboundState
from charterdesk.channels.inbound import receive
from charterdesk.channels.models import InboundMessage, Mailbox, OutboundMail
from charterdesk.channels.sender_auth import aligned, authenticate
from charterdesk.portal.actions import SESSION_KEY
from charterdesk.tickets.models import Customer, Message, Ticket

from . import email_corpus
from .test_email_smtp import CLIENT_TIMEOUT, _mail, listener  # noqa: F401 - the listener fixture

email_env = email_corpus.email_env
live_email_env = email_corpus.live_email_env

SELECTOR = b"s2026"


@pytest.fixture(scope="module")
def key():
    """A 2048-bit RSA key: the private half in PEM for dkimpy, the public half as its DNS record."""
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    public = private.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return pem, b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)


def fake_dns(key, domain: str):
    """A DNS that knows one DKIM key, at ``s2026._domainkey.<domain>``, and nothing else."""
    name = SELECTOR + b"._domainkey." + domain.encode() + b"."

    def lookup(asked: bytes, timeout=5):
        return key[1] if asked == name else None

    return lookup


def message(sender="jo@example.com", subject="Tent pole snapped", body="It broke.", extra="") -> bytes:
    return (
        f"From: Jo Walker <{sender}>\r\nTo: support@acme.example\r\nSubject: {subject}\r\n"
        f"Message-ID: <{abs(hash((sender, subject, body)))}@example.com>\r\n{extra}"
        f"Date: Mon, 07 Dec 2026 10:00:00 +0000\r\n\r\n{body}\r\n"
    ).encode()


def signed(key, raw: bytes, domain: str) -> bytes:
    header = dkim.sign(raw, SELECTOR, domain.encode(), key[0], include_headers=[b"from", b"to", b"subject"])
    return header + raw


# --------------------------------------------------------------------------- the check itself


def test_a_dkim_signature_made_with_the_senders_key_verifies_the_sender(key):
    """A message signed by example.com's key, as published in its DNS, is from example.com; a key
    of a subdomain (mail.example.com) vouches for it too (relaxed alignment)."""
    raw = message()
    verdict = authenticate(
        signed(key, raw, "example.com"), "jo@example.com", dns_txt=fake_dns(key, "example.com")
    )
    assert verdict.verified and verdict.method == "dkim"
    assert "example.com" in verdict.reason

    sub = authenticate(
        signed(key, raw, "mail.example.com"), "jo@example.com", dns_txt=fake_dns(key, "mail.example.com")
    )
    assert sub.verified
    assert aligned("mail.acme.co.uk", "acme.co.uk") and not aligned("acme.co.uk", "other.co.uk")


def test_a_body_changed_after_signing_leaves_the_sender_unverified(key):
    """Someone who edits a signed message breaks its signature: the sender is unverified, and the
    reason says the signature does not verify."""
    tampered = signed(key, message(body="Refund me."), "example.com").replace(b"Refund me.", b"Refund HIM.")
    verdict = authenticate(tampered, "jo@example.com", dns_txt=fake_dns(key, "example.com"))
    assert not verdict.verified
    assert "does not verify" in verdict.reason


def test_a_signature_of_part_of_the_body_does_not_vouch_for_what_was_added(key):
    """A signature with a body length (l=) verifies the first bytes only: text added after them
    could be anyone's, so the sender is unverified; with nothing added it still verifies."""
    raw = message(body="It broke.")
    header = dkim.sign(
        raw, SELECTOR, b"example.com", key[0], include_headers=[b"from", b"to", b"subject"], length=True
    )
    lookup = fake_dns(key, "example.com")
    assert authenticate(header + raw, "jo@example.com", dns_txt=lookup).verified
    added = header + raw + b"\r\nAlso, send the refund to card 4000 0000 0000 0002.\r\n"
    verdict = authenticate(added, "jo@example.com", dns_txt=lookup)
    assert not verdict.verified and "only part of the message" in verdict.reason


def test_a_signature_that_leaves_the_from_header_out_vouches_for_no_sender(key, monkeypatch):
    """dkimpy verifies a signature whose h= omits From (RFC 6376 requires it); the desk does not
    take it as proof of the sender."""

    class PretendsToHoldFrom(tuple):
        # dkimpy refuses to sign without From: this list of headers passes its check, signs without it.
        def __contains__(self, item):
            return item == b"from" or super().__contains__(item)

    monkeypatch.setattr(dkim, "tuple", PretendsToHoldFrom, raising=False)
    raw = message()
    header = dkim.sign(raw, SELECTOR, b"example.com", key[0], include_headers=[b"to", b"subject"])
    monkeypatch.undo()
    assert b"from" not in header.split(b"h=")[1].split(b";")[0]
    verdict = authenticate(header + raw, "jo@example.com", dns_txt=fake_dns(key, "example.com"))
    assert not verdict.verified and "does not cover the From header" in verdict.reason


def test_a_from_header_added_on_top_of_a_signed_message_is_not_believed(key):
    """Someone takes a newsletter signed by example.com and puts 'From: jo@example.com' above its own
    From: the signature still verifies (it covers the last From), but a message with two From
    headers is unverified."""
    newsletter = signed(key, message(sender="news@example.com"), "example.com")
    forged = b"From: Jo Walker <jo@example.com>\r\n" + newsletter
    verdict = authenticate(forged, "jo@example.com", dns_txt=fake_dns(key, "example.com"))
    assert not verdict.verified and "more than one From header" in verdict.reason


def test_a_signature_of_another_domain_does_not_vouch_for_the_from_address(key):
    """A valid signature by attacker.example on mail From jo@example.com proves nothing about Jo."""
    raw = signed(key, message(), "attacker.example")
    verdict = authenticate(raw, "jo@example.com", dns_txt=fake_dns(key, "attacker.example"))
    assert not verdict.verified
    assert "attacker.example" in verdict.reason and "not the From domain" in verdict.reason


def test_a_dns_timeout_or_a_broken_lookup_counts_as_unverified_never_as_an_error(key):
    """DNS that times out, or a lookup that fails outright, leaves the sender unverified with a
    reason: the message is never lost or stopped for it."""
    raw = signed(key, message(), "example.com")

    def timeout(name, timeout=5):
        raise dkim.DnsTimeoutError("no answer")

    def broken(name, timeout=5):
        raise RuntimeError("resolver exploded")

    for lookup in (timeout, broken):
        verdict = authenticate(raw, "jo@example.com", dns_txt=lookup)
        assert not verdict.verified
        assert "could not be looked up in time" in verdict.reason


def test_dkim_keys_are_looked_up_once_for_a_batch_and_again_after_five_minutes():
    """Mail from one provider asks DNS for its key once; after five minutes (an injected clock)
    it asks again; a lookup that failed is asked again at once."""
    from charterdesk.channels.sender_auth import CachedTxt

    asked, now, fail = [], [0.0], [False]

    def lookup(name, timeout=5):
        asked.append(name)
        if fail[0]:
            raise OSError("no answer")
        return b"v=DKIM1; p=key"

    cached = CachedTxt(lookup, ttl=300, clock=lambda: now[0])
    assert cached(b"s._domainkey.example.com.") == cached(b"s._domainkey.example.com.") == b"v=DKIM1; p=key"
    assert len(asked) == 1
    now[0] = 301.0
    fail[0] = True
    with pytest.raises(OSError):
        cached(b"s._domainkey.example.com.")
    fail[0] = False
    assert cached(b"s._domainkey.example.com.") == b"v=DKIM1; p=key"
    assert len(asked) == 3


def test_authentication_results_are_believed_only_from_the_configured_server():
    """The receiving server's header counts only when its authserv-id is the trusted one, and only
    its topmost header: a forged 'pass' the sender put lower down is not read."""
    said = (
        "Authentication-Results: mx.acme.example;"
        " dkim=pass header.d=example.com; dmarc=pass header.from=example.com\r\n"
    )
    raw = message(extra=said)
    assert not authenticate(raw, "jo@example.com").verified  # not trusted: checked here, no signature
    assert authenticate(raw, "jo@example.com", trusted_authserv_id="mx.acme.example").verified
    assert not authenticate(raw, "jo@example.com", trusted_authserv_id="mx.other.example").verified

    by_identity = "Authentication-Results: mx.acme.example; dkim=pass header.i=@mail.example.com\r\n"
    assert authenticate(
        message(extra=by_identity), "jo@example.com", trusted_authserv_id="mx.acme.example"
    ).verified

    forged = (
        "Authentication-Results: mx.acme.example;"
        " dkim=fail header.d=example.com; dmarc=fail header.from=example.com\r\n" + said
    )
    verdict = authenticate(message(extra=forged), "jo@example.com", trusted_authserv_id="mx.acme.example")
    assert not verdict.verified
    assert "dmarc=fail" in verdict.reason


def test_spf_passes_only_when_its_domain_matches_the_from_domain():
    """SPF from the connecting address vouches for the MAIL FROM domain, which must be the From's."""

    def spf(ip, mail_from, helo, timeout):
        return ("pass", "") if ip == "192.0.2.7" else ("fail", "")

    raw = message()
    ok = authenticate(raw, "jo@example.com", client_ip="192.0.2.7", mail_from="b@example.com", spf_check=spf)
    assert ok.verified and ok.method == "spf"
    other = authenticate(
        raw, "jo@example.com", client_ip="192.0.2.7", mail_from="b@evil.example", spf_check=spf
    )
    assert not other.verified and "evil.example" in other.reason
    failed = authenticate(
        raw, "jo@example.com", client_ip="198.51.100.1", mail_from="b@example.com", spf_check=spf
    )
    assert not failed.verified and "SPF fail" in failed.reason


# --------------------------------------------------------------------------- the desk


def _first_ticket(raw: bytes | None = None) -> Ticket:
    receive(raw or message(subject="My first question"), source="smtp", source_ref="192.0.2.1")
    return Ticket.objects.get(subject="My first question")


def _confirm_link(outbox) -> str:
    confirmations = [m for m in outbox if "Please confirm you wrote" in m.subject]
    assert len(confirmations) == 1, [m.subject for m in outbox]
    return re.search(r"https?://\S+/channels/confirm/\S+/", confirmations[0].body).group(0)


def test_an_unsigned_mail_using_a_customers_address_is_hidden_from_their_portal_until_confirmed(
    email_env, client, django_capture_on_commit_callbacks
):
    """Jo has a ticket. Unsigned mail from Jo's address opens a second one: it is marked "unverified
    sender" on the ticket page and in the API, gets no receipt, stays out of Jo's portal, and Jo is
    mailed a link. Opening the link confirms nothing; its button does, audited by ids, and the
    ticket then shows in Jo's portal."""
    first = _first_ticket()
    assert not first.unverified_sender  # a first contact cannot be proven, and is not marked
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        receive(message(subject="Change my delivery address"), source="smtp", source_ref="192.0.2.66")

    ticket = Ticket.objects.get(subject="Change my delivery address")
    opening = ticket.messages.get()
    assert ticket.unverified_sender and ticket.customer_id == first.customer_id
    assert opening.unverified_sender.startswith("email not authenticated: no DKIM signature")
    assert not OutboundMail.objects.filter(ticket=ticket, kind=OutboundKind.RECEIPT).exists()
    sent = OutboundMail.objects.get(ticket=ticket, kind=OutboundKind.CONFIRM)
    assert sent.state == OutboundState.SENT and sent.to_address == "jo@example.com"
    link = _confirm_link(mail.outbox)
    assert mail.outbox[0].extra_headers["Auto-Submitted"] == "auto-generated"
    assert "Change my delivery address" not in mail.outbox[0].body  # nothing the sender wrote

    session = client.session
    session[SESSION_KEY] = first.customer_id
    session.save()
    portal = client.get("/portal/tickets/").content.decode()
    assert "Waiting for you to confirm" in portal
    assert f'href="/portal/tickets/{ticket.pk}/"' not in portal
    assert client.get(f"/portal/tickets/{ticket.pk}/").status_code == 404

    path = re.sub(r"^https?://[^/]+", "", link)
    page = client.get(path)
    assert page.status_code == 200 and "Did you write to us?" in page.content.decode()
    assert "Change my delivery address" in page.content.decode()  # on the desk's own page
    ticket.refresh_from_db()
    assert ticket.unverified_sender  # a mail scanner opening the link confirms nothing

    done = client.post(path)
    assert "You confirmed" in done.content.decode()
    ticket.refresh_from_db()
    opening.refresh_from_db()
    assert not ticket.unverified_sender and opening.sender_confirmed_at is not None
    assert f'href="/portal/tickets/{ticket.pk}/"' in client.get("/portal/tickets/").content.decode()
    assert client.get(f"/portal/tickets/{ticket.pk}/").status_code == 200
    entry = AuditEntry.objects.get(action="ticket.confirm_sender")
    assert entry.data == {"message": opening.pk, "customer": first.customer_id, "how": "link"}
    assert "jo@example.com" not in entry.summary and "Jo Walker" not in entry.summary
    assert "already confirmed" in client.post(path).content.decode()
    assert AuditEntry.objects.filter(action="ticket.confirm_sender").count() == 1


def test_a_dkim_signed_mail_from_the_customers_domain_is_not_marked(email_env, key):
    """Jo's second mail, signed with example.com's published key, is trusted: a receipt, no mark."""
    _first_ticket()
    senders.DNS_TXT = fake_dns(key, "example.com")
    receive(
        signed(key, message(subject="Another question"), "example.com"), source="smtp", source_ref="192.0.2.9"
    )
    ticket = Ticket.objects.get(subject="Another question")
    assert not ticket.unverified_sender and not ticket.messages.get().unverified_sender
    inbound = InboundMessage.objects.get(ticket=ticket)
    assert inbound.sender_auth["verified"] and inbound.sender_auth["method"] == "dkim"
    assert not OutboundMail.objects.filter(ticket=ticket, kind=OutboundKind.CONFIRM).exists()


def test_an_unsigned_reply_by_subject_reference_is_hidden_but_one_to_the_signed_reply_address_is_not(
    email_env,
):
    """A [#n] in the subject can be typed by anyone: that reply is marked and hidden. A reply to the
    ticket's signed reply address shows that the sender received our mail: it is not marked."""
    ticket = _first_ticket()
    receive(message(subject=f"Re: [{ticket.reference}] tent", body="Send it to my new flat."), source="smtp")
    guessed = Message.objects.get(body_text__startswith="Send it to")
    assert guessed.ticket_id == ticket.pk and guessed.awaits_sender_confirmation
    ticket.refresh_from_db()
    assert not ticket.unverified_sender  # the ticket itself was opened by Jo

    raw = message(subject="Re: tent", body="Here is a photo.").replace(
        b"To: support@acme.example", f"To: {reply_address('support@acme.example', ticket.pk)}".encode()
    )
    receive(raw, source="smtp")
    answered = Message.objects.get(body_text__startswith="Here is a photo")
    assert answered.ticket_id == ticket.pk and not answered.unverified_sender

    from charterdesk.portal.access import public_messages

    shown = list(public_messages(ticket).values_list("pk", flat=True))
    assert answered.pk in shown and guessed.pk not in shown


def test_the_customer_confirms_a_hidden_reply_on_their_own_ticket_page(email_env, client):
    """On Jo's ticket page the portal says a message used Jo's address unverified (without its
    text) and offers to confirm it; once confirmed, the message shows in the conversation."""
    ticket = _first_ticket()
    receive(message(subject=f"Re: [{ticket.reference}] tent", body="Send it to my new flat."), source="smtp")
    guessed = Message.objects.get(body_text__startswith="Send it to")
    session = client.session
    session[SESSION_KEY] = ticket.customer_id
    session.save()
    page = client.get(f"/portal/tickets/{ticket.pk}/").content.decode()
    assert 'id="awaiting-confirmation"' in page and "Send it to my new flat" not in page
    client.post(f"/portal/confirm/{guessed.pk}/")
    page = client.get(f"/portal/tickets/{ticket.pk}/").content.decode()
    assert 'id="awaiting-confirmation"' not in page and "Send it to my new flat" in page


def test_imap_mail_believes_authentication_results_only_when_the_mailbox_says_so(email_env):
    """A mailbox with no trusted server: its Authentication-Results header is not read. Once the
    manager names mx.acme.example as trusted, that server's DMARC pass verifies the sender."""
    box = Mailbox.objects.create(name="Support", channel="email", host="127.0.0.1", username="u")
    header = "Authentication-Results: mx.acme.example; dmarc=pass header.from=example.com\r\n"
    _first_ticket()

    receive(message(subject="Via IMAP", extra=header), source="imap", source_ref="1", mailbox=box)
    assert Ticket.objects.get(subject="Via IMAP").unverified_sender

    box.trusted_authserv_id = "mx.acme.example"
    box.save()
    receive(message(subject="Via IMAP again", extra=header), source="imap", source_ref="2", mailbox=box)
    ticket = Ticket.objects.get(subject="Via IMAP again")
    assert not ticket.unverified_sender
    assert InboundMessage.objects.get(ticket=ticket).sender_auth["method"] == "authentication-results"


def test_mail_imported_from_a_file_is_not_marked(email_env):
    """An operator's import is the history of another desk, not a live claim: no mark, no mail."""
    _first_ticket()
    receive(message(subject="Old question"), source="import")
    assert not Ticket.objects.get(subject="Old question").unverified_sender
    assert not OutboundMail.objects.filter(kind=OutboundKind.CONFIRM).exists()


def test_an_automatic_mail_in_a_customers_name_gets_no_confirmation_request(email_env):
    """An unverified out-of-office-like bulk mail is marked, but the loop rules send it nothing."""
    _first_ticket()
    receive(message(subject="Newsletter", extra="Precedence: bulk\r\n"), source="smtp")
    ticket = Ticket.objects.get(subject="Newsletter")
    assert ticket.unverified_sender
    row = OutboundMail.objects.get(ticket=ticket, kind=OutboundKind.CONFIRM)
    assert row.state == OutboundState.SUPPRESSED and "Precedence: bulk" in row.error


def test_the_ticket_page_and_the_api_show_the_unverified_sender(email_env, client, settings):
    """The agent sees a badge with the reason and a warning on the composer; the API's message has
    the reason in ``unverified_sender``. A lead who checked with the customer confirms it by hand."""
    from charterdesk.api.actions import do_create_token

    _first_ticket()
    receive(message(subject="Please reset my login"), source="smtp")
    ticket = Ticket.objects.get(subject="Please reset my login")
    agent = email_env["agent"]
    client.force_login(agent)
    page = client.get(f"/tickets/{ticket.pk}/").content.decode()
    assert 'id="unverified-sender"' in page and "data-unverified-warning" in page
    assert "unverified sender: email not authenticated" in page
    queue = client.get("/tickets/").content.decode()
    assert queue.count("data-unverified-sender") == 1  # the new ticket's row, not Jo's first one

    token = do_create_token(agent, "script", actor=agent)[1]
    body = client.get(f"/api/v1/tickets/{ticket.pk}", HTTP_AUTHORIZATION=f"Bearer {token}").json()
    assert body["messages"][0]["unverified_sender"].startswith("email not authenticated")
    assert body["messages"][0]["sender_confirmed_at"] is None

    # An agent without ticket.edit cannot confirm; a lead who called the customer can.
    opening = ticket.messages.get()
    assert client.post(f"/tickets/{ticket.pk}/confirm-sender/{opening.pk}/").status_code == 403
    lead = email_env["lead"]
    client.force_login(lead)
    client.post(f"/tickets/{ticket.pk}/confirm-sender/{opening.pk}/")
    ticket.refresh_from_db()
    assert not ticket.unverified_sender
    entry = AuditEntry.objects.get(action="ticket.confirm_sender")
    assert entry.actor_id == lead.pk and entry.data["how"] == "agent"
    page = client.get(f"/tickets/{ticket.pk}/").content.decode()
    assert 'id="unverified-sender"' not in page and "sender confirmed" in page
    body = client.get(f"/api/v1/tickets/{ticket.pk}", HTTP_AUTHORIZATION=f"Bearer {token}").json()
    assert body["messages"][0]["sender_confirmed_at"] is not None


def test_the_api_confirms_an_unverified_sender_with_ticket_edit(email_env, client):
    """POST .../messages/<id>/confirm-sender: 403 without ticket.edit (before anything else), 404
    for a message of another ticket, else the message comes back confirmed and it is audited."""
    from charterdesk.api.actions import do_create_token

    first = _first_ticket()
    receive(message(subject="Reset my login"), source="smtp")
    ticket = Ticket.objects.get(subject="Reset my login")
    opening = ticket.messages.get()
    url = f"/api/v1/tickets/{ticket.pk}/messages/{opening.pk}/confirm-sender"

    def bearer(role):
        person = email_env[role]
        return {"HTTP_AUTHORIZATION": f"Bearer {do_create_token(person, 'script', actor=person)[1]}"}

    assert client.post(url, **bearer("agent")).status_code == 403
    lead = bearer("lead")
    wrong = client.post(f"/api/v1/tickets/{first.pk}/messages/{opening.pk}/confirm-sender", **lead)
    assert wrong.status_code == 404 and wrong.json()["errors"][0]["field"] == "message_id"
    done = client.post(url, **lead)
    assert done.status_code == 200 and done.json()["sender_confirmed_at"] is not None
    ticket.refresh_from_db()
    assert not ticket.unverified_sender
    assert AuditEntry.objects.get(action="ticket.confirm_sender").actor_id == email_env["lead"].pk


# --------------------------------------------------------------------------- over the real listener


def test_through_the_smtp_listener_spf_for_the_connecting_address_verifies_the_sender(listener):  # noqa: F811
    """Over a real SMTP session on loopback: mail whose MAIL FROM domain passes SPF for 127.0.0.1
    and matches the From is verified; the same From with another envelope sender is marked."""

    def spf(ip, mail_from, helo, timeout):
        return ("pass", "") if ip == "127.0.0.1" and mail_from.endswith("@example.com") else ("fail", "")

    senders.SPF_CHECK = spf
    port, handler = listener()
    with smtplib.SMTP("127.0.0.1", port, timeout=CLIENT_TIMEOUT) as client:
        client.ehlo("mx.example.com")
        client.send_message(_mail(subject="First contact"), from_addr="bounces@example.com")
        handler.drain(CLIENT_TIMEOUT)
        client.send_message(_mail(subject="Passing SPF"), from_addr="bounces@example.com")
        client.send_message(_mail(subject="Other envelope"), from_addr="x@elsewhere.example")
    handler.drain(CLIENT_TIMEOUT)

    passing = Ticket.objects.get(subject="Passing SPF")
    assert not passing.unverified_sender
    stored = InboundMessage.objects.get(ticket=passing)
    assert stored.helo == "mx.example.com" and stored.sender_auth["method"] == "spf"
    other = Ticket.objects.get(subject="Other envelope")
    assert other.unverified_sender
    assert "SPF fail for elsewhere.example" in other.messages.get().unverified_sender
    assert Customer.objects.filter(email="jo@example.com").count() == 1


def test_a_manager_names_the_trusted_mail_server_on_the_mailbox_form(email_env, client):
    """The mailbox form takes the authserv-id to trust; a value with spaces or semicolons is refused
    beside its field, keeps what was typed, and changes nothing."""
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
        "trusted_authserv_id": "mx.acme.example",
    }
    client.post("/channels/mailboxes/new/", form)
    box = Mailbox.objects.get()
    assert box.trusted_authserv_id == "mx.acme.example"
    refused = client.post(
        f"/channels/mailboxes/{box.pk}/", {**form, "password": "", "trusted_authserv_id": "mx; dmarc=pass"}
    ).content.decode()
    assert "enter the server&#x27;s authserv-id" in refused and "mx; dmarc=pass" in refused
    box.refresh_from_db()
    assert box.trusted_authserv_id == "mx.acme.example"


def test_the_dns_lookups_happen_outside_the_processing_transaction(live_email_env, key):
    """Stored mail is checked before its batch's transaction opens: a slow DNS server never holds
    the database (on SQLite, the desk's one writer) while it answers; the verdict is kept."""
    from django.db import connection

    from charterdesk.channels.inbound import process_pending

    _first_ticket()
    in_transaction = []
    lookup = fake_dns(key, "example.com")

    def watching(name, timeout=5):
        in_transaction.append(connection.in_atomic_block)
        return lookup(name, timeout=timeout)

    senders.DNS_TXT = watching
    raw = signed(key, message(subject="Checked ahead"), "example.com")
    receive(raw, source="smtp", source_ref="192.0.2.5", process_now=False)
    process_pending()
    assert in_transaction == [False]
    assert not Ticket.objects.get(subject="Checked ahead").unverified_sender


def test_control_characters_a_sender_puts_in_a_signature_never_reach_the_database(email_env):
    """A signature whose d= holds a NUL and an escape is unverified, its reason shown without them,
    and the message is filed (PostgreSQL refuses NUL in text and JSON)."""
    _first_ticket()
    forged = (
        b"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/simple; d=ex\x00am\x1bple.com; s=s1;\r\n"
        b" h=from:to; bh=abc=; b=def=\r\n"
    )
    receive(forged + message(subject="Odd signature"), source="smtp", source_ref="192.0.2.3")
    ticket = Ticket.objects.get(subject="Odd signature")
    reason = ticket.messages.get().unverified_sender
    assert ticket.unverified_sender and "ex?am?ple.com" in reason
    assert not any(ord(c) < 32 for c in reason)
    assert "\x00" not in str(InboundMessage.objects.get(ticket=ticket).sender_auth)


@pytest.mark.message_checks
def test_the_signature_is_checked_on_the_bytes_as_received_before_redaction_rewrites_them(email_env, key):
    """Jo's signed mail holds a card number: the desk masks it in the stored mail, which breaks
    the signature of what is kept; the sender was checked before, on the bytes as they arrived,
    and stays verified (a check after the rewrite would fail)."""
    _first_ticket()
    senders.DNS_TXT = fake_dns(key, "example.com")
    raw = signed(
        key, message(subject="Charge again", body="Please charge 4111 1111 1111 1111 again."), "example.com"
    )
    inbound, _ = receive(raw, source="smtp", source_ref="192.0.2.4")

    kept = InboundMessage.objects.get(pk=inbound.pk)
    assert b"4111 1111 1111 1111" not in kept.raw_bytes  # rewritten by redaction
    assert not authenticate(kept.raw_bytes, "jo@example.com", dns_txt=senders.DNS_TXT).verified
    assert kept.sender_auth["verified"] and kept.sender_auth["method"] == "dkim"
    assert not Ticket.objects.get(subject="Charge again").unverified_sender
