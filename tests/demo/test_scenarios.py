"""The demo's conversations read as one exchange each: every scenario's script keeps its order for
any status, length and seed, subjects match what the customer wrote, replies pass the demo's
etiquette, and the loaded tickets say the same."""

from __future__ import annotations

import datetime as dt
import random
import re

import pytest

from charterdesk.demo.scenarios import (
    AGENT,
    CARRIERS,
    CHASERS,
    CUSTOMER,
    ON_HOLD,
    OPEN,
    PENDING,
    SCENARIOS,
    SOLVED,
    Scenario,
    conversation,
    phone_record,
    reply_text,
)
from charterdesk.engine.messages import MessageChecks

SEEDS = range(60)
STATUSES = ("new", OPEN, PENDING, ON_HOLD, SOLVED, "closed")
LAST_STEP = {PENDING: PENDING, ON_HOLD: ON_HOLD, SOLVED: SOLVED, "closed": SOLVED}


def words_for(scenario: Scenario, rng: random.Random) -> dict:
    return {
        "product": rng.choice(scenario.products),
        "order": f"A{rng.randint(10000, 99999)}",
        "carrier": rng.choice(CARRIERS),
        "days": rng.randint(3, 12),
    }


def conversations():
    """Every scenario x every status it may stop in x opened by the customer or by phone x lengths
    1..9 x seeds: (scenario, status, by_agent, lines)."""
    for scenario in SCENARIOS:
        for status in STATUSES:
            if (SOLVED if status == "closed" else status) not in scenario.stops:
                continue
            for by_agent in (False, True) if status != "new" else (False,):
                for count in range(1, 10):
                    for seed in SEEDS:
                        rng = random.Random(f"{scenario.id}:{status}:{by_agent}:{count}:{seed}")
                        words = words_for(scenario, rng)
                        yield (
                            scenario,
                            status,
                            by_agent,
                            conversation(scenario, status, by_agent, count, rng.random, words),
                        )


def test_every_scenario_keeps_its_order_for_any_status_length_and_seed():
    """A ticket's public messages are the script from the customer's opening on, in order; each
    step comes only after what it needs was said ("thank you for the photos" after the photos) and
    never after what rules it out ("could you reinstall" after "I reinstalled"); it stops where
    the status says (a solved ticket on an agent's step that solves it, a new one before any
    answer); notes never come first nor twice."""
    checked = 0
    for scenario, status, by_agent, lines in conversations():
        where = f"{scenario.id} {status} by_agent={by_agent}: {[(line.kind, line.step) for line in lines]}"
        public = [line for line in lines if line.kind != "n"]
        assert lines[0].kind == ("r" if by_agent else "c") and lines[0].step == 0, where
        notes = [line.text for line in lines if line.kind == "n"]
        assert len(notes) == len(set(notes)), where
        if status == "new":
            assert all(line.kind != "r" for line in lines), where
            assert all(line.step == 0 or line.text in CHASERS for line in public), where
            continue
        assert [line.step for line in public] == list(range(len(public))), where
        said: set[str] = set()
        for line in public:
            step = scenario.steps[line.step]
            assert step.needs <= said, f"{where}: step {line.step} needs {sorted(step.needs - said)}"
            assert not step.unless & said, f"{where}: step {line.step} after {sorted(step.unless & said)}"
            assert (line.kind == "c") == (step.by == CUSTOMER) or (by_agent and line.step == 0), where
            said |= step.says
        last = scenario.steps[public[-1].step]
        if status in LAST_STEP:
            assert last.by == AGENT and LAST_STEP[status] in last.ends, where
        elif not by_agent:  # open: the agent's answer is awaited, or the agent's step may leave it open
            assert last.by == CUSTOMER or OPEN in last.ends, where
            assert any(line.kind == "r" for line in lines), where
        checked += 1
    assert checked > 20_000


# Rules read from the texts alone, not from the scripts' own facts: a second opinion on them.
TEXT_RULES = [
    # (an agent's reply matching this, needs an earlier customer message matching that)
    (r"thanks? (you )?for the photo", r"photo"),
    (r"thank you for the receipt", r"receipt"),
    (r"thank you for sending it back", r"parcel (is )?(on its way back|with)|dropped"),
    (r"which version of the app", r"reinstall"),
]
NEVER_AFTER = [
    # (an agent's reply matching this, never after a customer message matching that)
    (r"could you reinstall", r"reinstall"),
    (r"could you send (one|a) photo", r"photo"),
    (r"which version of the app", r"4\.2\.1"),
]


