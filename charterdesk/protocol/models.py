"""The protocol file (format 1) as typed models.

One model per section of specs/protocol-format.md, in the order of the spec.
Every model forbids unknown keys. Values with a small language of their own
(durations, opening hours, actions, targets) are parsed here into typed values
so that the engines never see raw strings; their errors are written for the
person who edits the file (``'8 hours' is not a duration; write 8h``).

Cross-references between sections (a group naming a role, a policy naming a
calendar, ...) are checked after parsing, in ``checks.py``.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
import unicodedata
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from .durations import Duration, DurationError, parse_duration
from .hours import HoursError, TimeRange, parse_days, parse_ranges
from .tags import normal_tag, tag_problem

STATUSES = ("new", "open", "pending", "on_hold", "solved", "closed")
PRIORITIES = ("low", "normal", "high", "urgent")
METRICS = ("first_response", "next_response", "periodic_update", "resolution")
CHANNEL_KINDS = ("email", "web", "chat", "phone", "api", "social")
KPI_NAMES = (
    "first_response_time",
    "next_response_time",
    "resolution_time",
    "sla_compliance",
    "csat",
    "nps",
    "ces",
    "fcr",
    "backlog",
    "reopen_rate",
    "handle_time",
)
REDACTORS = ("payment_card", "iban", "national_id", "password", "email_address", "phone_number")
# The sections a training module may cover: every optional or required top-level section.
SECTION_KEYS = (
    "introduction",
    "objectives",
    "team",
    "calendars",
    "channels",
    "sla",
    "escalation",
    "resolution",
    "contingencies",
    "refunds",
    "privacy",
    "training",
    "knowledge_base",
    "surveys",
    "reporting",
    "emergency",
    "etiquette",
    "glossary",
    "contacts",
)

Status = Literal["new", "open", "pending", "on_hold", "solved", "closed"]
Priority = Literal["low", "normal", "high", "urgent"]
Metric = Literal["first_response", "next_response", "periodic_update", "resolution"]

_ID = re.compile(r"[a-z0-9][a-z0-9_-]*")


def _fail(message: str, *, at: str | None = None, key: bool = False) -> PydanticCustomError:
    """An error in the author's words.

    ``at`` names the key inside the value where it stands; ``key=True`` places the error on
    that key itself (an unknown priority) rather than on its value (a bad duration).
    """
    context: dict[str, Any] = {}
    if at is not None:
        context["at"] = at
    if key:
        context["key"] = True
    return PydanticCustomError("charterdesk", message, context or None)


def did_you_mean(name: object, known: Any, *, cutoff: float = 0.6) -> str:
    """``"; did you mean 'urgent'?"`` when ``name`` is close to one of ``known``, else ``""``."""
    text = str(name)
    candidates = [str(k) for k in known]
    lowered = {c.lower(): c for c in candidates}
    if text.lower() in lowered:
        return f"; did you mean '{lowered[text.lower()]}'?"
    close = difflib.get_close_matches(text, candidates, n=1, cutoff=cutoff)
    return f"; did you mean '{close[0]}'?" if close else ""


_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def explain_date(value: object) -> str:
    """Why ``value`` is not a date, in words: ``'2026-02-30' is not a date: February has no day 30``."""
    text = str(value)
    stamp = re.match(r"(\d{4}-\d{2}-\d{2})[T ]+\d", text.strip())
    if stamp:
        return f"'{text}' is a date and a time; write only the date, {stamp.group(1)}"
    match = re.fullmatch(r"(\d{4})-(\d{1,2})-(\d{1,2})", text.strip())
    if match:
        year, month, day = (int(g) for g in match.groups())
        if not 1 <= month <= 12:
            return f"'{text}' is not a date: there is no month {month}; write YYYY-MM-DD"
        try:
            dt.date(year, month, day)
        except ValueError:
            return f"'{text}' is not a date: {_MONTHS[month - 1]} {year} has no day {day}"
        if len(match.group(2)) < 2 or len(match.group(3)) < 2:
            return (
                f"'{text}' is not a date; write it with two-digit month and day: {year}-{month:02d}-{day:02d}"
            )
    return f"'{text}' is not a date; write YYYY-MM-DD, such as 2026-12-24"


def _duration_at(value: Any, at: str) -> Duration:
    try:
        return parse_duration(value)
    except DurationError as exc:
        raise _fail(str(exc), at=at) from None


# --------------------------------------------------------------------------- value types


def _duration(value: Any) -> Duration:
    try:
        return parse_duration(value)
    except DurationError as exc:
        raise _fail(str(exc)) from None


DurationValue = Annotated[Duration, BeforeValidator(_duration), PlainSerializer(str)]


def _identifier(value: Any) -> str:
    if not isinstance(value, str) or not _ID.fullmatch(value):
        raise _fail(f"{value!r} is not a valid id; use lower-case letters, digits, '-' and '_'")
    return value


Identifier = Annotated[str, BeforeValidator(_identifier)]


def _text(value: Any) -> str:
    if isinstance(value, bool) or value is None or isinstance(value, (list, dict)):
        raise _fail("must be text")
    return str(value)


# Numbers and dates written where text is expected are taken as text ("3.2" vs 3.2
# is the commonest slip in YAML) - except for `version`, which insists on quotes.
Text = Annotated[str, BeforeValidator(_text)]


# Characters that end a line where a one-line value is written out: in a download's file name (an
# HTTP header), a Markdown heading, an email's subject. Tabs and other control characters are
# never meant in a name either; they come from a paste or a YAML escape such as "Acme\nGear".
_LINE_ENDS = {
    "\n": "a line break",
    "\r": "a carriage return",
    "\u2028": "a line separator",
    "\u2029": "a paragraph separator",
}


def _control_character(char: str) -> str | None:
    """What ``char`` is, in words, when a one-line value may not hold it; else None."""
    if char in _LINE_ENDS:
        return _LINE_ENDS[char]
    if char == "\t":
        return "a tab"
    if unicodedata.category(char) == "Cc":
        return f"the control character U+{ord(char):04X}"
    return None


def shown_on_one_line(text: str) -> str:
    """``text`` with its control characters written as escapes (``Acme\\nGear``), for a message."""
    return "".join(
        char.encode("unicode_escape").decode("ascii") if _control_character(char) else char for char in text
    )


def _refuse_control_characters(value: str, *, key: bool) -> str:
    for index, char in enumerate(value):
        what = _control_character(char)
        if what is not None:
            where = f"after '{shown_on_one_line(value[:index][-20:])}'" if index else "at its start"
            raise _fail(
                f"'{shown_on_one_line(value)}' must be on one line, but it holds {what} {where}; "
                "write it without",
                key=key,
            )
    return value


def _one_line(value: str) -> str:
    return _refuse_control_characters(value, key=False)


def _one_line_key(value: str) -> str:
    return _refuse_control_characters(value, key=True)


# A name, title, label, address or reference: text that is always shown on one line, so it may
# hold no line break, tab or other control character (descriptions and steps, `Text`, may).
OneLine = Annotated[str, AfterValidator(_one_line)]
# The same, taking numbers and dates as text as `Text` does.
OneLineText = Annotated[str, BeforeValidator(_text), AfterValidator(_one_line)]
# A key of a mapping (a glossary's term): the error stands on the key.
OneLineKey = Annotated[str, AfterValidator(_one_line_key)]


def _one_or_many(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


def _regex(value: Any) -> str:
    if not isinstance(value, str):
        raise _fail("must be a regular expression in quotes")
    try:
        re.compile(value)
    except re.error as exc:
        raise _fail(f"'{value}' is not a valid regular expression: {exc}") from None
    return value


Pattern = Annotated[str, BeforeValidator(_regex)]


def _phrase(value: Any) -> str:
    text = _text(value)
    if not text.strip():
        # The message checks look for a phrase between non-letters; an empty one is "found"
        # in nearly every message, which no author means.
        raise _fail("a blank phrase would be found in nearly every message; write the words to look for")
    return text


# A phrase the message checks look for (specs/message-checks.md): text, never blank.
Phrase = Annotated[str, BeforeValidator(_phrase)]


class Section(BaseModel):
    """Base of every model: unknown keys are errors, the data is immutable once loaded."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=False)


