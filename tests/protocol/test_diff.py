"""Differences between protocol versions, in sentences a manager understands."""

from __future__ import annotations

import copy
import datetime as dt
import re
from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from charterdesk.protocol.diff import Change, changed_sections, diff_protocols
from charterdesk.protocol.models import Protocol


@pytest.fixture(scope="module")
def data(example_source) -> dict:
    return yaml.safe_load(example_source)


@pytest.fixture(scope="module")
def old(data) -> Protocol:
    return Protocol.model_validate(data)


def _changed(data: dict, change) -> Protocol:
    new = copy.deepcopy(data)
    change(new)
    return Protocol.model_validate(new)


def _texts(old: Protocol, new: Protocol) -> list[str]:
    return [str(change) for change in diff_protocols(old, new)]


def test_same_protocol_has_no_changes(old, data):
    """Comparing a protocol with an identical copy finds no change and no changed section."""
    assert diff_protocols(old, Protocol.model_validate(copy.deepcopy(data))) == []
    assert changed_sections(old, old) == set()


def test_equal_durations_are_not_changes(old, data):
    """``60m`` and ``1h`` are the same target."""
    new = _changed(data, lambda d: d["sla"]["policies"][2]["targets"]["first_response"].update(urgent="60m"))
    assert diff_protocols(old, new) == []


def test_version_and_effective_date(old, data):
    """Bumping 3.2 to 3.3 and the effective date reads 'Version 3.2 -> 3.3' and 'Effective date 2026-12-01 ->
    2027-01-15'; dropping the date is a removal in the effective section."""

    def bump(d):
        d["version"] = "3.3"
        d["effective"] = dt.date(2027, 1, 15)

    assert _texts(old, _changed(data, bump)) == [
        "Version 3.2 -> 3.3",
        "Effective date 2026-12-01 -> 2027-01-15",
    ]
    draft = _changed(data, lambda d: d.pop("effective"))
    [change] = diff_protocols(old, draft)
    assert change.kind == "removed" and change.section == "effective"


def test_sla_target_per_priority(old, data):
    """Raising standard's high-priority first response from 2h to 4h is one change, in the sla section, naming
    the clause sla.policies[standard].targets.first_response.high."""
    new = _changed(data, lambda d: d["sla"]["policies"][2]["targets"]["first_response"].update(high="4h"))
    [change] = diff_protocols(old, new)
    assert str(change) == change.text == "SLA policy 'standard': first response for high priority 2h -> 4h"
    assert change.kind == "changed"
    assert change.section == "sla"
    assert change.clause == "sla.policies[standard].targets.first_response.high"


def test_sla_uniform_target_and_new_metric(old, data):
    """A uniform target change reads 'first response 30m -> 20m'; a new metric reads 'gains a periodic update
    target: 30m'."""

    def edit(d):
        d["sla"]["policies"][0]["targets"]["first_response"] = "20m"
        d["sla"]["policies"][1]["targets"]["periodic_update"] = "30m"

    assert _texts(old, _changed(data, edit)) == [
        "SLA policy 'vip-urgent': first response 30m -> 20m",
        "SLA policy 'chat' gains a periodic update target: 30m",
    ]


def test_policy_order_matters(old, data):
    """Swapping the first two SLA policies is reported as the new checking order beside the old one."""

    def swap(d):
        policies = d["sla"]["policies"]
        policies[0], policies[1] = policies[1], policies[0]

    [change] = diff_protocols(old, _changed(data, swap))
    assert (
        change.text
        == "SLA policies now checked in the order chat, vip-urgent, standard (was vip-urgent, chat, standard)"
    )


def test_role_permissions(old, data):
    """A permission taken from agent and one given to lead read as 'loses permission ticket.solve' and 'gains
    permission customer.export'."""

    def edit(d):
        d["team"]["roles"][0]["permissions"].remove("ticket.solve")
        d["team"]["roles"][1]["permissions"].append("customer.export")

    changes = diff_protocols(old, _changed(data, edit))
    assert [(c.kind, c.text) for c in changes] == [
        ("removed", "Role 'agent' loses permission ticket.solve"),
        ("added", "Role 'lead' gains permission customer.export"),
    ]


