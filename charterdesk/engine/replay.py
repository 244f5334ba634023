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

import contextlib
import json
import multiprocessing
import os
import re
import sys
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from typing import Any

from .event_lines import (
    CreatedLine,
    GroupLine,
    IncidentLine,
    NotALine,
    PriorityLine,
    ReplyLine,
    StatusLine,
    TagsLine,
    decode_json,
    decode_line,
)
from .sla import (
    METRICS,
    Created,
    Cycle,
    Event,
    GroupChange,
    IncidentChange,
    PriorityChange,
    Reply,
    SlaEngine,
    StatusChange,
    TagsChange,
    TicketSla,
    format_time,
)

__all__ = [
    "EVENT_NAMES",
    "OtherEvent",
    "ReplayError",
    "ReplayInput",
    "format_ticket",
    "parse_time",
    "read_events",
    "replay_data",
    "replay_lines",
    "stored_event",
    "stored_histories",
    "workers_for",
]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_SECOND = timedelta(seconds=1)
_PRIORITIES = {p: p for p in ("low", "normal", "high", "urgent")}
_STATUSES = {s: s for s in ("new", "open", "pending", "on_hold", "solved", "closed")}
_EVENTS = ("created", "reply", "status", "priority", "tags", "group", "incident")
EVENT_NAMES = _EVENTS
"""The events of the replay format, in the order its error messages list them."""

OtherEvent = Callable[[str, dict, int, str, list[Event] | None], str | None]
"""The extension point for formats built on this one (the KPI command's ``survey``): called as
``other(kind, record, at, ticket, events)`` for a line whose ``event`` is a name this format does
not have, with the ticket's events read so far (None for a ticket not yet created). It keeps what
it wants and returns None, or returns the problem, which becomes ``FILE:LINE: problem``. Such a
line never joins the ticket's SLA events."""


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
    firsts: list[int] = field(default_factory=list)
    """Per ticket (in the order of ``tickets``), the index of the line that created it."""


class _Bad(Exception):
    pass


def parse_time(value: object) -> int:
    """An ISO 8601 time with an offset or ``Z`` as POSIX seconds (fractions of a second dropped).

    The usual forms (``2026-12-04T21:30:00Z``, ``2026-12-04T16:30:00-05:00``) are read by slicing
    and looking the date, the clock time and the offset up in caches that ``datetime`` itself
    filled, so the answer (and every error message) is the one ``datetime.fromisoformat`` gives.
    """
    if type(value) is str:
        size = len(value)
        if size == 20:
            if value[19] == "Z" and value[10] == "T" and value[16] == ":":
                day = _day_seconds.get(value[:10])
                minute = _minute_seconds.get(value[11:16])
                second = _SECONDS.get(value[17:19])
                if day is not None and minute is not None and second is not None:
                    return day + minute + second
        elif size == 25 and value[10] == "T" and value[16] == ":":
            day = _day_seconds.get(value[:10])
            minute = _minute_seconds.get(value[11:16])
            second = _SECONDS.get(value[17:19])
            offset = _offset_seconds.get(value[19:])
            if day is not None and minute is not None and second is not None and offset is not None:
                return day + minute + second - offset
    return _parse_time_slowly(value)


# Filled only from times that datetime accepted: a date, an HH:MM and an offset that were valid
# once are valid in any combination.
_day_seconds: dict[str, int] = {}
_minute_seconds: dict[str, int] = {}
_offset_seconds: dict[str, int] = {}
_SECONDS = {f"{second:02d}": second for second in range(60)}
_CACHE_LIMIT = 100_000
_PLAIN_UTC = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T([0-9]{2}):([0-9]{2}):([0-9]{2})Z").fullmatch
_PLAIN_OFFSET = re.compile(r"[+-][0-9]{2}:[0-9]{2}").fullmatch