class Prose(Section):
    notes: str | None = None


# --------------------------------------------------------------------------- introduction, objectives


class Introduction(Prose):
    purpose: Text
    scope: Text


class Objective(Section):
    id: Identifier
    text: Text | None = None
    kpi: OneLine
    target: dict[Literal["p50", "p90", "p95", "min", "max"], DurationValue | float]

    @field_validator("target", mode="before")
    @classmethod
    def _target(cls, value: Any) -> Any:
        if not isinstance(value, dict) or not value:
            raise _fail("write a target such as {p90: 1h} for a time or {min: 0.95} for a ratio")
        out: dict[str, Duration | float] = {}
        for key, item in value.items():
            if key in ("p50", "p90", "p95"):
                out[key] = _duration_at(item, str(key))
            elif key in ("min", "max"):
                if isinstance(item, bool) or not isinstance(item, (int, float)):
                    raise _fail(f"{key}: {item!r} is not a number; write a ratio such as 0.95")
                out[key] = float(item)
            else:
                raise _fail(f"unknown target '{key}'; use p50, p90 or p95 for times, min or max for ratios")
        return out


# --------------------------------------------------------------------------- team


class Role(Prose):
    id: Identifier
    title: OneLineText
    tier: int | None = None
    reports_to: OneLine | None = None
    responsibilities: list[Text] = []
    permissions: list[OneLine] = []


