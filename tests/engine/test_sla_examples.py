"""Worked SLA examples, computed by hand: each row states the situation and the exact answer.

Times in a row are local wall-clock times in the row's zone ("2026-12-07 09:00"), or UTC
when they end in Z (used where a fall-back night makes a local time ambiguous). A cycle is
written (due, fulfilled, breached). 2026-12-04 is a Friday; New York is UTC-5 in December.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml

from charterdesk.demo import EXAMPLE_PROTOCOL
from charterdesk.engine.sla import (
    Created,
    EventError,
    GroupChange,
    IncidentChange,
    PriorityChange,
    Reply,
    SlaEngine,
    StatusChange,
    TagsChange,
)
from charterdesk.protocol.load import load_protocol, load_protocol_file
from charterdesk.protocol.models import Protocol

NY, BERLIN, SYDNEY, LONDON = "America/New_York", "Europe/Berlin", "Australia/Sydney", "Europe/London"
EXAMPLE = str(EXAMPLE_PROTOCOL)


# --------------------------------------------------------------------------- building protocols


def make_protocol(
    calendars: list[dict[str, Any]],
    policies: list[dict[str, Any]],
    escalation: list[dict[str, Any]] | tuple = (),
    pause_when: list[str] | None = None,
) -> Protocol:
    """A minimal valid protocol with the given calendars, SLA policies and escalation rules."""
    sla: dict[str, Any] = {"policies": policies}
    if pause_when is not None:
        sla["pause_when"] = pause_when
    data: dict[str, Any] = {
        "format": 1,
        "company": "Test Co",
        "title": "Test protocol",
        "version": "1",
        "introduction": {"purpose": "Tests.", "scope": "Tests."},
        "team": {
            "roles": [{"id": "agent", "title": "Agent"}, {"id": "lead", "title": "Lead"}],
            "groups": [
                {"id": "frontline", "name": "Frontline", "roles": ["agent"]},
                {"id": "tier2", "name": "Tier 2", "roles": ["lead"]},
            ],
        },
        "calendars": calendars,
        "channels": {"customer": [{"id": "email", "kind": "email"}, {"id": "chat", "kind": "chat"}]},
        "sla": sla,
    }
    if escalation:
        data["escalation"] = list(escalation)
    result = load_protocol(yaml.safe_dump(data, sort_keys=False), "<test protocol>")
    assert result.ok, "\n".join(str(p) for p in result.errors)
    assert result.protocol is not None
    return result.protocol


OFFICE = {
    "id": "office",
    "timezone": NY,
    "hours": {"mon-fri": "09:00-17:00"},
    "holidays": {"country": "US", "subdivision": "NY"},
}
ALWAYS = {"id": "always", "hours": "24x7"}
BERLIN_OFFICE = {
    "id": "berlin",
    "timezone": BERLIN,
    "hours": {"mon-fri": "08:00-12:00,13:00-17:00"},
    "holidays": {"country": "DE", "subdivision": "BE"},
}
SYDNEY_OFFICE = {
    "id": "sydney",
    "timezone": SYDNEY,
    "hours": {"mon-fri": "09:00-17:00"},
    "holidays": {"country": "AU", "subdivision": "NSW"},
}
LONDON_OFFICE = {
    "id": "london",
    "timezone": LONDON,
    "hours": {"mon-fri": "09:00-17:00"},
    "holidays": {"country": "GB", "subdivision": "ENG"},
}

STANDARD_TARGETS = {
    "first_response": {"low": "8h", "normal": "4h", "high": "2h", "urgent": "1h"},
    "next_response": "2h",
    "periodic_update": "8h",
    "resolution": {"low": "24h", "normal": "16h", "high": "8h", "urgent": "4h"},
}
DESK_POLICIES = [
    {
        "id": "vip",
        "match": {"tags_any": ["vip"]},
        "calendar": "always",
        "targets": {"first_response": "1h", "next_response": "1h", "resolution": "8h"},
    },
    {"id": "tier2", "match": {"group": "tier2"}, "calendar": "office", "targets": {"first_response": "1h"}},
    {"id": "standard", "match": {}, "calendar": "office", "targets": STANDARD_TARGETS},
]


@cache
def desk(escalation: str = "", pause_when: str = "") -> Protocol:
    """New York office hours with a vip policy (24x7), a tier2 policy and the standard policy.

    ``escalation`` is YAML for the rules (cached by its text)."""
    rules = yaml.safe_load(escalation) if escalation else ()
    return make_protocol(
        [OFFICE, ALWAYS], DESK_POLICIES, rules, pause_when=pause_when.split(",") if pause_when else None
    )


@cache
def one_calendar(calendar: str, **targets: str) -> Protocol:
    """One calendar (YAML text) and one catch-all policy with uniform targets."""
    cal = yaml.safe_load(calendar)
    return make_protocol([cal], [{"id": "only", "match": {}, "calendar": cal["id"], "targets": targets}])


def cal_yaml(cal: dict[str, Any]) -> str:
    return yaml.safe_dump(cal, sort_keys=False)


@cache
def acme() -> Protocol:
    result = load_protocol_file(EXAMPLE)
    assert result.ok and result.protocol is not None
    return result.protocol


@cache
def engine_for(protocol_key: tuple) -> SlaEngine:
    maker, args = protocol_key
    return SlaEngine(maker(*args))


# --------------------------------------------------------------------------- writing events


def ts(text: str, zone: str) -> int:
    """A local wall time in ``zone`` (or UTC with a trailing Z) as POSIX seconds."""
    if text.endswith("Z"):
        return int(datetime.fromisoformat(text).timestamp())
    return int(datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(zone)).timestamp())


def created(t: str, priority: str = "normal", channel: str = "email", tags=(), group=None, by="customer"):
    return (
        "created",
        t,
        {"priority": priority, "channel": channel, "tags": tuple(tags), "group": group, "by": by},
    )


def agent(t: str):
    return ("reply", t, {"by_agent": True, "public": True})


def note(t: str):
    return ("reply", t, {"by_agent": True, "public": False})


def customer(t: str):
    return ("reply", t, {"by_agent": False, "public": True})


def status(t: str, value: str):
    return ("status", t, {"status": value})


def priority(t: str, value: str):
    return ("priority", t, {"priority": value})


def tags(t: str, add=(), remove=()):
    return ("tags", t, {"add": tuple(add), "remove": tuple(remove)})


def group(t: str, value: str | None):
    return ("group", t, {"group": value})


def incident(t: str, policy: str | None):
    return ("incident", t, {"policy": policy})


def build_event(spec: tuple, zone: str):
    kind, t, fields = spec
    at = ts(t, zone)
    if kind == "created":
        return Created(
            at,
            fields["priority"],
            fields["channel"],
            fields["tags"],
            fields["group"],
            fields["by"] == "agent",
        )
    if kind == "reply":
        return Reply(at, fields["by_agent"], fields["public"])
    if kind == "status":
        return StatusChange(at, fields["status"])
    if kind == "priority":
        return PriorityChange(at, fields["priority"])
    if kind == "tags":
        return TagsChange(at, fields["add"], fields["remove"])
    if kind == "incident":
        return IncidentChange(at, fields["policy"])
    return GroupChange(at, fields["group"])


# --------------------------------------------------------------------------- the table

Cycle = tuple[str | None, str | None, bool]
UNCHECKED: Any = object()


@dataclass
class Example:
    description: str
    protocol: tuple
    events: list[tuple]
    now: str
    zone: str = NY
    first_response: list[Cycle] = UNCHECKED
    next_response: list[Cycle] = UNCHECKED
    periodic_update: list[Cycle] = UNCHECKED
    resolution: list[Cycle] = UNCHECKED
    escalations: list[tuple[str, str, str]] = UNCHECKED
    policy: Any = UNCHECKED
    status: Any = UNCHECKED
    targets: dict[str, list[str]] = field(default_factory=dict)
    pending: list[tuple[str, str, str]] = UNCHECKED
    next_deadline: Any = UNCHECKED


DESK = (desk, ())


def DESK_WITH(rules: str, pause_when: str = "") -> tuple:
    return (desk, (rules, pause_when))


def ONE(cal: dict[str, Any], **targets: str) -> tuple:
    return (lambda text, *pairs: one_calendar(text, **dict(pairs)), (cal_yaml(cal), *sorted(targets.items())))


ACME = (acme, ())

BERLIN_NIGHT = {"id": "night", "timezone": BERLIN, "hours": {"sun": "01:00-04:00"}}
NY_SUNDAY_NIGHT = {"id": "night", "timezone": NY, "hours": {"sun": "01:00-04:00"}}
NY_SUNDAY_EARLY = {"id": "early", "timezone": NY, "hours": {"sun": "00:00-03:00"}}
SYDNEY_SUNDAY = {"id": "sunday", "timezone": SYDNEY, "hours": {"sun": "00:00-06:00"}}
EVENINGS = {"id": "evenings", "timezone": NY, "hours": {"mon-sun": "16:00-24:00"}}
OFFICE_CLOSED_21 = {
    **OFFICE,
    "holidays": {"country": "US", "subdivision": "NY", "closed": [date(2026, 12, 21)]},
}
OFFICE_OPEN_26 = {
    **OFFICE,
    "holidays": {"country": "US", "subdivision": "NY", "open": {date(2026, 12, 26): "10:00-14:00"}},
}
OFFICE_OPEN_25 = {
    **OFFICE,
    "holidays": {"country": "US", "subdivision": "NY", "open": {date(2026, 12, 25): "10:00-12:00"}},
}

LATE_FR = "- {id: late, when: {metric: first_response, breached: true}, do: [{notify: 'role:lead'}]}"
# A vip ticket has no periodic_update target; once the tag goes on Wednesday 9 Dec at 12:00, the standard
# 8 h counts from the agent's reply on Monday 09:30 (7.5 h Monday, 0.5 h Tuesday): due Tuesday 09:30,
# one hour after it Tuesday 10:30. Both instants are past at the change, so both rules are due then.
VIP_DROPPED = [
    created("2026-12-07 09:00", tags=["vip"]),
    agent("2026-12-07 09:30"),
    tags("2026-12-09 12:00", remove=["vip"]),
]
# Linked to an incident under the round-the-clock vip policy from 10:00 to 11:00 on Monday 7 Dec.
INCIDENT_HOUR = [
    created("2026-12-07 09:00"),
    incident("2026-12-07 10:00", "vip"),
    incident("2026-12-07 11:00", None),
]

EXAMPLES = [
    # ---- weekends and the basic rules
    Example(
        "A ticket opened Monday 10:00 with a 4 h first-response target is due Monday 14:00.",
        DESK,
        [created("2026-12-07 10:00")],
        now="2026-12-07 13:00",
        first_response=[("2026-12-07 14:00", None, False)],
        policy="standard",
        status="new",
    ),
    Example(
        "Opened Friday 15:00 with 4 h: 2 h Friday and 2 h Monday; a reply at Monday 11:00 sharp is achieved.",
        DESK,
        [created("2026-12-04 15:00"), agent("2026-12-07 11:00")],
        now="2026-12-07 12:00",
        first_response=[("2026-12-07 11:00", "2026-12-07 11:00", False)],
        status="open",
    ),
    Example(
        "A reply one second after the due time is a breach.",
        DESK,
        [created("2026-12-04 15:00"), agent("2026-12-07 11:00:01")],
        now="2026-12-07 12:00",
        first_response=[("2026-12-07 11:00", "2026-12-07 11:00:01", True)],
    ),
    Example(
        "A ticket opened on Saturday starts counting at Monday 09:00.",
        DESK,
        [created("2026-12-05 12:00")],
        now="2026-12-07 10:00",
        first_response=[("2026-12-07 13:00", None, False)],
    ),
    Example(
        "A target reached exactly at closing time is due at closing time, not at the next opening.",
        DESK,
        [created("2026-12-07 13:00")],
        now="2026-12-07 16:00",
        first_response=[("2026-12-07 17:00", None, False)],
    ),
    Example(
        "An open cycle judged one second after its due time is breached.",
        DESK,
        [created("2026-12-07 10:00")],
        now="2026-12-07 14:00:01",
        first_response=[("2026-12-07 14:00", None, True)],
    ),
    Example(
        "An open cycle judged exactly at its due time is not yet breached.",
        DESK,
        [created("2026-12-07 10:00")],
        now="2026-12-07 14:00",
        first_response=[("2026-12-07 14:00", None, False)],
    ),
    Example(
        "The 24x7 calendar counts elapsed time: a vip ticket at 03:10 Saturday is due 04:10.",
        DESK,
        [created("2026-12-05 03:10", tags=["vip"])],
        now="2026-12-05 03:30",
        first_response=[("2026-12-05 04:10", None, False)],
        policy="vip",
    ),
    # ---- holidays of four countries, extra closed and open dates
    Example(
        "US holiday: Christmas Day (Friday) is closed, so Thursday 15:00 + 4 h is due Monday 11:00.",
        DESK,
        [created("2026-12-24 15:00")],
        now="2026-12-28 10:00",
        first_response=[("2026-12-28 11:00", None, False)],
    ),
    Example(
        "German holidays (Berlin): Good Friday and Easter Monday are closed; Thursday 16:00 + 8 h is "
        "due Tuesday 16:00 (1 h Thursday, 4 h before and 3 h after Tuesday's lunch).",
        ONE(BERLIN_OFFICE, first_response="8h"),
        [created("2026-04-02 16:00")],
        now="2026-04-07 09:00",
        zone=BERLIN,
        first_response=[("2026-04-07 16:00", None, False)],
    ),
    Example(
        "Australian holiday (NSW): Australia Day Monday is closed; Friday 16:00 + 4 h is due Tuesday 12:00.",
        ONE(SYDNEY_OFFICE, first_response="4h"),
        [created("2026-01-23 16:00")],
        now="2026-01-27 10:00",
        zone=SYDNEY,
        first_response=[("2026-01-27 12:00", None, False)],
    ),
    Example(
        "English holiday: the late summer bank holiday is closed; Friday 16:00 + 4 h is due Tuesday 12:00.",
        ONE(LONDON_OFFICE, first_response="4h"),
        [created("2026-08-28 16:00")],
        now="2026-09-01 10:00",
        zone=LONDON,
        first_response=[("2026-09-01 12:00", None, False)],
    ),
    Example(
        "An extra closed date (Monday 21 December) is skipped: Friday 16:00 + 4 h is due Tuesday 12:00.",
        ONE(OFFICE_CLOSED_21, first_response="4h"),
        [created("2026-12-18 16:00")],
        now="2026-12-22 10:00",
        first_response=[("2026-12-22 12:00", None, False)],
    ),
    Example(
        "An extra open Saturday counts its own hours: Thursday 24 Dec 15:00 + 4 h is due Saturday 12:00.",
        ONE(OFFICE_OPEN_26, first_response="4h"),
        [created("2026-12-24 15:00")],
        now="2026-12-26 11:00",
        first_response=[("2026-12-26 12:00", None, False)],
    ),
    Example(
        "An extra open date overrides a public holiday; the target is reached at its closing, 12:00.",
        ONE(OFFICE_OPEN_25, first_response="4h"),
        [created("2026-12-24 15:00")],
        now="2026-12-25 11:00",
        first_response=[("2026-12-25 12:00", None, False)],
    ),
    # ---- lunch breaks and hours ending at 24:00
    Example(
        "Lunch break: Monday 11:00 + 2 h in Berlin is due 14:00; 12:00-13:00 is not counted.",
        ONE(BERLIN_OFFICE, first_response="2h"),
        [created("2026-12-07 11:00")],
        now="2026-12-07 11:30",
        zone=BERLIN,
        first_response=[("2026-12-07 14:00", None, False)],
    ),
    Example(
        "A target reached exactly when lunch starts is due at 12:00, not after lunch.",
        ONE(BERLIN_OFFICE, first_response="2h"),
        [created("2026-12-07 10:00")],
        now="2026-12-07 11:30",
        zone=BERLIN,
        first_response=[("2026-12-07 12:00", None, False)],
    ),
    Example(
        "A ticket opened during lunch starts counting at 13:00: 12:30 + 2 h is due 15:00.",
        ONE(BERLIN_OFFICE, first_response="2h"),
        [created("2026-12-07 12:30")],
        now="2026-12-07 12:45",
        zone=BERLIN,
        first_response=[("2026-12-07 15:00", None, False)],
    ),
    Example(
        "Hours ending at 24:00: Monday 23:00 + 2 h on a 16:00-24:00 calendar is due Tuesday 17:00.",
        ONE(EVENINGS, first_response="2h"),
        [created("2026-12-07 23:00")],
        now="2026-12-07 23:30",
        first_response=[("2026-12-08 17:00", None, False)],
    ),
    Example(
        "A target reached at 24:00 is due at that midnight, the end of the day's hours.",
        ONE(EVENINGS, first_response="2h"),
        [created("2026-12-07 22:00")],
        now="2026-12-07 23:30",
        first_response=[("2026-12-08T05:00:00Z", None, False)],
    ),
    # ---- daylight saving time
    Example(
        "Berlin spring-forward: the missing hour 02:00-03:00 is not counted; on a Sunday 01:00-04:00 "
        "calendar 2 h from 00:30 is due 04:00 CEST (02:00Z).",
        ONE(BERLIN_NIGHT, first_response="2h"),
        [created("2026-03-29 00:30")],
        now="2026-03-29 01:30",
        zone=BERLIN,
        first_response=[("2026-03-29T02:00:00Z", None, False)],
    ),
    Example(
        "Berlin fall-back: the repeated hour counts twice, 01:00-04:00 is 4 real hours; 3 h 30 min from "
        "00:30 is due 03:30 CET (02:30Z).",
        ONE(BERLIN_NIGHT, first_response="3h30m"),
        [created("2026-10-25 00:30")],
        now="2026-10-25 00:45",
        zone=BERLIN,
        first_response=[("2026-10-25T02:30:00Z", None, False)],
    ),
    Example(
        "Berlin office hours across the spring change: Friday 16:00 CET + 4 h is due Monday 11:00 CEST.",
        ONE(BERLIN_OFFICE, first_response="4h"),
        [created("2026-03-27 16:00")],
        now="2026-03-30 09:00",
        zone=BERLIN,
        first_response=[("2026-03-30T09:00:00Z", None, False)],
    ),
    Example(
        "New York spring-forward: Sunday 01:00-04:00 on 8 March is 2 real hours; 3 h from 00:00 is due "
        "the next Sunday at 02:00 EDT (06:00Z).",
        ONE(NY_SUNDAY_NIGHT, first_response="3h"),
        [created("2026-03-08 00:00")],
        now="2026-03-08 00:30",
        first_response=[("2026-03-15T06:00:00Z", None, False)],
    ),
    Example(
        "New York fall-back: Sunday 00:00-03:00 on 1 November is 4 real hours; 3 h 30 min from Saturday "
        "20:00 EDT is due 02:30 EST (07:30Z).",
        ONE(NY_SUNDAY_EARLY, first_response="3h30m"),
        [created("2026-10-31 20:00")],
        now="2026-10-31 21:00",
        first_response=[("2026-11-01T07:30:00Z", None, False)],
    ),
    Example(
        "Sydney DST ends 5 April: Sunday 00:00-06:00 is 7 real hours; 7 h from Saturday 23:00 is due at "
        "closing, 06:00 AEST (20:00Z).",
        ONE(SYDNEY_SUNDAY, first_response="7h"),
        [created("2026-04-04 23:00")],
        now="2026-04-04 23:30",
        zone=SYDNEY,
        first_response=[("2026-04-04T20:00:00Z", None, False)],
    ),
    Example(
        "Sydney DST starts 4 October: Sunday 00:00-06:00 is 5 real hours; 6 h from Saturday 20:00 is due "
        "the next Sunday 01:00 AEDT (14:00Z Saturday).",
        ONE(SYDNEY_SUNDAY, first_response="6h"),
        [created("2026-10-03 20:00")],
        now="2026-10-03 21:00",
        zone=SYDNEY,
        first_response=[("2026-10-10T14:00:00Z", None, False)],
    ),
    # ---- pauses
    Example(
        "Pending pauses resolution: 4 h counted before pending; once the customer answers Wednesday "
        "11:00, 12 h remain: due Thursday 15:00.",
        DESK,
        [
            created("2026-12-07 09:00"),
            agent("2026-12-07 10:00"),
            status("2026-12-07 13:00", "pending"),
            customer("2026-12-09 11:00"),
        ],
        now="2026-12-09 12:00",
        resolution=[("2026-12-10 15:00", None, False)],
        next_response=[("2026-12-09 13:00", None, False)],
        status="open",
    ),
    Example(
        "On hold at now: the resolution clock is stopped, so its due time is null and it is not breached.",
        DESK,
        [created("2026-12-07 09:00"), status("2026-12-07 10:00", "on_hold")],
        now="2026-12-08 12:00",
        resolution=[(None, None, False)],
        status="on_hold",
    ),
    Example(
        "A clock paused after its target was reached keeps that past due time and is breached.",
        DESK,
        [created("2026-12-07 09:00"), agent("2026-12-07 09:10"), status("2026-12-09 12:00", "pending")],
        now="2026-12-10 12:00",
        resolution=[("2026-12-08 17:00", None, True)],
    ),
    Example(
        "Solved straight from pending: the due time runs on from the solve as if unpaused (2 h + 14 h).",
        DESK,
        [
            created("2026-12-07 09:00"),
            agent("2026-12-07 09:30"),
            status("2026-12-07 11:00", "pending"),
            status("2026-12-09 10:00", "solved"),
        ],
        now="2026-12-09 12:00",
        resolution=[("2026-12-10 16:00", "2026-12-09 10:00", False)],
        status="solved",
    ),
    Example(
        "With pause_when [pending] only, on_hold does not stop the resolution clock.",
        DESK_WITH("", "pending"),
        [created("2026-12-07 09:00"), status("2026-12-07 10:00", "on_hold")],
        now="2026-12-07 12:00",
        resolution=[("2026-12-08 17:00", None, False)],
    ),
    Example(
        "Pauses never stop first_response: pending at 10:00 and still breached at 13:00:01.",
        DESK,
        [created("2026-12-07 09:00"), status("2026-12-07 10:00", "pending")],
        now="2026-12-07 13:00:01",
        first_response=[("2026-12-07 13:00", None, True)],
    ),
    # ---- reopening
    Example(
        "A reopened ticket's resolution goes on from its counted time (3 h + 2 h + 1 h) and stays one "
        "cycle; the customer's next_response is fulfilled late by the second solve.",
        DESK,
        [
            created("2026-12-07 09:00"),
            agent("2026-12-07 10:00"),
            status("2026-12-07 12:00", "solved"),
            customer("2026-12-08 15:00"),
            status("2026-12-09 10:00", "solved"),
        ],
        now="2026-12-09 12:00",
        resolution=[("2026-12-10 12:00", "2026-12-09 10:00", False)],
        next_response=[("2026-12-08 17:00", "2026-12-09 10:00", True)],
        periodic_update=[("2026-12-08 10:00", "2026-12-07 12:00", False)],
    ),
    Example(
        "A reopened urgent ticket past its 4 h resolution target is breached while open.",
        DESK,
        [
            created("2026-12-07 09:00", priority="urgent"),
            agent("2026-12-07 09:30"),
            status("2026-12-07 12:00", "solved"),
            customer("2026-12-08 09:00"),
        ],
        now="2026-12-08 10:30",
        resolution=[("2026-12-08 10:00", None, True)],
        status="open",
    ),
    Example(
        "Reopening with a status event starts no next_response; resolution counts on (1 h + 15 h).",
        DESK,
        [
            created("2026-12-07 09:00"),
            agent("2026-12-07 09:30"),
            status("2026-12-07 10:00", "solved"),
            status("2026-12-08 09:00", "open"),
        ],
        now="2026-12-08 10:00",
        next_response=[],
        resolution=[("2026-12-09 16:00", None, False)],
    ),
    Example(
        "Closing a solved ticket keeps the outcome decided at the solve.",
        DESK,
        [
            created("2026-12-07 09:00"),
            status("2026-12-07 10:00", "solved"),
            status("2026-12-08 10:00", "closed"),
        ],
        now="2026-12-09 10:00",
        resolution=[("2026-12-08 17:00", "2026-12-07 10:00", False)],
        status="closed",
    ),
    # ---- policy, priority, tag and group changes
    Example(
        "Raising the priority to high re-targets first_response from its own start: due 11:00, met at 10:30.",
        DESK,
        [created("2026-12-07 09:00"), priority("2026-12-07 10:00", "high"), agent("2026-12-07 10:30")],
        now="2026-12-07 12:00",
        first_response=[("2026-12-07 11:00", "2026-12-07 10:30", False)],
        targets={"first_response": ["2h"]},
    ),
    Example(
        "Raising the priority after the new due time has passed makes the open cycle breached at once.",
        DESK,
        [created("2026-12-07 09:00"), priority("2026-12-07 12:00", "high")],
        now="2026-12-07 12:30",
        first_response=[("2026-12-07 11:00", None, True)],
    ),
    Example(
        "Adding the vip tag switches to the round-the-clock policy: due one hour after creation.",
        DESK,
        [created("2026-12-04 16:00"), tags("2026-12-04 16:30", add=["vip"]), agent("2026-12-04 17:30")],
        now="2026-12-04 18:00",
        first_response=[("2026-12-04 17:00", "2026-12-04 17:30", True)],
        policy="vip",
        targets={"first_response": ["1h"]},
    ),
    Example(
        "A Saturday ticket made vip is due an hour after it was opened, though the office was closed.",
        DESK,
        [created("2026-12-05 10:00"), tags("2026-12-05 10:30", add=["vip"])],
        now="2026-12-05 10:45",
        first_response=[("2026-12-05 11:00", None, False)],
    ),
    Example(
        "Removing the vip tag goes back to office hours, counted from the cycle's start: due Monday 12:00.",
        DESK,
        [created("2026-12-04 16:00", tags=["vip"]), tags("2026-12-04 16:20", remove=["vip"])],
        now="2026-12-04 16:30",
        first_response=[("2026-12-07 12:00", None, False)],
        policy="standard",
        targets={"first_response": ["4h"]},
    ),
    Example(
        "A fulfilled cycle keeps the target and outcome of the policy at fulfilment; open ones re-target.",
        DESK,
        [
            created("2026-12-04 16:00", tags=["vip"]),
            agent("2026-12-04 16:30"),
            tags("2026-12-04 16:45", remove=["vip"]),
        ],
        now="2026-12-07 10:00",
        first_response=[("2026-12-04 17:00", "2026-12-04 16:30", False)],
        resolution=[("2026-12-08 16:00", None, False)],
        targets={"first_response": ["1h"], "resolution": ["16h"]},
    ),
    Example(
        "Switching calendar mid-cycle recounts resolution, pauses included, in the new calendar: 2 h + 1 h "
        "counted round the clock, 5 h to go from 16:00.",
        DESK,
        [
            created("2026-12-07 09:00"),
            agent("2026-12-07 09:05"),
            status("2026-12-07 11:00", "pending"),
            customer("2026-12-07 15:00"),
            tags("2026-12-07 16:00", add=["vip"]),
        ],
        now="2026-12-07 16:30",
        resolution=[("2026-12-07 21:00", None, False)],
        policy="vip",
    ),
    Example(
        "Moving the ticket to group tier2 switches to that group's policy: 1 h from creation.",
        DESK,
        [created("2026-12-07 09:00"), group("2026-12-07 09:30", "tier2")],
        now="2026-12-07 09:45",
        first_response=[("2026-12-07 10:00", None, False)],
        resolution=[],
        policy="tier2",
    ),
    Example(
        "When no policy fits there is no policy and no cycle.",
        (
            lambda: make_protocol(
                [OFFICE],
                [{"id": "urgent-only", "match": {"priority": "urgent"}, "calendar": "office", "targets": {}}],
            ),
            (),
        ),
        [created("2026-12-07 09:00"), agent("2026-12-07 10:00")],
        now="2026-12-07 12:00",
        first_response=[],
        periodic_update=[],
        resolution=[],
        policy=None,
    ),
    Example(
        "A priority left out of a target map has no target: first_response is not listed, resolution is.",
        (
            lambda: make_protocol(
                [OFFICE],
                [
                    {
                        "id": "p",
                        "match": {},
                        "calendar": "office",
                        "targets": {"first_response": {"urgent": "1h"}, "resolution": "16h"},
                    }
                ],
            ),
            (),
        ),
        [created("2026-12-07 09:00", priority="low")],
        now="2026-12-07 12:00",
        first_response=[],
        resolution=[("2026-12-08 17:00", None, False)],
    ),
    # ---- agent-created tickets, internal notes, what fulfils what
    Example(
        "An agent-created ticket has no first_response; its creation starts periodic_update, and the "
        "customer's message a next_response.",
        DESK,
        [created("2026-12-07 09:00", by="agent"), customer("2026-12-07 10:00"), agent("2026-12-07 11:00")],
        now="2026-12-07 12:00",
        first_response=[],
        next_response=[("2026-12-07 12:00", "2026-12-07 11:00", False)],
        periodic_update=[("2026-12-07 17:00", "2026-12-07 11:00", False), ("2026-12-08 11:00", None, False)],
    ),
    Example(
        "An internal note is never a reply: first_response stays open and breaches; the ticket stays new.",
        DESK,
        [created("2026-12-07 09:00"), note("2026-12-07 10:00")],
        now="2026-12-07 13:30",
        first_response=[("2026-12-07 13:00", None, True)],
        periodic_update=[],
        status="new",
    ),
    Example(
        "A customer's reply never fulfils, and starts no next_response while first_response is open.",
        DESK,
        [created("2026-12-07 09:00"), customer("2026-12-07 10:00")],
        now="2026-12-07 12:00",
        first_response=[("2026-12-07 13:00", None, False)],
        next_response=[],
    ),
    Example(
        "Solving fulfils an unanswered first_response; resolution is met (1 h counted, 15 h to spare).",
        DESK,
        [created("2026-12-07 09:00"), status("2026-12-07 10:00", "solved")],
        now="2026-12-07 12:00",
        first_response=[("2026-12-07 13:00", "2026-12-07 10:00", False)],
        resolution=[("2026-12-08 17:00", "2026-12-07 10:00", False)],
    ),
    Example(
        "Solving fulfils open next_response (late) and periodic_update (in time); no new periodic cycle.",
        DESK,
        [
            created("2026-12-07 09:00"),
            agent("2026-12-07 09:30"),
            customer("2026-12-07 10:00"),
            status("2026-12-07 18:00", "solved"),
        ],
        now="2026-12-08 12:00",
        next_response=[("2026-12-07 12:00", "2026-12-07 18:00", True)],
        periodic_update=[("2026-12-08 09:30", "2026-12-07 18:00", False)],
    ),
    Example(
        "An agent reply while pending starts a periodic_update; the customer's answer sets the ticket open.",
        DESK,
        [
            created("2026-12-07 09:00"),
            agent("2026-12-07 09:30"),
            status("2026-12-07 09:31", "pending"),
            agent("2026-12-07 10:00"),
            customer("2026-12-07 11:00"),
        ],
        now="2026-12-07 12:00",
        periodic_update=[("2026-12-08 09:30", "2026-12-07 10:00", False), ("2026-12-08 10:00", None, False)],
        next_response=[("2026-12-07 13:00", None, False)],
        status="open",
    ),
    Example(
        "Two customer messages in a row start one next_response cycle, met by the next agent reply.",
        DESK,
        [
            created("2026-12-07 09:00"),
            agent("2026-12-07 09:10"),
            customer("2026-12-07 10:00"),
            customer("2026-12-07 10:30"),
            agent("2026-12-07 11:00"),
        ],
        now="2026-12-07 12:00",
        next_response=[("2026-12-07 12:00", "2026-12-07 11:00", False)],
    ),
    # ---- escalations
    Example(
        "before_breach 30m warns at 12:30 for a 13:00 due; breached fires at 13:00.",
        DESK_WITH(
            "- {id: warn, when: {metric: first_response, before_breach: 30m}, do: [{notify: assignee}]}\n"
            "- {id: late, when: {metric: any, breached: true}, do: [{notify: 'role:lead'}]}"
        ),
        [created("2026-12-07 09:00")],
        now="2026-12-07 14:00",
        escalations=[
            ("warn", "first_response", "2026-12-07 12:30"),
            ("late", "first_response", "2026-12-07 13:00"),
        ],
    ),
    Example(
        "before_breach counts business time: 3 h before a Tuesday 11:00 due is Monday 16:00.",
        DESK_WITH(
            "- {id: warn, when: {metric: first_response, before_breach: 3h}, do: [{notify: assignee}]}"
        ),
        [created("2026-12-07 15:00")],
        now="2026-12-08 10:00",
        first_response=[("2026-12-08 11:00", None, False)],
        escalations=[("warn", "first_response", "2026-12-07 16:00")],
    ),
    Example(
        "before_breach with a target no longer than the warning fires at the cycle's start.",
        DESK_WITH(
            "- {id: warn, when: {metric: first_response, before_breach: 1h}, do: [{notify: assignee}]}"
        ),
        [created("2026-12-07 09:00", priority="urgent")],
        now="2026-12-07 09:30",
        escalations=[("warn", "first_response", "2026-12-07 09:00")],
    ),
    Example(
        "A reply exactly at the due time prevents the breached escalation.",
        DESK_WITH(LATE_FR),
        [created("2026-12-07 09:00"), agent("2026-12-07 13:00")],
        now="2026-12-07 15:00",
        escalations=[],
    ),
    Example(
        "after_breach counts in the calendar: 8 h after a Tuesday 11:00 due is Wednesday 11:00.",
        DESK_WITH(
            LATE_FR
            + "\n- {id: later, when: {metric: first_response, after_breach: 8h}, do: [{notify: 'role:lead'}]}"
        ),
        [created("2026-12-07 15:00")],
        now="2026-12-09 12:00",
        escalations=[
            ("late", "first_response", "2026-12-08 11:00"),
            ("later", "first_response", "2026-12-09 11:00"),
        ],
    ),
    Example(
        "Only escalations strictly before now fire; the one at now is pending and is the next deadline.",
        DESK_WITH(LATE_FR),
        [created("2026-12-07 09:00")],
        now="2026-12-07 13:00",
        escalations=[],
        pending=[("late", "first_response", "2026-12-07 13:00")],
        next_deadline="2026-12-07 13:00",
    ),
    Example(
        "An escalation that adds the vip tag switches the policy: resolution is then counted round the "
        "clock from its start and breaches at 17:00.",
        DESK_WITH("- {id: vipify, when: {metric: first_response, breached: true}, do: [{add_tag: vip}]}"),
        [created("2026-12-07 09:00")],
        now="2026-12-07 18:00",
        escalations=[("vipify", "first_response", "2026-12-07 13:00")],
        policy="vip",
        first_response=[("2026-12-07 10:00", None, True)],
        resolution=[("2026-12-07 17:00", None, True)],
    ),
    Example(
        "A rule's extra condition must hold: a normal ticket does not escalate, and once raised to high "
        "after its new due time the rule fires at that instant.",
        DESK_WITH(
            "- {id: hot, when: {metric: first_response, breached: true, priority: [high, urgent]}, "
            "do: [{notify: 'role:lead'}]}"
        ),
        [created("2026-12-07 09:00"), priority("2026-12-07 14:00", "high")],
        now="2026-12-07 15:00",
        escalations=[("hot", "first_response", "2026-12-07 14:00")],
    ),
    Example(
        "A paused resolution clock moves its escalation: 2 h before a 16 h target is Wednesday 15:00 "
        "after a day pending (1 h + 7 h + 6 h).",
        DESK_WITH("- {id: soon, when: {metric: resolution, before_breach: 2h}, do: [{notify: assignee}]}"),
        [
            created("2026-12-07 09:00"),
            agent("2026-12-07 09:30"),
            status("2026-12-07 10:00", "pending"),
            customer("2026-12-08 10:00"),
        ],
        now="2026-12-10 09:00",
        escalations=[("soon", "resolution", "2026-12-09 15:00")],
    ),
    Example(
        "metric: any applies to each metric on its own: first_response at 10:00, resolution at 13:00.",
        DESK_WITH("- {id: late, when: {metric: any, breached: true}, do: [{notify: 'role:lead'}]}"),
        [created("2026-12-07 09:00", priority="urgent")],
        now="2026-12-07 14:00",
        escalations=[
            ("late", "first_response", "2026-12-07 10:00"),
            ("late", "resolution", "2026-12-07 13:00"),
        ],
    ),
    Example(
        "A rule fires at most once per cycle, so each next_response cycle escalates once.",
        DESK_WITH("- {id: late, when: {metric: next_response, breached: true}, do: [{notify: 'role:lead'}]}"),
        [
            created("2026-12-07 09:00"),
            agent("2026-12-07 09:10"),
            customer("2026-12-07 10:00"),
            agent("2026-12-07 13:00"),
            customer("2026-12-07 14:00"),
        ],
        now="2026-12-07 17:00",
        escalations=[
            ("late", "next_response", "2026-12-07 12:00"),
            ("late", "next_response", "2026-12-07 16:00"),
        ],
        next_response=[("2026-12-07 12:00", "2026-12-07 13:00", True), ("2026-12-07 16:00", None, True)],
    ),
    Example(
        "set_priority by escalation re-targets: once urgent, resolution is 4 h from the start and breached.",
        DESK_WITH(
            "- {id: bump, when: {metric: first_response, after_breach: 30m}, do: [{set_priority: urgent}]}"
        ),
        [created("2026-12-07 09:00")],
        now="2026-12-07 14:00",
        escalations=[("bump", "first_response", "2026-12-07 13:30")],
        resolution=[("2026-12-07 13:00", None, True)],
        first_response=[("2026-12-07 10:00", None, True)],
        targets={"resolution": ["4h"], "first_response": ["1h"]},
    ),
    # ---- several rules at one instant: the protocol's order, actions at once, then from the top
    Example(
        "Rules due at one instant fire in the protocol's order, not by level: the hand-over (after_breach, "
        "written first) moves the ticket to tier2, whose policy has no periodic_update target, so the "
        "breached rule written second no longer holds and does not fire.",
        DESK_WITH(
            "- {id: hand-over, when: {metric: periodic_update, after_breach: 1h}, "
            "do: [{assign_group: tier2}]}\n"
            "- {id: late-update, when: {metric: periodic_update, breached: true}, "
            "do: [{notify: 'role:lead'}]}"
        ),
        VIP_DROPPED,
        now="2026-12-09 13:00",
        escalations=[("hand-over", "periodic_update", "2026-12-09 12:00")],
        policy="tier2",
        periodic_update=[],
    ),
    Example(
        "Two rules due at one instant that change nothing both fire, in the order they are written: the "
        "after_breach one first although its level is higher.",
        DESK_WITH(
            "- {id: second-notice, when: {metric: periodic_update, after_breach: 1h}, "
            "do: [{notify: 'role:lead'}]}\n"
            "- {id: first-notice, when: {metric: periodic_update, breached: true}, do: [{notify: assignee}]}"
        ),
        VIP_DROPPED,
        now="2026-12-09 13:00",
        escalations=[
            ("second-notice", "periodic_update", "2026-12-09 12:00"),
            ("first-notice", "periodic_update", "2026-12-09 12:00"),
        ],
        policy="standard",
        periodic_update=[("2026-12-08 09:30", None, True)],
    ),
    Example(
        "After a rule fires, checking starts again from the first rule: at the 13:00 breach the tier2 rule "
        "does not hold (no group), the hand-over fires and moves the ticket to tier2, and checked again the "
        "tier2 rule now holds (1 h target, due 10:00) and fires at the same instant.",
        DESK_WITH(
            "- {id: tier2-late, when: {metric: first_response, breached: true, group: [tier2]}, "
            "do: [{notify: 'role:lead'}]}\n"
            "- {id: hand-over, when: {metric: first_response, breached: true}, do: [{assign_group: tier2}]}"
        ),
        [created("2026-12-07 09:00")],
        now="2026-12-07 14:00",
        escalations=[
            ("hand-over", "first_response", "2026-12-07 13:00"),
            ("tier2-late", "first_response", "2026-12-07 13:00"),
        ],
        policy="tier2",
        first_response=[("2026-12-07 10:00", None, True)],
        resolution=[],
    ),
    Example(
        "metric: any at one instant takes the metrics in order: raised to urgent on Tuesday 12:00, the "
        "first response (1 h, due Monday 10:00) and the resolution (4 h, due Monday 13:00) are both "
        "breached, and the rule fires on first_response, then on resolution.",
        DESK_WITH(
            "- {id: urgent-late, when: {metric: any, breached: true, priority: [urgent]}, "
            "do: [{notify: 'role:lead'}]}"
        ),
        [created("2026-12-07 09:00"), priority("2026-12-08 12:00", "urgent")],
        now="2026-12-08 12:30",
        escalations=[
            ("urgent-late", "first_response", "2026-12-08 12:00"),
            ("urgent-late", "resolution", "2026-12-08 12:00"),
        ],
    ),
    # ---- agent-opened tickets start open
    Example(
        "A ticket an agent opens starts open: its creation is the agent's first public reply.",
        DESK,
        [created("2026-12-07 09:00", by="agent")],
        now="2026-12-07 09:30",
        status="open",
        first_response=[],
        periodic_update=[("2026-12-07 17:00", None, False)],
    ),
    # ---- linked to an incident: its policy whatever match says
    Example(
        "Before the incident: the standard policy, first response 4 h (13:00), resolution 16 h "
        "(8 h Monday, 8 h Tuesday: Tuesday 17:00).",
        DESK,
        INCIDENT_HOUR,
        now="2026-12-07 09:30",
        policy="standard",
        first_response=[("2026-12-07 13:00", None, False)],
        resolution=[("2026-12-08 17:00", None, False)],
    ),
    Example(
        "Linked to an incident under the vip policy, which match would not choose: round the clock, first "
        "response 1 h from 09:00 (10:00, breached at 10:30), resolution 8 h (17:00).",
        DESK,
        INCIDENT_HOUR,
        now="2026-12-07 10:30",
        policy="vip",
        first_response=[("2026-12-07 10:00", None, True)],
        resolution=[("2026-12-07 17:00", None, False)],
    ),
    Example(
        "Unlinked at 11:00: match chooses the standard policy again, and the due times are those of before.",
        DESK,
        INCIDENT_HOUR,
        now="2026-12-07 11:30",
        policy="standard",
        first_response=[("2026-12-07 13:00", None, False)],
        resolution=[("2026-12-08 17:00", None, False)],
    ),
    Example(
        "While linked, a change that match would follow (the group moves to tier2) leaves the incident's "
        "policy in force; once unlinked, match chooses tier2 (first response 1 h in office hours: 10:00).",
        DESK,
        [
            created("2026-12-07 09:00"),
            incident("2026-12-07 09:30", "vip"),
            group("2026-12-07 09:45", "tier2"),
            incident("2026-12-07 11:00", None),
        ],
        now="2026-12-07 11:30",
        policy="tier2",
        first_response=[("2026-12-07 10:00", None, True)],
        resolution=[],
    ),
    Example(
        "Linking puts the first response's due time (vip: 10:00) in the past: the breached rule fires at "
        "the instant of the link.",
        DESK_WITH(LATE_FR),
        [created("2026-12-07 09:00"), incident("2026-12-07 10:30", "vip")],
        now="2026-12-07 11:00",
        escalations=[("late", "first_response", "2026-12-07 10:30")],
        policy="vip",
    ),
    Example(
        "An incident null on a ticket that was never linked changes nothing.",
        DESK,
        [created("2026-12-07 09:00"), incident("2026-12-07 09:30", None)],
        now="2026-12-07 10:00",
        policy="standard",
        first_response=[("2026-12-07 13:00", None, False)],
    ),
    # ---- the example protocol (specs/examples/acme-outdoor.protocol.yaml)
    Example(
        "Acme: a normal email on Friday 17:30 is due Monday 11:30 (0.5 h Fri, 4 h Sat, 3.5 h Mon).",
        ACME,
        [created("2026-12-04 17:30")],
        now="2026-12-07 09:00",
        first_response=[("2026-12-07 11:30", None, False)],
        escalations=[],
        policy="standard",
    ),
    Example(
        "Acme: 24 Dec is closed and Christmas a holiday: Wednesday 23 Dec 17:00 + 8 h is due Monday 28 Dec "
        "11:00 (1 h Wednesday, 4 h Saturday, 3 h Monday).",
        ACME,
        [created("2026-12-23 17:00")],
        now="2026-12-26 12:00",
        first_response=[("2026-12-28 11:00", None, False)],
    ),
    Example(
        "Acme: an urgent vip ticket runs round the clock; warned at 02:15, breached at 02:30, resolution "
        "breached at 06:00 and handed to escalations 2 h later.",
        ACME,
        [created("2026-12-05 02:00", priority="urgent", tags=["vip"])],
        now="2026-12-05 09:00",
        escalations=[
            ("warn-assignee", "first_response", "2026-12-05 02:15"),
            ("lead-on-breach", "first_response", "2026-12-05 02:30"),
            ("lead-on-breach", "resolution", "2026-12-05 06:00"),
            ("hand-to-escalations", "resolution", "2026-12-05 08:00"),
        ],
        policy="vip-urgent",
    ),
    Example(
        "Acme: a chat has a 2 minute first response; a reply after 1 minute is achieved.",
        ACME,
        [created("2026-12-07 09:00", channel="chat"), agent("2026-12-07 09:01")],
        now="2026-12-07 09:05",
        first_response=[("2026-12-07 09:02", "2026-12-07 09:01", False)],
        policy="chat",
    ),
]


def _protocol(key: tuple) -> Protocol:
    maker, args = key
    return maker(*args)


_engines: dict[int, SlaEngine] = {}


def _engine(example: Example) -> SlaEngine:
    key = id(example.protocol)
    if key not in _engines:
        _engines[key] = SlaEngine(_protocol(example.protocol))
    return _engines[key]


def _time(value: str | None, zone: str) -> int | None:
    return None if value is None else ts(value, zone)


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.description[:70] for e in EXAMPLES])
def test_worked_example(example: Example) -> None:
    """Each hand-computed example gets, metric by metric, the due times, fulfilment times and breaches written
    beside it (and its escalations, policy and status where given); every cycle's explanation names its
    policy and due time."""
    engine = _engine(example)
    zone = example.zone
    events = [build_event(spec, zone) for spec in example.events]
    now = ts(example.now, zone)
    result = engine.evaluate(events, now)

    def show(t: int | None) -> str | None:
        return None if t is None else datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    for metric in ("first_response", "next_response", "periodic_update", "resolution"):
        expected = getattr(example, metric)
        if expected is UNCHECKED:
            continue
        got = [(show(c.due), show(c.fulfilled), c.breached) for c in result.metrics[metric]]
        want = [(show(_time(d, zone)), show(_time(f, zone)), b) for d, f, b in expected]
        assert got == want, f"{metric}: {example.description}\n" + "\n".join(
            c.explain() for c in result.metrics[metric]
        )
    for metric, texts in example.targets.items():
        assert [c.target.text for c in result.metrics[metric]] == texts
    if example.escalations is not UNCHECKED:
        got_esc = [(e.rule, e.metric, show(e.at)) for e in result.escalations]
        want_esc = [(r, m, show(ts(t, zone))) for r, m, t in example.escalations]
        assert got_esc == want_esc
    if example.pending is not UNCHECKED:
        got_pending = [(e.rule, e.metric, show(e.at)) for e in result.pending]
        assert got_pending == [(r, m, show(ts(t, zone))) for r, m, t in example.pending]
    if example.next_deadline is not UNCHECKED:
        assert result.next_deadline == _time(example.next_deadline, zone)
    if example.policy is not UNCHECKED:
        assert result.policy == example.policy
    if example.status is not UNCHECKED:
        assert result.status == example.status
    # Every listed cycle can explain itself, and the explanation names its due time.
    for cycle in result.cycles():
        text = cycle.explain()
        assert cycle.policy is not None and f"policy '{cycle.policy}'" in text
        if cycle.due is not None:
            assert show(cycle.due) in text


def test_there_are_at_least_fifty_worked_examples() -> None:
    """The table holds at least fifty hand-computed worked examples."""
    assert len(EXAMPLES) >= 50


def test_a_closed_ticket_takes_no_further_events() -> None:
    """A solve after the ticket was closed is refused, naming the event."""
    engine = SlaEngine(desk())
    events = [
        build_event(created("2026-12-07 09:00"), NY),
        build_event(status("2026-12-07 10:00", "closed"), NY),
        build_event(agent("2026-12-07 11:00"), NY),
    ]
    with pytest.raises(EventError) as error:
        engine.evaluate(events, ts("2026-12-08 09:00", NY))
    assert error.value.index == 2
    assert "closed" in error.value.message


def test_closing_an_unsolved_ticket_fulfils_its_cycles() -> None:
    """Closing straight from open ends every clock at that instant, like a solve."""
    engine = SlaEngine(desk())
    events = [
        build_event(created("2026-12-07 09:00"), NY),
        build_event(status("2026-12-07 10:00", "closed"), NY),
    ]
    result = engine.evaluate(events, ts("2026-12-08 09:00", NY))
    assert result.status == "closed"
    assert result.metrics["resolution"][0].fulfilled == ts("2026-12-07 10:00", NY)
    assert result.metrics["first_response"][0].fulfilled == ts("2026-12-07 10:00", NY)


def test_an_agent_opened_tickets_status_through_its_life() -> None:
    """Opened by an agent: open at once, open after the customer writes, pending, open again when the
    customer answers, solved, and open once more when the customer writes after the solve."""
    engine = SlaEngine(desk())
    events = [
        build_event(spec, NY)
        for spec in [
            created("2026-12-07 09:00", by="agent"),
            customer("2026-12-07 10:00"),
            status("2026-12-07 11:00", "pending"),
            customer("2026-12-07 12:00"),
            status("2026-12-07 13:00", "solved"),
            customer("2026-12-07 14:00"),
        ]
    ]
    seen = [engine.evaluate(events, ts(now, NY)).status for now in (
        "2026-12-07 09:00", "2026-12-07 10:30", "2026-12-07 11:30", "2026-12-07 12:30", "2026-12-07 13:30",
        "2026-12-07 14:30",
    )]  # fmt: skip
    assert seen == ["open", "open", "pending", "open", "solved", "open"]


def test_a_customer_opened_ticket_is_new_until_an_agent_replies_in_public() -> None:
    """Created by the customer: new; an internal note leaves it new; the agent's public reply opens it."""
    engine = SlaEngine(desk())
    events = [
        build_event(spec, NY)
        for spec in [created("2026-12-07 09:00"), note("2026-12-07 09:10"), agent("2026-12-07 09:20")]
    ]
    seen = [engine.evaluate(events, ts(now, NY)).status for now in ("2026-12-07 09:15", "2026-12-07 09:25")]
    assert seen == ["new", "open"]


