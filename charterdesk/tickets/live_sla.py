"""The live desk's SLA clocks: a ticket's rows -> the engine's events -> stored cycles and deadlines.

The desk never decides an SLA rule itself. After every change to a ticket it turns the
ticket's event history into the engine's plain events (exactly what `charterdesk tickets
export-events` writes and `charterdesk sla replay` reads), asks the same engine, and stores
the answer: each cycle with its due time, the next due time (for sorting queues), and the
next deadline (the instant the worker must look again). Escalations the engine says have
fired are then carried out once each (see ``escalation_effects.py``).
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

from charterdesk.engine.replay import stored_event
from charterdesk.engine.sla import (
    SlaEngine,
    TicketSla,
    compile_protocol,
    explain_cycle,
)
from charterdesk.protocol.durations import parse_duration

UTC = dt.UTC


def to_seconds(moment: dt.datetime) -> int:
    return int(moment.timestamp())


def to_datetime(seconds: int | None) -> dt.datetime | None:
    return None if seconds is None else dt.datetime.fromtimestamp(seconds, tz=UTC)


@lru_cache(maxsize=16)
def _engine(version_id: int, stamp: str) -> SlaEngine:
    from charterdesk.library.models import ProtocolVersion
    from charterdesk.library.versions import protocol_of

    protocol = protocol_of(ProtocolVersion.objects.get(pk=version_id))
    if protocol is None:  # pragma: no cover - published versions always validate
        raise RuntimeError(f"protocol version {version_id} does not validate")
    return compile_protocol(protocol)


def engine_for(version) -> SlaEngine:
    """The compiled engine of a protocol version (one per version and process)."""
    return _engine(version.pk, version.updated_at.isoformat() if version.updated_at else "")


def engine_event(kind: str, at: dt.datetime, data: dict):
    """One stored ``TicketEvent`` (``sla_input``) as the engine's event."""
    return engine_event_at(kind, to_seconds(at), data)


def engine_event_at(kind: str, seconds: int, data: dict):
    """``engine_event`` for a time already in POSIX seconds (bulk readers fetch it so)."""
    return stored_event(kind, seconds, data)


def replay_line(ticket_id: int, kind: str, at: dt.datetime, data: dict) -> dict:
    """One event as a line of the replay format (specs/replay-format.md)."""
    line = {"ticket": str(ticket_id), "at": at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), "event": kind}
    line.update(data)
    return line


def ticket_events(ticket) -> list:
    rows = ticket.events.filter(sla_input=True).order_by("at", "id").values_list("kind", "at", "data")
    return [engine_event(kind, at, data) for kind, at, data in rows]


def evaluate(ticket, now: dt.datetime, events: list | None = None) -> TicketSla:
    """The engine's answer for the ticket at ``now``; ``events`` are its engine events when the caller
    already has every one of them (else they are read from the ticket's rows)."""
    if events is None:
        events = ticket_events(ticket)
    return engine_for(ticket.protocol_version).evaluate(events, to_seconds(now))


def sla_state(result: TicketSla) -> dict:
    """The engine's answer as stored on the ticket (and shown by badges and the API).

    Each cycle keeps the facts of its explanation rather than the words (``explain_stored`` puts
    them together when a badge is shown): a clock that pauses adds the spans it ran (``ran``) and
    the instant it runs on from (``runs_from``, None while paused or stopped)."""
    metrics = {}
    for metric, cycles in result.metrics.items():
        stored = []
        for cycle in cycles:
            item = {
                "target": cycle.target.text if cycle.target else None,
                "start": cycle.start,
                "due": cycle.due,
                "fulfilled": cycle.fulfilled,
                "breached": cycle.breached,
                "policy": cycle.policy,
                "calendar": cycle.calendar.id if cycle.calendar else None,
                "paused": cycle.fulfilled is None and cycle.due is None and cycle.target is not None,
            }
            if cycle.pausable:
                ran, runs_from = cycle.spans_for_explain()
                item["ran"] = [[a, b] for a, b in ran]
                item["runs_from"] = runs_from
            stored.append(item)
        metrics[metric] = stored
    return {
        "now": result.now,
        "policy": result.policy,
        "metrics": metrics,
        "escalations": [
            {"rule": e.rule, "metric": e.metric, "at": e.at, "cycle_start": e.cycle_start}
            for e in result.escalations
        ],
    }


def explain_stored(engine: SlaEngine, metric: str, cycle: dict) -> str:
    """The engine's explanation of a stored cycle (``sla_state``), in the same words as
    ``Cycle.explain`` at the time it was stored."""
    if "explain" in cycle:  # stored with its words, before they were made on demand
        return cycle["explain"] or ""
    target, calendar = cycle.get("target"), cycle.get("calendar")
    return explain_cycle(
        metric,
        cycle.get("policy"),
        parse_duration(target) if target else None,
        engine.calendars.get(calendar),
        cycle["start"],
        [(a, b) for a, b in cycle.get("ran", ())],
        cycle.get("runs_from", cycle["start"]),
        cycle.get("fulfilled"),
        bool(cycle.get("breached")),
    )


def next_due(result: TicketSla) -> int | None:
    """The earliest due time of an open cycle (for 'sorted by next due time'), breached or not."""
    dues = [
        cycle.due
        for cycles in result.metrics.values()
        for cycle in cycles
        if cycle.fulfilled is None and cycle.due is not None
    ]
    return min(dues, default=None)


def is_breached(result: TicketSla) -> bool:
    """True while any open cycle is past its due time."""
    return any(
        cycle.breached and cycle.fulfilled is None for cycles in result.metrics.values() for cycle in cycles
    )
