"""The ticket lifecycle hooks (tickets/lifecycle.py): how a family takes part in a ticket's life and
shows itself where agents work, without tickets importing it."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pluggy
import pytest
from django.core import mail

from charterdesk.audit.models import AuditEntry
from charterdesk.tickets import lifecycle
from charterdesk.tickets.actions import (
    ReplyRefused,
    do_create_ticket,
    do_customer_message,
    do_find_or_create_customer,
    do_merge,
    do_reply,
    do_set_status,
)
from charterdesk.tickets.lifecycle import (
    NavItem,
    Objection,
    Panel,
    QueueColumn,
    QueueFilter,
    TimelineEntry,
    hookimpl,
)
from charterdesk.tickets.models import Message, Ticket
from charterdesk.worker import loop as scheduler

ROOT = Path(__file__).resolve().parents[2]


class Family:
    """A made-up family that answers every hook and remembers what it was told."""

    def __init__(self):
        self.calls: list[tuple] = []

    @hookimpl
    def redact_text(self, text, where):
        return re.sub(r"\b\d{4}-\d{4}\b", "[secret]", text)

    @hookimpl
    def ticket_opened(self, ticket, message, by_agent):
        self.calls.append(("opened", ticket.pk, message.pk, by_agent))

    @hookimpl
    def check_public_reply(self, ticket, author, body):
        if "calm down" in body.lower():
            return [
                Objection(
                    "banned", "'calm down' is on the banned list", "etiquette.banned", "etiquette.override"
                )
            ]
        if "forbidden" in body:
            return [Objection("gate", "Take the module 'Refunds 101' first", "training.modules")]
        return []

    @hookimpl
    def customer_message_stored(self, ticket, message, reopened):
        self.calls.append(("customer", ticket.pk, message.body_text, reopened))

    @hookimpl
    def ticket_status_changed(self, ticket, before, after, actor):
        self.calls.append(("status", ticket.pk, before, after, actor))

    @hookimpl
    def tickets_merged(self, source, target):
        self.calls.append(("merged", source.pk, target.pk))

    @hookimpl
    def periodic_jobs(self):
        return [scheduler.PeriodicJob("family-job", dt.timedelta(minutes=5), self.job, "counts to one")]

    def job(self, now):
        self.calls.append(("job", now))
        return 1

    @hookimpl
    def history_events(self, ticket_ids):
        return [
            lifecycle.HistoryEvent(t.pk, t.created_at + dt.timedelta(minutes=30), "refund", {"amount": 42})
            for t in Ticket.objects.all()
            if ticket_ids is None or t.pk in ticket_ids
        ]

    @hookimpl
    def ticket_panels(self, request, ticket):
        return [Panel("family", "Refunds", "family_panel.html", {"amount": "42.00 USD"}, order=10)]

    @hookimpl
    def timeline_entries(self, ticket):
        return [TimelineEntry(ticket.created_at, "Refund of 42.00 USD approved", "rule refunds.auto")]

    @hookimpl
    def queue_filters(self):
        return [
            QueueFilter(
                "refund",
                "Refund",
                lambda protocol: [("yes", "Has a refund")],
                lambda tickets, value: tickets.filter(subject__icontains="refund"),
            )
        ]

    @hookimpl
    def queue_columns(self):
        return [QueueColumn("refund", "Refund", lambda ids: {i: f"R-{i}" for i in ids})]

    @hookimpl
    def api_ticket_fields(self, tickets):
        return {"refund": {t.pk: {"amount": "42.00"} for t in tickets}}

    @hookimpl
    def navigation(self, request):
        return [
            NavItem("Refunds", "/refunds/", ("refund.approve",), order=5),
            NavItem("Everyone's", "/everyone/", (), order=6),
        ]


@pytest.fixture
def family(settings, tmp_path):
    (tmp_path / "family_panel.html").write_text(
        '<div class="card" id="panel-family"><h2>Refunds</h2>{{ amount }} on {{ ticket.reference }}</div>'
    )
    settings.TEMPLATES = [
        {**settings.TEMPLATES[0], "DIRS": [*settings.TEMPLATES[0].get("DIRS", []), str(tmp_path)]}
    ]
    plugin = Family()
    lifecycle.register(plugin)
    yield plugin
    lifecycle.unregister(plugin)


@pytest.fixture
def customer(demo):
    return do_find_or_create_customer(email="jo@example.com", name="Jo Walker")


def open_ticket(customer, subject="Tent pole", body="It broke.", **kw):
    return do_create_ticket(customer=customer, subject=subject, body=body, channel="email", **kw)


def test_every_hook_is_documented_in_order():
    """docs/architecture.md lists every hook of lifecycle.py, in the file's order."""
    text = (ROOT / "docs" / "architecture.md").read_text()
    section = text[text.index("### Lifecycle hooks") :]
    named = re.findall(r"^\| `(\w+)`", section, flags=re.M)
    assert named == lifecycle.hook_names()


