"""Building protocols and event logs for the KPI tests.

Times are written as Berlin wall-clock times of January 2027 ("01-04 09:00" is Monday
4 January, 09:00, UTC+1), the test protocol's office hours being Mon-Fri 09:00-17:00 in
Berlin. Event lines are JSON text, read by the same reader as ``charterdesk kpi``.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

import yaml

from charterdesk.engine.kpis import KpiEngine, Report, TicketHistory
from charterdesk.protocol.load import load_protocol
from charterdesk.protocol.models import Protocol

BERLIN = ZoneInfo("Europe/Berlin")
YEAR = 2027

OFFICE = {"id": "office", "timezone": "Europe/Berlin", "hours": {"mon-fri": "09:00-17:00"}}
ALWAYS = {"id": "always", "hours": "24x7"}
VIP = {
    "id": "vip",
    "match": {"tags_any": ["vip"]},
    "calendar": "always",
    "targets": {"first_response": "1h", "next_response": "1h", "periodic_update": "2h", "resolution": "8h"},
}
PHONE = {"id": "phone", "match": {"channel": "phone"}, "calendar": "office", "targets": {"resolution": "16h"}}
STANDARD = {
    "id": "standard",
    "match": {},
    "calendar": "office",
    "targets": {
        "first_response": {"urgent": "1h", "high": "2h", "normal": "4h", "low": "8h"},
        "next_response": "4h",
        "resolution": {"urgent": "4h", "high": "8h", "normal": "16h", "low": "24h"},
    },
}
INCIDENT = {
    "id": "incident",
    "match": {"tags_all": ["declared-incident-only"]},
    "calendar": "always",
    "targets": {"first_response": "30m", "resolution": "2h"},
}


def protocol_data(**sections: Any) -> dict[str, Any]:
    """A valid protocol: Berlin office hours, a 24x7 vip policy, a phone policy with no response
    targets, the standard policy, and a 24x7 policy for tickets linked to a critical incident
    (which no ticket matches otherwise); ``sections`` replace or add top-level keys."""
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
        "calendars": [OFFICE, ALWAYS],
        "channels": {
            "customer": [
                {"id": "email", "kind": "email"},
                {"id": "chat", "kind": "chat"},
                {"id": "phone", "kind": "phone"},
            ]
        },
        "sla": {"policies": [VIP, PHONE, STANDARD, INCIDENT]},
        "emergency": {"critical_incident": {"declare": ["role:lead"], "sla_policy": "incident"}},
    }
    data.update(sections)
    return data


def make_protocol(data: dict[str, Any]) -> Protocol:
    result = load_protocol(yaml.safe_dump(data, sort_keys=False), "<test protocol>")
    assert result.ok, "\n".join(str(p) for p in result.errors)
    assert result.protocol is not None
    return result.protocol


@cache
def desk() -> Protocol:
    return make_protocol(protocol_data())


_engines: dict[int, tuple[Protocol, KpiEngine]] = {}


def engine_for(protocol: Protocol) -> KpiEngine:
    """One engine per protocol object (protocols are not hashable; the object is kept alive)."""
    found = _engines.get(id(protocol))
    if found is None or found[0] is not protocol:
        found = _engines[id(protocol)] = (protocol, KpiEngine(protocol))
    return found[1]


def at(text: str, zone: ZoneInfo = BERLIN) -> str:
    """'01-04 09:00' (or '01-04 09:00:05') in Berlin, January 2027, as ISO 8601 with its offset."""
    day, clock = text.split()
    month, mday = (int(part) for part in day.split("-"))
    parts = [int(part) for part in clock.split(":")]
    hour, minute, second = [*parts, 0][:3]
    return datetime(YEAR, month, mday, hour, minute, second, tzinfo=zone).isoformat()


def line(ticket: str, when: str, event: str, **fields: Any) -> str:
    return json.dumps({"ticket": ticket, "at": at(when), "event": event, **fields})


def created(ticket: str, when: str, priority: str = "normal", channel: str = "email", **more: Any) -> str:
    more.setdefault("tags", [])
    return line(ticket, when, "created", priority=priority, channel=channel, **more)


def agent(ticket: str, when: str, public: bool = True) -> str:
    return line(ticket, when, "reply", author="agent", public=public)


def customer(ticket: str, when: str) -> str:
    return line(ticket, when, "reply", author="customer")


def status(ticket: str, when: str, value: str) -> str:
    return line(ticket, when, "status", status=value)


def survey(ticket: str, when: str, kind: str, score: Any) -> str:
    return line(ticket, when, "survey", kind=kind, score=score)


def day(text: str) -> date:
    month, mday = (int(part) for part in text.split("-"))
    return date(YEAR, month, mday)


def histories(lines: list[str], protocol: Protocol | None = None) -> list[TicketHistory]:
    engine = engine_for(protocol or desk())
    found = engine.read(lines, "events.jsonl")
    return list(found.histories.values())


def report(
    lines: list[str],
    first: str,
    last: str | None = None,
    protocol: Protocol | None = None,
    by: tuple[str, ...] = (),
) -> Report:
    """The command line's report over ``lines`` for days ``first`` to ``last`` (MM-DD)."""
    engine = engine_for(protocol or desk())
    period = engine.period(day(first), day(last or first))
    return engine.compute(histories(lines, protocol), period, kpis=engine.reported(command_line=True), by=by)


def kpis(lines: list[str], first: str, last: str | None = None, protocol: Protocol | None = None) -> dict:
    return report(lines, first, last, protocol).as_json()["kpis"]


def no_times() -> dict[str, Any]:
    return {"count": 0, "mean": None, "p50": None, "p90": None, "p95": None}


def one_time(seconds: int) -> dict[str, Any]:
    return {"count": 1, "mean": seconds, "p50": seconds, "p90": seconds, "p95": seconds}