def check_texts(messages: list[tuple[str, str]]) -> list[str]:
    """Broken text rules in a conversation of (kind, text), kind c, r or n."""
    wrong = []
    for index, (kind, text) in enumerate(messages):
        if kind != "r":
            continue
        before = " ".join(t for k, t in messages[:index] if k == "c").lower()
        for rule, needed in TEXT_RULES:
            if re.search(rule, text, re.IGNORECASE) and not re.search(needed, before):
                wrong.append(f"'{rule}' before any customer message saying '{needed}'")
        for rule, ruled_out in NEVER_AFTER:
            if re.search(rule, text, re.IGNORECASE) and re.search(ruled_out, before):
                wrong.append(f"'{rule}' after the customer said '{ruled_out}'")
    return wrong


def test_the_texts_themselves_keep_the_order_the_scripts_promise():
    """Read as text: no 'thank you for the photos' before the customer sent photos, no 'could you
    reinstall' after they said they reinstalled, no request for photos they already sent."""
    for scenario, _status, _by_agent, lines in conversations():
        messages = [(line.kind if line.step else "c", line.text) for line in lines]
        assert not check_texts(messages), (scenario.id, messages)


def template(text: str) -> re.Pattern:
    """A script's text with its placeholders as wildcards."""
    return re.compile(re.sub(r"\\\{\w+\\\}", ".+?", re.escape(text)), re.DOTALL)


def test_every_subject_and_opening_is_about_its_scenario_and_not_a_siblings():
    """#113's fault: every subject and opening names its scenario's topic (re-proofing, sizing,
    winter use), filled with each of its products, and no subject names the topic of another
    scenario with the same tags."""
    for scenario in SCENARIOS:
        siblings = [s for s in SCENARIOS if s.tags == scenario.tags and s.id != scenario.id]
        for product in scenario.products:
            filled = {"product": product, "order": "A12345", "carrier": "UPS", "days": 5}
            for text in scenario.subjects + scenario.steps[0].texts:
                text = text.format_map(filled).lower()
                assert any(word.lower() in text for word in scenario.topic), (scenario.id, text)
            for subject in scenario.subjects:
                subject = subject.format_map(filled).lower()
                for sibling in siblings:
                    assert not any(w.lower() in subject for w in sibling.topic), (
                        scenario.id,
                        sibling.id,
                        subject,
                    )


def test_every_agent_reply_passes_the_demo_etiquette_and_only_declared_openings_call_for_a_plan(
    example_protocol,
):
    """Each reply greets the customer by name, closes with a sign-off, says sorry when the customer
    wrote they are frustrated or disappointed, stays under the word limit; the opening of the
    stove that burned a hand calls for the injury plan and 'useless' for the aggressive-customer
    one, exactly as their scenarios declare, and no other customer message calls for any; nothing in
    any message would be masked."""
    checks = MessageChecks(example_protocol)
    assert checks.etiquette is not None
    for scenario, _status, by_agent, lines in conversations():
        rng = random.Random(scenario.id)
        last_customer = None
        for line in lines:
            if line.kind == "c":
                found = checks.check_customer_message(line.text)
                declared = {scenario.contingency} if line.step == 0 and scenario.contingency else set()
                assert {m.id for m in found.contingencies} == declared, (scenario.id, line.text)
                assert not found.redaction.findings, (scenario.id, line.text)
                last_customer = line.text
                continue
            if line.kind == "n":
                assert not checks.redact(line.text).findings, (scenario.id, line.text)
                continue
            if by_agent and line.step == 0:
                text = phone_record(line.text, "Maria", "Alex")
            else:
                text = reply_text(line.text, "Maria", "Alex", rng.random)
            result = checks.check_reply(
                text, customer_name="Maria Lopez", last_customer_message=last_customer
            )
            assert result.etiquette.passed, (scenario.id, text, result.etiquette.problems)
            assert not result.redaction.findings, (scenario.id, text)


NOW = dt.datetime(2026, 12, 9, 15, 30, tzinfo=dt.UTC)


