"""The audit log names people and customers by id, never by their names, addresses or the words
they typed about each other (a token's name, a saved reply's title, a file's name); its page
puts the current names back at display time for readers who may see them."""

from __future__ import annotations

import ast
import datetime as dt
from pathlib import Path

import pytest
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from charterdesk.accounts.actions import do_add_person
from charterdesk.api.actions import do_create_token, do_revoke_token
from charterdesk.audit.actions import verify_chain
from charterdesk.audit.models import AuditEntry
from charterdesk.audit.refs import names_for, ref, with_names, without_addresses
from charterdesk.channels.actions import (
    do_approve_held,
    do_delete_mailbox,
    do_held_to_new_ticket,
    do_log_call,
    do_quarantine,
    do_record_bounce,
    do_reject_held,
    do_requeue,
    do_save_mailbox,
    do_submit_web_form,
    do_ticket_from_quarantine,
    store_inbound,
)
from charterdesk.channels.inbound import receive
from charterdesk.library.actions import (
    do_create_draft,
    do_delete_draft,
    do_publish,
    do_update_draft,
    do_withdraw,
)
from charterdesk.library.versions import protocol_of, version_in_force
from charterdesk.portal.actions import do_request_link, do_set_timezone
from charterdesk.reports.actions import do_mark_sent
from charterdesk.surveys.actions import do_opt_out
from charterdesk.tickets import lifecycle
from charterdesk.tickets.actions import (
    do_assign,
    do_change_tags,
    do_create_ticket,
    do_customer_message,
    do_find_or_create_customer,
    do_link,
    do_merge,
    do_reply,
    do_set_group,
    do_set_incident,
    do_set_priority,
    do_set_status,
    do_update_customer,
)
from charterdesk.tickets.attachments import IncomingFile, do_reply_with_files
from charterdesk.tickets.lifecycle import Objection, hookimpl
from charterdesk.tickets.macros import do_delete_macro, do_save_macro
from tests.channels.email_corpus import email_env, plain  # noqa: F401  (a fixture)

# Names and addresses nobody else in the desk has, so finding any of them in the log is a leak.
STAFF = ("Zebulon Quaxworth", "zq.staffer@quaxworth.example")
ASSIGNEE = ("Philippa Gnarlbottom", "philippa@gnarlbottom.example")
CUSTOMER = ("Ottoline Brackenfudge", "ottoline@brackenfudge.example")
STRANGER = "ignatius@wobblethorpe.example"
LEAKS = ("Quaxworth", "quaxworth", "Gnarlbottom", "gnarlbottom", "Brackenfudge", "brackenfudge")
LEAKS += ("wobblethorpe", "Ottoline")


def _stored(entry: AuditEntry) -> str:
    """Every stored field of an entry that could carry personal data."""
    fields = (entry.summary, entry.actor_label, entry.target, entry.clause, entry.protocol_version)
    return " ".join([*fields, str(entry.data)])


def _leaks() -> list[str]:
    return [
        f"#{e.pk} {e.action}: {word!r} in {_stored(e)!r}"
        for e in AuditEntry.objects.order_by("id")
        for word in LEAKS
        if word in _stored(e)
    ]


@pytest.fixture
def cast(email_env):  # noqa: F811
    """A manager-like staffer, an assignee and a customer, all with distinctive names."""
    staff = do_add_person(STAFF[1], STAFF[0], ["manager"], password="correct-horse-9")
    assignee = do_add_person(ASSIGNEE[1], ASSIGNEE[0], ["lead"], password="correct-horse-9")
    customer = do_find_or_create_customer(email=CUSTOMER[1], name=CUSTOMER[0])
    return staff, assignee, customer


