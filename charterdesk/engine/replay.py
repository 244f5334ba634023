"""The core of ``charterdesk sla replay`` (specs/replay-format.md): event lines in, ticket lines out.

Reading is one pass over the file: each line is checked and turned into a
compact event (a slotted dataclass with integer POSIX seconds) kept in its
ticket's list; nothing else is kept. Checking everything before judging
anything is what lets the command refuse a bad file without writing any output,
and lets ``--now`` default to the latest ``at`` in the file. Then each ticket,
in order of first appearance, is evaluated by the SLA engine and written as one
JSON line.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from .sla import (
    METRICS,
    Created,
    Cycle,
    Event,
    GroupChange,
    PriorityChange,
    Reply,
    SlaEngine,
    StatusChange,
    TagsChange,
    TicketSla,
    format_time,
)

__all__ = ["ReplayError", "ReplayInput", "format_ticket", "parse_time", "read_events", "replay_lines"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_SECOND = timedelta(seconds=1)
_PRIORITIES = {p: p for p in ("low", "normal", "high", "urgent")}
_STATUSES = {s: s for s in ("new", "open", "pending", "on_hold", "solved", "closed")}
_EVENTS = ("created", "reply", "status", "priority", "tags", "group")


class ReplayError(ValueError):
    """A line of the events file that cannot be replayed; ``str()`` is ``FILE:LINE: message``."""

    def __init__(self, filename: str, line: int, message: str) -> None:
        super().__init__(f"{filename}:{line}: {message}")
        self.filename = filename
        self.line = line
        self.message = message


@dataclass
class ReplayInput:
    """Every ticket's events, in order of the tickets' first appearance, and the latest ``at``."""

    tickets: dict[str, list[Event]] = field(default_factory=dict)
    latest: int | None = None
    events: int = 0


class _Bad(Exception):
    pass


def parse_time(value: object) -> int:
    """An ISO 8601 time with an offset or ``Z`` as POSIX seconds (fractions of a second dropped)."""
    if not isinstance(value, str):
        raise _Bad(f"'at' must be an ISO 8601 time in quotes, not {json.dumps(value)}")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise _Bad(f"'{value}' is not an ISO 8601 time such as 2026-12-04T21:30:00Z") from None
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise _Bad(f"'{value}' has no offset; add Z for UTC or an offset such as +01:00")
    return (moment - _EPOCH) // _SECOND


_strings: dict[str, str] = {}


def _text(record: dict, key: str, kind: str, *, optional: bool = False) -> str | None:
    value = record.get(key)
    if value is None:
        if optional:
            return None
        raise _Bad(
            f"{kind}: missing field '{key}'" if key not in record else f"{kind}: '{key}' must not be null"
        )
    if not isinstance(value, str):
        raise _Bad(f"{kind}: '{key}' must be a string, not {json.dumps(value)}")
    # One string object per distinct value keeps a million events small.
    return _strings.setdefault(value, value)


def _tags(record: dict, key: str, kind: str) -> tuple[str, ...]:
    value = record.get(key)
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(tag, str) for tag in value):
        raise _Bad(f"{kind}: '{key}' must be a list of strings")
    return tuple(_strings.setdefault(tag, tag) for tag in value)


def _priority(record: dict, kind: str) -> str:
    value = record.get("priority")
    found = _PRIORITIES.get(value) if isinstance(value, str) else None
    if found is None:
        if value is None:
            raise _Bad(f"{kind}: missing field 'priority'")
        raise _Bad(f"{json.dumps(value)} is not a priority; use low, normal, high or urgent")
    return found


def _event(record: dict, at: int, kind: object) -> Event:
    if kind == "reply":
        author = record.get("author")
        if author == "agent":
            by_agent = True
        elif author == "customer":
            by_agent = False
        elif author is None:
            raise _Bad("reply: missing field 'author'")
        else:
            raise _Bad(f"reply: author {json.dumps(author)} must be agent or customer")
        public = record.get("public", True)
        if not isinstance(public, bool):
            raise _Bad(f"reply: 'public' must be true or false, not {json.dumps(public)}")
        return Reply(at, by_agent, public)
    if kind == "status":
        value = record.get("status")
        status = _STATUSES.get(value) if isinstance(value, str) else None
        if status is None:
            if value is None:
                raise _Bad("status: missing field 'status'")
            raise _Bad(
                f"{json.dumps(value)} is not a status; use new, open, pending, on_hold, solved or closed"
            )
        return StatusChange(at, status)
    if kind == "created":
        priority = _priority(record, "created")
        channel = _text(record, "channel", "created")
        assert channel is not None
        by = record.get("by", "customer")
        if by not in ("customer", "agent"):
            raise _Bad(f"created: 'by' {json.dumps(by)} must be customer or agent")
        return Created(
            at,
            priority,
            channel,
            _tags(record, "tags", "created"),
            _text(record, "group", "created", optional=True),
            by == "agent",
        )
    if kind == "priority":
        return PriorityChange(at, _priority(record, "priority"))
    if kind == "tags":
        return TagsChange(at, _tags(record, "add", "tags"), _tags(record, "remove", "tags"))
    if kind == "group":
        if "group" not in record:
            raise _Bad("group: missing field 'group'")
        return GroupChange(at, _text(record, "group", "group", optional=True))
    if kind is None:
        raise _Bad("missing field 'event'")
    raise _Bad(f"unknown event {json.dumps(kind)}; use {', '.join(_EVENTS)}")


def read_events(lines: Iterable[bytes | str], filename: str) -> ReplayInput:
    """Check every line and group the events by ticket; the first bad line raises ``ReplayError``.

    Blank lines are skipped; keys the format does not name are ignored.
    """
    found = ReplayInput()
    tickets = found.tickets
    latest = -(1 << 62)
    count = 0
    scan = _DECODER.scan_once
    lineno = 0
    for lineno, line in enumerate(lines, 1):
        try:
            # The C scanner on the line as it stands; anything unusual (leading blanks, a
            # trailing second value, bad UTF-8...) goes through json.loads for its message.
            try:
                text = line.decode() if type(line) is bytes else line
                record, end = scan(text, 0)
                if end != len(text) and text[end:].strip():
                    raise ValueError
            except (ValueError, StopIteration):
                record = _slow_json(line)
                if record is _BLANK:
                    continue
            if type(record) is not dict:
                raise _Bad("a line must be a JSON object with ticket, at and event")
            ticket = record.get("ticket")
            if type(ticket) is not str:
                if ticket is None:
                    raise _Bad("missing field 'ticket'")
                raise _Bad(f"'ticket' must be a string, not {json.dumps(ticket)}")
            if "at" not in record:
                raise _Bad("missing field 'at'")
            at = parse_time(record["at"])
            kind = record.get("event")
            event = _event(record, at, kind)
            events = tickets.get(ticket)
            if events is None:
                if kind != "created":
                    raise _Bad(f"event for unknown ticket '{ticket}': its first event must be 'created'")
                tickets[ticket] = [event]
            else:
                last = events[-1]
                if kind == "created":
                    raise _Bad(f"ticket '{ticket}' is already created")
                if type(last) is StatusChange and last.status == "closed":
                    raise _Bad(f"ticket '{ticket}' is closed; a closed ticket takes no further events")
                if at < last.at:
                    raise _Bad(
                        f"out of time order: {format_time(at)} is before ticket '{ticket}''s "
                        f"previous event at {format_time(last.at)}"
                    )
                events.append(event)
            if at > latest:
                latest = at
            count += 1
        except _Bad as error:
            raise ReplayError(filename, lineno, str(error)) from None
    found.latest = latest if count else None
    found.events = count
    return found


_DECODER = json.JSONDecoder()
_BLANK = object()


def _slow_json(line: bytes | str) -> object:
    """Parse a line the scanner refused: a blank line, or json.loads' own message for the problem."""
    if isinstance(line, bytes):
        try:
            line = line.decode()
        except UnicodeDecodeError as error:
            raise _Bad(f"not UTF-8 text ({error.reason} at byte {error.start + 1})") from None
    if not line.strip():
        return _BLANK
    try:
        return json.loads(line)
    except ValueError as error:
        raise _Bad(f"not JSON: {error}") from None


