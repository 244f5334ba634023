"""Differences between protocol versions, in sentences a manager understands."""

from __future__ import annotations

import copy
import datetime as dt
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
    assert diff_protocols(old, Protocol.model_validate(copy.deepcopy(data))) == []
    assert changed_sections(old, old) == set()


def test_equal_durations_are_not_changes(old, data):
    """``60m`` and ``1h`` are the same target."""
    new = _changed(data, lambda d: d["sla"]["policies"][2]["targets"]["first_response"].update(urgent="60m"))
    assert diff_protocols(old, new) == []


def test_version_and_effective_date(old, data):
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
    new = _changed(data, lambda d: d["sla"]["policies"][2]["targets"]["first_response"].update(high="4h"))
    [change] = diff_protocols(old, new)
    assert str(change) == change.text == "SLA policy 'standard': first response for high priority 2h -> 4h"
    assert change.kind == "changed"
    assert change.section == "sla"
    assert change.clause == "sla.policies[standard].targets.first_response.high"


def test_sla_uniform_target_and_new_metric(old, data):
    def edit(d):
        d["sla"]["policies"][0]["targets"]["first_response"] = "20m"
        d["sla"]["policies"][1]["targets"]["periodic_update"] = "30m"

    assert _texts(old, _changed(data, edit)) == [
        "SLA policy 'vip-urgent': first response 30m -> 20m",
        "SLA policy 'chat' gains a periodic update target: 30m",
    ]


def test_policy_order_matters(old, data):
    def swap(d):
        policies = d["sla"]["policies"]
        policies[0], policies[1] = policies[1], policies[0]

    [change] = diff_protocols(old, _changed(data, swap))
    assert (
        change.text
        == "SLA policies now checked in the order chat, vip-urgent, standard (was vip-urgent, chat, standard)"
    )


def test_role_permissions(old, data):
    def edit(d):
        d["team"]["roles"][0]["permissions"].remove("ticket.solve")
        d["team"]["roles"][1]["permissions"].append("customer.export")

    changes = diff_protocols(old, _changed(data, edit))
    assert [(c.kind, c.text) for c in changes] == [
        ("removed", "Role 'agent' loses permission ticket.solve"),
        ("added", "Role 'lead' gains permission customer.export"),
    ]


def test_new_and_removed_escalation_rules(old, data):
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
    new = _changed(data, lambda d: d["escalation"][0]["when"].update(before_breach="30m"))
    assert _texts(old, new) == [
        "Escalation rule 'warn-assignee' now reads: "
        "30 minutes before a first response is due: notify the assignee "
        "(was: 15 minutes before a first response is due: notify the assignee)"
    ]


def test_calendar_hours(old, data):
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
    def edit(d):
        d["resolution"]["procedures"][0]["steps"].append("Close the loop with logistics.")
        d["resolution"]["procedures"][1]["steps"].pop(0)

    assert _texts(old, _changed(data, edit)) == [
        "Procedure 'damaged-item' gains step 5: Close the loop with logistics.",
        "Procedure 'where-is-my-order' loses step 1: Look up the tracking number.",
    ]


def test_generic_fields_and_sections(old, data):
    def edit(d):
        d["refunds"]["window_days"] = 45
        del d["surveys"]
        d["glossary"]["FCR"] = "First contact resolution."

    changes = diff_protocols(old, _changed(data, edit))
    assert [(c.kind, c.text) for c in changes] == [
        ("changed", "Refunds: window_days 30 -> 45"),
        ("removed", "Section removed: Surveys"),
        ("added", "Glossary gains term 'FCR'"),
    ]
    assert changed_sections(old, _changed(data, edit)) == {"refunds", "surveys", "glossary"}


def test_change_is_a_sentence():
    change = Change("refunds", "refunds.window_days", "Refunds: window_days 30 -> 45", "changed")
    assert str(change) == "Refunds: window_days 30 -> 45"


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


def test_every_scalar_mutation_is_reported(old, example_source):
    """Change any one value (or key) of the example to another valid value: at least one Change."""
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
            for change in changes:
                assert change.text and change.kind in ("added", "removed", "changed")
                assert change.section in Protocol.model_fields
            if changes:
                assert {c.section for c in changes} <= changed_sections(old, protocol)
            break
    assert tried > 250, tried
    assert unchanged_kinds == []