def test_no_audit_entry_stores_a_name_or_an_address(cast, settings):
    """The staffer edits, publishes and withdraws protocol versions, saves and deletes a saved
    reply titled with the customer's name, creates and revokes API tokens named after them,
    adds and removes a mailbox signing in with their own address, works a ticket end to end
    (replies, notes, a file named after the customer, status, priority, tags, group, assignment,
    merge, link, an incident), approves, rejects and opens a ticket from held mail from a stranger,
    quarantines, re-processes and opens a ticket from a message, logs a call; the stranger uses
    the contact form; the customer writes, asks for a portal link, changes their time zone, opts out of
    surveys; a bounce and a report mailing are recorded. No audit entry holds any of their names
    or addresses, and the signed chain still verifies."""
    staff, assignee, customer = cast
    settings.CHARTERDESK_STRICT_ACTIONS = True
    # The protocol library.
    source = version_in_force().source
    draft = do_create_draft(source.replace('version: "3.2"', 'version: "3.3"'), actor=staff)
    do_update_draft(draft, source.replace('version: "3.2"', 'version: "3.4"'), actor=staff)
    later = timezone.now() + dt.timedelta(days=3)
    scheduled = do_publish(draft, actor=staff, effective_at=later)
    do_withdraw(scheduled, actor=staff)
    unwanted = do_create_draft(source.replace('version: "3.2"', 'version: "3.5"'), actor=staff)
    do_delete_draft(unwanted, actor=staff)
    # Saved replies and tokens, named in the owner's words.
    macro = do_save_macro(None, title=f"Reply to {CUSTOMER[0]}", body="Hello", shared=True, actor=staff)
    do_save_macro(macro, title=f"Answer {CUSTOMER[0]}", body="Hello again", shared=True, actor=staff)
    do_delete_macro(macro, actor=staff)
    token, _ = do_create_token(assignee, f"{CUSTOMER[0]} sync", actor=assignee)
    do_revoke_token(token, actor=staff)
    # A mailbox signing in with the staffer's own address.
    mailbox = do_save_mailbox(
        None,
        actor=staff,
        password="s3cret",
        name=f"{STAFF[0]}'s inbox",
        channel="email",
        host="imap.example.net",
        port=993,
        username=STAFF[1],
        folder="INBOX",
    )
    do_save_mailbox(mailbox, actor=staff, username=f"other.{STAFF[1]}")
    do_delete_mailbox(mailbox, actor=staff)
    # A ticket worked end to end.
    ticket = do_create_ticket(
        customer=customer, subject="Tent", body="Hello Ottoline", channel="email", by_agent=staff
    )
    other = do_create_ticket(customer=customer, subject="Stove", body="Broken stove", channel="email")
    do_customer_message(ticket, body=f"Thanks, {CUSTOMER[0]} here")
    do_reply(ticket, author=staff, body=f"Hello {CUSTOMER[0]}, on its way.", public=True)
    do_reply(ticket, author=staff, body="Checked the order.", public=False)
    do_reply_with_files(
        ticket,
        author=staff,
        body="The label.",
        files=[IncomingFile(f"{CUSTOMER[0]}-invoice.pdf", b"%PDF-1.4 label", "application/pdf")],
    )
    do_set_priority(ticket, "high", actor=staff)
    do_change_tags(ticket, add=["returns"], actor=staff)
    do_set_group(ticket, "escalations", actor=staff)
    do_assign(ticket, assignee, actor=staff)
    do_set_status(ticket, "pending", actor=staff)
    do_link(ticket, other, actor=staff)
    do_merge(other, ticket, actor=staff)
    do_update_customer(customer, actor=staff, organization=f"{CUSTOMER[0]} Ltd")
    # Mail from a stranger on the ticket: held, approved; another held and rejected.
    sender = f"Ignatius Wobblethorpe <{STRANGER}>"
    reply = f"Re: [#{ticket.pk}]"
    held, _ = receive(plain("ig1", "Spam", sender=sender, subject=reply)[0], source="import")
    assert held.state == "held"
    do_reject_held(held, actor=staff, note=f"{STRANGER} sends spam")
    held, _ = receive(plain("ig4", "Other thing", sender=sender, subject=reply)[0], source="import")
    do_held_to_new_ticket(held, actor=staff)
    held, _ = receive(plain("ig2", "Me too", sender=sender, subject=reply)[0], source="import")
    assert held.state == "held"
    do_approve_held(held, actor=staff)
    raw = plain("ig3", "Odd", sender=sender)[0]
    row, _ = store_inbound(raw, source="import")
    do_quarantine(row, f"the sender {STRANGER} could not be read", actor=staff)
    do_requeue(row, actor=staff)
    row, _ = store_inbound(plain("ig5", "Odd again", sender=sender)[0], source="import")
    do_quarantine(row, "unreadable", actor=staff)
    do_ticket_from_quarantine(
        row, actor=staff, email=STRANGER, name="Ignatius W", subject="Odd", body="Odd", channel="email"
    )
    do_submit_web_form(
        channel="web", name="Ignatius Wobblethorpe", email=STRANGER, subject="Form", message="From the site"
    )
    do_set_incident(ticket, "vip-urgent", incident="Warehouse outage", actor=staff)
    do_record_bounce(
        row,
        ticket,
        {"recipients": [CUSTOMER[1]], "status": "5.1.1", "diagnostic": f"<{CUSTOMER[1]}>: no such user"},
    )
    do_log_call(actor=staff, direction="outbound", duration_seconds=120, notes="Called back", ticket=ticket)
    # The customer's side.
    do_request_link(email=CUSTOMER[1], ip="203.0.113.9", company="Acme")
    do_set_timezone(customer, "Europe/Paris")
    do_opt_out(customer)
    # A report mailed to the staffer.
    from charterdesk.reports.models import ReportSend

    send = ReportSend.objects.create(
        entry="weekly",
        due_at=timezone.now(),
        report="weekly",
        first_day=dt.date(2026, 11, 30),
        last_day=dt.date(2026, 12, 6),
        protocol_version="3.2",
        claimed_at=timezone.now(),
    )
    do_mark_sent(send, recipients=[STAFF[1], ASSIGNEE[1]], now=timezone.now())

    actions = set(AuditEntry.objects.values_list("action", flat=True))
    # The walk really reached the kinds of entries that used to carry names.
    assert {
        "protocol.draft.create",
        "protocol.publish",
        "protocol.withdraw",
        "macro.create",
        "macro.delete",
        "api_token.create",
        "api_token.revoke",
        "channels.mailbox.create",
        "channels.mailbox.delete",
        "ticket.create",
        "ticket.reply",
        "ticket.attach",
        "ticket.assign",
        "ticket.customer_message",
        "channels.approve",
        "channels.held_to_ticket",
        "channels.reprocess",
        "channels.quarantine_to_ticket",
        "customer.create",
        "ticket.incident",
        "channels.reject",
        "channels.quarantine",
        "channels.bounce",
        "channels.call",
        "portal.link_request",
        "surveys.opt_out",
        "reports.sent",
    } <= actions
    assert _leaks() == []
    assert verify_chain().ok


