"""The live desk's clocks are the replay engine's clocks: same due times, same escalations."""

from __future__ import annotations

import datetime as dt
import io
import json
from contextlib import redirect_stdout

import pytest
from django.core.management import call_command

from charterdesk.demo.loader import EXAMPLE
from charterdesk.notifications.models import Notification
from charterdesk.replay_command import main as replay_main
from charterdesk.tickets.actions import (
    do_change_tags,
    do_create_ticket,
    do_customer_message,
    do_find_or_create_customer,
    do_reply,
    do_set_priority,
    do_set_status,
    refresh_sla,
)
from charterdesk.tickets.models import Ticket, TicketEvent

NY = dt.timezone(dt.timedelta(hours=-5))  # New York in December (EST)


def at(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 12, day, hour, minute, tzinfo=NY)


def seconds(text: str | None) -> str | None:
    return text


def _replay(tmp_path, now: dt.datetime) -> list[dict]:
    events = tmp_path / "events.jsonl"
    call_command("tickets", "export-events", "-o", str(events))
    out = tmp_path / "out.jsonl"
    code = replay_main(
        ["--protocol", str(EXAMPLE), "--now", now.astimezone(dt.UTC).isoformat(), str(events), "-o", str(out)]
    )
    assert code == 0
    return [json.loads(line) for line in out.read_text().splitlines()]


def _live(ticket: Ticket) -> dict:
    ticket.refresh_from_db()
    return ticket.sla_state


@pytest.fixture
def customer(demo):
    return do_find_or_create_customer(email="jo@example.com", name="Jo Walker")