def test_new_and_removed_escalation_rules(old, data):
    """A removed escalation rule is named; a new one is read out whole ('30 minutes before a first response is
    due, notify the assignee')."""

    def edit(d):
        d["escalation"] = [rule for rule in d["escalation"] if rule["id"] != "lead-on-breach"]
        d["escalation"].append(
            {
                "id": "warn-early",
                "when": {"metric": "first_response", "before_breach": "30m"},
                "do": [{"notify": "assignee"}],
            }
        )

    changes = diff_protocols(old, _changed(data, edit))
    assert [(c.kind, c.text) for c in changes] == [
        ("removed", "Escalation rule 'lead-on-breach' removed"),
        (
            "added",
            "New escalation rule 'warn-early': "
            "30 minutes before a first response is due, notify the assignee",
        ),
    ]


def test_changed_escalation_rule_reads_whole(old, data):
    """An escalation rule whose timing changed from 15 to 30 minutes is read out whole, now and before."""
    new = _changed(data, lambda d: d["escalation"][0]["when"].update(before_breach="30m"))
    assert _texts(old, new) == [
        "Escalation rule 'warn-assignee' now reads: "
        "30 minutes before a first response is due: notify the assignee "
        "(was: 15 minutes before a first response is due: notify the assignee)"
    ]


def test_calendar_hours(old, data):
    """Saturday hours cut to 10:00–13:00 and a new Sunday opening are named day by day; the same hours written
    with other day ranges are no change."""

    def edit(d):
        d["calendars"][0]["hours"]["sat"] = "10:00-13:00"
        d["calendars"][0]["hours"]["sun"] = "12:00-16:00"

    assert _texts(old, _changed(data, edit)) == [
        "Calendar 'office': Saturday hours 10:00–14:00 -> 10:00–13:00",
        "Calendar 'office': now open on Sunday 12:00–16:00",
    ]
    # The same hours written differently are no change.
    same = _changed(
        data,
        lambda d: d["calendars"][0].update(
            hours={"mon-wed": "08:00-18:00", "thu-fri": "08:00-18:00", "sat": "10:00-14:00"}
        ),
    )
    assert diff_protocols(old, same) == []


def test_procedure_steps(old, data):
    """A step added to one procedure and removed from another are named with their number and text."""

    def edit(d):
        d["resolution"]["procedures"][0]["steps"].append("Close the loop with logistics.")
        d["resolution"]["procedures"][1]["steps"].pop(0)

    assert _texts(old, _changed(data, edit)) == [
        "Procedure 'damaged-item' gains step 5: Close the loop with logistics.",
        "Procedure 'where-is-my-order' loses step 1: Look up the tracking number.",
    ]


def test_generic_fields_and_sections(old, data):
    """A refund window of 30 -> 45 days, a removed Surveys section and a new glossary term are each one
    sentence, and their three sections are the ones changed."""

    def edit(d):
        d["refunds"]["window_days"] = 45
        del d["surveys"]
        d["glossary"]["FCR"] = "First contact resolution."

    changes = diff_protocols(old, _changed(data, edit))
    assert [(c.kind, c.text) for c in changes] == [
        ("changed", "Refunds: refund window 30 days -> 45 days"),
        ("removed", "Section removed: Surveys"),
        ("added", "Glossary gains term 'FCR'"),
    ]
    assert changed_sections(old, _changed(data, edit)) == {"refunds", "surveys", "glossary"}


def test_reporting_every_kpi_or_none(old, data):
    """Leaving out reporting.kpis reports every KPI, and kpis: [] none: the diff says which."""
    every = _changed(data, lambda d: d["reporting"].pop("kpis"))
    assert _texts(old, every) == ["Reporting: now reports every KPI"]
    none = _changed(data, lambda d: d["reporting"].update(kpis=[]))
    assert _texts(every, none) == ["Reporting: now reports no KPI"]
    two = _changed(data, lambda d: d["reporting"].update(kpis=["csat", "nps"]))
    assert _texts(every, two) == ["Reporting: now reports only csat, nps"]


def test_change_is_a_sentence():
    """A change printed is its sentence, nothing more."""
    change = Change("refunds", "refunds.window_days", "Refunds: refund window 30 days -> 45 days", "changed")
    assert str(change) == "Refunds: refund window 30 days -> 45 days"


# --------------------------------------------------------------------------- a manager's words everywhere


