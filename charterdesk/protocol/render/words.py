"""The protocol's rules said in words: calendars, matches, targets, actions, escalation rules.

Shared by the handbook renderer and by ``diff.py``, so that a change reads in the
same words as the clause it changes. Everything here is plain text (no Markup).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Literal

from .. import vocabulary
from ..durations import Duration
from ..hours import DAY_WORDS, format_ranges
from ..models import (
    Action,
    Calendar,
    EscalationRule,
    Match,
    Objective,
    Protocol,
    ReportSchedule,
    Target,
    When,
)

DAY_SHORT = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
PRIORITY_ORDER = ("urgent", "high", "normal", "low")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
MONTHS_LONG = (
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

METRIC_WORDS = {**vocabulary.METRIC_WORDS, "any": "any response-time target"}

KPI_WORDS: dict[str, tuple[str, str]] = {
    "first_response_time": (
        "First response time",
        "Business time from a ticket's creation to the first public reply by an agent.",
    ),
    "next_response_time": (
        "Next response time",
        "Business time from a customer's message to the agent's next public reply.",
    ),
    "resolution_time": (
        "Resolution time",
        "Business time from creation to solved, not counting time spent in paused statuses.",
    ),
    "sla_compliance": (
        "SLA compliance",
        "Targets achieved ÷ (achieved + breached), over every SLA clock: responses, updates, resolution.",
    ),
    "csat": ("Customer satisfaction (CSAT)", "Satisfied survey answers ÷ all survey answers."),
    "nps": ("Net Promoter Score (NPS)", "Promoters (9–10) in percent minus detractors (0–6) in percent."),
    "ces": (
        "Customer effort score (CES)",
        "Average answer to “How easy was it to get your problem solved?”.",
    ),
    "fcr": (
        "First contact resolution (FCR)",
        "Tickets solved with one public agent reply and never reopened ÷ tickets solved.",
    ),
    "backlog": ("Backlog", "Tickets neither solved nor closed at the end of a day."),
    "reopen_rate": ("Reopen rate", "Solved tickets set back to an open status ÷ tickets solved."),
    "handle_time": (
        "Handle time",
        "Agents' active time on a ticket (its page open and in use, calls logged on it), up to its solve.",
    ),
}

CHANNEL_KIND_WORDS = {
    "email": "Email",
    "web": "Web form",
    "chat": "Chat",
    "phone": "Phone",
    "api": "API",
    "social": "Social media",
}

STATUS_WORDS = {
    "pending": "pending (waiting on the customer)",
    "on_hold": "on hold (waiting on a third party)",
}


# --------------------------------------------------------------------------- small pieces


def join_words(items: Sequence[str], conjunction: str = "and") -> str:
    """``["a", "b", "c"]`` -> ``a, b and c``."""
    items = list(items)
    if not items:
        return ""
    if len(items) == 1:
        return items[0]
    return f"{', '.join(items[:-1])} {conjunction} {items[-1]}"


def duration_words(duration: Duration | None) -> str:
    return duration.in_words() if duration is not None else "—"


def business_words(duration: Duration | None) -> str:
    """A duration counted in business time, in hours and minutes: ``40h`` -> ``40 hours``.

    Never in days, which a reader would take for working days (the format counts 24 h)."""
    if duration is None:
        return "—"
    hours, rest = divmod(duration.seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    parts = []
    for amount, name in ((hours, "hour"), (minutes, "minute"), (seconds, "second")):
        if amount:
            parts.append(f"{amount} {name}{'' if amount == 1 else 's'}")
    return " ".join(parts) or "0 seconds"


def date_words(day: dt.date) -> str:
    """``24 Dec 2026``."""
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"


def long_date_words(day: dt.date) -> str:
    """``1 December 2026``."""
    return f"{day.day} {MONTHS_LONG[day.month - 1]} {day.year}"


def number_words(value: float) -> str:
    """``50.0`` -> ``50``, ``12.5`` -> ``12.50``: amounts as a person writes them."""
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.2f}"


def role_title(protocol: Protocol | None, role_id: str) -> str:
    if protocol is not None:
        try:
            return protocol.role(role_id).title
        except KeyError:
            pass
    return role_id


def group_name(protocol: Protocol | None, group_id: str) -> str:
    if protocol is not None:
        for group in protocol.team.groups:
            if group.id == group_id:
                return group.name
    return group_id


def audience_words(protocol: Protocol | None, who: str) -> str:
    """``role:lead`` -> ``the Team Lead``; ``group:tier2`` -> ``the Escalations group``; others as written."""
    if who == "assignee":
        return "the assignee"
    if who.startswith("role:"):
        return f"the {role_title(protocol, who[5:])}"
    if who.startswith("group:"):
        return f"the {group_name(protocol, who[6:])} group"
    return who


def timezone_words(timezone: str | None) -> str:
    """``America/New_York`` -> ``New York time``."""
    if not timezone:
        return ""
    if "/" not in timezone or timezone.startswith("Etc/"):
        return timezone
    city = timezone.rsplit("/", 1)[-1].replace("_", " ")
    return f"{city} time"


# --------------------------------------------------------------------------- calendars


def hours_words(calendar: Calendar) -> str:
    """``Mon–Fri 08:00–18:00, Sat 10:00–14:00`` (days with equal hours grouped), or ``around the clock``."""
    if calendar.always_open:
        return "Around the clock (24×7)"
    days = calendar.hours.days  # type: ignore[union-attr]
    if not days:
        return "Never open"
    runs: list[tuple[int, int, tuple[tuple[int, int], ...]]] = []
    for day in range(7):
        ranges = days.get(day)
        if ranges is None:
            continue
        if runs and runs[-1][1] == day - 1 and runs[-1][2] == ranges:
            runs[-1] = (runs[-1][0], day, ranges)
        else:
            runs.append((day, day, ranges))
    parts = []
    for first, last, ranges in runs:
        if first == last:
            label = DAY_SHORT[first]
        elif last == first + 1:
            label = f"{DAY_SHORT[first]}, {DAY_SHORT[last]}"
        else:
            label = f"{DAY_SHORT[first]}–{DAY_SHORT[last]}"
        parts.append(f"{label} {format_ranges(list(ranges))}")
    return ", ".join(parts)


def staffed_words(calendar: Calendar) -> str:
    """Hours with their time zone: ``Mon–Fri 08:00–18:00, New York time (America/New_York)``."""
    text = hours_words(calendar)
    if not calendar.always_open and calendar.timezone:
        text += f", {timezone_words(calendar.timezone)}"
        if timezone_words(calendar.timezone) != calendar.timezone:
            text += f" ({calendar.timezone})"
    return text


def describe_calendar(calendar: Calendar) -> str:
    """A calendar in one sentence, as the handbook prints it.

    ``Mon–Fri 08:00–18:00, Sat 10:00–14:00, New York time (America/New_York);
    closed on US (NY) public holidays and on 24 Dec 2026``
    """
    text = staffed_words(calendar)
    holidays = calendar.holidays
    if holidays is None:
        return text
    closed = []
    if holidays.country:
        where = holidays.country + (f" ({holidays.subdivision})" if holidays.subdivision else "")
        closed.append(f"{where} public holidays")
    if holidays.closed:
        closed.append(join_words([date_words(day) for day in sorted(holidays.closed)]))
    if closed:
        text += "; closed on " + " and on ".join(closed)
    if holidays.open:
        opened = [
            f"{date_words(day)} {format_ranges(list(ranges))}"
            for day, ranges in sorted(holidays.open.items())
        ]
        text += "; open by exception on " + join_words(opened)
    return text


def closed_days(calendar: Calendar, start: dt.date, days: int = 365) -> list[tuple[dt.date, str]]:
    """The public holidays and extra closed dates from ``start`` for ``days`` days, by date, with names.

    Dates that ``holidays.open`` opens by exception are marked so. Deterministic: the window is
    given, never the clock.
    """
    holidays = calendar.holidays
    if holidays is None:
        return []
    end = start + dt.timedelta(days=days - 1)
    found: dict[dt.date, list[str]] = {}
    if holidays.country:
        import holidays as holidays_package  # imported late: only the handbook needs it

        table: Mapping[dt.date, str]
        try:
            table = holidays_package.country_holidays(
                holidays.country, subdiv=holidays.subdivision, years=range(start.year, end.year + 1)
            )
        except NotImplementedError:
            table = {}
        for day, name in table.items():
            if start <= day <= end:
                found.setdefault(day, []).extend(part.strip() for part in name.split(";"))
    for day in holidays.closed:
        if start <= day <= end:
            found.setdefault(day, []).append("Closed (company day)")
    out = []
    for day in sorted(found):
        name = "; ".join(dict.fromkeys(found[day]))
        if day in holidays.open:
            name += f" — open by exception {format_ranges(list(holidays.open[day]))}"
        out.append((day, name))
    return out


# --------------------------------------------------------------------------- which tickets


def _one_of(values: Sequence[str], conjunction: str = "or") -> str:
    return join_words(list(values), conjunction)


def match_words(
    match: Match | When,
    protocol: Protocol | None = None,
    *,
    noun: str = "tickets",
    empty: str = "Every ticket",
) -> str:
    """``{priority: urgent, tags_any: [vip]}`` -> ``Urgent tickets tagged vip``."""
    parts: list[str] = []
    priority = [p for p in PRIORITY_ORDER if match.priority and p in match.priority]
    subject = f"{_one_of(priority)} {noun}" if priority else noun
    if match.channel:
        names = match.channel
        subject += f" from the {_one_of(list(names))} channel{'s' if len(names) > 1 else ''}"
    if match.group:
        names = [group_name(protocol, g) for g in match.group]
        subject += f" in the {_one_of(names)} group{'s' if len(names) > 1 else ''}"
    if match.tags_any:
        parts.append(f"tagged {_one_of(list(match.tags_any))}")
    if match.tags_all:
        tags = list(match.tags_all)
        parts.append(f"tagged {'both ' if len(tags) == 2 else ''}{_one_of(tags, 'and')}")
    if match.tags_none:
        parts.append(f"not tagged {_one_of(list(match.tags_none))}")
    has_condition = bool(priority or match.channel or match.group or parts)
    if not has_condition:
        return empty
    text = " ".join([subject, *parts])
    return text[0].upper() + text[1:]


# --------------------------------------------------------------------------- targets and objectives


def target_words(target: Target | None, priority: str) -> str:
    if target is None:
        return "—"
    return business_words(target.for_priority(priority))


def objective_target_words(objective: Objective) -> str:
    """``{p90: 1h}`` -> ``90% within 1 hour``; ``{min: 0.95}`` -> ``at least 95%``."""
    parts = []
    for key, value in objective.target.items():
        if key in ("p50", "p90", "p95"):
            assert isinstance(value, Duration)
            parts.append(f"{key[1:]}% within {value.in_words()}")
        else:
            percent = f"{float(value) * 100:g}%"  # type: ignore[arg-type]
            parts.append(f"{'at least' if key == 'min' else 'at most'} {percent}")
    return join_words(parts)


def kpi_words(kpi: str) -> str:
    return KPI_WORDS.get(kpi, (kpi, ""))[0]


# --------------------------------------------------------------------------- actions and rules


def action_words(action: Action, protocol: Protocol | None = None) -> str:
    """``{notify: "role:lead"}`` -> ``notify the Team Lead``."""
    if action.kind == "notify":
        return f"notify {audience_words(protocol, action.value)}"
    if action.kind == "assign_group":
        return f"assign the ticket to the {group_name(protocol, action.value)} group"
    if action.kind == "set_priority":
        return f"set the priority to {action.value}"
    if action.kind == "add_tag":
        return f"add the tag {action.value}"
    if action.kind == "add_note":
        return f"add the internal note “{action.value}”"
    return str(action)


def actions_words(actions: Iterable[Action], protocol: Protocol | None = None) -> str:
    return join_words([action_words(action, protocol) for action in actions])


def when_words(when: When, protocol: Protocol | None = None) -> str:
    """``{metric: first_response, before_breach: 15m}`` -> ``15 minutes before a first response is due``."""
    if when.metric == "any":
        subject = "any response-time target"
    else:
        metric = METRIC_WORDS[when.metric]
        subject = f"{'an' if metric[0] in 'aeiou' else 'a'} {metric}"
    if when.condition == "before_breach":
        assert when.before_breach is not None
        text = f"{business_words(when.before_breach)} before {subject} is due"
    elif when.condition == "breached":
        text = f"when {subject}{'' if when.metric == 'any' else ' target'} is breached"
    else:
        assert when.after_breach is not None
        target = "" if when.metric == "any" else " target"
        text = f"{business_words(when.after_breach)} after {subject}{target} was breached"
    also = match_words(when.also, protocol, empty="")
    if also:
        text += f", for {also[0].lower()}{also[1:]}"
    return text


def rule_words(rule: EscalationRule, protocol: Protocol | None = None) -> str:
    """``15 minutes before a first response is due: notify the assignee``."""
    when = when_words(rule.when, protocol)
    return f"{when[0].upper()}{when[1:]}: {actions_words(rule.do, protocol)}"


def schedule_words(schedule: ReportSchedule, protocol: Protocol | None = None) -> str:
    """``mon 09:00`` -> ``every Monday at 09:00``, with the calendar's time zone."""
    day, _, time = schedule.every.partition(" ")
    if day == "daily":
        when = f"every day at {time}"
    elif day in ("1st", "month-start"):
        when = f"on the first day of each month at {time}"
    else:
        when = f"every {DAY_WORDS[('mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun').index(day)]} at {time}"
    if schedule.calendar and protocol is not None:
        try:
            zone = protocol.calendar(schedule.calendar).timezone
        except KeyError:
            zone = None
        if zone:
            when += f" {timezone_words(zone)}"
    recipients = join_words([audience_words(protocol, who) for who in schedule.to])
    return f"The {schedule.report} report is sent {when} to {recipients}."


