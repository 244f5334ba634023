"""Escalation rules (protocol section "Escalation"), compiled for the SLA timeline.

A rule watches one metric (or each metric on its own, for ``metric: any``) and
fires at most once per metric cycle, at the first instant at which its
condition holds:

- ``before_breach: X``: the cycle is unfulfilled and its remaining counted time
  is X or less (at the start, when the target itself is X or less);
- ``breached: true``: at the due time of a cycle still unfulfilled then;
- ``after_breach: X``: when X more has been counted after the due time.

Each condition is a *level* of counted time since the cycle's start (target
minus X, the target, target plus X), so the instant at which a rule fires is
found the same way as a due time: where the counted time reaches the level, in
the calendar of the policy in force. Because it is counted time and not a
fixed wall-clock instant, a paused resolution clock moves these instants too.
The other ``when`` keys (priority, channel, group, tags) must hold at that
instant. The timeline itself (which rule fires when, and the ticket changes
its actions make) is run by ``charterdesk.engine.sla``; this module holds the
compiled rules, the ticket matching shared with SLA policies, and the record of
a firing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from charterdesk.protocol import models

__all__ = [
    "TICKET_CHANGING_ACTIONS",
    "CompiledRule",
    "Escalation",
    "TicketMatch",
    "apply_actions",
    "compile_rules",
]

METRICS = models.METRICS
BEFORE_BREACH, BREACHED, AFTER_BREACH = 0, 1, 2
_CONDITIONS = {"before_breach": BEFORE_BREACH, "breached": BREACHED, "after_breach": AFTER_BREACH}

TICKET_CHANGING_ACTIONS = frozenset({"assign_group", "set_priority", "add_tag"})
"""Actions that change the ticket, after which the SLA policy is chosen again."""


class TicketMatch:
    """A ``match`` (or a rule's extra ``when`` keys) compiled to sets, for matching on the hot path."""

    __slots__ = ("channel", "group", "priority", "tags_all", "tags_any", "tags_none", "trivial")

    def __init__(self, match: models.Match) -> None:
        def as_set(values: Iterable[str] | None) -> frozenset[str] | None:
            return None if values is None else frozenset(values)

        self.priority = as_set(match.priority)
        self.channel = as_set(match.channel)
        self.group = as_set(match.group)
        self.tags_any = as_set(match.tags_any)
        self.tags_all = as_set(match.tags_all)
        self.tags_none = as_set(match.tags_none)
        self.trivial = match.is_catch_all

    def fits(self, priority: str, channel: str, group: str | None, tags: frozenset[str]) -> bool:
        if self.trivial:
            return True
        if self.priority is not None and priority not in self.priority:
            return False
        if self.channel is not None and channel not in self.channel:
            return False
        if self.group is not None and group not in self.group:
            return False
        if self.tags_any is not None and self.tags_any.isdisjoint(tags):
            return False
        if self.tags_all is not None and not self.tags_all <= tags:
            return False
        return not (self.tags_none is not None and not self.tags_none.isdisjoint(tags))


class CompiledRule:
    """One escalation rule, ready for the timeline: its condition as a level of counted time."""

    __slots__ = ("actions", "bit", "changes_ticket", "condition", "id", "index", "metrics", "offset", "when")

    def __init__(self, index: int, rule: models.EscalationRule) -> None:
        self.index = index
        self.bit = 1 << index
        self.id = rule.id
        self.condition = _CONDITIONS[rule.when.condition]
        offset = rule.when.offset
        self.offset = offset.seconds if offset is not None else 0
        self.metrics = tuple(METRICS.index(metric) for metric in rule.when.metrics())
        also = TicketMatch(rule.when.also)
        self.when: TicketMatch | None = None if also.trivial else also
        self.actions: tuple[models.Action, ...] = tuple(rule.do)
        self.changes_ticket = any(action.kind in TICKET_CHANGING_ACTIONS for action in rule.do)

    def __repr__(self) -> str:
        return f"<CompiledRule {self.id!r}>"

    def level(self, target: int) -> int:
        """The counted time since the cycle's start at which this rule's condition starts to hold."""
        if self.condition == BEFORE_BREACH:
            return target - self.offset if target > self.offset else 0
        if self.condition == BREACHED:
            return target
        return target + self.offset


def compile_rules(rules: Iterable[models.EscalationRule]) -> tuple[CompiledRule, ...]:
    return tuple(CompiledRule(index, rule) for index, rule in enumerate(rules))


def apply_actions(
    actions: Iterable[models.Action], priority: str, group: str | None, tags: frozenset[str]
) -> tuple[str, str | None, frozenset[str]]:
    """The ticket's priority, group and tags after a rule's actions (notify and add_note change nothing)."""
    for action in actions:
        if action.kind == "set_priority":
            priority = action.value
        elif action.kind == "assign_group":
            group = action.value
        elif action.kind == "add_tag" and action.value not in tags:
            tags = tags | {action.value}
    return priority, group, tags


@dataclass(slots=True)
class Escalation:
    """A rule firing (or, in ``TicketSla.pending``, due to fire) on one metric cycle at instant ``at``."""

    rule: str
    metric: str
    at: int
    actions: tuple[models.Action, ...]
    cycle_start: int
    """The start of the metric cycle it fired on: with ``rule`` and ``metric``, a key that is
    stable across re-evaluations, so the desk can run each firing's side effects exactly once."""

    def __str__(self) -> str:
        return f"{self.rule} on {self.metric} at {self.at}: {', '.join(str(a) for a in self.actions)}"