class Group(Prose):
    id: Identifier
    name: OneLineText
    roles: list[OneLine] = []
    channels: list[OneLine] = []


class Team(Prose):
    structure: Text | None = None
    roles: list[Role] = Field(min_length=1)
    groups: list[Group] = []


# --------------------------------------------------------------------------- calendars


@dataclass(frozen=True, slots=True)
class WeeklyHours:
    """Open ranges by weekday (0 = Monday); a weekday that is absent is closed."""

    days: dict[int, tuple[TimeRange, ...]]
    text: dict[str, str]


def _hours(value: Any) -> Literal["24x7"] | WeeklyHours:
    if isinstance(value, WeeklyHours) or value == "24x7":
        return value
    if isinstance(value, str) and re.fullmatch(r"\s*24\s*[/x*-]?\s*7\s*", value, re.IGNORECASE):
        raise _fail(f"'{value}': write 24x7 for a calendar that is always open")
    if not isinstance(value, dict):
        raise _fail('write 24x7 or a map of days to hours, such as {mon-fri: "09:00-17:00"}')
    # An empty map is allowed here: a calendar open only on its `open` dates. A calendar that
    # is never open at all is reported by the cross-checks.
    days: dict[int, tuple[TimeRange, ...]] = {}
    named_in: dict[int, str] = {}
    for spec, ranges in value.items():
        try:
            numbers = parse_days(str(spec))
        except HoursError as exc:
            raise _fail(str(exc), at=str(spec), key=True) from None
        try:
            parsed = tuple(parse_ranges(_hours_text(ranges)))
        except HoursError as exc:
            raise _fail(str(exc), at=str(spec)) from None
        for day in numbers:
            if day in days:
                earlier = named_in[day]
                where = f"'{earlier}' and '{spec}'" if earlier != str(spec) else f"'{spec}'"
                raise _fail(
                    f"{_DAY_WORD[day]} is named twice, in {where}; name each day once", at=str(spec), key=True
                )
            days[day] = parsed
            named_in[day] = str(spec)
    return WeeklyHours(days=days, text={str(k): str(v) for k, v in value.items()})


def _hours_text(ranges: Any) -> str:
    if isinstance(ranges, list):
        return ",".join(str(r) for r in ranges)
    if ranges is None or isinstance(ranges, bool):
        raise HoursError(
            "no hours given; write a range such as 09:00-17:00, or leave the day out to close it"
        )
    return str(ranges)


