"""What the portal tells a customer about their ticket, in their words and their time zone.

Everything comes from the ticket's stored SLA state (``tickets/live_sla.py`` keeps it current): the
portal never computes a due time itself, it only words the engine's answer.
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from dataclasses import dataclass

from django.utils import timezone

from charterdesk.protocol.models import Protocol
from charterdesk.tickets.choices import Status

# The six fixed statuses, as a customer would say them.
STATUS_WORDS = {
    Status.NEW: "Received",
    Status.OPEN: "We are on it",
    Status.PENDING: "Waiting for your reply",
    Status.ON_HOLD: "Waiting on a third party",
    Status.SOLVED: "Solved",
    Status.CLOSED: "Closed",
}

_REPLY_METRICS = ("first_response", "next_response")
_UNIT_WORDS = {"d": "day", "h": "hour", "m": "minute", "s": "second"}


def zone_label(zone: str) -> str:
    """'America/New_York' -> 'New York time'; 'UTC' -> 'UTC'."""
    if zone in ("UTC", "Etc/UTC", "GMT"):
        return "UTC"
    return zone.rsplit("/", 1)[-1].replace("_", " ") + " time"


def safe_zone(zone: str | None) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(zone or "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")


def when(moment: dt.datetime | int, zone: str, *, now: dt.datetime | None = None) -> str:
    """A time as a customer reads it: 'Monday 11:30 New York time' within the coming week,
    'Monday 4 January 11:30 New York time' further out or in the past."""
    tz = safe_zone(zone)
    if isinstance(moment, int | float):
        moment = dt.datetime.fromtimestamp(moment, tz=dt.UTC)
    local = moment.astimezone(tz)
    today = (now or timezone.now()).astimezone(tz).date()
    label = zone_label(tz.key)
    if 0 <= (local.date() - today).days <= 6:
        return f"{local:%A} {local:%H:%M} {label}"
    year = "" if local.year == today.year else f" {local.year}"
    return f"{local:%A} {local.day} {local:%B}{year}, {local:%H:%M} {label}"


def duration_words(text: str | None) -> str:
    """'8h' -> '8 hours', '1h30m' -> '1 hour 30 minutes'."""
    if not text:
        return ""
    parts = []
    for number, unit in re.findall(r"(\d+(?:\.\d+)?)\s*([dhms])", text):
        word = _UNIT_WORDS[unit]
        parts.append(f"{number} {word}{'' if number == '1' else 's'}")
    return " ".join(parts) or text


def default_zone(protocol: Protocol | None, channel_id: str | None) -> str:
    """The zone of the channel's calendar, else of the first calendar that has one, else UTC."""
    if protocol is None:
        return "UTC"
    channel = next((c for c in protocol.channels.customer if c.id == channel_id), None)
    calendars = {c.id: c for c in protocol.calendars}
    if channel is not None and channel.calendar and calendars.get(channel.calendar):
        zone = calendars[channel.calendar].timezone
        if zone:
            return zone
    return next((c.timezone for c in protocol.calendars if c.timezone), "UTC")


@dataclass(frozen=True)
class Promise:
    """The one sentence the portal shows about when we answer, and whether it is still ahead."""

    text: str
    open: bool  # a reply from us is still owed
    due: dt.datetime | None = None
    late: bool = False
    terms: str = ""  # what the protocol promises, e.g. "a first reply within 8 hours of our business hours"

    @property
    def tone(self) -> str:
        """For the page's colour: ``late``, ``owed`` (a reply from us is ahead) or ``settled``."""
        return "late" if self.late else "owed" if self.open else "settled"


def _cycles(ticket, metric: str) -> list[dict]:
    return list((ticket.sla_state or {}).get("metrics", {}).get(metric) or [])


def _terms(protocol: Protocol | None, cycle: dict, metric: str) -> str:
    target = duration_words(cycle.get("target"))
    if not target:
        return ""
    what = "a first reply" if metric == "first_response" else "an answer to each message"
    calendar = None
    if protocol is not None and cycle.get("calendar"):
        calendar = next((c for c in protocol.calendars if c.id == cycle["calendar"]), None)
    if calendar is None or calendar.always_open:
        return f"{what} within {target}, around the clock"
    hours = ", ".join(
        f"{days.title().replace('-', '–')} {ranges.replace('-', '–')}"
        for days, ranges in calendar.hours.text.items()
    )
    where = f" {zone_label(calendar.timezone)}" if calendar.timezone else ""
    return f"{what} within {target} of our business hours ({hours}{where})"


def promise_for(
    ticket, zone: str, *, protocol: Protocol | None = None, now: dt.datetime | None = None
) -> Promise:
    """The reply we owe on ``ticket`` (first or next response) in ``zone``, or the last one we gave."""
    now = now or timezone.now()
    if ticket.status == Status.CLOSED:
        return Promise("This ticket is closed.", open=False)
    if ticket.status == Status.PENDING:
        return Promise("We are waiting for your reply.", open=False)
    owed = None
    for metric in _REPLY_METRICS:
        for cycle in _cycles(ticket, metric):
            if cycle.get("fulfilled") is None:
                owed = (metric, cycle)
    if ticket.status != Status.SOLVED and owed is not None:
        metric, cycle = owed
        terms = _terms(protocol, cycle, metric)
        if cycle.get("due") is None:
            return Promise("We will reply as soon as we can.", open=True, terms=terms)
        due = dt.datetime.fromtimestamp(cycle["due"], tz=dt.UTC)
        if due < now:
            return Promise(
                f"We meant to reply by {when(due, zone, now=now)}. We are sorry for the wait; "
                "a person will answer as soon as possible.",
                open=True,
                due=due,
                late=True,
                terms=terms,
            )
        return Promise(f"We will reply by {when(due, zone, now=now)}.", open=True, due=due, terms=terms)
    replied = [
        cycle["fulfilled"]
        for metric in _REPLY_METRICS
        for cycle in _cycles(ticket, metric)
        if cycle.get("fulfilled") is not None
    ]
    if ticket.status == Status.SOLVED:
        solved = ticket.solved_at or ticket.updated_at
        return Promise(
            f"We marked this ticket solved on {when(solved, zone, now=now)}. "
            "If you still need help, reply and it opens again.",
            open=False,
        )
    if replied:
        return Promise(f"We replied on {when(max(replied), zone, now=now)}.", open=False)
    return Promise("We will reply as soon as we can.", open=True)
