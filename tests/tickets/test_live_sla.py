"""The live desk's clocks are the replay engine's clocks: same due times, same escalations."""

from __future__ import annotations

import datetime as dt
import io
import json
from contextlib import redirect_stdout

import pytest
from django.core.management import call_command
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from charterdesk.audit.models import AuditEntry
from charterdesk.demo.loader import EXAMPLE
from charterdesk.notifications.models import Notification
from charterdesk.replay_command import main as replay_main
from charterdesk.tickets.actions import (
    TicketError,
    do_change_tags,
    do_create_ticket,
    do_customer_message,
    do_find_or_create_customer,
    do_reply,
    do_set_group,
    do_set_incident,
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
    note = lead_notes.get()
    assert "lead-on-breach" in note.reason
    # In plain words: which ticket, what it missed, why this person is told.
    assert (
        note.text
        == f"{ticket.reference} “{ticket.subject}” missed its first response time; you are told as team lead"
    )

    replayed = _replay(tmp_path, at(7, 17, 10))
    assert [(e["rule"], e["at"]) for e in replayed[0]["escalations"]] == [
        (e.data["rule"], e.at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
        for e in fired.order_by("at", "id")
    ]


def test_pending_pauses_the_resolution_clock(demo, customer):
    """A normal email of Monday 09:00 set pending at 10:00 has no resolution due time while pending; when the
    customer answers Tuesday 09:00 the 39 h left make it due Friday 18:00."""
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
    """A ticket tagged damaged cannot be solved until the four steps of 'Item arrived damaged' are ticked; the
    refusal names the procedure, and once ticked it solves."""
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
    """tickets export-events writes a web ticket opened Monday 09:00 New York as the replay's created event at
    14:00Z, normal, group frontline, no tags."""
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
    from charterdesk.tickets.live_sla import engine_for, evaluate, explain_stored
    from charterdesk.tickets.queues import badges

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


# --------------------------------------------------------------------------- the clarified spec
# Rules at one instant, agent-opened tickets and incidents: the desk and the replay agree, as the spec says
# (specs/replay-format.md).

# The example's rules rewritten so that several fall due at one instant and their order matters: a rule
# that lowers the priority (taking an urgent vip ticket off the policy that has periodic updates) is
# written before the breach rule, and a rule for tickets in the escalations group before the rule that
# moves them there.
TRIGGERS = """escalation:
  - id: escalations-watch
    when: {metric: resolution, breached: true, group: [escalations]}
    do: [{notify: "role:manager"}]
  - id: calm-down
    when: {metric: periodic_update, after_breach: 1h}
    do: [{set_priority: high}, {notify: "role:lead"}]
  - id: hand-to-escalations
    when: {metric: resolution, after_breach: 2h, priority: [high, urgent]}
    do: [{assign_group: escalations}, {set_priority: urgent}, {notify: "role:manager"}]
  - id: warn-assignee
    when: {metric: first_response, before_breach: 15m}
    do: [{notify: assignee}]
  - id: lead-on-breach
    when: {metric: any, breached: true}
    do: [{notify: "role:lead"}, {add_tag: sla-breached}]

"""


@pytest.fixture
def triggers(demo):
    """Version 3.3 in force for the tickets of these tests: the example protocol, TRIGGERS its rules."""
    from charterdesk.library.actions import do_create_draft, do_publish
    from tests.shared import DEMO_SINCE

    source = EXAMPLE.read_text(encoding="utf-8")
    start, end = source.index("\nescalation:\n") + 1, source.index("\nresolution:\n") + 1
    text = (source[:start] + TRIGGERS + source[end:]).replace('version: "3.2"', 'version: "3.3"', 1)
    since = DEMO_SINCE + dt.timedelta(days=1)
    draft = do_create_draft(text, actor=demo["manager"])
    return do_publish(draft, actor=demo["manager"], effective_at=since, now=since)


def utc(seconds: int | None) -> str | None:
    return (
        None if seconds is None else dt.datetime.fromtimestamp(seconds, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    )


def z(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _replay_ticket(tmp_path, ticket: Ticket, now: dt.datetime) -> dict:
    """The ticket's exported events replayed under its own protocol version's text, judged at ``now``."""
    events, protocol, out = tmp_path / "one.jsonl", tmp_path / "protocol.yaml", tmp_path / "one-out.jsonl"
    call_command("tickets", "export-events", "--ticket", str(ticket.pk), "-o", str(events))
    protocol.write_text(ticket.protocol_version.source, encoding="utf-8")
    code = replay_main(["--protocol", str(protocol), "--now", z(now), str(events), "-o", str(out)])
    assert code == 0
    [replayed] = [json.loads(line) for line in out.read_text().splitlines()]
    return replayed


def _worker_until(ticket: Ticket, until: dt.datetime) -> None:
    """What `charterdesk worker` does to the ticket before ``until``: look again one second after
    each deadline (the escalations fire then)."""
    for _ in range(1000):
        ticket.refresh_from_db()
        deadline = ticket.next_deadline
        if deadline is None or deadline >= until:
            return
        with transaction.atomic():
            refresh_sla(ticket, deadline + dt.timedelta(seconds=1))
    raise AssertionError("the deadlines never got past " + z(until))


def _agrees(tmp_path, ticket: Ticket, now: dt.datetime) -> dict:
    """Ask the desk at ``now`` and replay the ticket: the same status, policy, cycles and escalations, and
    the desk carried out exactly the escalations the replay lists. Returns the replayed ticket."""
    _worker_until(ticket, now)
    with transaction.atomic():
        refresh_sla(ticket, now)
    ticket.refresh_from_db()
    replayed = _replay_ticket(tmp_path, ticket, now)
    live = ticket.sla_state
    assert replayed["status"] == ticket.status
    assert replayed["policy"] == live["policy"] == (ticket.sla_policy or None)
    for metric, cycles in replayed["metrics"].items():
        assert [(c["target"], c["start"], c["due"], c["fulfilled"], c["breached"]) for c in cycles] == [
            (c["target"], utc(c["start"]), utc(c["due"]), utc(c["fulfilled"]), c["breached"])
            for c in live["metrics"][metric]
        ], metric
    fired = [(e["rule"], e["metric"], e["at"]) for e in replayed["escalations"]]
    assert fired == [(e["rule"], e["metric"], utc(e["at"])) for e in live["escalations"]]
    carried_out = TicketEvent.objects.filter(ticket=ticket, kind="escalation").order_by("at", "id")
    assert fired == [(e.data["rule"], e.data["metric"], z(e.at)) for e in carried_out]
    return replayed


def test_a_rule_made_untrue_by_an_earlier_rule_at_the_same_instant_does_not_fire(
    demo, triggers, customer, tmp_path
):
    """A normal vip ticket answered Monday 09:30, raised to urgent at 14:00: under vip-urgent (round the
    clock) its periodic update was due 11:30 and an hour late at 12:30, its resolution due 13:00. At 14:00
    calm-down, written first, fires: back to high, so the standard policy, which has no periodic update and
    gives resolution 16 h (Tuesday 15:00). The breach rule then holds on nothing and does not fire: no
    sla-breached tag, and the lead is told once, by calm-down."""
    ticket = do_create_ticket(
        customer=customer, subject="Tent", body="Pole broke.", channel="email", tags=["vip"], at=at(7, 9, 0)
    )
    do_reply(ticket, author=demo["agent"], body="Hello, on it. Thanks", at=at(7, 9, 30), send_email=False)
    do_set_priority(ticket, "urgent", actor=demo["agent"], at=at(7, 14, 0))
    replayed = _agrees(tmp_path, ticket, at(7, 14, 30))
    assert [(e["rule"], e["metric"], e["at"]) for e in replayed["escalations"]] == [
        ("calm-down", "periodic_update", z(at(7, 14, 0)))
    ]
    assert replayed["policy"] == "standard" and replayed["metrics"]["periodic_update"] == []
    assert replayed["metrics"]["resolution"][0]["due"] == z(at(8, 15, 0))
    ticket.refresh_from_db()
    assert ticket.priority == "high" and "sla-breached" not in ticket.tags
    lead_notes = Notification.objects.filter(ticket=ticket, person=demo["lead"])
    assert [n.reason.rsplit(".", 1)[-1] for n in lead_notes] == ["calm-down"]


def test_after_a_rule_fires_checking_starts_again_from_the_first_rule(demo, triggers, customer, tmp_path):
    """A high email of Monday 09:00 left alone: resolution (16 h) breaches Tuesday 15:00 and two hours later
    hand-to-escalations moves it to the escalations group, urgent. escalations-watch, written first, did not
    hold before (wrong group); checked again from the top at 17:00 it holds (urgent: 8 h, due Monday 17:00)
    and fires at the same instant: the manager is told twice."""
    ticket = do_create_ticket(customer=customer, subject="Boots", body="Wrong size.", channel="email",
                              priority="high", at=at(7, 9, 0))  # fmt: skip
    replayed = _agrees(tmp_path, ticket, at(8, 17, 30))
    assert [(e["rule"], e["metric"], e["at"]) for e in replayed["escalations"]] == [
        ("warn-assignee", "first_response", z(at(7, 10, 45))),
        ("lead-on-breach", "first_response", z(at(7, 11, 0))),
        ("lead-on-breach", "resolution", z(at(8, 15, 0))),
        ("hand-to-escalations", "resolution", z(at(8, 17, 0))),
        ("escalations-watch", "resolution", z(at(8, 17, 0))),
    ]
    ticket.refresh_from_db()
    assert ticket.group == "escalations" and ticket.priority == "urgent"
    manager_notes = Notification.objects.filter(ticket=ticket, person=demo["manager"])
    assert sorted(n.reason.split("escalation.", 1)[-1] for n in manager_notes) == [
        "escalations-watch",
        "hand-to-escalations",
    ]


def test_an_agent_opened_ticket_is_open_through_its_life_as_the_replay_says(demo, customer, tmp_path):
    """Opened by an agent on Monday 09:00 (its first public reply): open at once and after the customer's
    answer, pending when set so, open when the customer writes, solved, and open again when the customer
    writes after the solve; the replay says the same status at every step."""
    agent = demo["agent"]
    ticket = do_create_ticket(
        customer=customer, subject="Your return", body="Hello Jo, your label. Thanks", channel="phone",
        by_agent=agent, at=at(7, 9, 0), send_email=False,
    )  # fmt: skip
    steps = [
        (at(7, 9, 30), lambda when: None),
        (at(7, 10, 0), lambda when: do_customer_message(ticket, body="Thanks!", at=when)),
        (at(7, 11, 0), lambda when: do_set_status(ticket, "pending", actor=agent, at=when)),
        (at(7, 12, 0), lambda when: do_customer_message(ticket, body="Sent it.", at=when)),
        (at(7, 13, 0), lambda when: do_set_status(ticket, "solved", actor=agent, at=when)),
        (at(7, 14, 0), lambda when: do_customer_message(ticket, body="One more thing", at=when)),
    ]
    seen = []
    for when, act in steps:
        act(when)
        seen.append((Ticket.objects.get(pk=ticket.pk).status, _agrees(tmp_path, ticket, when)["status"]))
    assert seen == [(s, s) for s in ("open", "open", "pending", "open", "solved", "open")]
    assert _replay_ticket(tmp_path, ticket, at(7, 15, 0))["metrics"]["first_response"] == []


def test_a_ticket_linked_to_an_incident_and_unlinked(demo, customer, tmp_path, client):
    """A normal email of Monday 09:00 is due 17:00 (first response, 8 h) and Friday 09:00 (resolution, 40 h)
    in office hours. Linked at 10:00 to an incident under vip-urgent, round the clock: first response 30 min
    (09:30, breached; the warning and the breach rule fire at the link, in the protocol's order), resolution
    4 h (13:00). Unlinked at 11:00: the office due times are back. The timeline says both."""
    lead = demo["lead"]
    ticket = do_create_ticket(
        customer=customer, subject="Where is it?", body="No tracking.", channel="email", at=at(7, 9, 0)
    )

    def dues(replayed: dict) -> tuple:
        metrics = replayed["metrics"]
        return (
            replayed["policy"],
            [(c["due"], c["breached"]) for c in metrics["first_response"]],
            [c["due"] for c in metrics["resolution"]],
        )

    before = _agrees(tmp_path, ticket, at(7, 9, 30))
    assert dues(before) == ("standard", [(z(at(7, 17, 0)), False)], [z(at(11, 9, 0))])
    do_set_incident(ticket, "vip-urgent", incident="Order tracking outage", actor=lead, at=at(7, 10, 0))
    during = _agrees(tmp_path, ticket, at(7, 10, 30))
    assert dues(during) == ("vip-urgent", [(z(at(7, 9, 30)), True)], [z(at(7, 13, 0))])
    assert [(e["rule"], e["at"]) for e in during["escalations"]] == [
        ("warn-assignee", z(at(7, 10, 0))),
        ("lead-on-breach", z(at(7, 10, 0))),
    ]
    do_set_incident(ticket, "vip-urgent", incident="Order tracking outage", actor=lead, at=at(7, 10, 40))
    do_set_incident(ticket, None, incident="Order tracking outage", actor=lead, at=at(7, 11, 0))
    after = _agrees(tmp_path, ticket, at(7, 11, 30))
    assert dues(after) == ("standard", [(z(at(7, 17, 0)), False)], [z(at(11, 9, 0))])

    rows = TicketEvent.objects.filter(ticket=ticket, kind="incident").order_by("at")
    assert [(row.data, row.sla_input) for row in rows] == [
        ({"policy": "vip-urgent"}, True),
        ({"policy": None}, True),
    ]
    assert AuditEntry.objects.filter(action="ticket.incident", target=f"ticket:{ticket.pk}").count() == 2
    client.force_login(demo["agent"])
    page = client.get(f"/tickets/{ticket.pk}/").content.decode()
    assert (
        "Linked to incident &#x27;Order tracking outage&#x27;: SLA policy &#x27;vip-urgent&#x27; applies"
        in page
    )
    assert (
        "Unlinked from incident &#x27;Order tracking outage&#x27;: the SLA policy is chosen by its match"
        in page
    )


def test_an_incident_under_a_policy_the_protocol_does_not_have_is_refused(demo, customer):
    """Linking to an unknown policy names the field and the policies there are, and records nothing."""
    ticket = do_create_ticket(customer=customer, subject="Hi", body="Hello", channel="web", at=at(7, 9, 0))
    with pytest.raises(TicketError, match=r"incident: 'outage' is not an SLA policy of the protocol "
                                          r"\(vip-urgent, chat, standard\)"):  # fmt: skip
        do_set_incident(ticket, "outage", actor=demo["lead"], at=at(7, 10, 0))
    assert not TicketEvent.objects.filter(ticket=ticket, kind="incident").exists()
    assert not AuditEntry.objects.filter(action="ticket.incident").exists()


# Random histories: every step the desk can take that the engine reads, incidents included, with long quiet
# spells so that the worker's deadlines and several rules at one instant come up.
DESK_STEPS = st.sampled_from(
    [
        ("reply", True),
        ("reply", False),
        ("customer", None),
        ("status", "pending"),
        ("status", "on_hold"),
        ("status", "open"),
        ("status", "solved"),
        ("priority", "urgent"),
        ("priority", "high"),
        ("priority", "low"),
        ("tags", "+vip"),
        ("tags", "-vip"),
        ("group", "escalations"),
        ("group", None),
        ("incident", "vip-urgent"),
        ("incident", "chat"),
        ("incident", None),
    ]
)


def _take_step(ticket: Ticket, step: tuple, when: dt.datetime, agent, lead) -> None:
    kind, value = step
    if kind == "reply":
        do_reply(
            ticket, author=agent, body="Hello Jo, an update. Thanks", public=value, at=when, send_email=False
        )
    elif kind == "customer":
        do_customer_message(ticket, body="Any news?", at=when)
    elif kind == "status":
        do_set_status(ticket, value, actor=agent, at=when)
    elif kind == "priority":
        do_set_priority(ticket, value, actor=agent, at=when)
    elif kind == "tags":
        change = {"add": [value[1:]]} if value[0] == "+" else {"remove": [value[1:]]}
        do_change_tags(ticket, actor=agent, at=when, **change)
    elif kind == "group":
        do_set_group(ticket, value, actor=lead, at=when)
    else:
        do_set_incident(ticket, value, incident="Outage", actor=lead, at=when)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    opening=st.tuples(
        st.integers(0, 10 * 86400),
        st.sampled_from(["low", "normal", "high", "urgent"]),
        st.sampled_from(["email", "web", "chat"]),
        st.sampled_from([[], ["vip"]]),
        st.booleans(),
    ),
    steps=st.lists(st.tuples(st.sampled_from([0, 0, 60, 1800, 3 * 3600, 20 * 3600]), DESK_STEPS), max_size=8),
    quiet=st.sampled_from([0, 3600, 2 * 86400]),
)
def test_the_live_desk_is_the_replay_on_random_histories(
    demo, triggers, customer, tmp_path, opening, steps, quiet
):
    """Whatever the history (agent- or customer-opened, incidents linked and unlinked, rules falling due
    together), the desk's status, policy, cycles and escalations carried out are the replay's."""
    offset, priority, channel, tags, by_agent = opening
    agent, lead = demo["agent"], demo["lead"]
    when = dt.datetime(2026, 12, 1, 8, 0, tzinfo=NY) + dt.timedelta(seconds=offset)
    ticket = do_create_ticket(
        customer=customer, subject="Random", body="Hello Jo. Thanks", channel=channel, priority=priority,
        tags=tags, by_agent=agent if by_agent else None, at=when, send_email=False,
    )  # fmt: skip
    for delay, step in steps:
        when += dt.timedelta(seconds=delay)
        _worker_until(ticket, when)
        _take_step(ticket, step, when, agent, lead)
    _agrees(tmp_path, ticket, when + dt.timedelta(seconds=quiet))