_DAY_WORD = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def _open_hours(value: Any) -> Any:
    if not isinstance(value, dict):
        raise _fail('write a map of dates to hours, such as {2026-12-26: "10:00-14:00"}')
    out = {}
    for day, ranges in value.items():
        if not isinstance(day, dt.date) or isinstance(day, dt.datetime):
            raise _fail(explain_date(day), at=str(day), key=True)
        try:
            out[day] = tuple(parse_ranges(_hours_text(ranges)))
        except HoursError as exc:
            raise _fail(str(exc), at=str(day)) from None
    return out


class Holidays(Section):
    country: OneLine | None = None
    subdivision: OneLine | None = None
    closed: list[dt.date] = []
    open: Annotated[dict[dt.date, tuple[tuple[int, int], ...]], BeforeValidator(_open_hours)] = {}


class Calendar(Prose):
    id: Identifier
    timezone: OneLine | None = None
    hours: Annotated[Literal["24x7"] | WeeklyHours, BeforeValidator(_hours)]
    holidays: Holidays | None = None

    model_config = ConfigDict(arbitrary_types_allowed=True)

    @property
    def always_open(self) -> bool:
        return self.hours == "24x7"


# --------------------------------------------------------------------------- channels


class Channel(Prose):
    id: Identifier
    kind: Literal["email", "web", "chat", "phone", "api", "social"]
    address: OneLine | None = None
    calendar: OneLine | None = None
    acknowledge: bool = False


class Channels(Prose):
    customer: list[Channel] = Field(min_length=1)
    internal: Text | None = None

    def kind_of(self, channel_id: str) -> str | None:
        """The kind of the customer channel with this id (``voice`` -> ``phone``), or None."""
        return next((c.kind for c in self.customer if c.id == channel_id), None)


# --------------------------------------------------------------------------- SLA


OneOrMany = BeforeValidator(_one_or_many)


class Match(Section):
    """Which tickets a policy, procedure or rule applies to. Empty: every ticket."""

    priority: Annotated[list[Priority], OneOrMany] | None = None
    channel: Annotated[list[OneLine], OneOrMany] | None = None
    group: Annotated[list[OneLine], OneOrMany] | None = None
    tags_any: list[OneLine] | None = None
    tags_all: list[OneLine] | None = None
    tags_none: list[OneLine] | None = None

    @property
    def is_catch_all(self) -> bool:
        return not any(
            (self.priority, self.channel, self.group, self.tags_any, self.tags_all, self.tags_none)
        )

    def fits(
        self, *, priority: str, channel: str, group: str | None, tags: frozenset[str] | set[str]
    ) -> bool:
        if self.priority is not None and priority not in self.priority:
            return False
        if self.channel is not None and channel not in self.channel:
            return False
        if self.group is not None and group not in self.group:
            return False
        if self.tags_any is not None and not tags.intersection(self.tags_any):
            return False
        if self.tags_all is not None and not tags.issuperset(self.tags_all):
            return False
        if self.tags_none is not None and tags.intersection(self.tags_none):  # noqa: SIM103 - one rule a line
            return False
        return True


@dataclass(frozen=True, slots=True)
class Target:
    """One duration for every priority, or a duration per priority (a priority left out has none)."""

    by_priority: dict[str, Duration]
    uniform: bool

    def for_priority(self, priority: str) -> Duration | None:
        return self.by_priority.get(priority)


def _target(value: Any) -> Target | None:
    if value is None or isinstance(value, Target):
        return value
    if isinstance(value, dict):
        by_priority = {}
        for priority, duration in value.items():
            if priority not in PRIORITIES:
                hint = did_you_mean(priority, PRIORITIES) or "; use low, normal, high or urgent"
                raise _fail(f"'{priority}' is not a priority{hint}", at=str(priority), key=True)
            by_priority[priority] = _duration_at(duration, str(priority))
        return Target(by_priority=by_priority, uniform=False)
    if isinstance(value, list):
        raise _fail(
            "a target is one duration (such as 8h) or a map from priority to duration, "
            "such as {urgent: 1h, normal: 8h}"
        )
    duration = _duration(value)
    return Target(by_priority=dict.fromkeys(PRIORITIES, duration), uniform=True)


TargetValue = Annotated[Target | None, BeforeValidator(_target)]


