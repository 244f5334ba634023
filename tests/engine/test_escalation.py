"""Escalation rules compiled for the timeline: levels, extra conditions, actions, and firing."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import yaml

from charterdesk.engine.escalation import TicketMatch, apply_actions, compile_rules
from charterdesk.engine.sla import Created, Reply, SlaEngine, StatusChange
from charterdesk.protocol.load import load_protocol
from charterdesk.protocol.models import Action, EscalationRule, Match

NY = ZoneInfo("America/New_York")


def rule(text: str) -> EscalationRule:
    return EscalationRule.model_validate(yaml.safe_load(text))


def at(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=NY).timestamp())


@pytest.mark.parametrize(
    ("when", "target", "level"),
    [
        ("{metric: first_response, before_breach: 15m}", 3600, 2700),
        ("{metric: first_response, before_breach: 1h}", 3600, 0),  # at the start
        ("{metric: first_response, before_breach: 2h}", 3600, 0),
        ("{metric: any, breached: true}", 3600, 3600),
        ("{metric: resolution, after_breach: 2h}", 3600, 3 * 3600),
    ],
)
def test_a_condition_is_a_level_of_counted_time(when: str, target: int, level: int) -> None:
    """before_breach X fires at target - X (at the start when the target is X or less),
    breached at the target, after_breach X at target + X."""
    (compiled,) = compile_rules([rule(f"{{id: r, when: {when}, do: [{{notify: assignee}}]}}")])
    assert compiled.level(target) == level


def test_metric_any_watches_every_metric() -> None:
    """A rule on 'metric: any' watches all four metrics."""
    (compiled,) = compile_rules(
        [rule("{id: r, when: {metric: any, breached: true}, do: [{notify: assignee}]}")]
    )
    assert compiled.metrics == (0, 1, 2, 3)


def test_extra_when_keys_are_a_match() -> None:
    """A rule's extra when keys (priority [high], tags_none [quiet]) fire it only on high tickets without the
    quiet tag; a rule that adds a tag changes the ticket."""
    (compiled,) = compile_rules(
        [rule("{id: r, when: {metric: resolution, breached: true, priority: [high], tags_none: [quiet]}, "
              "do: [{add_tag: late}]}")]
    )  # fmt: skip
    assert compiled.when is not None
    assert compiled.when.fits("high", "email", None, frozenset())
    assert not compiled.when.fits("normal", "email", None, frozenset())
    assert not compiled.when.fits("high", "email", None, frozenset({"quiet"}))
    assert compiled.changes_ticket


def test_ticket_match_agrees_with_the_protocol_model() -> None:
    """The engine's compiled match gives the protocol model's answer for every mix of priority, channel and
    tags tried."""
    match = Match(priority=["high", "urgent"], channel="chat", tags_any=["vip", "gold"], tags_all=["a"])
    compiled = TicketMatch(match)
    for priority in ("normal", "high"):
        for channel in ("chat", "email"):
            for tags in (
                frozenset(),
                frozenset({"vip", "a"}),
                frozenset({"a"}),
                frozenset({"gold", "a", "x"}),
            ):
                assert compiled.fits(priority, channel, None, tags) == match.fits(
                    priority=priority, channel=channel, group=None, tags=tags
                )


def test_actions_change_priority_group_and_tags_only() -> None:
    """notify, assign_group tier2, set_priority urgent, add_tag late and add_note leave a normal ticket
    urgent, in tier2, tagged late; notify and notes change nothing on it."""
    actions = [
        Action("notify", "role:lead"),
        Action("assign_group", "tier2"),
        Action("set_priority", "urgent"),
        Action("add_tag", "late"),
        Action("add_note", "Escalated"),
    ]
    assert apply_actions(actions, "normal", None, frozenset({"x"})) == (
        "urgent",
        "tier2",
        frozenset({"x", "late"}),
    )


PROTOCOL = """
format: 1
company: Test
title: Test
version: "1"
introduction: {purpose: p, scope: s}
team:
  roles: [{id: lead, title: Lead}]
  groups: [{id: tier2, name: Tier 2, roles: [lead]}]
calendars:
  - {id: office, timezone: America/New_York, hours: {mon-fri: "09:00-17:00"}}
channels:
  customer: [{id: email, kind: email}]
sla:
  policies:
    - id: tier2
      match: {group: tier2}
      calendar: office
      targets: {resolution: 2h}
    - id: standard
      match: {}
      calendar: office
      targets: {first_response: 4h, resolution: 8h}
escalation:
  - id: res-late
    when: {metric: resolution, breached: true}
    do: [{notify: "role:lead"}]
  - id: res-later
    when: {metric: resolution, after_breach: 1h}
    do: [{assign_group: tier2}]
"""


def engine() -> SlaEngine:
    result = load_protocol(PROTOCOL)
    assert result.ok, result.errors
    assert result.protocol is not None
    return SlaEngine(result.protocol)


def test_a_reopened_resolution_is_one_cycle_and_escalates_once() -> None:
    """Breached, solved, reopened: the same cycle does not escalate twice on the same rule."""
    events = [
        Created(at("2026-12-07 09:00"), "normal", "email"),
        Reply(at("2026-12-07 09:10"), True),
        StatusChange(at("2026-12-07 17:30"), "solved"),
        Reply(at("2026-12-08 09:00"), False),
    ]
    result = engine().evaluate(events, at("2026-12-08 09:30"))
    assert [(e.rule, e.at) for e in result.escalations] == [("res-late", at("2026-12-07 17:00"))]
    # res-later needs 1 h more counted after the due time; nothing was counted between closing
    # time and the solve at 17:30, so that hour is Tuesday 09:00-10:00.
    assert [(e.rule, e.at) for e in result.pending] == [("res-later", at("2026-12-08 10:00"))]
    assert result.next_deadline == at("2026-12-08 10:00")


def test_an_action_that_changes_the_group_switches_policy_at_that_instant() -> None:
    """After 9 h counted, the rule moves the ticket to tier2, whose 2 h resolution is long past."""
    events = [Created(at("2026-12-07 09:00"), "normal", "email"), Reply(at("2026-12-07 09:10"), True)]
    result = engine().evaluate(events, at("2026-12-08 12:00"))
    assert [(e.rule, e.at) for e in result.escalations] == [
        ("res-late", at("2026-12-07 17:00")),
        ("res-later", at("2026-12-08 10:00")),
    ]
    assert result.policy == "tier2" and result.group == "tier2"
    (resolution,) = result.metrics["resolution"]
    assert resolution.target is not None and resolution.target.text == "2h"
    assert resolution.due == at("2026-12-07 11:00") and resolution.breached


def test_paused_clock_holds_back_an_escalation() -> None:
    """Pending from 16:00 Monday to 10:00 Tuesday: the 8 h breach moves from Monday 17:00 to Tuesday 11:00."""
    events = [
        Created(at("2026-12-07 09:00"), "normal", "email"),
        Reply(at("2026-12-07 09:10"), True),
        StatusChange(at("2026-12-07 16:00"), "pending"),
        Reply(at("2026-12-08 10:00"), False),
    ]
    result = engine().evaluate(events, at("2026-12-08 12:00"))
    assert [(e.rule, e.at) for e in result.escalations] == [("res-late", at("2026-12-08 11:00"))]