def _parse_time_slowly(value: object) -> int:
    if not isinstance(value, str):
        raise _Bad(f"'at' must be an ISO 8601 time in quotes, not {json.dumps(value)}")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise _Bad(f"'{value}' is not an ISO 8601 time such as 2026-12-04T21:30:00Z") from None
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise _Bad(f"'{value}' has no offset; add Z for UTC or an offset such as +01:00")
    seconds = (moment - _EPOCH) // _SECOND
    # Remember the parts of a plain time that datetime accepted, for parse_time's fast path.
    if len(_day_seconds) < _CACHE_LIMIT and len(_offset_seconds) < _CACHE_LIMIT:
        plain = _PLAIN_UTC(value)
        if plain is not None:
            hours, minutes, secs = (int(part) for part in plain.groups())
            clock = hours * 3600 + minutes * 60 + secs
            if seconds % 86400 == clock:
                _day_seconds[value[:10]] = seconds - clock
                _minute_seconds[value[11:16]] = clock - secs
        elif len(value) == 25 and _PLAIN_OFFSET(value[19:]) and _PLAIN_UTC(value[:19] + "Z"):
            utc = _parse_time_slowly(value[:19] + "Z")
            _offset_seconds[value[19:]] = utc - seconds
    return seconds


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
            if "priority" in record:
                raise _Bad(f"{kind}: 'priority' must not be null")
            raise _Bad(f"{kind}: missing field 'priority'")
        raise _Bad(f"{json.dumps(value)} is not a priority; use low, normal, high or urgent")
    return found


def _event(record: dict, at: int, kind: object, policies: Collection[str] | None) -> Event:
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
    if kind == "incident":
        if "policy" not in record:
            raise _Bad("incident: missing field 'policy'")
        policy = _text(record, "policy", "incident", optional=True)
        if policy is not None and policies is not None and policy not in policies:
            raise _Bad(
                f"incident: {json.dumps(policy)} is not a policy of the protocol; "
                f"use {', '.join(policies)} or null"
            )
        return IncidentChange(at, policy)
    if kind is None:
        raise _Bad("missing field 'event'")
    raise _Bad(f"unknown event {json.dumps(kind)}; use {', '.join(_EVENTS)}")


def read_events(
    lines: Iterable[bytes | str],
    filename: str,
    policies: Collection[str] | None = None,
    *,
    other: OtherEvent | None = None,
    stripped: bool = False,
) -> ReplayInput:
    """Check every line and group the events by ticket; the first bad line raises ``ReplayError``.

    Blank lines are skipped; keys the format does not name are ignored. ``policies``: the
    protocol's policy ids (``SlaEngine.policy_ids``), so that an ``incident`` naming another is a
    bad line; None leaves that to the engine (``EventError`` when the ticket is evaluated).
    ``other`` takes the lines of events this format does not name (see ``OtherEvent``); without
    it they are errors. ``stripped``: the lines are the pieces of ``data.split(b"\n")``, without
    their newlines.
    """
    found = ReplayInput()
    _read(
        lines if isinstance(lines, list) else list(lines),
        None,
        filename,
        found,
        stripped=stripped,
        policies=policies,
        other=other,
    )
    return found


class _Misrouted(Exception):
    """A line reached a worker that does not own its ticket (parallel reading only)."""


def _read(
    lines: list,
    numbers: Iterable[int] | None,
    filename: str,
    found: ReplayInput,
    *,
    stripped: bool,
    share: tuple[list[int], int] | None = None,
    policies: Collection[str] | None = None,
    other: OtherEvent | None = None,
) -> None:
    """Read ``lines[i]`` for each ``i`` of ``numbers`` (all lines when None) into ``found``.

    ``stripped``: the lines are the pieces of ``data.split(b"\n")`` (each but the last had a
    newline, put back for json's own messages). ``share`` = (owners, me): only this worker's
    tickets are expected; a ticket that is not ours raises ``_Misrouted``. ``policies``: see
    ``read_events``.
    """
    tickets = found.tickets
    latest = -(1 << 62)
    count = 0
    last_line = len(lines) - 1
    index = -1
    for index in range(len(lines)) if numbers is None else numbers:
        line = lines[index]
        try:
            # The usual line: decoded and checked in one step into its typed event (event_lines).
            try:
                typed = decode_line(line)
            except NotALine:
                typed = None
            if typed is not None:
                at = parse_time(typed.at)
                kind_of = type(typed)
                typed_event = _typed_event(typed, kind_of, at, policies)
                if typed_event is not None:
                    _file(found, typed.ticket, typed_event, kind_of is CreatedLine, index, share)
                    if at > latest:
                        latest = at
                    count += 1
                    continue
            # Anything else the long way: msgspec reads the line's bytes as they stand into plain
            # values; anything it refuses (a blank line, bad UTF-8, NaN, a huge integer, a
            # trailing second value...) goes through json.loads, which either reads it or gives its
            # own message; then each field is checked in Python, in the format's words.
            try:
                record = decode_json(line)
            except NotALine:
                record = _slow_json(line + b"\n" if stripped and index != last_line else line)
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
            if other is not None and type(kind) is str and kind not in _EVENTS:
                problem = other(kind, record, at, ticket, tickets.get(ticket))
                if problem is not None:
                    raise _Bad(problem)
            else:
                _file(found, ticket, _event(record, at, kind, policies), kind == "created", index, share)
            if at > latest:
                latest = at
            count += 1
        except _Bad as error:
            raise ReplayError(filename, index + 1, str(error)) from None
    if count:
        found.latest = latest if found.latest is None else max(latest, found.latest)
    found.events += count