# --------------------------------------------------------------------------- output


def _time_or_null(t: int | None) -> str:
    return "null" if t is None else f'"{format_time(t)}"'


_target_json: dict[str, str] = {}


def _cycle_json(cycle: Cycle) -> str:
    assert cycle.target is not None
    text = cycle.target.text
    target = _target_json.get(text)
    if target is None:
        target = _target_json[text] = json.dumps(text)
    return (
        f'{{"target": {target}, "start": "{format_time(cycle.start)}", '
        f'"due": {_time_or_null(cycle.due)}, "fulfilled": {_time_or_null(cycle.fulfilled)}, '
        f'"breached": {"true" if cycle.breached else "false"}}}'
    )


def format_ticket(ticket: str, result: TicketSla) -> str:
    """One output line (without the newline): the same text ``json.dumps`` gives for the object."""
    metrics = ", ".join(
        f'"{metric}": [{", ".join([_cycle_json(c) for c in result.metrics[metric]])}]' for metric in METRICS
    )
    escalations = ", ".join(
        f'{{"rule": {json.dumps(e.rule)}, "metric": "{e.metric}", "at": "{format_time(e.at)}"}}'
        for e in result.escalations
        if e.at < result.now
    )
    policy = "null" if result.policy is None else json.dumps(result.policy)
    status = "null" if result.status is None else f'"{result.status}"'
    return (
        f'{{"ticket": {json.dumps(ticket)}, "policy": {policy}, "status": {status}, '
        f'"metrics": {{{metrics}}}, "escalations": [{escalations}]}}'
    )


def replay_lines(engine: SlaEngine, found: ReplayInput, now: int | None = None) -> Iterator[str]:
    """Each ticket's output line (with its newline), in order of first appearance.

    ``now`` defaults to the latest ``at`` of the input.
    """
    if now is None:
        now = found.latest
    if now is None:
        return
    evaluate = engine.evaluate
    for ticket, events in found.tickets.items():
        yield format_ticket(ticket, evaluate(events, now)) + "\n"