def test_a_ticket_worked_live_replays_to_the_same_clocks(demo, customer, tmp_path):
    """Friday 17:30 email, replies, pending, reopen, priority change: live and replayed agree."""
    agent = demo["agent"]
    ticket = do_create_ticket(
        customer=customer,
        subject="Tent pole snapped",
        body="My tent pole broke.",
        channel="email",
        at=at(4, 17, 30),
    )
    state = _live(ticket)
    first = state["metrics"]["first_response"][0]
    # 8 business hours from Fri 17:30 NY: 0.5 h Fri, 4 h Sat, 3.5 h Mon -> Mon 7 Dec 11:30 NY.
    assert first["due"] == int(at(7, 11, 30).timestamp())
    do_reply(
        ticket,
        author=agent,
        body="Hello Jo, sorry! Could you send a photo? Thanks",
        at=at(7, 9, 0),
        next_status="pending",
    )
    do_customer_message(ticket, body="Here it is.", at=at(8, 10, 0))
    do_set_priority(ticket, "high", actor=agent, at=at(8, 10, 30))
    do_change_tags(ticket, add=["damaged"], actor=agent, at=at(8, 10, 31))
    now = at(9, 12, 0)
    refresh_sla(ticket, now)

    replayed = _replay(tmp_path, now)
    assert len(replayed) == 1
    live = _live(ticket)
    for metric, cycles in replayed[0]["metrics"].items():
        live_cycles = live["metrics"][metric]
        assert [c["due"] for c in cycles] == [
            None
            if c["due"] is None
            else dt.datetime.fromtimestamp(c["due"], dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            for c in live_cycles
        ], metric
        assert [c["breached"] for c in cycles] == [c["breached"] for c in live_cycles]
    assert replayed[0]["policy"] == live["policy"]
    assert [e["rule"] for e in replayed[0]["escalations"]] == [e["rule"] for e in live["escalations"]]


def test_escalations_fire_once_notify_the_lead_and_name_the_rule(demo, customer, tmp_path):
    """A first response left unanswered breaches; the lead is notified once; the tag is added once."""
    ticket = do_create_ticket(
        customer=customer,
        subject="Where is my order?",
        body="It has been 3 weeks.",
        channel="email",
        at=at(7, 9, 0),
    )
    # Due Mon 17:00 (8 business hours); evaluate after the breach, twice.
    refresh_sla(ticket, at(7, 17, 5))
    refresh_sla(ticket, at(7, 17, 10))
    ticket.refresh_from_db()
    assert "sla-breached" in ticket.tags
    assert ticket.breached
    fired = TicketEvent.objects.filter(ticket=ticket, kind="escalation")
    assert sorted(e.data["rule"] for e in fired) == ["lead-on-breach", "warn-assignee"]
    breach = fired.get(data__rule="lead-on-breach")
    assert breach.at == at(7, 17, 0)
    assert breach.clause == "escalation.lead-on-breach"
    assert breach.protocol_version == "3.2"
    lead_notes = Notification.objects.filter(person=demo["lead"], ticket=ticket)
    assert lead_notes.count() == 1
    assert "lead-on-breach" in lead_notes.get().text

    replayed = _replay(tmp_path, at(7, 17, 10))
    assert [(e["rule"], e["at"]) for e in replayed[0]["escalations"]] == [
        (e.data["rule"], e.at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
        for e in fired.order_by("at", "id")
    ]


def test_pending_pauses_the_resolution_clock(demo, customer):
    agent = demo["agent"]
    ticket = do_create_ticket(
        customer=customer, subject="Refund", body="Please refund.", channel="email", at=at(7, 9, 0)
    )
    do_reply(
        ticket, author=agent, body="Hello Jo, which order? Thanks", next_status="pending", at=at(7, 10, 0)
    )
    refresh_sla(ticket, at(7, 12, 0))
    resolution = _live(ticket)["metrics"]["resolution"][0]
    assert resolution["due"] is None and resolution["paused"]
    do_customer_message(ticket, body="Order 123", at=at(8, 9, 0))
    resolution = _live(ticket)["metrics"]["resolution"][0]
    # 40 h normal target; 1 h counted Monday 09-10, then paused until Tue 09:00: 39 h left from Tue 09:00.
    # Tue 9 h, Wed 10 h, Thu 10 h, Fri 10 h = 39 h -> Fri 18:00.
    assert resolution["due"] == int(at(11, 18, 0).timestamp())


def test_solving_with_a_required_procedure_unticked_is_refused(demo, customer):
    from charterdesk.tickets.actions import TicketError, do_tick_step

    agent = demo["agent"]
    ticket = do_create_ticket(
        customer=customer,
        subject="Broken",
        body="Arrived broken",
        channel="email",
        tags=["damaged"],
        at=at(7, 9, 0),
    )
    with pytest.raises(TicketError, match="Item arrived damaged"):
        do_set_status(ticket, "solved", actor=agent, at=at(7, 10, 0))
    for step in range(4):
        do_tick_step(ticket, "damaged-item", step, ticked=True, actor=agent, at=at(7, 10, 0))
    do_set_status(ticket, "solved", actor=agent, at=at(7, 10, 1))
    assert Ticket.objects.get(pk=ticket.pk).status == "solved"


def test_export_events_writes_the_replay_format(demo, customer):
    ticket = do_create_ticket(customer=customer, subject="Hi", body="Hello", channel="web", at=at(7, 9, 0))
    buffer = io.StringIO()
    with redirect_stdout(buffer):
        call_command("tickets", "export-events", "--ticket", str(ticket.pk))
    first = json.loads(buffer.getvalue().splitlines()[0])
    assert first == {
        "ticket": str(ticket.pk),
        "at": "2026-12-07T14:00:00Z",
        "event": "created",
        "priority": "normal",
        "channel": "web",
        "tags": [],
        "group": "frontline",
    }


def test_badge_explanations_from_stored_facts_are_the_engines_words(demo, customer):
    """The desk stores each cycle's facts, not its explanation; the hover text made from them is
    what the engine says of the same ticket, pauses included."""
    from charterdesk.tickets.queues import badges
    from charterdesk.tickets.sla import engine_for, evaluate, explain_stored

    agent = demo["agent"]
    ticket = do_create_ticket(
        customer=customer, subject="Refund", body="Please refund.", channel="email", at=at(7, 9, 0)
    )
    do_reply(ticket, author=agent, body="Which order? Thanks", next_status="pending", at=at(7, 10, 0))
    do_customer_message(ticket, body="Order 123", at=at(8, 9, 0))
    now = at(8, 11, 0)
    refresh_sla(ticket, now)
    ticket.refresh_from_db()
    fresh = evaluate(ticket, now)
    engine = engine_for(ticket.protocol_version)
    for metric, cycles in fresh.metrics.items():
        stored = ticket.sla_state["metrics"][metric]
        assert [explain_stored(engine, metric, c) for c in stored] == [c.explain() for c in cycles]
    resolution = next(b for b in badges(ticket, now) if b.metric == "resolution")
    assert "clock ran" in resolution.explain and "to go, counting from" in resolution.explain
    assert "explain" not in ticket.sla_state["metrics"]["resolution"][0]
