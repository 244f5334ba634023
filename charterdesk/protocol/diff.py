"""What changed between two versions of a protocol, in sentences a manager understands.

    >>> for change in diff_protocols(old, new):
    ...     print(change)
    Version 3.2 -> 3.3
    SLA policy 'standard': first response for high priority 4h -> 2h
    Role 'lead' gains permission refund.approve

Items that have an ``id`` (roles, policies, rules, procedures, ...) are compared by id,
not by position. The clauses people change most (targets, hours, permissions, steps,
escalation rules, the policy order) have their own sentences; every other field falls
back to a readable generic sentence with its dotted path (``Refunds: window_days 30 ->
45``), so no difference is ever left out. Durations compare by length: ``60m`` and
``1h`` are the same target.
"""

from __future__ import annotations

import datetime as dt
import difflib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel

from .durations import Duration
from .hours import DAY_WORDS, format_ranges
from .models import PRIORITIES, Action, EscalationRule, Match, Protocol, Target, WeeklyHours
from .render.words import actions_words, hours_words, match_words, rule_words, when_words

Kind = Literal["added", "removed", "changed"]


@dataclass(frozen=True, slots=True)
class Change:
    """One difference: the top-level ``section``, the ``clause`` (a path such as
    ``sla.policies[standard].targets.first_response.high``) and the sentence."""

    section: str
    clause: str
    text: str
    kind: Kind

    def __str__(self) -> str:
        return self.text


def diff_protocols(old: Protocol, new: Protocol) -> list[Change]:
    """Every difference between two protocol versions, in file order."""
    differ = _Differ(old, new)
    for name in Protocol.model_fields:
        a, b = getattr(old, name), getattr(new, name)
        if _norm(a) == _norm(b):
            continue
        before = len(differ.changes)
        differ.section(name, a, b)
        if len(differ.changes) == before:  # a difference no sentence caught: still say so
            differ.emit(name, name, f"{_SECTION_LABELS.get(name, name)} changed", "changed")
    return differ.changes


def changed_sections(old: Protocol, new: Protocol) -> set[str]:
    """The top-level keys whose content differs (``recertify: on_change`` compares these with ``covers``)."""
    return {name for name in Protocol.model_fields if _norm(getattr(old, name)) != _norm(getattr(new, name))}


# --------------------------------------------------------------------------- comparing by meaning


def _norm(value: Any) -> Any:
    """A value reduced to what it means, for equality: durations by length, hours by day."""
    if isinstance(value, BaseModel):
        return tuple((name, _norm(getattr(value, name))) for name in type(value).model_fields)
    if isinstance(value, Duration):
        return ("duration", value.seconds)
    if isinstance(value, Target):
        return ("target", tuple(sorted((k, d.seconds) for k, d in value.by_priority.items())))
    if isinstance(value, WeeklyHours):
        return ("hours", tuple(sorted(value.days.items())))
    if isinstance(value, Action):
        return ("action", value.kind, value.value)
    if isinstance(value, dict):
        return ("map", tuple(sorted(((_norm(k), _norm(v)) for k, v in value.items()), key=repr)))
    if isinstance(value, (list, tuple)):
        return ("list", tuple(_norm(item) for item in value))
    return value