_BLANK = object()


def _file(
    found: ReplayInput,
    ticket: str,
    event: Event,
    created: bool,
    index: int,
    share: tuple[list[int], int] | None,
) -> None:
    """Add a line's event to its ticket's list, or raise the rule of the format it breaks."""
    events = found.tickets.get(ticket)
    if events is None:
        if share is not None and share[0][hash(ticket.encode()) % _SLOTS] != share[1]:
            raise _Misrouted(index)
        if not created:
            raise _Bad(f"event for unknown ticket '{ticket}': its first event must be 'created'")
        found.tickets[ticket] = [event]
        found.firsts.append(index)
        return
    last = events[-1]
    if created:
        raise _Bad(f"ticket '{ticket}' is already created")
    if type(last) is StatusChange and last.status == "closed":
        raise _Bad(f"ticket '{ticket}' is closed; a closed ticket takes no further events")
    if event.at < last.at:
        raise _Bad(
            f"out of time order: {format_time(event.at)} is before ticket '{ticket}''s "
            f"previous event at {format_time(last.at)}"
        )
    events.append(event)


def _names(values: list[str]) -> tuple[str, ...]:
    """Tags as the engine keeps them: a tuple of one string object per distinct name."""
    if not values:
        return ()
    strings = _strings
    return tuple([strings.setdefault(value, value) for value in values])


def _typed_event(typed: object, kind_of: type, at: int, policies: Collection[str] | None) -> Event | None:
    """The engine's event for a well-formed line (``event_lines``); None for an incident naming a
    policy the protocol does not have, which the long way reports."""
    if kind_of is ReplyLine:
        assert isinstance(typed, ReplyLine)
        return Reply(at, typed.author == "agent", typed.public)
    if kind_of is StatusLine:
        assert isinstance(typed, StatusLine)
        return StatusChange(at, _STATUSES[typed.status])
    if kind_of is CreatedLine:
        assert isinstance(typed, CreatedLine)
        group = typed.group
        return Created(
            at,
            _PRIORITIES[typed.priority],
            _strings.setdefault(typed.channel, typed.channel),
            _names(typed.tags),
            None if group is None else _strings.setdefault(group, group),
            typed.by == "agent",
        )
    if kind_of is PriorityLine:
        assert isinstance(typed, PriorityLine)
        return PriorityChange(at, _PRIORITIES[typed.priority])
    if kind_of is TagsLine:
        assert isinstance(typed, TagsLine)
        return TagsChange(at, _names(typed.add), _names(typed.remove))
    if kind_of is GroupLine:
        assert isinstance(typed, GroupLine)
        group = typed.group
        return GroupChange(at, None if group is None else _strings.setdefault(group, group))
    assert isinstance(typed, IncidentLine)
    policy = typed.policy
    if policy is not None and policies is not None and policy not in policies:
        return None
    return IncidentChange(at, None if policy is None else _strings.setdefault(policy, policy))


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


# --------------------------------------------------------------------------- the desk's stored events


def stored_event(kind: str, at: int, data: dict[str, Any]) -> Event:
    """The engine's event for one the desk stores: its kind, its time (POSIX seconds) and its data,
    the replay format's fields for that kind (``tickets export-events`` writes them as they are).
    ``ValueError`` for a kind that is no SLA event."""
    if kind == "created":
        return Created(
            at,
            data["priority"],
            data["channel"],
            tuple(data.get("tags", ())),
            data.get("group") or None,
            data.get("by") == "agent",
        )
    if kind == "reply":
        return Reply(at, data["author"] == "agent", data.get("public", True))
    if kind == "status":
        return StatusChange(at, data["status"])
    if kind == "priority":
        return PriorityChange(at, data["priority"])
    if kind == "tags":
        return TagsChange(at, tuple(data.get("add", ())), tuple(data.get("remove", ())))
    if kind == "group":
        return GroupChange(at, data.get("group") or None)
    if kind == "incident":
        return IncidentChange(at, data.get("policy") or None)
    raise ValueError(f"{kind} is not an SLA event")