def test_the_log_page_shows_current_names_to_those_who_may_see_them(cast, client):
    """Entries stay "person #3" and "customer #17"; the log page shows "Zebulon Quaxworth (person
    #3)" and the customer's name beside their ids to a manager, without changing the entry."""
    staff, assignee, customer = cast
    ticket = do_create_ticket(customer=customer, subject="Tent", body="Hi", channel="email", by_agent=staff)
    do_assign(ticket, assignee, actor=staff)
    client.force_login(staff)
    page = client.get(reverse("audit:log")).content.decode()
    assert f"{STAFF[0]} (person #{staff.pk})" in page
    assert f"{ASSIGNEE[0]} (person #{assignee.pk})" in page
    assert f"{CUSTOMER[0]} (customer #{customer.pk})" in page
    assert _leaks() == []


def test_customer_names_need_the_customer_rule(cast, person):
    """Someone who may not see customers' details (no customer.view) gets people's names but
    not customers' from the log page's name lookup."""
    staff, _assignee, customer = cast
    outsider = person("outsider@example.com", [])
    request = RequestFactory().get("/audit/")
    text = f"{ref(staff)} added {ref(customer)}"
    request.user, request.protocol = outsider, None
    assert with_names(text, names_for(request, [text])) == (
        f"{STAFF[0]} (person #{staff.pk}) added customer #{customer.pk}"
    )
    request.user, request.protocol = staff, protocol_of(version_in_force())
    assert CUSTOMER[0] in with_names(text, names_for(request, [text]))


