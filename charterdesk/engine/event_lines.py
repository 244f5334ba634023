"""The well-formed lines of the replay format (specs/replay-format.md) as msgspec types.

``sla replay`` reads a million lines; most are well formed. msgspec decodes such a line straight
into one of these typed objects, checking every field's type and value in C on the way, which
is faster than parsing it into a dict and checking each field in Python afterwards. A line these
types refuse (a problem, a ``null`` where the format allows one but these types do not, an event
of a format built on this one, such as the KPI command's ``survey``) is not an error here: the
reader (``replay._read``) then takes it the long way, which accepts what the format accepts and
gives the problem in the format's own words. So these types may be stricter than the format,
never looser.

Not compiled with the engine: mypyc does not compile classes with msgspec's metaclass.
"""

from __future__ import annotations

from typing import Literal

import msgspec

Priority = Literal["low", "normal", "high", "urgent"]
Status = Literal["new", "open", "pending", "on_hold", "solved", "closed"]


class EventLine(msgspec.Struct, tag_field="event", frozen=True):
    """What every line has; keys the format does not name are ignored (as the format says)."""

    ticket: str
    at: str


class CreatedLine(EventLine, tag="created", frozen=True):
    priority: Priority
    channel: str
    tags: list[str] = []
    group: str | None = None
    by: Literal["customer", "agent"] = "customer"


class ReplyLine(EventLine, tag="reply", frozen=True):
    author: Literal["agent", "customer"]
    public: bool = True


class StatusLine(EventLine, tag="status", frozen=True):
    status: Status


class PriorityLine(EventLine, tag="priority", frozen=True):
    priority: Priority


class TagsLine(EventLine, tag="tags", frozen=True):
    add: list[str] = []
    remove: list[str] = []


class GroupLine(EventLine, tag="group", frozen=True):
    group: str | None


class IncidentLine(EventLine, tag="incident", frozen=True):
    policy: str | None


AnyLine = CreatedLine | ReplyLine | StatusLine | PriorityLine | TagsLine | GroupLine | IncidentLine

decode_line = msgspec.json.Decoder(AnyLine).decode
"""A line's bytes as its typed event; raises ``msgspec.MsgspecError`` for anything else."""

decode_json = msgspec.json.Decoder().decode
"""Any JSON text as plain values (dicts, lists, strings, numbers), for the lines ``decode_line``
does not take; raises ``msgspec.MsgspecError`` for what it cannot read."""

NotALine = msgspec.MsgspecError
"""What ``decode_line`` and ``decode_json`` raise."""