def test_an_implementation_with_a_misspelt_argument_is_refused_when_registered():
    """A typo in an implementation's argument fails at start-up, naming the hook, not on a ticket."""

    class Typo:
        @hookimpl
        def ticket_opened(self, tiket):
            pass

    with pytest.raises(pluggy.PluginValidationError, match="tiket"):
        lifecycle.register(Typo())


def test_text_is_redacted_before_anything_is_stored(family, customer):
    """A family's redact_text masks a secret in the subject, the message and the search text."""
    ticket = open_ticket(customer, subject="Code 1234-5678", body="My code is 1234-5678, thanks")
    do_customer_message(ticket, body="Again: 1234-5678")
    ticket.refresh_from_db()
    assert ticket.subject == "Code [secret]"
    assert "1234-5678" not in ticket.search_text
    assert [m.body_text for m in ticket.messages.order_by("pk")] == [
        "My code is [secret], thanks",
        "Again: [secret]",
    ]


def test_lifecycle_hooks_are_told_of_each_step(family, customer, demo):
    """Opening, a customer's message, status changes and a merge each reach the family, once."""
    agent = demo["agent"]
    ticket = open_ticket(customer)
    other = open_ticket(customer, subject="Second")
    others_first = other.messages.get()
    do_set_status(ticket, "solved", actor=agent)
    do_customer_message(ticket, body="Still broken")
    do_merge(other, ticket, actor=agent)
    first = ticket.messages.order_by("pk").first()
    assert family.calls == [
        ("opened", ticket.pk, first.pk, None),
        ("opened", other.pk, others_first.pk, None),
        ("status", ticket.pk, "new", "solved", agent),
        ("customer", ticket.pk, "Still broken", True),
        ("status", other.pk, "new", "closed", agent),
        ("merged", other.pk, ticket.pk),
    ]


def test_an_objection_refuses_the_reply_and_stores_nothing(family, customer, demo):
    """An agent (no etiquette.override) cannot send a reply the family objects to, reason or not."""
    ticket = open_ticket(customer)
    before = (Message.objects.count(), AuditEntry.objects.count())
    for reason in ("", "The customer asked for it"):
        with pytest.raises(ReplyRefused) as refused:
            do_reply(ticket, author=demo["agent"], body="Please calm down.", override_reason=reason)
        assert [o.code for o in refused.value.objections] == ["banned"]
        assert refused.value.may_override is False
    assert (Message.objects.count(), AuditEntry.objects.count()) == before
    assert len(mail.outbox) == 0


def test_a_lead_sends_despite_an_objection_with_a_reason_and_it_is_audited(family, customer, demo):
    """The lead holds etiquette.override: without a reason refused (and told a reason is needed);
    with one, sent, and the audit entry names the objection, the reason and the version."""
    ticket = open_ticket(customer)
    with pytest.raises(ReplyRefused, match="give a reason") as refused:
        do_reply(ticket, author=demo["lead"], body="Please calm down.")
    assert refused.value.may_override is True
    message = do_reply(ticket, author=demo["lead"], body="Please calm down.", override_reason="Quoting them")
    assert message.pk
    entry = AuditEntry.objects.filter(action="ticket.reply").latest("pk")
    assert entry.data["override"] == {
        "reason": "Quoting them",
        "objections": [
            {
                "code": "banned",
                "message": "'calm down' is on the banned list",
                "clause": "etiquette.banned",
                "override": "etiquette.override",
            }
        ],
        "protocol_version": "3.2",
    }
    assert "despite: 'calm down' is on the banned list" in entry.summary


def test_an_objection_nobody_may_override_refuses_even_the_manager(family, customer, demo):
    """An objection without an override permission (a training gate) refuses every sender."""
    ticket = open_ticket(customer)
    with pytest.raises(ReplyRefused):
        do_reply(ticket, author=demo["manager"], body="This is forbidden", override_reason="I insist")
    # An internal note is not a public reply: no objection applies.
    assert do_reply(ticket, author=demo["agent"], body="This is forbidden", public=False).pk


def test_the_worker_runs_a_familys_periodic_job(family, demo):
    """A family's periodic_jobs are run by the worker, once per period across workers."""
    now = dt.datetime(2026, 12, 7, 14, 0, tzinfo=dt.UTC)
    assert scheduler.run_periodic_jobs(now, "w1")["family-job"] == 1
    assert "family-job" not in scheduler.run_periodic_jobs(now + dt.timedelta(minutes=1), "w2")
    assert [c for c in family.calls if c[0] == "job"] == [("job", now)]