class NameCheck:
    """A reply check that, like the etiquette's use_customer_name, quotes the customer's name."""

    @hookimpl
    def check_public_reply(self, ticket, author, body):
        first = ticket.customer.name.split()[0]
        if first not in body:
            return [
                Objection(
                    "customer_name",
                    f"Address the customer by name: the reply never says {first}.",
                    "etiquette.use_customer_name",
                    "etiquette.override",
                )
            ]
        return []


def test_sending_despite_a_check_that_quotes_the_customers_name_keeps_the_name_out(cast):
    """A manager sends a reply despite an objection that quotes the customer's first name, with a
    reason naming them: the audit entry keeps the objection and the reason, with "[name]" where
    the customer's name was."""
    staff, _assignee, customer = cast
    ticket = do_create_ticket(customer=customer, subject="Tent", body="Hi", channel="email")
    check = NameCheck()
    lifecycle.register(check)
    try:
        reason = f"{CUSTOMER[0]} asked for it"
        do_reply(ticket, author=staff, body="Hello, on its way.", override_reason=reason)
    finally:
        lifecycle.unregister(check)
    entry = AuditEntry.objects.filter(action="ticket.reply").latest("pk")
    override = entry.data["override"]
    assert override["reason"] == "[name] [name] asked for it"
    said = override["objections"][0]["message"]
    assert said == "Address the customer by name: the reply never says [name]."
    assert _leaks() == [] and "Ottoline" not in _stored(entry)


def test_addresses_are_taken_out_of_free_text():
    """A mail server's diagnostic or a typed note quoting an address keeps its words, not the address."""
    assert without_addresses("550 <jo.walker@example.com>: no such user") == "550 <[address]>: no such user"
    assert without_addresses("from Jo (jo@example.co.uk), twice") == "from Jo ([address]), twice"


# Attributes that hold a person's or customer's data, and names of variables holding a person or a
# customer (whose str() is their name and address).
PERSONAL_ATTRIBUTES = {"name", "email", "from_address", "to_address", "title", "filename", "username"}
PERSONAL_ATTRIBUTES |= {"phone"}
PERSONAL_VARIABLES = {"customer", "person", "author", "actor", "by_agent", "assignee", "address"}
PERSONAL_VARIABLES |= {"recipients"}
# Words of the protocol itself, not of a person: a contingency's title.
PROTOCOL_WORDS = {"match.title"}
AUDIT_CALLS = {"record": 1, "audit_ticket": 2, "_audit": 1}  # function -> index of the summary argument


def _personal_in(node: ast.AST) -> list[str]:
    found = []
    for value in ast.walk(node):
        if not isinstance(value, ast.FormattedValue):
            continue
        inner = value.value
        if ast.unparse(inner) in PROTOCOL_WORDS:
            continue
        if isinstance(inner, ast.Attribute) and inner.attr in PERSONAL_ATTRIBUTES:
            found.append(ast.unparse(inner))
        elif isinstance(inner, ast.Name) and inner.id in PERSONAL_VARIABLES:
            found.append(inner.id)
        elif (isinstance(inner, ast.Attribute) and inner.attr in PERSONAL_VARIABLES) or (
            isinstance(inner, ast.Call) and getattr(inner.func, "id", "") == "actor_name"
        ):
            found.append(ast.unparse(inner))
    return found


def test_no_audit_summary_in_the_code_formats_a_name_or_an_address():
    """Every audit call in the desk's code (record, audit_ticket, the surveys' _audit) writes its
    summary without formatting in a name, an address, a title or a person or customer object, so
    an entry added later cannot bring names back without this test naming the line."""
    root = Path(__file__).resolve().parents[2] / "charterdesk"
    wrong = []
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            if name not in AUDIT_CALLS or len(node.args) <= AUDIT_CALLS[name]:
                continue
            for found in _personal_in(node.args[AUDIT_CALLS[name]]):
                wrong.append(f"{path.relative_to(root.parent)}:{node.lineno}: {found}")
    assert wrong == []