REMEMBERED = 10_000
"""Distinct (kind, data) pairs ``stored_histories`` remembers; a desk has a few dozen that repeat."""


def stored_histories(rows: Iterable[tuple[Any, ...]]) -> dict[str, list[Event]]:
    """The desk's stored events as the engine's, by ticket: ``rows`` are (ticket id, kind, POSIX
    seconds, data as JSON text or already decoded), ordered by ticket, then time; the tickets
    are keyed by their id as text (as the export writes it), in the order of the rows.

    Most events are replies and status changes whose data repeats word for word: each distinct
    (kind, data text) is parsed once, and the later ones are only made again at their own time.
    """
    found: dict[str, list[Event]] = {}
    again: dict[tuple[str, str], Callable[[int], Event] | None] = {}
    loads = decode_json
    current: object = None
    events: list[Event] = []
    for ticket_id, kind, seconds, data in rows:
        if ticket_id != current:
            current = ticket_id
            events = []
            found[str(ticket_id)] = events
        if type(data) is not str:  # a driver that decodes JSON itself
            events.append(stored_event(kind, seconds, data))
            continue
        key = (kind, data)
        remade = again.get(key)
        if remade is not None:
            events.append(remade(seconds))
            continue
        event = stored_event(kind, seconds, loads(data))
        events.append(event)
        if key not in again and len(again) < REMEMBERED:
            again[key] = _same_at(event)
    return found


def _same_at(event: Event) -> Callable[[int], Event] | None:
    """For an event that is only its kind, its data and its time (a reply, a status, a priority
    or group change), a function making the same event at another instant; None for the others,
    whose data is rarely the same twice (a ticket's creation, tags, an incident)."""
    if isinstance(event, Reply):
        by_agent, public = event.by_agent, event.public
        return lambda at: Reply(at, by_agent, public)
    if isinstance(event, StatusChange):
        status = event.status
        return lambda at: StatusChange(at, status)
    if isinstance(event, PriorityChange):
        priority = event.priority
        return lambda at: PriorityChange(at, priority)
    if isinstance(event, GroupChange):
        group = event.group
        return lambda at: GroupChange(at, group)
    return None


# --------------------------------------------------------------------------- output


def _time_or_null(t: int | None) -> str:
    return "null" if t is None else f'"{format_time(t)}"'


_QUOTE = '"'
# format_ticket writes the metrics in this order, by name.
assert METRICS == ("first_response", "next_response", "periodic_update", "resolution")
_target_json: dict[str, str] = {}
_name_json: dict[str | None, str] = {None: "null"}


def _json_name(name: str | None) -> str:
    """``json.dumps`` of a policy or rule id, remembered (few distinct ones)."""
    text = _name_json.get(name)
    if text is None:
        text = json.dumps(name)
        if len(_name_json) < 10_000:
            _name_json[name] = text
    return text


def _cycle_json(cycle: Cycle) -> str:
    assert cycle.target is not None
    text = cycle.target.text
    target = _target_json.get(text)
    if target is None:
        target = _target_json[text] = json.dumps(text)
    due = cycle.due
    fulfilled = cycle.fulfilled
    return (
        f'{{"target": {target}, "start": "{format_time(cycle.start)}", '
        f'"due": {"null" if due is None else _QUOTE + format_time(due) + _QUOTE}, '
        f'"fulfilled": {"null" if fulfilled is None else _QUOTE + format_time(fulfilled) + _QUOTE}, '
        f'"breached": {"true" if cycle.breached else "false"}}}'
    )


def _cycles_json(cycles: list[Cycle]) -> str:
    if not cycles:
        return "[]"
    if len(cycles) == 1:
        return f"[{_cycle_json(cycles[0])}]"
    return f"[{', '.join([_cycle_json(c) for c in cycles])}]"


def _ticket_json(ticket: str) -> str:
    # Printable ASCII without quotes or backslashes is its own JSON text; anything else as
    # json.dumps writes it (ensure_ascii escapes).
    if ticket.isascii() and ticket.isprintable() and '"' not in ticket and "\\" not in ticket:
        return f'"{ticket}"'
    return json.dumps(ticket)