class Targets(Section):
    first_response: TargetValue = None
    next_response: TargetValue = None
    periodic_update: TargetValue = None
    resolution: TargetValue = None

    model_config = ConfigDict(arbitrary_types_allowed=True)

    def get(self, metric: str) -> Target | None:
        return getattr(self, metric)


class Policy(Prose):
    id: Identifier
    match: Match = Field(default_factory=Match)
    calendar: OneLine
    targets: Targets


class Sla(Prose):
    pause_when: list[Literal["pending", "on_hold"]] = ["pending", "on_hold"]
    policies: list[Policy] = Field(min_length=1)

    def policy_for(
        self, *, priority: str, channel: str, group: str | None, tags: frozenset[str] | set[str]
    ) -> Policy | None:
        for policy in self.policies:
            if policy.match.fits(priority=priority, channel=channel, group=group, tags=tags):
                return policy
        return None


# ------------------------------------------------------------------ actions (escalation, contingencies)


@dataclass(frozen=True, slots=True)
class Action:
    """One thing a rule does: ``notify``, ``assign_group``, ``set_priority``, ``add_tag`` or ``add_note``."""

    kind: str
    value: str

    def __str__(self) -> str:
        return f"{self.kind}: {self.value}"


ACTION_KINDS = ("notify", "assign_group", "set_priority", "add_tag", "add_note")
_ACTION_EXAMPLES = {
    "notify": '{notify: "role:lead"}',
    "assign_group": "{assign_group: tier2}",
    "set_priority": "{set_priority: urgent}",
    "add_tag": "{add_tag: escalated}",
    "add_note": "{add_note: Call the customer back}",
}


def _action(value: Any) -> Action:
    if isinstance(value, Action):
        return value
    if isinstance(value, dict) and len(value) > 1:
        keys = ", ".join(str(k) for k in value)
        items = ", ".join(f"{{{k}: ...}}" for k in value)
        raise _fail(f"one action per item: this one has {len(value)} keys ({keys}); write them as [{items}]")
    if not isinstance(value, dict) or not value:
        raise _fail("an action is one key and its value, such as {notify: assignee} or {add_tag: vip}")
    ((kind, argument),) = value.items()
    if kind not in ACTION_KINDS:
        hint = did_you_mean(kind, ACTION_KINDS) or f"; use {', '.join(ACTION_KINDS)}"
        raise _fail(f"'{kind}' is not an action{hint}", at=str(kind), key=True)
    if not isinstance(argument, str) or not argument.strip():
        raise _fail(f"{kind} needs a value in words, such as {_ACTION_EXAMPLES[kind]}", at=str(kind))
    if kind == "set_priority" and argument not in PRIORITIES:
        hint = did_you_mean(argument, PRIORITIES) or "; use low, normal, high or urgent"
        raise _fail(f"'{argument}' is not a priority{hint}", at=str(kind))
    if kind == "add_tag":
        problem = tag_problem(normal_tag(argument))
        if problem:
            raise _fail(problem, at=str(kind))
    return Action(kind=kind, value=argument)


ActionValue = Annotated[Action, BeforeValidator(_action)]


# --------------------------------------------------------------------------- escalation


def _breached(value: Any) -> Any:
    if value is False:
        raise _fail(
            "breached can only be true; "
            "for a rule before or after the breach use before_breach or after_breach"
        )
    return value