def test_loaded_tickets_read_as_one_exchange_each(demo, example_protocol):
    """Loaded tickets (#113, #114, #177 were the trial's): the first message is an opening of the
    scenario the subject belongs to, and the priority one its scenario comes in with; the text
    rules hold; solved, closed and pending tickets end on
    an agent's reply and new ones have none; every reply passes the etiquette."""
    from charterdesk.checks.models import ContingencyActivation
    from charterdesk.demo.tickets import PRIORITY_WEIGHTS, load_demo_tickets
    from charterdesk.tickets.models import Ticket

    load_demo_tickets(300, seed=7, now=NOW, workers=1, batch_size=100)
    under = dict(ContingencyActivation.objects.values_list("ticket_id", "contingency"))
    checks = MessageChecks(example_protocol)
    subjects = [(template(t), s) for s in SCENARIOS for t in s.subjects]
    tickets = Ticket.objects.select_related("customer").prefetch_related("messages").order_by("pk")
    seen = set()
    for ticket in tickets:
        messages = sorted(ticket.messages.all(), key=lambda m: (m.created_at, m.pk))
        scenarios = [s for pattern, s in subjects if pattern.fullmatch(ticket.subject)]
        assert scenarios, ticket.subject
        openings = [template(t) for s in scenarios for t in s.steps[0].texts]
        assert any(o.search(messages[0].body_text) for o in openings), (ticket.subject, messages[0].body_text)
        seen.update(s.id for s in scenarios)
        # It came in with a priority its scenario has (no urgent sizing question).
        opened = ticket.events.get(kind="created").data["priority"]
        assert any(opened in dict(s.priorities or PRIORITY_WEIGHTS) for s in scenarios), (ticket.pk, opened)
        # Under a plan exactly when the customer opened it with the words the plan looks for.
        planned = {s.contingency for s in scenarios} - {""}
        if planned and not ticket.created_by_agent:
            assert under.get(ticket.pk) in planned, (ticket.pk, ticket.subject)
        else:
            assert ticket.pk not in under, (ticket.pk, ticket.subject)
        kinds = [{"customer": "c", "reply": "r", "note": "n"}[m.kind] for m in messages]
        texts = [(k, m.body_text) for k, m in zip(kinds, messages, strict=True)]
        assert not check_texts(texts[1:] if ticket.created_by_agent else texts), (ticket.pk, texts)
        public = [k for k in kinds if k != "n"]
        if ticket.status in ("solved", "closed", "pending"):
            assert public[-1] == "r", (ticket.pk, ticket.status, kinds)
        if ticket.status == "new":
            assert "r" not in kinds, (ticket.pk, kinds)
        last_customer = None
        for kind, message in zip(kinds, messages, strict=True):
            if kind == "c":
                last_customer = message.body_text
            elif kind == "r":
                result = checks.check_reply(
                    message.body_text, customer_name=ticket.customer.name, last_customer_message=last_customer
                )
                assert result.etiquette.passed, (ticket.pk, message.body_text, result.etiquette.problems)
    assert len(seen) >= len(SCENARIOS) - 3  # 300 tickets meet nearly every scenario
    assert set(under.values()) == {"injury-report", "aggressive-customer"}


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.id)
def test_each_script_can_end_solved_and_open(scenario):
    """Every scenario has a step where the agent solves it and a point where the agent's answer is
    awaited, so every status the demo gives a ticket has a script to tell it."""
    assert scenario.stops[SOLVED] and scenario.stops[OPEN]


def test_a_demo_ticket_under_a_plan_carries_its_actions_and_keeps_its_clocks(demo):
    """A loaded ticket about a stove that burned a hand is under the injury plan, urgent from its
    first minute (the plan's set_priority, an event of the ticket named by its clause) with the
    clocks refresh_sla gives it; one whose customer called the tracking useless carries the tag
    contingency-aggressive."""
    from django.db import transaction

    from charterdesk.checks.models import ContingencyActivation
    from charterdesk.demo.tickets import load_demo_tickets
    from charterdesk.tickets.actions import refresh_sla
    from charterdesk.tickets.models import Ticket, TicketEvent

    load_demo_tickets(600, seed=3, now=NOW, workers=1, batch_size=200)
    injury = ContingencyActivation.objects.filter(contingency="injury-report").select_related("ticket")
    assert injury.exists()
    changed = 0
    for activation in injury:
        ticket = activation.ticket
        assert activation.reason == "the message says 'burned'"
        assert ticket.priority == "urgent"
        for event in TicketEvent.objects.filter(ticket=ticket, clause="contingencies.injury-report"):
            # (none when the ticket came in urgent already)
            assert event.data == {"priority": "urgent"} and event.at == ticket.created_at
            changed += 1
        stored = (ticket.sla_state, ticket.next_due_at, ticket.breached)
        with transaction.atomic():
            refresh_sla(ticket, NOW)
        assert (ticket.sla_state, ticket.next_due_at, ticket.breached) == stored
    assert changed
    aggressive = ContingencyActivation.objects.filter(contingency="aggressive-customer")
    assert aggressive.exists()
    for activation in aggressive:
        assert "contingency-aggressive" in Ticket.objects.get(pk=activation.ticket_id).tags