def format_ticket(ticket: str, result: TicketSla) -> str:
    """One output line (without the newline): the same text ``json.dumps`` gives for the object."""
    metrics = result.metrics
    now = result.now
    escalations = ", ".join(
        [
            f'{{"rule": {_json_name(e.rule)}, "metric": "{e.metric}", "at": "{format_time(e.at)}"}}'
            for e in result.escalations
            if e.at < now
        ]
    )
    status = "null" if result.status is None else f'"{result.status}"'
    return (
        f'{{"ticket": {_ticket_json(ticket)}, "policy": {_json_name(result.policy)}, "status": {status}, '
        f'"metrics": {{"first_response": {_cycles_json(metrics["first_response"])}, '
        f'"next_response": {_cycles_json(metrics["next_response"])}, '
        f'"periodic_update": {_cycles_json(metrics["periodic_update"])}, '
        f'"resolution": {_cycles_json(metrics["resolution"])}}}, "escalations": [{escalations}]}}'
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


# --------------------------------------------------------------------------- whole files, on several cores

PARALLEL_MIN_LINES = 50_000
"""Below this many lines a replay stays in one process: starting workers costs more than it saves."""

WORKERS_ENV = "CHARTERDESK_REPLAY_WORKERS"
"""Environment variable: the number of processes for a replay (1: one process; unset: one per core,
at most ``MAX_WORKERS``). A number given this way is used whatever the size of the input."""

MAX_WORKERS = 8
_TICKET_PREFIX = b'{"ticket": "'
_TICKET_KEY = re.compile(rb'"ticket"\s*:\s*"([^"\\]*)"').search


def workers_for(lines: int, workers: int | None = None) -> int:
    """How many processes replay ``lines`` lines: ``workers`` if given, else the environment, else
    one per usable core for large inputs."""
    if workers is None:
        given = os.environ.get(WORKERS_ENV, "").strip()
        if given:
            try:
                workers = int(given)
            except ValueError:
                workers = None
    if workers is None:
        if lines < PARALLEL_MIN_LINES:
            return 1
        try:
            cores = len(os.sched_getaffinity(0))
        except AttributeError:  # pragma: no cover - not Linux
            cores = os.cpu_count() or 1
        workers = min(cores, MAX_WORKERS)
    if workers > 1 and "fork" not in multiprocessing.get_all_start_methods():
        return 1  # pragma: no cover - the workers share the input by forking
    return max(1, min(workers, MAX_WORKERS))


def replay_data(
    engine: SlaEngine, data: bytes, filename: str, now: int | None = None, *, workers: int | None = None
) -> list[str]:
    """Replay a whole events file held in memory: its output lines (each with its newline), in
    order of the tickets' first appearance. Raises ``ReplayError`` for the first bad line.

    With several workers, tickets are shared out by a hash of their id: each process reads (and
    checks) only the lines of its tickets, the latest ``at`` is agreed on, each evaluates its
    tickets, and the lines are put back in order of first appearance. The result is the same
    text as in one process; a file whose ticket ids cannot be found cheaply on each line is
    replayed in one process.
    """
    lines = data.split(b"\n")
    count = workers_for(len(lines), workers)
    if count > 1:
        done = _replay_parallel(engine, lines, filename, now, count)
        if done is not None:
            return done
    found = ReplayInput()
    _read(lines, None, filename, found, stripped=True, policies=engine.policy_ids)
    del lines
    return list(replay_lines(engine, found, now))


_SLOTS = 120
"""A ticket goes to the worker that owns the slot ``hash(id) % _SLOTS`` (``owners``)."""
PARENT_SHARE = 0.92
"""The parent's share of the tickets, against an even share: after the evaluation it also takes
the workers' lines, puts them in order and writes them, while the workers have nothing left to do."""


def owners(workers: int) -> list[int]:
    """Which worker owns each slot: the parent (0) about ``PARENT_SHARE`` of an even share, the
    others the rest, evenly."""
    if workers < 2:
        return [0] * _SLOTS
    parent = round(_SLOTS / workers * PARENT_SHARE)
    rest = _SLOTS - parent
    return [0] * parent + [1 + slot * (workers - 1) // rest for slot in range(rest)]


def _my_lines(lines: list[bytes], table: list[int], me: int) -> list[int]:
    """The indices of the lines whose ticket id (found without parsing) falls to worker ``me``.

    A line without a plain ``"ticket": "..."`` goes to worker 0; reading checks every new ticket
    against its real id (``_Misrouted``)."""
    mine: list[int] = []
    append = mine.append
    prefix = _TICKET_PREFIX
    start = len(prefix)
    search = _TICKET_KEY
    for index, line in enumerate(lines):
        if line.startswith(prefix):
            end = line.find(b'"', start)
            if end >= 0:
                if table[hash(line[start:end]) % _SLOTS] == me:
                    append(index)
                continue
        found = search(line)
        if (0 if found is None else table[hash(found.group(1)) % _SLOTS]) == me:
            append(index)
    return mine


def _read_share(
    lines: list[bytes], filename: str, workers: int, me: int, policies: Collection[str]
) -> tuple[ReplayInput, tuple[int, str] | None, bool]:
    """Phase one in a worker: (what it read, its first bad line (index, text) or None, misrouted)."""
    found = ReplayInput()
    table = owners(workers)
    try:
        _read(
            lines,
            _my_lines(lines, table, me),
            filename,
            found,
            stripped=True,
            share=(table, me),
            policies=policies,
        )
    except ReplayError as error:
        return found, (error.line - 1, error.message), False
    except _Misrouted:
        return found, None, True
    return found, None, False


def _evaluate_share(engine: SlaEngine, found: ReplayInput, now: int) -> list[str]:
    return list(replay_lines(engine, found, now))


def _worker(
    connection: Connection, engine: SlaEngine, lines: list[bytes], filename: str, workers: int, me: int
) -> None:
    """A forked worker: read its share, report, wait for ``now``, send back its output lines."""
    try:
        found, bad, misrouted = _read_share(lines, filename, workers, me, engine.policy_ids)
        del lines
        connection.send((found.latest, bad, misrouted))
        now = connection.recv()
        if now is None:
            return
        output = _evaluate_share(engine, found, now)
        connection.send((found.firsts, output))
    except BaseException:  # reported to the parent, which raises it
        import traceback

        with contextlib.suppress(OSError):
            connection.send(("crash", traceback.format_exc()))
    finally:
        connection.close()


class _WorkerFailed(Exception):
    """A replay worker crashed or ended without an answer."""


def _replay_parallel(
    engine: SlaEngine, lines: list[bytes], filename: str, now: int | None, workers: int
) -> list[str] | None:
    """The parent is worker 0; workers 1.. are forked. None: misrouted lines, replay in one process."""
    context = multiprocessing.get_context("fork")
    connections: list[Connection] = []
    processes = []
    # A forked worker flushes the standard streams it inherited when it ends: empty them first.
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    try:
        for me in range(1, workers):
            parent_end, child_end = context.Pipe()
            process = context.Process(
                target=_worker, args=(child_end, engine, lines, filename, workers, me), daemon=True
            )
            process.start()
            child_end.close()
            connections.append(parent_end)
            processes.append(process)
        found, bad, misrouted = _read_share(lines, filename, workers, 0, engine.policy_ids)
        latest = found.latest
        first_bad = bad
        for connection in connections:
            reply = _receive(connection)
            their_latest, their_bad, their_misrouted = reply
            misrouted = misrouted or their_misrouted
            if their_latest is not None and (latest is None or their_latest > latest):
                latest = their_latest
            if their_bad is not None and (first_bad is None or their_bad[0] < first_bad[0]):
                first_bad = their_bad
        if misrouted or first_bad is not None:
            for connection in connections:
                connection.send(None)
            if misrouted:
                return None
            assert first_bad is not None
            raise ReplayError(filename, first_bad[0] + 1, first_bad[1])
        if now is None:
            now = latest
        if now is None:
            for connection in connections:
                connection.send(None)
            return []
        for connection in connections:
            connection.send(now)
        lines.clear()  # read and checked: the workers have their own copy (fork)
        firsts = found.firsts
        output = _evaluate_share(engine, found, now)
        del found
        for connection in connections:
            their_firsts, their_output = _receive(connection)
            firsts += their_firsts
            output += their_output
        # Each share is in order of first appearance already: a sort of the line numbers (runs
        # that timsort merges) gives the order of the whole file.
        order = sorted(range(len(firsts)), key=firsts.__getitem__)
        return [output[i] for i in order]
    finally:
        for connection in connections:
            connection.close()
        for process in processes:
            process.join(timeout=5)
            if process.is_alive():  # pragma: no cover - a worker stuck after an error
                process.kill()
                process.join()


def _receive(connection: Connection) -> tuple:
    try:
        reply = connection.recv()
    except EOFError:
        raise _WorkerFailed("a replay worker ended without an answer") from None
    if reply[0] == "crash":
        raise _WorkerFailed(f"a replay worker failed:\n{reply[1]}")
    return reply