class When(Section):
    metric: Literal["first_response", "next_response", "periodic_update", "resolution", "any"]
    before_breach: DurationValue | None = None
    breached: Annotated[Literal[True] | None, BeforeValidator(_breached)] = None
    after_breach: DurationValue | None = None
    priority: Annotated[list[Priority], OneOrMany] | None = None
    channel: Annotated[list[OneLine], OneOrMany] | None = None
    group: Annotated[list[OneLine], OneOrMany] | None = None
    tags_any: list[OneLine] | None = None
    tags_all: list[OneLine] | None = None
    tags_none: list[OneLine] | None = None

    model_config = ConfigDict(arbitrary_types_allowed=True)

    @model_validator(mode="after")
    def _one_condition(self) -> When:
        given = [self.before_breach is not None, bool(self.breached), self.after_breach is not None]
        if sum(given) == 0:
            raise _fail(
                "say when the rule fires: add one of before_breach: 15m, breached: true or after_breach: 2h"
            )
        if sum(given) > 1:
            names = [
                n for n, g in zip(("before_breach", "breached", "after_breach"), given, strict=True) if g
            ]
            raise _fail(
                f"a rule fires on one condition, but this one has {' and '.join(names)}; "
                f"keep one, or make two rules"
            )
        return self

    @property
    def condition(self) -> Literal["before_breach", "breached", "after_breach"]:
        if self.before_breach is not None:
            return "before_breach"
        if self.breached:
            return "breached"
        return "after_breach"

    @property
    def offset(self) -> Duration | None:
        return self.before_breach or self.after_breach

    @property
    def also(self) -> Match:
        """The extra conditions that must hold at the instant the rule fires."""
        return Match(
            priority=self.priority,
            channel=self.channel,
            group=self.group,
            tags_any=self.tags_any,
            tags_all=self.tags_all,
            tags_none=self.tags_none,
        )

    def metrics(self) -> tuple[str, ...]:
        return METRICS if self.metric == "any" else (self.metric,)


class EscalationRule(Prose):
    id: Identifier
    when: When
    do: list[ActionValue] = Field(min_length=1)

    model_config = ConfigDict(arbitrary_types_allowed=True)


# --------------------------------------------------------------------------- resolution


class Handling(Prose):
    assignment: Literal["round_robin", "least_open", "manual"] = "manual"
    auto_close_solved_after: DurationValue | None = None

    model_config = ConfigDict(arbitrary_types_allowed=True)


class Procedure(Prose):
    id: Identifier
    title: OneLineText
    match: Match = Field(default_factory=Match)
    steps: list[Text] = Field(min_length=1)
    required: bool = False
    illustrations: list[OneLine] = []


class TroubleAnswer(Section):
    label: OneLineText
    next: TroubleNode | None = None
    resolution: Text | None = None

    @model_validator(mode="after")
    def _one_outcome(self) -> TroubleAnswer:
        if self.next is None and self.resolution is None:
            raise _fail(
                f"the answer '{self.label}' leads nowhere: "
                f"give it a 'resolution' (what to do) or a 'next' question"
            )
        if self.next is not None and self.resolution is not None:
            raise _fail(f"the answer '{self.label}' has both 'next' and 'resolution'; keep one")
        return self


class TroubleNode(Section):
    question: Text
    answers: list[TroubleAnswer] = Field(min_length=1)


class TroubleTree(TroubleNode):
    id: Identifier
    title: OneLineText | None = None
    # The tickets the tree is shown on, as a procedure's match; without one, agents pick the tree
    # from the ticket page's menu of troubleshooting guides.
    match: Match | None = None


class FollowUp(Prose):
    after_solved: DurationValue
    message: Text

    model_config = ConfigDict(arbitrary_types_allowed=True)


class Resolution(Prose):
    handling: Handling = Field(default_factory=Handling)
    procedures: list[Procedure] = []
    troubleshooting: list[TroubleTree] = []
    escalation_criteria: Text | None = None
    follow_up: FollowUp | None = None


# --------------------------------------------------------------------------- contingencies


class Detect(Section):
    phrases_any: list[Phrase] = []
    shouting: bool = False


class Contingency(Prose):
    id: Identifier
    title: OneLineText
    detect: Detect
    steps: list[Text] = Field(min_length=1)
    do: list[ActionValue] = []

    model_config = ConfigDict(arbitrary_types_allowed=True)


# --------------------------------------------------------------------------- refunds


class ApprovalRule(Section):
    up_to: float | None = Field(default=None, ge=0)
    above: float | None = Field(default=None, ge=0)
    approve: OneLine

    @model_validator(mode="after")
    def _one_bound(self) -> ApprovalRule:
        if self.up_to is None and self.above is None:
            raise _fail("give the rule a bound: up_to: 500 (this amount or less) or above: 500")
        if self.up_to is not None and self.above is not None:
            raise _fail("a rule has one bound, up_to or above, not both; split it into two rules")
        if self.approve != "auto" and not self.approve.startswith("role:"):
            raise _fail(
                f"'{self.approve}' is not auto or role:ID; "
                f'write auto or, for example, "role:{self.approve}"',
                at="approve",
            )
        return self