def test_the_export_writes_a_familys_events_among_the_tickets_own(family, customer, demo):
    """A family's event 30 minutes after the ticket's creation comes between the ticket's
    `created` and its status change an hour later; --sla-only leaves it out."""
    import json

    from charterdesk.tickets.export import event_lines

    ticket = open_ticket(customer)
    do_set_status(ticket, "pending", actor=demo["agent"], at=ticket.created_at + dt.timedelta(hours=1))
    events = [json.loads(line)["event"] for line in event_lines([ticket.pk])]
    assert events == ["created", "refund", "status"]
    assert "refund" not in [json.loads(line)["event"] for line in event_lines([ticket.pk], families=False)]


def test_the_ticket_page_shows_a_familys_panel_and_timeline_line(family, customer, signed_in):
    """A family's sidebar card and timeline line appear on the ticket page, in the card's order."""
    ticket = open_ticket(customer)
    page = signed_in("agent").get(f"/tickets/{ticket.pk}/").content.decode()
    assert f"42.00 USD on {ticket.reference}" in page
    assert "Refund of 42.00 USD approved" in page
    # order 10 puts the family's card before the channels' (50).
    assert page.index('id="panel-family"') < page.index('id="panel-channels"')


def test_the_queue_offers_a_familys_filter_and_column(family, customer, signed_in):
    """The family's filter narrows the queue and its column shows a value per row."""
    refund = open_ticket(customer, subject="A refund please")
    other = open_ticket(customer, subject="Tent pole")
    client = signed_in("manager")
    page = client.get("/tickets/?view=open").content.decode()
    assert "<th>Refund</th>" in page and f"R-{refund.pk}" in page and f"R-{other.pk}" in page
    filtered = client.get("/tickets/?view=open&refund=yes").content.decode()
    assert "A refund please" in filtered and "Tent pole" not in filtered
    assert 'name="refund"' in filtered


def test_the_api_shows_a_familys_fields_under_extensions(family, customer, demo):
    """GET /tickets and /tickets/N carry the family's fields under ``extensions``."""
    from django.test import Client

    from charterdesk.api.actions import do_create_token

    ticket = open_ticket(customer)
    client = Client(headers={"Authorization": f"Bearer {do_create_token(demo['agent'], 't', actor=None)[1]}"})
    assert client.get(f"/api/v1/tickets/{ticket.pk}").json()["extensions"] == {"refund": {"amount": "42.00"}}
    items = client.get("/api/v1/tickets").json()["items"]
    assert [i["extensions"] for i in items] == [{"refund": {"amount": "42.00"}}]


def test_without_families_the_api_has_empty_extensions(customer, demo):
    """With no family answering, ``extensions`` is an empty object."""
    from django.test import Client

    from charterdesk.api.actions import do_create_token

    ticket = open_ticket(customer)
    client = Client(headers={"Authorization": f"Bearer {do_create_token(demo['agent'], 't', actor=None)[1]}"})
    assert client.get(f"/api/v1/tickets/{ticket.pk}").json()["extensions"] == {}


def test_navigation_shows_a_familys_links_to_those_who_may_follow_them(family, signed_in):
    """A link that needs refund.approve shows to the lead (who holds it), not to the agent."""
    lead = signed_in("lead").get("/tickets/").content.decode()
    assert 'href="/refunds/"' in lead and 'href="/everyone/"' in lead
    agent = signed_in("agent").get("/tickets/").content.decode()
    assert 'href="/refunds/"' not in agent and 'href="/everyone/"' in agent


def test_a_reply_queued_before_the_upgrade_is_still_sent(demo, customer, django_capture_on_commit_callbacks):
    """A reply queued under the old task path (tickets.tasks.send_reply) is pointed at the channels'
    task by the migration, and `worker --once` then emails it."""
    import importlib

    from django.apps import apps
    from django.core.management import call_command
    from django_tasks_db.models import DBTaskResult

    migration = importlib.import_module("charterdesk.channels.migrations.0002_send_reply_moved_to_channels")
    ticket = open_ticket(customer)
    with django_capture_on_commit_callbacks(execute=True):
        message = do_reply(ticket, author=demo["agent"], body="Hello Jo, it ships today. Thanks")
    DBTaskResult.objects.update(task_path=migration.OLD)
    migration.forward(apps, None)
    call_command("worker", "--once")
    assert [m.body for m in mail.outbox] == [message.body_text]
    assert DBTaskResult.objects.get().status == "SUCCESSFUL"
