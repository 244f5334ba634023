"""What changed between two versions of a protocol, in sentences a manager understands.

    >>> for change in diff_protocols(old, new):
    ...     print(change)
    Version 3.2 -> 3.3
    SLA policy 'standard': first response for high priority 4h -> 2h
    Role 'lead' gains permission refund.approve

Items that have an ``id`` (roles, policies, rules, procedures, ...) are compared by id,
not by position. The clauses people change most (targets, hours, permissions, steps,
escalation rules, the policy order) have their own sentences; every other field falls
back to a generic sentence in which the field has its human label (``_FIELDS``: ``Refunds:
refund window 30 days -> 14 days``), the items without ids their place counted from 1
(``Refund approval rule 1``) and quiz answers the handbook's letters, so no difference is
ever left out and none shows a raw key. Durations compare by length: ``60m`` and ``1h``
are the same target.
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
from .render.words import action_words, actions_words, hours_words, match_words, rule_words, when_words

Kind = Literal["added", "removed", "changed"]


@dataclass(frozen=True, slots=True)
class Change:
    """One difference: the top-level ``section``, the ``clause`` (a path such as
    ``sla.policies[standard].targets.first_response.high``) and the sentence."""

    section: str
    clause: str
    text: str
    kind: Kind
    # For a value that went from one thing to another: what it is, and its two values as words
    # (the compare page shows them side by side); empty for changes said in one sentence.
    what: str = ""
    before: str = ""
    after: str = ""

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


# Nested mappings that read as a thing of their own: a change inside one is said of this label
# ("{label}" is the label of what holds it: the calendar of a holidays mapping).
_SUBJECTS: dict[tuple[str, ...], str] = {
    ("introduction",): "Introduction",
    ("team",): "Team",
    ("channels",): "Channels",
    ("sla",): "SLA",
    ("resolution", "handling"): "Ticket handling",
    ("resolution", "follow_up"): "Follow-up message",
    ("refunds", "limits"): "Refunds",
    ("privacy", "retention"): "Privacy",
    ("privacy", "access"): "Privacy",
    ("surveys", "csat"): "CSAT survey",
    ("surveys", "nps"): "NPS survey",
    ("surveys", "ces"): "CES survey",
    ("emergency", "critical_incident"): "Critical incidents",
    ("emergency", "disaster_recovery"): "Disaster recovery",
    ("etiquette", "greeting"): "Greeting check",
    ("etiquette", "closing"): "Closing check",
    ("etiquette", "empathy"): "Empathy check",
    ("etiquette", "empathy", "when"): "Empathy check",
    ("calendars", "*", "holidays"): "{label}",
    ("contingencies", "*", "detect"): "{label}",
    ("training", "modules", "*", "quiz"): "{label}",
}

# Lists of items without ids, compared place by place: what the item at place {n} is called.
_POSITIONS: dict[tuple[str, ...], str] = {
    ("refunds", "approval"): "Refund approval rule {n}",
    ("reporting", "schedule"): "Report schedule {n}",
    ("training", "modules", "*", "examples"): "{label}, example {n}",
    ("training", "modules", "*", "quiz", "questions"): "{label}, question {n}",
    ("resolution", "troubleshooting", "*", "answers"): "{label}, answer {n}",
}

# ... and what one such item is called when one comes or goes ("Refunds gains approval rule 4").
_POSITION_NOUNS: dict[tuple[str, ...], str] = {
    ("refunds", "approval"): "approval rule",
    ("reporting", "schedule"): "report schedule",
}

# Every field by its key, as a manager would name it; a shape (key with the keys above it)
# names a key that means something else in one place.
_FIELDS: dict[str, str] = {
    "notes": "notes",
    "purpose": "purpose",
    "scope": "scope",
    "structure": "team structure",
    "internal": "internal communication",
    "company": "company",
    "title": "title",
    "text": "wording",
    "kpi": "KPI",
    "target": "target",
    "id": "id",
    "tier": "tier",
    "reports_to": "reports to",
    "name": "name",
    "timezone": "time zone",
    "country": "public holidays of",
    "subdivision": "public holidays of the region",
    "kind": "kind",
    "address": "address",
    "calendar": "calendar",
    "assignment": "tickets are assigned",
    "auto_close_solved_after": "solved tickets close automatically after",
    "question": "question",
    "label": "wording",
    "resolution": "resolution",
    "next": "next question",
    "escalation_criteria": "escalation criteria",
    "after_solved": "delay after solving",
    "message": "message",
    "currency": "currency",
    "window_days": "refund window",
    "per_customer_per_year": "refunds per customer per year",
    "up_to": "up to",
    "above": "above",
    "approve": "approved by",
    "data_handling": "data handling",
    "policy_url": "privacy policy link",
    "closed_tickets": "closed tickets are kept for",
    "attachments": "attachments are kept for",
    "material": "material",
    "situation": "situation",
    "right": "the right way",
    "wrong": "the wrong way",
    "pass_mark": "pass mark",
    "q": "wording",
    "answer": "the right answer",
    "recertify": "must be retaken",
    "feedback": "feedback",
    "review_every": "articles are reviewed every",
    "owners": "articles are owned by",
    "send_after": "delay after solving",
    "every": "sent every",
    "scale": "rating scale",
    "report": "report",
    "banner": "banner",
    "auto_reply": "automatic reply",
    "update_every": "update reminder every",
    "sla_policy": "SLA policy",
    "backup_every": "backups every",
    "keep": "backups kept",
    "rpo": "most data that may be lost (RPO)",
    "rto": "longest time to recover (RTO)",
    "max_words": "word limit",
    "role": "role",
    "email": "email",
    "to": "sent to",
    "phone": "phone",
}
_SHAPE_FIELDS: dict[tuple[str, ...], str] = {
    ("reporting", "schedule", "#", "every"): "sent",
    ("contacts", "*", "role"): "job",
}

# Lists of plain values, by key: what one value is called ("Role 'lead' gains permission ...").
_NOUNS: dict[str, str] = {
    "permissions": "permission",
    "responsibilities": "responsibility",
    "roles": "role",
    "channels": "channel",
    "illustrations": "illustration",
    "phrases_any": "trigger phrase",
    "customer_phrases_any": "trigger phrase",
    "do": "action",
    "conditions": "condition",
    "exclusions": "excluded product category",
    "choices": "choice",
    "patterns": "pattern",
    "banned_phrases": "banned phrase",
    "tags_any": "tag",
    "tags_all": "tag",
    "tags_none": "tag",
}
# Lists that read better as a whole sentence: (said when a value comes, said when it goes).
_LIST_SENTENCES: dict[str, tuple[str, str]] = {
    "closed": ("closed on {v}", "no longer closed on {v}"),
    "pause_when": ("clocks now pause while {v}", "clocks no longer pause while {v}"),
    "redact": ("now redacts {v}", "no longer redacts {v}"),
    "customer_data": ("{v} may now see customer data", "{v} may no longer see customer data"),
    "exports": ("{v} may now export customer data", "{v} may no longer export customer data"),
    "covers": ("now covers {v}", "no longer covers {v}"),
    "required_for": ("now required for {v}", "no longer required for {v}"),
    "declare": ("{v} may now declare one", "{v} may no longer declare one"),
    "to": ("now sent to {v}", "no longer sent to {v}"),
    "kpis": ("now reports {v}", "no longer reports {v}"),
}
# Yes-or-no fields: (said when it becomes true, said when it becomes false).
_SWITCHES: dict[str, tuple[str, str]] = {
    "acknowledge": ("now sends an automatic receipt", "no longer sends an automatic receipt"),
    "required": ("now required", "no longer required"),
    "shouting": ("now reacts to shouting (text in capitals)", "no longer reacts to shouting"),
    "use_customer_name": (
        "replies must now use the customer's name",
        "replies no longer need to use the customer's name",
    ),
}
_SHAPE_SWITCHES: dict[tuple[str, ...], tuple[str, str]] = {
    ("resolution", "procedures", "*", "required"): (
        "every step must now be ticked before the ticket is solved",
        "steps no longer need to be ticked before the ticket is solved",
    ),
}
# Values said in words, by the key that holds them.
_WORDS: dict[str, dict[Any, str]] = {
    "pause_when": {"pending": "pending", "on_hold": "on hold"},
    "redact": {
        "payment_card": "card numbers",
        "iban": "IBANs",
        "national_id": "national ID numbers",
        "password": "passwords",
        "email_address": "email addresses",
        "phone_number": "phone numbers",
    },
    "assignment": {"round_robin": "in turn", "least_open": "to whoever has fewest open", "manual": "by hand"},
    "approve": {"auto": "the desk, automatically"},
    "recertify": {"on_change": "whenever a section it covers changes", "never": "never"},
}
# Fields whose values are names and codes (a role, a calendar, a currency): shown as they are.
_TOKENS = frozenset(
    {
        "kpi", "reports_to", "timezone", "country", "subdivision", "kind", "calendar", "currency",
        "approve", "owners", "report", "sla_policy", "metric",
    }
)  # fmt: skip
# Objective targets, by key.
_TARGET_WORDS = {
    "p50": "median",
    "p90": "90th percentile",
    "p95": "95th percentile",
    "min": "minimum",
    "max": "maximum",
}


def _singular(word: str) -> str:
    """``phrases`` -> ``phrase``, ``policies`` -> ``policy``, ``steps`` -> ``step``: the last word only."""
    head, _, last = word.rpartition(" ")
    if last.endswith("ies") and len(last) > 4:
        one = last[:-3] + "y"
    elif last.endswith(("sses", "shes", "ches", "xes", "zzes")):
        one = last[:-2]
    elif last.endswith("s") and not last.endswith(("ss", "us", "is")):
        one = last[:-1]
    else:
        one = last
    return f"{head} {one}" if head else one


def _field_label(shape: tuple[str, ...]) -> str:
    if shape in _SHAPE_FIELDS:
        return _SHAPE_FIELDS[shape]
    return _FIELDS.get(shape[-1], shape[-1].replace("_", " "))


def _words(key: str, value: Any) -> str:
    """One value as a sentence quotes it, in the words its key calls for."""
    words = _WORDS.get(key, {})
    if isinstance(value, str) and value in words:
        return words[value]
    if key == "answer" and isinstance(value, int) and not isinstance(value, bool):
        return _letter(value)
    if key == "window_days" and isinstance(value, int):
        return f"{value} day" + ("" if value == 1 else "s")
    if key == "pass_mark" and isinstance(value, int):
        return f"{value}%"
    if key == "max_words" and isinstance(value, int):
        return f"{value} words"
    if key == "scale" and isinstance(value, int):
        return f"1 to {value}"
    if key == "recertify" and isinstance(value, Duration):
        return f"every {value.text}"
    if (
        isinstance(value, str)
        and (key in _NOUNS or key in _LIST_SENTENCES or key in _TOKENS)
        and " " not in value
    ):
        return value  # a permission, a role, a currency: a name, not a phrase
    return _show(value)


def _rebound(a: BaseModel, b: BaseModel) -> bool:
    """Whether an approval rule changed the kind of its bound (up_to became above): a new rule, in effect."""
    return any((getattr(a, name) is None) != (getattr(b, name) is None) for name in ("up_to", "above"))


def _lower_first(text: str) -> str:
    """``Training module`` -> ``training module``, but ``SLA policy`` stays as it is."""
    return text if text[1:2].isupper() else text[:1].lower() + text[1:]


def _letter(index: int) -> str:
    """The handbook letters the choices of a question a, b, c, ..."""
    return chr(ord("a") + index) if 0 <= index < 26 else str(index + 1)


def _model_words(model: BaseModel, shape: tuple[str, ...]) -> str:
    """A whole item without an id (an approval rule, a question), field by field in words."""
    parts = []
    for name in type(model).model_fields:
        value = getattr(model, name)
        if value in (None, [], {}, False) or _is_long(value):
            continue
        inner = (*shape, name)
        if isinstance(value, list):
            shown = ", ".join(_words(name, item) for item in value)
        else:
            shown = _words(name, value)
        parts.append(f"{_field_label(inner)} {shown}")
    return ", ".join(parts)


@dataclass
class _Where:
    """Where the walk is: the clause path, the shape (ids replaced by ``*``, places by ``#``), the
    label of the nearest named thing, the words for the path from it, and the key last taken."""

    section: str
    clause: str
    shape: tuple[str, ...]
    label: str
    rel: str
    name: str = ""
    outer: str = ""  # ``rel`` before the last key was taken

    def field(self, name: str) -> _Where:
        shape = (*self.shape, name)
        clause = f"{self.clause}.{name}"
        subject = _SUBJECTS.get(shape)
        if name == "next":  # the question a troubleshooting answer leads to
            subject = "{label}, follow-up"
        if subject is not None:
            return _Where(self.section, clause, shape, subject.format(label=self.prefix()), "", name)
        rel = f"{self.rel} {_field_label(shape)}".strip()
        return _Where(self.section, clause, shape, self.label, rel, name, self.rel)

    def item(self, item_id: str, kind: str) -> _Where:
        return _Where(
            self.section, f"{self.clause}[{item_id}]", (*self.shape, "*"), f"{kind} '{item_id}'", ""
        )

    def position(self, index: int) -> _Where:
        shape = (*self.shape, "#")
        noun = _singular(_field_label(self.shape)) if self.shape[-1] not in ".*#" else "item"
        template = _POSITIONS.get(self.shape, "{label}, " + noun + " {n}")
        label = template.format(label=self.outer_prefix(), n=index + 1)
        return _Where(self.section, f"{self.clause}[{index}]", shape, label, "")

    def key(self, key: Any) -> _Where:
        text = str(key)
        return _Where(
            self.section,
            f"{self.clause}.{text}",
            (*self.shape, "."),
            self.label,
            f"{self.rel} {text}".strip(),
            self.name,
            self.rel,
        )

    def prefix(self) -> str:
        """``Refunds: refund window`` / ``Role 'lead'`` - the start of a sentence."""
        return f"{self.label}: {self.rel}" if self.rel else self.label

    def outer_prefix(self) -> str:
        """The start of a sentence about what holds the last key (``Calendar 'office'`` for its dates)."""
        return f"{self.label}: {self.outer}" if self.outer else self.label

    def lead(self) -> str:
        """``Calendar 'office': `` - the start of a whole-sentence clause about what holds the last key."""
        return f"{self.outer_prefix()}: "


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
            ("calendars", "*", "holidays", "open"): self._open_dates,
            ("objectives", "*", "target"): self._objective_target,
            ("reporting", "kpis"): self._kpis,
        }

    def emit(self, section: str, clause: str, text: str, kind: Kind) -> None:
        self.changes.append(Change(section, clause, text, kind))

    def say(self, where: _Where, text: str, kind: Kind = "changed") -> None:
        self.emit(where.section, where.clause, text, kind)

    def went(self, where: _Where, what: str, before: str, after: str, kind: Kind = "changed") -> None:
        """``what`` went from ``before`` to ``after``: the sentence "what before -> after" and its parts."""
        text = f"{what} {before} -> {after}"
        self.changes.append(Change(where.section, where.clause, text, kind, what, before, after))

    # ---- top level

    def section(self, name: str, a: Any, b: Any) -> None:
        where = _Where(name, name, (name,), _SECTION_LABELS.get(name, name), "")
        if name == "version":
            return self.went(where, "Version", str(a), str(b))
        if name == "effective":
            if a is None:
                return self.say(where, f"Effective date set to {b} (no longer a draft)", "added")
            if b is None:
                return self.say(where, f"Effective date {a} removed (now a draft)", "removed")
            return self.went(where, "Effective date", str(a), str(b))
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
        switch = _SHAPE_SWITCHES.get(where.shape) or _SWITCHES.get(where.name)
        if isinstance(a, bool) and isinstance(b, bool) and switch is not None:
            return self.say(where, where.lead() + (switch[0] if b else switch[1]))
        if _is_long(a) or _is_long(b):
            return self.say(where, f"{where.prefix()} text changed")
        self.went(where, where.prefix(), _words(where.name, a), _words(where.name, b))

    def _set_or_unset(self, a: Any, b: Any, where: _Where) -> None:
        if a is None:
            if isinstance(b, BaseModel) or _is_long(b):
                return self.say(where, f"{where.prefix()} added", "added")
            return self.went(where, where.prefix(), "none", _words(where.name, b), "added")
        if isinstance(a, BaseModel) or _is_long(a):
            return self.say(where, f"{where.prefix()} removed", "removed")
        self.went(where, where.prefix(), _words(where.name, a), "none", "removed")

    def _kpis(self, a: list | None, b: list | None, where: _Where) -> None:
        """``reporting.kpis``: without the key every KPI is reported, with ``[]`` none."""
        if a is not None and b is not None:
            return self._list(a, b, where)
        if b is None:
            return self.say(where, where.lead() + "now reports every KPI", "added")
        listed = ", ".join(_words("kpis", kpi) for kpi in b)
        self.say(
            where,
            where.lead() + (f"now reports only {listed}" if listed else "now reports no KPI"),
            "removed",
        )

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
        key = where.name
        if key == "do":  # actions, said as the handbook says them
            shown_a = [action_words(item, self.old) for item in a]
            shown_b = [action_words(item, self.new) for item in b]
        else:
            shown_a = [_words(key, item) for item in a]
            shown_b = [_words(key, item) for item in b]
        old, new = Counter(shown_a), Counter(shown_b)
        gained = [x for x in shown_b if new[x] > old[x]]
        lost = [x for x in shown_a if old[x] > new[x]]
        sentence = _LIST_SENTENCES.get(key)
        noun = _NOUNS.get(key) or _singular(_field_label(where.shape))
        for value in dict.fromkeys(gained):
            if sentence:
                self.say(where, where.lead() + sentence[0].format(v=value), "added")
            else:
                self.say(
                    where, f"{where.outer_prefix()} gains {noun}{':' if key == 'do' else ''} {value}", "added"
                )
        for value in dict.fromkeys(lost):
            if sentence:
                self.say(where, where.lead() + sentence[1].format(v=value), "removed")
            else:
                self.say(
                    where,
                    f"{where.outer_prefix()} loses {noun}{':' if key == 'do' else ''} {value}",
                    "removed",
                )
        if not gained and not lost:
            self.went(where, f"{where.prefix()} reordered:", ", ".join(shown_a), ", ".join(shown_b))

    def _positions(self, a: list, b: list, where: _Where) -> None:
        """Items without ids (approval rules, questions, examples): compared place by place."""
        shape = (*where.shape, "#")
        noun = _POSITION_NOUNS.get(where.shape) or _singular(_field_label(where.shape))
        for index in range(max(len(a), len(b))):
            inner = where.position(index)
            if index >= len(b):
                said = _model_words(a[index], shape)
                self.say(inner, f"{where.outer_prefix()} loses {noun} {index + 1} ({said})", "removed")
            elif index >= len(a):
                said = _model_words(b[index], shape)
                self.say(inner, f"{where.outer_prefix()} gains {noun} {index + 1}: {said}", "added")
            elif where.shape == ("refunds", "approval") and _rebound(a[index], b[index]):
                was, now = _model_words(a[index], shape), _model_words(b[index], shape)
                self.say(inner, f"{inner.label} now reads: {now} (was: {was})")
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
                self.say(inner, f"New {_lower_first(kind)} '{item_id}'{self._summary(item, key)}", "added")
        common_old = [i for i in old if i in new]
        common_new = [i for i in new if i in old]
        if common_old != common_new and where.shape in _ORDERED:
            self.say(
                where,
                f"{plural[0].upper()}{plural[1:]} now checked in the order {', '.join(common_new)} "
                f"(was {', '.join(common_old)})",
            )

    def _summary(self, item: Any, key: str = "id") -> str:
        if isinstance(item, EscalationRule):
            return f": {when_words(item.when, self.new)}, {actions_words(item.do, self.new)}"
        for name in ("title", "name"):
            value = getattr(item, name, None)
            if isinstance(value, str) and name != key:  # a contact is named by its name already
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
            return self.went(where, f"{where.label}: {metric}", _target_text(a), _target_text(b))
        for priority in reversed(PRIORITIES):
            before, after = a.for_priority(priority), b.for_priority(priority)
            if (before and before.seconds) == (after and after.seconds):
                continue
            clause = where.key(priority)
            kind: Kind = "added" if before is None else "removed" if after is None else "changed"
            self.went(
                clause, f"{where.label}: {metric} for {priority} priority", _show(before), _show(after), kind
            )

    def _match(self, a: Match, b: Match, where: _Where) -> None:
        before = match_words(a, self.old)
        after = match_words(b, self.new)
        self.say(where, f"{where.label} now applies to: {after} (was: {before})")

    def _hours(self, a: WeeklyHours | str, b: WeeklyHours | str, where: _Where) -> None:
        if not isinstance(a, WeeklyHours) or not isinstance(b, WeeklyHours):
            return self.went(where, f"{where.label}: hours", _hours_text(a), _hours_text(b))
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
                self.went(clause, f"{where.label}: {name} hours", was, now)

    def _steps(self, a: list[str], b: list[str], where: _Where) -> None:
        matcher = difflib.SequenceMatcher(a=a, b=b, autojunk=False)
        for op, i1, i2, j1, j2 in matcher.get_opcodes():
            if op == "equal":
                continue
            pairs = min(i2 - i1, j2 - j1) if op == "replace" else 0
            for k in range(pairs):
                clause = where.position(j1 + k)
                self.went(
                    clause, f"{where.label}: step {j1 + k + 1} changed:", f"'{a[i1 + k]}'", f"'{b[j1 + k]}'"
                )
            for k in range(i1 + pairs, i2):
                self.say(where.position(k), f"{where.label} loses step {k + 1}: {a[k]}", "removed")
            for k in range(j1 + pairs, j2):
                self.say(where.position(k), f"{where.label} gains step {k + 1}: {b[k]}", "added")

    def _open_dates(self, a: dict, b: dict, where: _Where) -> None:
        for day in [*a, *(day for day in b if day not in a)]:
            clause = where.key(day)
            if day not in b:
                self.say(
                    clause,
                    f"{where.label}: no longer open on {day} (was {format_ranges(list(a[day]))})",
                    "removed",
                )
            elif day not in a:
                self.say(clause, f"{where.label}: open on {day} {format_ranges(list(b[day]))}", "added")
            elif a[day] != b[day]:
                was, now = format_ranges(list(a[day])), format_ranges(list(b[day]))
                self.went(clause, f"{where.label}: hours on {day}", was, now)

    def _objective_target(self, a: dict, b: dict, where: _Where) -> None:
        for key in [*a, *(key for key in b if key not in a)]:
            clause = where.key(key)
            name = _TARGET_WORDS.get(key, key)
            if key not in b:
                self.say(
                    clause, f"{where.label} no longer has a {name} target (was {_show(a[key])})", "removed"
                )
            elif key not in a:
                self.say(clause, f"{where.label} gains a {name} target: {_show(b[key])}", "added")
            elif _norm(a[key]) != _norm(b[key]):
                self.went(clause, f"{where.label}: {name} target", _show(a[key]), _show(b[key]))

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