# --------------------------------------------------------------------------- regular expressions


def pattern_words(pattern: str) -> str | None:
    """A reply-check pattern in words, when it is a short list of words.

    ``^(hi|hello|dear)\\b`` -> ``starts with hi, hello or dear``. Returns None for a pattern
    that cannot be read aloud this way; the handbook then shows the pattern alone.
    """
    choices = pattern_choices(pattern)
    if choices is None:
        return None
    where, words = choices
    listed = join_words(words, "or")
    if where == "start":
        return f"starts with {listed}"
    if where == "end":
        return f"ends with {listed}"
    return f"contains {listed}"


def pattern_choices(pattern: str) -> tuple[Literal["start", "end", "anywhere"], list[str]] | None:
    """Where a short pattern looks and the words it accepts, or None when it is not so simple.

    ``^(hi|hello|dear)\\b`` -> ``("start", ["hi", "hello", "dear"])``; optional parts
    (punctuation, whitespace, a signature line) are left out of the words.
    """
    import re._parser as parser  # the standard library's own regex parser

    try:
        items = list(parser.parse(pattern))
    except Exception:
        return None
    starts = bool(items) and items[0][0] == parser.AT and items[0][1] == parser.AT_BEGINNING
    ends = any(op == parser.AT and arg == parser.AT_END for op, arg in items[-2:])
    try:
        words = _expand(items, parser)
    except _Unreadable:
        return None
    words = [w.strip() for w in dict.fromkeys(words) if w.strip()]
    if not words or len(words) > 12:
        return None
    return ("start" if starts else "end" if ends else "anywhere"), words


class _Unreadable(Exception):
    pass


def _expand(items: list, parser) -> list[str]:
    """Every literal string a small regular expression matches, leaving out optional parts."""
    out = [""]
    for op, arg in items:
        if op == parser.LITERAL:
            choices = [chr(arg)]
        elif op == parser.AT:
            continue
        elif op == parser.SUBPATTERN:
            choices = _expand(list(arg[-1]), parser)
        elif op == parser.BRANCH:
            choices = [word for branch in arg[1] for word in _expand(list(branch), parser)]
        elif op == parser.IN:
            letters = [chr(a) for o, a in arg if o == parser.LITERAL]
            if len(letters) != len(arg):
                raise _Unreadable
            choices = letters
        elif op in (parser.MAX_REPEAT, parser.MIN_REPEAT):
            low, _high, _body = arg
            if low == 0:
                continue  # optional decoration: punctuation, whitespace, a signature line
            raise _Unreadable
        else:
            raise _Unreadable
        out = [a + b for a in out for b in choices]
        if len(out) > 24:
            raise _Unreadable
    return out