def _first_question(d: dict) -> dict:
    return d["training"]["modules"][0]["quiz"]["questions"][0]


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (
            lambda d: d["calendars"][0]["holidays"]["closed"].append(dt.date(2026, 12, 31)),
            ["Calendar 'office': closed on 2026-12-31"],
        ),
        (
            lambda d: d["calendars"][0]["holidays"]["closed"].clear(),
            ["Calendar 'office': no longer closed on 2026-12-24"],
        ),
        (
            lambda d: d["resolution"]["handling"].update(auto_close_solved_after="7d"),
            ["Ticket handling: solved tickets close automatically after 4d -> 7d"],
        ),
        (
            lambda d: d["refunds"].update(window_days=14),
            ["Refunds: refund window 30 days -> 14 days"],
        ),
        (
            lambda d: d["refunds"]["approval"][0].update(up_to=100),
            ["Refund approval rule 1: up to 50 -> 100"],
        ),
        (
            lambda d: d["training"]["modules"][0]["quiz"].update(pass_mark=90),
            ["Training module 'response-times': pass mark 80% -> 90%"],
        ),
        (
            lambda d: _first_question(d).update(answer=2),
            ["Training module 'response-times', question 1: the right answer b -> c"],
        ),
        (
            lambda d: d["sla"]["pause_when"].remove("on_hold"),
            ["SLA: clocks no longer pause while on hold"],
        ),
        (
            lambda d: d["privacy"]["redact"].remove("password"),
            ["Privacy: no longer redacts passwords"],
        ),
        (
            lambda d: d["privacy"]["redact"].append("national_id"),
            ["Privacy: now redacts national ID numbers"],
        ),
        (
            lambda d: d["etiquette"]["banned_phrases"].append("no worries"),
            ["Etiquette gains banned phrase 'no worries'"],
        ),
        (
            lambda d: d["channels"]["customer"][0].update(acknowledge=False),
            ["Channel 'email': no longer sends an automatic receipt"],
        ),
        (
            lambda d: d["objectives"][0]["target"].update(p90="2h"),
            ["Objective 'fast-first-reply': 90th percentile target 1h -> 2h"],
        ),
        (
            lambda d: d["calendars"][0]["holidays"].update(open={dt.date(2026, 12, 26): "10:00-14:00"}),
            ["Calendar 'office': open on 2026-12-26 10:00–14:00"],
        ),
        (
            lambda d: d["refunds"]["approval"].append({"above": 5000, "approve": "role:manager"}),
            ["Refunds gains approval rule 4: above 5000, approved by role:manager"],
        ),
        (
            lambda d: d["refunds"]["approval"][2].update(above=None, up_to=5000),
            [
                "Refund approval rule 3 now reads: up to 5000, approved by role:manager "
                "(was: above 500, approved by role:manager)"
            ],
        ),
        (
            lambda d: d["contingencies"][0]["do"].append({"notify": "role:manager"}),
            ["Contingency plan 'aggressive-customer' gains action: notify the Support Manager"],
        ),
        (
            lambda d: d["team"]["roles"][0].pop("reports_to"),
            ["Role 'agent': reports to lead -> none"],
        ),
        (
            lambda d: d["privacy"]["access"]["exports"].append("lead"),
            ["Privacy: lead may now export customer data"],
        ),
        (
            lambda d: d["surveys"]["csat"].update(scale=7),
            ["CSAT survey: rating scale 1 to 5 -> 1 to 7"],
        ),
        (
            lambda d: d["sla"]["policies"].append({"id": "night", "calendar": "always", "targets": {}}),
            ["New SLA policy 'night'"],
        ),
    ],
)
def test_changes_read_as_a_managers_words(old, data, edit, expected):
    """No raw keys (window_days, auto_close_solved_after), no 0-based indices, no half-made plurals."""
    assert _texts(old, _changed(data, edit)) == expected


def test_singular_nouns():
    """List names become singular in sentences: policies -> policy, boxes -> box, status stays status."""
    from charterdesk.protocol.diff import _singular

    assert [
        _singular(w)
        for w in ("phrases", "policies", "categories", "steps", "banned phrases", "boxes", "status")
    ] == ["phrase", "policy", "category", "step", "banned phrase", "box", "status"]


def test_no_change_shows_a_raw_key_or_a_zero_based_place(old, example_source):
    """Every sentence the exhaustive test below can provoke is free of YAML keys and 0-based places."""
    raw = re.compile(r"\b[a-z]+_[a-z_]+\b|#\d|\[\d")
    offenders = [text for text in _all_sentences(old, example_source) if raw.search(_unquoted(text))]
    assert offenders == []