class RefundLimits(Section):
    per_customer_per_year: int | None = Field(default=None, ge=0)


def _currency(value: Any) -> Any:
    if not isinstance(value, str) or not re.fullmatch(r"[A-Z]{3}", value):
        raise _fail(f"'{value}' is not a currency code; write three capital letters, such as USD or EUR")
    return value


class Refunds(Prose):
    currency: Annotated[str, BeforeValidator(_currency)]
    window_days: int = Field(ge=0)
    conditions: list[Text] = []
    exclusions: list[str] = []
    approval: list[ApprovalRule] = Field(min_length=1)
    limits: RefundLimits = Field(default_factory=RefundLimits)


# --------------------------------------------------------------------------- privacy


class Retention(Section):
    closed_tickets: DurationValue | None = None
    attachments: DurationValue | None = None

    model_config = ConfigDict(arbitrary_types_allowed=True)


class Access(Section):
    customer_data: list[OneLine] = []
    exports: list[OneLine] = []


class Privacy(Prose):
    data_handling: Text | None = None
    policy_url: OneLine | None = None
    redact: list[
        Literal["payment_card", "iban", "national_id", "password", "email_address", "phone_number"]
    ] = []
    retention: Retention = Field(default_factory=Retention)
    access: Access = Field(default_factory=Access)


# --------------------------------------------------------------------------- training


class Example(Section):
    situation: Text
    right: Text | None = None
    wrong: Text | None = None


class Question(Section):
    q: Text
    choices: list[Text] = Field(min_length=2)
    answer: int


class Quiz(Section):
    pass_mark: int = Field(ge=0, le=100)
    questions: list[Question] = Field(min_length=1)


def _recertify(value: Any) -> Any:
    if value in ("on_change", "never"):
        return value
    try:
        return parse_duration(value)
    except DurationError:
        raise _fail(f"'{value}' is not allowed; write on_change, never, or a duration such as 365d") from None


class Module(Prose):
    id: Identifier
    title: OneLineText
    covers: list[OneLine] = []
    material: Text
    examples: list[Example] = []
    quiz: Quiz | None = None
    required_for: list[OneLine] = []
    recertify: Annotated[Literal["on_change", "never"] | Duration, BeforeValidator(_recertify)] = "never"

    model_config = ConfigDict(arbitrary_types_allowed=True)


class Training(Prose):
    modules: list[Module] = []
    feedback: Text | None = None


# ------------------------------------------------------------------ knowledge base, surveys, reporting


class KnowledgeBase(Prose):
    review_every: DurationValue | None = None
    owners: OneLine | None = None

    model_config = ConfigDict(arbitrary_types_allowed=True)


class Csat(Section):
    send_after: DurationValue
    question: Text = "How satisfied are you with the help you received?"
    scale: int = Field(default=5, ge=2, le=10)

    model_config = ConfigDict(arbitrary_types_allowed=True)


class Nps(Section):
    every: DurationValue
    question: Text = "How likely are you to recommend us to a friend or colleague?"

    model_config = ConfigDict(arbitrary_types_allowed=True)


class Ces(Section):
    send_after: DurationValue
    question: Text = "How easy was it to get your problem solved?"

    model_config = ConfigDict(arbitrary_types_allowed=True)


class Surveys(Prose):
    csat: Csat | None = None
    nps: Nps | None = None
    ces: Ces | None = None


_SCHEDULE = re.compile(r"(daily|mon|tue|wed|thu|fri|sat|sun|1st|month-start)\s+(\d{2}):(\d{2})")


def _schedule_every(value: Any) -> str:
    text = str(value).strip().lower()
    match = _SCHEDULE.fullmatch(text)
    if not match or int(match.group(2)) > 23 or int(match.group(3)) > 59:
        raise _fail(
            f'\'{value}\' is not a schedule; write a day and a time, such as "mon 09:00" or "daily 08:00"'
        )
    return text