def test_an_incident_naming_an_unknown_policy_is_refused() -> None:
    """The engine refuses an incident whose policy the protocol does not have, naming the event."""
    engine = SlaEngine(desk())
    events = [
        build_event(created("2026-12-07 09:00"), NY),
        build_event(incident("2026-12-07 10:00", "p1"), NY),
    ]
    with pytest.raises(EventError) as error:
        engine.evaluate(events, ts("2026-12-08 09:00", NY))
    assert error.value.index == 1
    assert error.value.message == "incident: 'p1' is not a policy of the protocol"


def test_events_out_of_order_are_refused() -> None:
    """An agent reply at 08:00 on a ticket created at 09:00 the same day is refused as out of order."""
    engine = SlaEngine(desk())
    events = [build_event(created("2026-12-07 09:00"), NY), build_event(agent("2026-12-07 08:00"), NY)]
    with pytest.raises(EventError):
        engine.evaluate(events, ts("2026-12-08 09:00", NY))


def test_events_after_now_are_not_applied() -> None:
    """Judged at 12:00, a reply at 14:00 has not happened yet."""
    engine = SlaEngine(desk())
    events = [build_event(created("2026-12-07 09:00"), NY), build_event(agent("2026-12-07 14:00"), NY)]
    result = engine.evaluate(events, ts("2026-12-07 12:00", NY))
    assert result.metrics["first_response"][0].fulfilled is None
    assert result.status == "new"