def _show(value: Any) -> str:
    """A value as the sentence quotes it."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Duration):
        return value.text
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, (int, dt.date)):
        return str(value)
    if isinstance(value, Action):
        return str(value)
    if isinstance(value, WeeklyHours):
        return _hours_text(value)
    if isinstance(value, Target):
        return _target_text(value)
    if isinstance(value, BaseModel):
        parts = [
            f"{name} {_show(getattr(value, name))}"
            for name in type(value).model_fields
            if getattr(value, name) not in (None, [], {}, False)
        ]
        return ", ".join(parts)
    if isinstance(value, (list, tuple)):
        return ", ".join(_show(item) for item in value) or "none"
    if isinstance(value, dict):
        return ", ".join(f"{_show(k)}: {_show(v)}" for k, v in value.items()) or "none"
    return f"'{value}'"


def _is_long(value: Any) -> bool:
    return isinstance(value, str) and (len(value) > 60 or "\n" in value.strip())


def _hours_text(hours: WeeklyHours | str) -> str:
    if isinstance(hours, str):
        return hours
    return hours_words(_HoursOnly(hours))  # type: ignore[arg-type]


@dataclass(frozen=True)
class _HoursOnly:
    """Just enough of a Calendar for ``hours_words``."""

    hours: WeeklyHours

    @property
    def always_open(self) -> bool:
        return False


def _target_text(target: Target | None) -> str:
    if target is None:
        return "none"
    if target.uniform:
        return next(iter(target.by_priority.values())).text
    return ", ".join(
        f"{p} {target.by_priority[p].text}" for p in reversed(PRIORITIES) if p in target.by_priority
    )


# --------------------------------------------------------------------------- labels


_SECTION_LABELS = {
    "format": "Format",
    "company": "Company",
    "title": "Title",
    "version": "Version",
    "effective": "Effective date",
    "introduction": "Introduction",
    "objectives": "Objectives",
    "team": "Team",
    "calendars": "Calendars",
    "channels": "Channels",
    "sla": "SLA",
    "escalation": "Escalation",
    "resolution": "Issue resolution",
    "contingencies": "Contingency plans",
    "refunds": "Refunds",
    "privacy": "Privacy",
    "training": "Training",
    "knowledge_base": "Knowledge base",
    "surveys": "Surveys",
    "reporting": "Reporting",
    "emergency": "Emergency procedures",
    "etiquette": "Etiquette",
    "glossary": "Glossary",
    "contacts": "Contacts",
}

# Lists whose items have ids, by their shape path: what one item is called.
_ITEM_KINDS = {
    ("objectives",): ("Objective", "objectives"),
    ("team", "roles"): ("Role", "roles"),
    ("team", "groups"): ("Group", "groups"),
    ("calendars",): ("Calendar", "calendars"),
    ("channels", "customer"): ("Channel", "channels"),
    ("sla", "policies"): ("SLA policy", "SLA policies"),
    ("escalation",): ("Escalation rule", "escalation rules"),
    ("resolution", "procedures"): ("Procedure", "procedures"),
    ("resolution", "troubleshooting"): ("Troubleshooting tree", "troubleshooting trees"),
    ("contingencies",): ("Contingency plan", "contingency plans"),
    ("training", "modules"): ("Training module", "training modules"),
    ("contacts",): ("Contact", "contacts"),
}
# The field that names an item: ``id`` unless listed here.
_ITEM_KEYS: dict[tuple[str, ...], str] = {("contacts",): "name"}

# Lists where the order decides something: the first policy (or approval rule) that fits wins.
_ORDERED = {("sla", "policies"), ("escalation",), ("resolution", "procedures")}


def _singular(word: str) -> str:
    if word.endswith("ies"):
        return word[:-3] + "y"
    if word.endswith("ses"):
        return word[:-2]
    if word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def _join(rel: str, part: str) -> str:
    if not rel:
        return part
    return f"{rel} {part}" if rel.rsplit(" ", 1)[-1].startswith("#") else f"{rel}.{part}"


@dataclass
class _Where:
    """Where the walk is: the clause path, the shape (ids replaced by ``*``), the label of the
    nearest named thing and the path relative to it."""

    section: str
    clause: str
    shape: tuple[str, ...]
    label: str
    rel: str

    def field(self, name: str) -> _Where:
        return _Where(
            self.section, f"{self.clause}.{name}", (*self.shape, name), self.label, _join(self.rel, name)
        )

    def item(self, item_id: str, kind: str) -> _Where:
        return _Where(
            self.section, f"{self.clause}[{item_id}]", (*self.shape, "*"), f"{kind} '{item_id}'", ""
        )

    def position(self, index: int) -> _Where:
        return _Where(
            self.section,
            f"{self.clause}[{index}]",
            (*self.shape, "#"),
            self.label,
            f"{self.rel} #{index + 1}".strip(),
        )

    def key(self, key: Any) -> _Where:
        text = str(key)
        return _Where(
            self.section, f"{self.clause}.{text}", (*self.shape, "."), self.label, _join(self.rel, text)
        )

    def prefix(self) -> str:
        """``Refunds: window_days`` / ``Role 'lead'`` - the start of a sentence."""
        return f"{self.label}: {self.rel}" if self.rel else self.label


# --------------------------------------------------------------------------- the walk


class _Differ:
    def __init__(self, old: Protocol, new: Protocol):
        self.old, self.new = old, new
        self.changes: list[Change] = []
        self._hooks: dict[tuple[str, ...], Callable[[Any, Any, _Where], None]] = {
            ("sla", "policies", "*", "targets", "first_response"): self._target,
            ("sla", "policies", "*", "targets", "next_response"): self._target,
            ("sla", "policies", "*", "targets", "periodic_update"): self._target,
            ("sla", "policies", "*", "targets", "resolution"): self._target,
            ("sla", "policies", "*", "match"): self._match,
            ("resolution", "procedures", "*", "match"): self._match,
            ("calendars", "*", "hours"): self._hours,
            ("resolution", "procedures", "*", "steps"): self._steps,
            ("contingencies", "*", "steps"): self._steps,
            ("glossary",): self._glossary,
        }

    def emit(self, section: str, clause: str, text: str, kind: Kind) -> None:
        self.changes.append(Change(section, clause, text, kind))

    def say(self, where: _Where, text: str, kind: Kind = "changed") -> None:
        self.emit(where.section, where.clause, text, kind)

    # ---- top level

    def section(self, name: str, a: Any, b: Any) -> None:
        where = _Where(name, name, (name,), _SECTION_LABELS.get(name, name), "")
        if name == "version":
            return self.say(where, f"Version {a} -> {b}")
        if name == "effective":
            if a is None:
                return self.say(where, f"Effective date set to {b} (no longer a draft)", "added")
            if b is None:
                return self.say(where, f"Effective date {a} removed (now a draft)", "removed")
            return self.say(where, f"Effective date {a} -> {b}")
        if isinstance(a, BaseModel) or isinstance(b, BaseModel):
            if a is None:
                return self.say(where, f"New section: {where.label}", "added")
            if b is None:
                return self.say(where, f"Section removed: {where.label}", "removed")
        self.value(a, b, where)

    # ---- any value

    def value(self, a: Any, b: Any, where: _Where) -> None:
        if _norm(a) == _norm(b):
            return
        hook = self._hooks.get(where.shape)
        if hook is not None:
            return hook(a, b, where)
        if a is None or b is None:
            return self._set_or_unset(a, b, where)
        if isinstance(a, BaseModel) and type(a) is type(b):
            if isinstance(a, EscalationRule) and isinstance(b, EscalationRule):
                return self._rule(a, b, where)
            for name in type(a).model_fields:
                self.value(getattr(a, name), getattr(b, name), where.field(name))
            return None
        if isinstance(a, Target) and isinstance(b, Target):
            return self._mapping(a.by_priority, b.by_priority, where)
        if isinstance(a, list) and isinstance(b, list):
            return self._list(a, b, where)
        if isinstance(a, dict) and isinstance(b, dict):
            return self._mapping(a, b, where)
        return self._scalar(a, b, where)

    def _scalar(self, a: Any, b: Any, where: _Where) -> None:
        if _is_long(a) or _is_long(b):
            return self.say(where, f"{where.prefix()} text changed")
        self.say(where, f"{where.prefix()} {_show(a)} -> {_show(b)}")

    def _set_or_unset(self, a: Any, b: Any, where: _Where) -> None:
        if a is None:
            shown = "added" if isinstance(b, BaseModel) else f"set to {_show(b)}"
            if _is_long(b):
                shown = "added"
            return self.say(where, f"{where.prefix()} {shown}", "added")
        shown = "" if isinstance(a, BaseModel) or _is_long(a) else f" (was {_show(a)})"
        self.say(where, f"{where.prefix()} removed{shown}", "removed")

    def _mapping(self, a: dict, b: dict, where: _Where) -> None:
        for key in list(a) + [k for k in b if k not in a]:
            inner = where.key(key)
            if key not in b:
                self.say(inner, f"{inner.prefix()} removed (was {_show(a[key])})", "removed")
            elif key not in a:
                self.say(inner, f"{inner.prefix()} set to {_show(b[key])}", "added")
            else:
                self.value(a[key], b[key], inner)

    def _list(self, a: list, b: list, where: _Where) -> None:
        kind = _ITEM_KINDS.get(where.shape)
        if kind is not None:
            return self._items(a, b, where, *kind)
        if any(isinstance(item, BaseModel) for item in a + b):
            return self._positions(a, b, where)
        return self._scalars(a, b, where)

    def _scalars(self, a: list, b: list, where: _Where) -> None:
        """A list of plain values (permissions, tags, phrases): what came and what went."""
        old, new = Counter(map(_show, a)), Counter(map(_show, b))
        gained = [x for x in map(_show, b) if new[x] > old[x]]
        lost = [x for x in map(_show, a) if old[x] > new[x]]
        rel = where.rel
        simple = rel and "." not in rel and "#" not in rel
        noun = _singular(rel.replace("_", " ")) if simple else None
        for value in dict.fromkeys(gained):
            value = value.strip("'")
            if noun:
                self.say(where, f"{where.label} gains {noun} {value}", "added")
            else:
                self.say(where, f"{where.prefix()} gains {value}", "added")
        for value in dict.fromkeys(lost):
            value = value.strip("'")
            if noun:
                self.say(where, f"{where.label} loses {noun} {value}", "removed")
            else:
                self.say(where, f"{where.prefix()} loses {value}", "removed")
        if not gained and not lost:
            self.say(where, f"{where.prefix()} reordered: {_show(a)} -> {_show(b)}")

    def _positions(self, a: list, b: list, where: _Where) -> None:
        """Items without ids (approval rules, questions, examples): compared place by place."""
        for index in range(max(len(a), len(b))):
            inner = where.position(index)
            if index >= len(b):
                self.say(inner, f"{inner.prefix()} removed ({_show(a[index])})", "removed")
            elif index >= len(a):
                self.say(inner, f"{where.prefix()} gains #{index + 1}: {_show(b[index])}", "added")
            else:
                self.value(a[index], b[index], inner)

    def _items(self, a: list, b: list, where: _Where, kind: str, plural: str) -> None:
        """Items with ids, matched by id: new, removed, changed, and a new order where order matters."""
        key = _ITEM_KEYS.get(where.shape, "id")
        old = {getattr(item, key): item for item in a}
        new = {getattr(item, key): item for item in b}
        if len(old) != len(a) or len(new) != len(b):  # duplicate names: compare place by place
            return self._positions(a, b, where)
        for item_id, item in old.items():
            inner = where.item(item_id, kind)
            if item_id not in new:
                self.say(inner, f"{kind} '{item_id}' removed", "removed")
            else:
                self.value(item, new[item_id], inner)
        for item_id, item in new.items():
            if item_id not in old:
                inner = where.item(item_id, kind)
                self.say(inner, f"New {kind[0].lower()}{kind[1:]} '{item_id}'{self._summary(item)}", "added")
        common_old = [i for i in old if i in new]
        common_new = [i for i in new if i in old]
        if common_old != common_new and where.shape in _ORDERED:
            self.say(
                where,
                f"{plural[0].upper()}{plural[1:]} now checked in the order {', '.join(common_new)} "
                f"(was {', '.join(common_old)})",
            )

    def _summary(self, item: Any) -> str:
        if isinstance(item, EscalationRule):
            return f": {when_words(item.when, self.new)}, {actions_words(item.do, self.new)}"
        for name in ("title", "name"):
            value = getattr(item, name, None)
            if isinstance(value, str):
                return f" ({value})"
        return ""

    # ---- the clauses with their own sentences

    def _target(self, a: Target | None, b: Target | None, where: _Where) -> None:
        metric = where.shape[-1].replace("_", " ")
        if a is None:
            return self.say(where, f"{where.label} gains a {metric} target: {_target_text(b)}", "added")
        if b is None:
            return self.say(
                where, f"{where.label} no longer has a {metric} target (was {_target_text(a)})", "removed"
            )
        if a.uniform and b.uniform:
            return self.say(where, f"{where.label}: {metric} {_target_text(a)} -> {_target_text(b)}")
        for priority in reversed(PRIORITIES):
            before, after = a.for_priority(priority), b.for_priority(priority)
            if (before and before.seconds) == (after and after.seconds):
                continue
            clause = where.key(priority)
            kind: Kind = "added" if before is None else "removed" if after is None else "changed"
            self.say(
                clause,
                f"{where.label}: {metric} for {priority} priority {_show(before)} -> {_show(after)}",
                kind,
            )

    def _match(self, a: Match, b: Match, where: _Where) -> None:
        before = match_words(a, self.old)
        after = match_words(b, self.new)
        self.say(where, f"{where.label} now applies to: {after} (was: {before})")

    def _hours(self, a: WeeklyHours | str, b: WeeklyHours | str, where: _Where) -> None:
        if not isinstance(a, WeeklyHours) or not isinstance(b, WeeklyHours):
            return self.say(where, f"{where.label}: hours {_hours_text(a)} -> {_hours_text(b)}")
        for day, name in enumerate(DAY_WORDS):
            before: tuple[tuple[int, int], ...] | None = a.days.get(day)
            after: tuple[tuple[int, int], ...] | None = b.days.get(day)
            if before == after:
                continue
            clause = where.key(name[:3].lower())
            if before is None:
                hours = format_ranges(list(after or ()))
                self.say(clause, f"{where.label}: now open on {name} {hours}", "added")
            elif after is None:
                self.say(
                    clause,
                    f"{where.label}: now closed on {name} (was {format_ranges(list(before))})",
                    "removed",
                )
            else:
                was, now = format_ranges(list(before)), format_ranges(list(after))
                self.say(clause, f"{where.label}: {name} hours {was} -> {now}")

    def _steps(self, a: list[str], b: list[str], where: _Where) -> None:
        matcher = difflib.SequenceMatcher(a=a, b=b, autojunk=False)
        for op, i1, i2, j1, j2 in matcher.get_opcodes():
            if op == "equal":
                continue
            pairs = min(i2 - i1, j2 - j1) if op == "replace" else 0
            for k in range(pairs):
                clause = where.position(j1 + k)
                self.say(clause, f"{where.label}: step {j1 + k + 1} changed: '{a[i1 + k]}' -> '{b[j1 + k]}'")
            for k in range(i1 + pairs, i2):
                self.say(where.position(k), f"{where.label} loses step {k + 1}: {a[k]}", "removed")
            for k in range(j1 + pairs, j2):
                self.say(where.position(k), f"{where.label} gains step {k + 1}: {b[k]}", "added")

    def _glossary(self, a: dict[str, str], b: dict[str, str], where: _Where) -> None:
        for term in a:
            if term not in b:
                self.say(where.key(term), f"Glossary loses term '{term}'", "removed")
            elif a[term] != b[term]:
                self.say(where.key(term), f"Glossary: definition of '{term}' changed")
        for term in b:
            if term not in a:
                self.say(where.key(term), f"Glossary gains term '{term}'", "added")

    def _rule(self, a: EscalationRule, b: EscalationRule, where: _Where) -> None:
        if _norm(a.when) != _norm(b.when) or _norm(a.do) != _norm(b.do):
            self.say(
                where,
                f"{where.label} now reads: {rule_words(b, self.new)} (was: {rule_words(a, self.old)})",
            )
        for name in type(a).model_fields:
            if name not in ("when", "do"):
                self.value(getattr(a, name), getattr(b, name), where.field(name))