class ReportSchedule(Section):
    report: Literal["daily", "weekly", "monthly"]
    every: Annotated[str, BeforeValidator(_schedule_every)]
    calendar: OneLine | None = None
    to: list[OneLine] = Field(min_length=1)


class Reporting(Prose):
    # None (no `kpis` key) and [] differ: with no list every KPI is reported, with [] none is.
    kpis: list[OneLine] | None = None
    schedule: list[ReportSchedule] = []


# --------------------------------------------------------------------------- emergency, etiquette


class CriticalIncident(Section):
    declare: list[OneLine] = Field(min_length=1)
    banner: Text | None = None
    auto_reply: Text | None = None
    update_every: DurationValue | None = None
    sla_policy: OneLine | None = None

    model_config = ConfigDict(arbitrary_types_allowed=True)


class DisasterRecovery(Section):
    backup_every: DurationValue | None = None
    keep: int | None = Field(default=None, ge=1)
    rpo: DurationValue | None = None
    rto: DurationValue | None = None

    model_config = ConfigDict(arbitrary_types_allowed=True)


class Emergency(Prose):
    critical_incident: CriticalIncident | None = None
    disaster_recovery: DisasterRecovery | None = None


class PatternRule(Section):
    required: bool = False
    patterns: list[Pattern] = Field(min_length=1)


class EmpathyWhen(Section):
    customer_phrases_any: list[Phrase] = Field(min_length=1)


class Empathy(Section):
    when: EmpathyWhen
    patterns: list[Pattern] = Field(min_length=1)


class Etiquette(Prose):
    greeting: PatternRule | None = None
    closing: PatternRule | None = None
    use_customer_name: bool = False
    banned_phrases: list[Phrase] = []
    empathy: Empathy | None = None
    max_words: int | None = Field(default=None, ge=1)


class Contact(Section):
    name: OneLineText
    role: OneLineText | None = None
    email: OneLine | None = None
    phone: OneLineText | None = None


# --------------------------------------------------------------------------- the protocol


def _version(value: Any) -> str:
    if isinstance(value, str) and value.strip():
        return value.strip()
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        raise _fail(f'must be text in quotes: write "{value}"')
    raise _fail('must be a version number in quotes, such as "3.2"')


class Protocol(Section):
    format: Literal[1]
    company: OneLineText
    title: OneLineText
    version: Annotated[str, BeforeValidator(_version), AfterValidator(_one_line)]
    effective: dt.date | None = None
    introduction: Introduction
    objectives: list[Objective] = []
    team: Team
    calendars: list[Calendar] = Field(min_length=1)
    channels: Channels
    sla: Sla
    escalation: list[EscalationRule] = []
    resolution: Resolution | None = None
    contingencies: list[Contingency] = []
    refunds: Refunds | None = None
    privacy: Privacy | None = None
    training: Training | None = None
    knowledge_base: KnowledgeBase | None = None
    surveys: Surveys | None = None
    reporting: Reporting | None = None
    emergency: Emergency | None = None
    etiquette: Etiquette | None = None
    glossary: dict[OneLineKey, Text] = {}
    contacts: list[Contact] = []

    # ---- look-ups the desk and the engines use

    def calendar(self, calendar_id: str) -> Calendar:
        for calendar in self.calendars:
            if calendar.id == calendar_id:
                return calendar
        raise KeyError(calendar_id)

    def role(self, role_id: str) -> Role:
        for role in self.team.roles:
            if role.id == role_id:
                return role
        raise KeyError(role_id)

    def policy(self, policy_id: str) -> Policy:
        for policy in self.sla.policies:
            if policy.id == policy_id:
                return policy
        raise KeyError(policy_id)

    def contingency(self, contingency_id: str) -> Contingency:
        for contingency in self.contingencies:
            if contingency.id == contingency_id:
                return contingency
        raise KeyError(contingency_id)

    def has_section(self, key: str) -> bool:
        value = getattr(self, key, None)
        return bool(value)


TroubleAnswer.model_rebuild()