def test_next_deadline_and_pending_actions_for_the_desk() -> None:
    """The desk learns the next instant to look again, and the actions due then."""
    protocol = desk("- {id: vipify, when: {metric: first_response, breached: true}, do: [{add_tag: vip}]}")
    result = SlaEngine(protocol).evaluate(
        [build_event(created("2026-12-07 09:00"), NY)], ts("2026-12-07 10:00", NY)
    )
    assert result.next_deadline == ts("2026-12-07 13:00", NY)
    assert [(e.rule, e.at, [str(a) for a in e.actions]) for e in result.pending] == [
        ("vipify", ts("2026-12-07 13:00", NY), ["add_tag: vip"])
    ]


def test_explain_names_policy_target_calendar_and_days() -> None:
    """The explanation of a due time says which policy, target and calendar, and counts day by day."""
    engine = SlaEngine(acme())
    result = engine.evaluate([build_event(created("2026-12-04 17:30"), NY)], ts("2026-12-07 09:00", NY))
    text = result.metrics["first_response"][0].explain()
    assert "policy 'standard'" in text and "target 8h" in text and "calendar 'office'" in text
    assert "2026-12-07T16:30:00Z" in text
    assert "Sat 5 Dec" in text


def test_the_sla_modules_do_not_import_django() -> None:
    """The SLA engine is plain Python: none of its modules imports Django."""
    import charterdesk.engine

    folder = Path(charterdesk.engine.__file__).parent
    for module in ("sla", "escalation", "replay", "calendars"):
        source = (folder / f"{module}.py").read_text(encoding="utf-8")
        assert "import django" not in source and "from django" not in source