def _unquoted(text: str) -> str:
    """The sentence without the values it quotes (a KPI name such as first_response_time may be one)."""
    text = re.sub(r"'[^']*'", "", text)
    names = "first_response_time|next_response_time|resolution_time|sla_compliance|reopen_rate|handle_time"
    kpis = rf"\b({names})x?\b"
    return re.sub(kpis, "", text)


# --------------------------------------------------------------------------- nothing is ever missed


# Mappings whose keys are data (terms, days, priorities), not field names.
_FREE_KEYS = {
    "glossary",
    "hours",
    "first_response",
    "next_response",
    "periodic_update",
    "resolution",
    "target",
}


def _leaves(value: Any, path: tuple = ()) -> Iterator[tuple]:
    """Every scalar in the YAML data, and every key of a mapping whose keys are data, by path."""
    if isinstance(value, dict):
        for key, item in value.items():
            if path and path[-1] in _FREE_KEYS:
                yield (*path, ("key", key))
            yield from _leaves(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _leaves(item, (*path, index))
    else:
        yield path


def _candidates(value: Any) -> list[Any]:
    """Other values of the same kind, in the order we try them until one is valid."""
    if isinstance(value, bool):
        return [not value]
    if isinstance(value, int):
        return [value + 1, value - 1]
    if isinstance(value, float):
        return [round(value - 0.01, 4), value + 1]
    if isinstance(value, dt.date):
        return [value + dt.timedelta(days=1)]
    if isinstance(value, str):
        out = []
        if value[:1].isdigit() and value[-1:] in "smhd":  # a duration
            out.append(f"{int(''.join(c for c in value if c.isdigit())) + 1}{value[-1]}")
        if "-" in value and ":" in value:  # hours
            out.append(value.replace(":00-", ":30-", 1))
        out += [value + "x", "resolution", "any", "EUR"]
        out += ["urgent", "high", "low", "normal", "web", "phone", "social", "on_hold", "pending"]
        out += ["round_robin", "manual", "monthly", "daily", "tue 09:00", "role:agent", "national_id", "auto"]
        out += ["phone_number", "never", "on_change", "24x7", "sun"]
        return [item for item in out if item != value]
    return []


def _get(data: Any, path: tuple) -> Any:
    for part in path:
        data = data[part]
    return data


def _all_sentences(old: Protocol, example_source: str) -> list[str]:
    sentences: list[str] = []
    _mutate_every_scalar(old, example_source, sentences)
    return sentences


def test_every_scalar_mutation_is_reported(old, example_source):
    """Change any one value (or key) of the example to another valid value: at least one Change."""
    _mutate_every_scalar(old, example_source, [])


def _mutate_every_scalar(old: Protocol, example_source: str, sentences: list[str]) -> None:
    data = yaml.safe_load(example_source)  # mutated in place: not the shared fixture
    unchanged_kinds = []
    tried = 0
    for path in _leaves(data):
        if path and isinstance(path[-1], tuple):  # a mapping key
            parent_path, key = path[:-1], path[-1][1]
            candidates = _candidates(key)
        else:
            parent_path, key = path[:-1], path[-1]
            candidates = _candidates(_get(data, path))
        parent = _get(data, parent_path)
        for candidate in candidates:
            # Mutate in place and put back: copying the whole file for every try is the slow part.
            if isinstance(path[-1], tuple):
                if candidate in parent:
                    continue
                saved = dict(parent)
                parent.clear()
                parent.update({(candidate if k == key else k): v for k, v in saved.items()})
            else:
                saved = parent[key]
                parent[key] = candidate
            try:
                protocol = Protocol.model_validate(data)
            except ValidationError:
                continue
            finally:
                if isinstance(path[-1], tuple):
                    parent.clear()
                    parent.update(saved)
                else:
                    parent[key] = saved
            if protocol == old:
                continue
            tried += 1
            changes = diff_protocols(old, protocol)
            if not changes:
                unchanged_kinds.append((path, candidate))
            sentences.extend(change.text for change in changes)
            for change in changes:
                assert change.text and change.kind in ("added", "removed", "changed")
                assert change.section in Protocol.model_fields
            if changes:
                assert {c.section for c in changes} <= changed_sections(old, protocol)
            break
    assert tried > 250, tried
    assert unchanged_kinds == []
