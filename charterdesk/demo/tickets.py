"""Realistic demo tickets in bulk: `charterdesk demo --tickets N`.

The generator writes what the desk itself would have written had each ticket been worked
through the ``do_*`` actions, only much faster: customers (names, emails, organizations, time
zones, languages), tickets on the protocol's channels, priorities and groups, a conversation
of customer messages, public replies and internal notes that follows one scenario's script
(``scenarios.py``: a status is drawn first, then a scenario whose script can stop there, and
the ticket tells the script up to that point; an opening that calls for a contingency puts the
ticket under it, with its actions, as ``checks`` does live), and the ticket's event history with
exactly the ``sla_input`` events ``tickets/actions.py`` writes (``created``, ``reply``,
``status``, ``priority``, ``tags``, ``group``) plus the timeline-only rows (assignments,
procedure steps, escalations). Each ticket's SLA state is the engine's answer
(``tickets/live_sla.py``: the compiled engine of the version in force, evaluated on the events held
in memory), stored the way ``refresh_sla`` stores it, and the escalation rules the engine says
have fired are recorded as carried out, so the desk does not fire them again.

Speed: the actions cost a transaction, an audit entry and several queries per change. Here
worker processes (one per CPU, forked with the compiled engine) make each batch's rows, values
already in the database's form, while the loading process writes the batches already made, with
the ids given on the way, several batches (about 10,000 tickets) to a transaction. On SQLite a
worker writes its batch to a spool file of its own (plain tables, no index, no journal) and the
loading process copies it in with one ``INSERT ... SELECT`` per table, so no row crosses between
the processes as Python objects; on PostgreSQL the rows come back to the loading process and go
in with ``COPY``. For the load (see ``_bulk_load``) commits are not waited for, and on SQLite each
transaction fills the full-text index for its own tickets in one statement (``_Transactions``).
One audit entry records the whole load. The same seed gives the same data, whatever the number
of workers.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import logging
import math
import multiprocessing
import os
import random
import shutil
import sqlite3
import sys
import tempfile
import threading
import time
from bisect import bisect_right
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from html import escape
from statistics import NormalDist
from types import SimpleNamespace

from django.db import connection, transaction
from django.utils import timezone

from charterdesk.audit.actions import record
from charterdesk.checks.models import ContingencyActivation
from charterdesk.engine.assignment import Candidate, choose_assignee, group_roles, route_group
from charterdesk.engine.contingencies import ContingencyRules
from charterdesk.engine.escalation import apply_actions
from charterdesk.engine.sla import (
    Created,
    GroupChange,
    PriorityChange,
    Reply,
    StatusChange,
    TagsChange,
)
from charterdesk.library.versions import protocol_of, version_in_force
from charterdesk.protocol.vocabulary import METRIC_WORDS
from charterdesk.tickets.choices import EventKind, MessageKind, Status
from charterdesk.tickets.escalation_effects import firing_key
from charterdesk.tickets.live_sla import engine_for, is_breached, next_due, sla_state
from charterdesk.tickets.models import (
    Customer,
    Message,
    ProcedureStep,
    ScheduledFollowUp,
    Ticket,
    TicketEvent,
    TicketTag,
)
from charterdesk.tickets.search import FTS_TABLE, SQLITE_CREATE

from .scenarios import CARRIERS, SCENARIOS, conversation, phone_record, reply_text

log = logging.getLogger(__name__)

UTC = dt.UTC
HOUR = 3600
DAY = 24 * HOUR


class DemoDataError(Exception):
    """The demo tickets cannot be loaded; the message says what is missing."""


@dataclass
class LoadReport:
    """What a load wrote and how fast."""

    tickets: int = 0
    customers: int = 0
    messages: int = 0
    events: int = 0
    survey_answers: int = 0
    seconds: float = 0.0
    survey_seconds: float = 0.0  # adding the survey rows after the tickets
    generate_seconds: float = 0.0  # waiting for batches to be made
    write_seconds: float = 0.0  # writing them
    statuses: dict[str, int] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        """Tickets per second."""
        return self.tickets / self.seconds if self.seconds > 0 else 0.0

    def summary(self) -> str:
        return (
            f"{self.tickets:,} tickets ({self.messages:,} messages, {self.events:,} events, "
            f"{self.customers:,} new customers) in {self.seconds:.1f} s: {self.rate:,.0f} tickets/s"
        )


# --------------------------------------------------------------------------- words


def _names(text: str) -> tuple[str, ...]:
    return tuple(text.split())


FIRST_NAMES = _names(
    "Olivia Liam Emma Noah Amelia Oliver Sophia Elijah Charlotte James Mia Lucas Harper Mateo Evelyn "
    "Benjamin Aria Henry Chloe Theodore Luna Jack Layla Levi Ella Sebastian Nora Owen Lily Asher Zoe "
    "Ezra Grace Hudson Hannah Leo Aurora Julian Camila Wyatt Stella Samuel Ines Kenji Priya Arjun "
    "Mei Yusuf Fatima Omar Aisha Lars Ingrid Sven Freya Mateus Lucia Diego Valentina Kofi Amara "
    "Tariq Leila Hiroshi Yuki Anika Rohan Siobhan Declan Maeve Niamh Finn Astrid Bjorn Elif Emre "
    "Zara Idris Nadia Pavel Katya Tomasz Zofia Jonas Greta Matteo Giulia Rafael Beatriz Ana Ruben"
)
LAST_NAMES = _names(
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez "
    "Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris "
    "Sanchez Clark Ramirez Lewis Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill "
    "Flores Green Adams Nelson Baker Hall Rivera Campbell Mitchell Carter Roberts Okafor Mensah "
    "Tanaka Suzuki Sato Kowalski Nowak Novak Horvat Jensen Hansen Larsen Lindqvist Berg Muller "
    "Schmidt Schneider Fischer Weber Rossi Russo Ferrari Silva Santos Costa Oliveira Dubois Moreau "
    "Laurent Fontaine OBrien Murphy Kelly Walsh Byrne Chen Wang Zhang Liu Patel Shah Singh Kumar"
)
ORGANIZATIONS = (
    "Peak Adventures",
    "Northwind Outfitters",
    "Blue Ridge Scouts",
    "Cascade Climbing Club",
    "Riverbend School District",
    "Summit Search and Rescue",
    "Trailhead Tours",
    "Evergreen Camps",
    "Lakeside Rowing Club",
    "Granite State Guides",
    "Pioneer Expeditions",
    "Coastal Kayak Co.",
    "Redwood Youth League",
    "Highland Hiking Society",
    "Desert Sun Outfitters",
)
TIMEZONES = (
    ("America/New_York", 30),
    ("America/Chicago", 14),
    ("America/Denver", 8),
    ("America/Los_Angeles", 16),
    ("America/Toronto", 6),
    ("Europe/London", 8),
    ("Europe/Berlin", 6),
    ("Europe/Paris", 4),
    ("Asia/Tokyo", 3),
    ("Australia/Sydney", 3),
    ("UTC", 2),
)
LANGUAGES = (("en", 86), ("de", 5), ("fr", 4), ("es", 5))
MAIL_DOMAINS = ("example.com", "mail.example", "example.org", "example.net", "outdoors.example")
# Tags an agent may add early on: none that would put the ticket under another scenario's procedure.
EXTRA_TAGS = ("vip", "follow-up")

STATUS_WEIGHTS = (
    (Status.NEW, 6),
    (Status.OPEN, 18),
    (Status.PENDING, 8),
    (Status.ON_HOLD, 4),
    (Status.SOLVED, 9),
    (Status.CLOSED, 55),
)
PRIORITY_WEIGHTS = (("low", 15), ("normal", 55), ("high", 22), ("urgent", 8))
CHANNEL_KIND_WEIGHTS = {"email": 50, "web": 25, "chat": 15, "phone": 10}


# --------------------------------------------------------------------------- context


@dataclass
class _Person:
    """Someone who can take tickets, as the workers need them (they never query the database)."""

    pk: int
    name: str
    roles: frozenset[str]


@dataclass
class _Context:
    """What every ticket of a load shares: the protocol in force, its compiled engine, the people."""

    now: int
    version: object
    version_text: str
    protocol: object
    engine: object
    channels: list[str]
    channel_weights: list[int]
    group_people: dict[str | None, list[_Person]]
    leads: list[_Person]
    everyone: list[_Person]
    method: str
    auto_close: object  # Duration | None
    follow_up_after: int | None
    procedures: list
    escalation_group: str | None
    vendor: str


def _context(now: dt.datetime) -> _Context:
    from charterdesk.accounts.models import Person

    version = version_in_force()
    if version is None:
        raise DemoDataError("no protocol version is in force; load the demo (charterdesk demo) first")
    protocol = protocol_of(version)
    assert protocol is not None
    people = [
        _Person(p.pk, p.name, frozenset(p.role_ids))
        for p in Person.objects.filter(is_active=True, away=False).prefetch_related("roles").order_by("pk")
    ]
    if not people:
        raise DemoDataError("nobody holds a role yet; load the demo people (charterdesk demo) first")
    channels = [c.id for c in protocol.channels.customer]
    kinds = {c.id: c.kind for c in protocol.channels.customer}
    weights = [CHANNEL_KIND_WEIGHTS.get(kinds[c], 10) for c in channels]
    group_people: dict[str | None, list[_Person]] = {}
    for group in [g.id for g in protocol.team.groups] + [None]:
        roles = set(group_roles(protocol, group))
        group_people[group] = [p for p in people if p.roles & roles]
    lead_roles = {r.id for r in protocol.team.roles if (r.tier or 0) >= 2}
    leads = [p for p in people if p.roles & lead_roles] or people
    resolution = protocol.resolution
    groups = [g.id for g in protocol.team.groups]
    routed = {route_group(protocol, c) for c in channels}
    escalation_group = next((g for g in groups if g not in routed), None)
    return _Context(
        now=int(now.timestamp()),
        version=version,
        version_text=version.version,
        protocol=protocol,
        engine=engine_for(version),
        channels=channels,
        channel_weights=weights,
        group_people=group_people,
        leads=leads,
        everyone=people,
        method=resolution.handling.assignment if resolution else "manual",
        auto_close=resolution.handling.auto_close_solved_after if resolution else None,
        follow_up_after=(
            resolution.follow_up.after_solved.seconds if resolution and resolution.follow_up else None
        ),
        procedures=list(resolution.procedures) if resolution else [],
        escalation_group=escalation_group,
        vendor=connection.vendor,
    )


# --------------------------------------------------------------------------- one ticket


class _Pick:
    """A weighted choice by bisection over cumulative weights (``random.choices`` costs more)."""

    __slots__ = ("cumulative", "items", "total")

    def __init__(self, pairs) -> None:
        self.items = [p[0] for p in pairs]
        self.cumulative = list(itertools.accumulate(p[1] for p in pairs))
        self.total = self.cumulative[-1]

    def __call__(self, rng: random.Random):
        return self.items[bisect_right(self.cumulative, rng.random() * self.total)]


def _body_html(text: str) -> str:
    return "".join(f"<p>{escape(p)}</p>" for p in text.split("\n\n"))


_MINUTES = tuple(f" {hour:02d}:{minute:02d}:" for hour in range(24) for minute in range(60))
_SECS = tuple(f"{second:02d}" for second in range(60))


def _time_formatter(vendor: str) -> Callable[[int | None], str | None]:
    """POSIX seconds -> the text the database's datetime column takes (whole seconds, UTC)."""
    # SQLite: what Django's backend stores for an aware UTC datetime. Others: ISO with the offset.
    # The same as strftime("%Y-%m-%d %H:%M:%S", gmtime(seconds)), from tables of days and clocks.
    seconds_text = _SECS if vendor == "sqlite" else tuple(f"{s}+00:00" for s in _SECS)
    minutes_text = _MINUTES
    days: dict[int, str] = {}
    # Most instants are formatted twice (a message and its event), so the answers are kept: one
    # formatter serves one batch.
    known: dict[int | None, str | None] = {None: None}

    def at(seconds):
        text = known.get(seconds)
        if text is not None or seconds is None:
            return text
        day, rest = divmod(seconds, DAY)
        date = days.get(day)
        if date is None:
            date = days[day] = time.strftime("%Y-%m-%d", time.gmtime(day * DAY))
        minute, second = divmod(rest, 60)
        text = known[seconds] = date + minutes_text[minute] + seconds_text[second]
        return text

    return at


class _Batch:
    """One batch's rows, table by table, as the generator makes them.

    Every row starts with the ticket's place in the batch (``k``); ticket and customer-message
    rows then hold the customer's place in the load (the writer turns both into ids). The
    columns follow ``_SPOOL``."""

    __slots__ = ("a", "e", "f", "g", "m", "s", "statuses", "t")

    def __init__(self) -> None:
        self.t: list[tuple] = []
        self.m: list[tuple] = []
        self.e: list[tuple] = []
        self.g: list[tuple] = []
        self.s: list[tuple] = []
        self.f: list[tuple] = []
        self.a: list[tuple] = []  # contingency activations
        self.statuses: dict[str, int] = {}

    def tables(self) -> tuple[list[tuple], ...]:
        return self.t, self.m, self.e, self.g, self.s, self.f, self.a


def _normal_quantiles(sigma: float, count: int = 4096) -> tuple[float, ...]:
    """exp(sigma * z) at ``count`` evenly spaced quantiles z of the standard normal: a draw from it
    times e^mu is a log-normal draw (one call to random() instead of normalvariate's loop)."""
    normal = NormalDist()
    return tuple(math.exp(sigma * normal.inv_cdf((i + 0.5) / count)) for i in range(count))


_SPREAD_1 = _normal_quantiles(1.0)
_SPREAD_11 = _normal_quantiles(1.1)


class _Generator:
    """Makes the rows of one batch of tickets. Runs in the loading process or in a worker process.

    This runs a quarter of a million times in a large load, so it draws with ``random()`` alone
    (an index is ``int(random() * n)``: ``choice`` and ``randint`` cost several calls each), keeps
    the JSON of recurring event data, and writes each row once, in its final form."""

    def __init__(self, ctx: _Context, seed: str, messages_per_ticket: float) -> None:
        self.ctx = ctx
        self.rng = random.Random(seed)
        self.pick_status = _Pick(STATUS_WEIGHTS)
        # Each scenario's own spread of priorities (a sizing question is rarely urgent), else the
        # desk's usual one.
        self.pick_priority = {s.id: _Pick(s.priorities or PRIORITY_WEIGHTS) for s in SCENARIOS}
        # A scenario is picked after the status, among those whose script can stop there.
        self.pick_scenario = {
            status: _Pick([(s, s.weight) for s in SCENARIOS if (status in s.stops)])
            for status in ("new", "open", "pending", "on_hold", "solved")
        }
        self.pick_scenario["closed"] = self.pick_scenario["solved"]
        self.pick_channel = _Pick(list(zip(ctx.channels, ctx.channel_weights, strict=True)))
        self.other_priorities = {p: [q for q, _ in PRIORITY_WEIGHTS if q != p] for p, _ in PRIORITY_WEIGHTS}
        weights = dict(STATUS_WEIGHTS)
        new_share = weights[_S.NEW] / sum(weights.values())
        # New tickets hold one or two messages; the others make up the average asked for.
        self.mean_others = max(2.0, (messages_per_ticket - new_share * 1.5) / (1 - new_share))
        self.auto_close = ctx.auto_close.seconds if ctx.auto_close else None
        self.auto_close_text = ctx.auto_close.text if ctx.auto_close else ""
        self.at = _time_formatter(ctx.vendor)
        # Per group, the last person given a ticket, and how many each was given: what the live
        # desk reads from its rows to ask the same engine (engine.assignment.choose_assignee).
        self.last_assigned: dict[str | None, int] = {}
        self.given: dict[int, int] = {}
        self.routes = {c: route_group(ctx.protocol, c) for c in ctx.channels}
        self.json: dict = {}  # recurring event data -> its JSON
        self.fitting: dict = {}  # (priority, channel, group, tags) -> the procedures that apply
        self.signatures = {p.pk: p.name.split()[0] for p in ctx.everyone}
        contingencies = ctx.protocol.contingencies
        self.contingency_rules = ContingencyRules(contingencies)
        self.plans = {c.id: c for c in contingencies}

    def dumps(self, key, make) -> str:
        text = self.json.get(key)
        if text is None:
            text = self.json[key] = json.dumps(make())
        return text

    def auto_assignee(self, group: str | None) -> _Person | None:
        """The person the group's assignment picks (taking turns among the people who can)."""
        people = {p.pk: p for p in self.ctx.group_people.get(group) or []}
        if not people or self.ctx.method == "manual":
            return None
        candidates = [Candidate(pk, self.given.get(pk, 0)) for pk in people]
        chosen = choose_assignee(self.ctx.method, candidates, self.last_assigned.get(group))
        if chosen is None:
            return None
        self.last_assigned[group] = chosen
        self.given[chosen] = self.given.get(chosen, 0) + 1
        return people[chosen]

    # -- one ticket ----------------------------------------------------------------------------

    def ticket(self, out: _Batch, k: int, owner: int, name: str, email: str | None) -> None:
        """One ticket's rows, added to ``out``: the ticket, its messages, events, tags, ticked
        procedure steps and scheduled follow-up."""
        ctx = self.ctx
        rng = self.rng
        random_ = rng.random
        now = ctx.now
        status = self.pick_status(rng)
        channel = self.pick_channel(rng)
        chat = channel == "chat"
        scenario = self.pick_scenario[status](rng)
        priority = self.pick_priority[scenario.id](rng)
        tags = set(scenario.tags)
        if random_() < 0.06:
            tags.add("vip")
        group = self.routes[channel]
        by_agent = channel == "phone" and status != _S.NEW and random_() < 0.7
        first = name.split(" ", 1)[0]
        words = {
            "product": scenario.products[int(random_() * len(scenario.products))],
            "order": f"A{10000 + int(random_() * 90000)}",
            "carrier": CARRIERS[int(random_() * len(CARRIERS))],
            "days": 3 + int(random_() * 10),
            "first": first,
        }

        # The conversation: a stretch of the scenario's script that fits the status (c customer,
        # r public reply, n note), about ``count`` messages; then when each was written.
        if status == _S.NEW:
            count = 1 + (random_() < 0.5)
        else:
            count = 2 + int(random_() * 2 * (self.mean_others - 2) + random_())
        lines = conversation(scenario, status, by_agent, count, random_, words)
        kinds = [line.kind for line in lines]
        offsets = [0]
        offset = 0
        previous = kinds[0]
        spread = _SPREAD_1
        draws = len(spread)
        for kind in kinds[1:]:
            if kind == "n":
                gap = 300 + int(random_() * 3301)
            elif kind == "r":
                typical = _CHAT if chat else (_90M if previous == "c" else _8H)
                gap = min(int(typical * spread[int(random_() * draws)]), 3 * DAY)
            else:
                gap = min(int(_6H * spread[int(random_() * draws)]), 5 * DAY)
            offset += gap if gap > 30 else 30
            offsets.append(offset)
            previous = kind
        span = offset
        solved_at = closed_at = None
        if status == _S.CLOSED and self.auto_close is None:
            status = _S.SOLVED
        if status == _S.SOLVED:
            window = min(x for x in (self.auto_close, ctx.follow_up_after, 2 * DAY) if x)
            solved_at = now - 60 - int(random_() * (max(61, window - 60) - 59))
            created = solved_at - span
        elif status == _S.CLOSED:
            solved_at = now - self.auto_close - HOUR - int(random_() * (90 * DAY - HOUR + 1))
            created = solved_at - span
            closed_at = solved_at + self.auto_close
        else:
            typical_idle = _IDLE.get(status, DAY)
            idle = min(int(typical_idle * _SPREAD_11[int(random_() * draws)]), 20 * DAY) + 60
            created = now - span - idle
        # Early changes come within ten minutes of creation and before the second message, so
        # that no escalation can have changed the ticket before them.
        first_gap = offsets[1] if len(offsets) > 1 else max(now - created, 2)
        early_limit = max(1, min(first_gap - 1, 600))

        subjects = scenario.subjects
        subject = subjects[int(random_() * len(subjects))].format_map(words)
        # Events: (at, kind, data as JSON, sla_input, actor id, actor label, clause, summary).
        events: list[tuple] = []
        engine_events: list = []
        steps: list[tuple] = []

        sorted_tags = tuple(sorted(tags))
        created_json = self.dumps(
            ("created", priority, channel, sorted_tags, group, by_agent),
            lambda: _created_data(priority, channel, sorted_tags, group, by_agent),
        )
        assignee = self.auto_assignee(group) if random_() < 0.85 else None
        group_people = ctx.group_people.get(group) or ctx.everyone
        opener = assignee or group_people[0]
        opened_by = (opener.pk, opener.name) if by_agent else _SYSTEM
        events.append((created, _E.CREATED, created_json, True, *opened_by, "", f"Opened on {channel}"))
        engine_events.append(Created(created, priority, channel, sorted_tags, group, by_agent))
        current = _S.OPEN if by_agent else _S.NEW
        if by_agent:
            events.append((created, _E.STATUS, _J_OPEN, False, opener.pk, opener.name, "", ""))
        if assignee is not None:
            events.append(
                (
                    created,
                    _E.ASSIGNEE,
                    self._assignee_json(assignee.pk),
                    False,
                    None,
                    "system",
                    "resolution.handling.assignment",
                    f"Assigned to {assignee.name} ({ctx.method})",
                )
            )
        elif by_agent:
            assignee = opener
            events.append(self._assigned(created, opener, opener))

        # A ticket the customer opened with words a contingency calls for is under it at once, and
        # its actions are carried out (the agent's steps follow its plan); nobody changes its
        # priority or tags early on then.
        under_plan = bool(scenario.contingency) and not by_agent
        if under_plan:
            before = group
            priority, group, tags = self._contingency(
                out, k, lines[0].text, created, priority, group, tags, events, engine_events
            )
            if group != before:
                group_people = ctx.group_people.get(group) or ctx.everyone
        if not under_plan and random_() < 0.08:
            before = priority
            others = self.other_priorities[priority]
            priority = others[int(random_() * len(others))]
            at = created + 1 + int(random_() * early_limit)
            actor = assignee or self._lead()
            events.append(
                (
                    at,
                    _E.PRIORITY,
                    self.dumps(("priority", priority), lambda: {"priority": priority}),
                    True,
                    actor.pk,
                    actor.name,
                    "",
                    f"{before} -> {priority}",
                )
            )
            engine_events.append(PriorityChange(at, priority))
        if not under_plan and random_() < 0.10:
            add = sorted({EXTRA_TAGS[int(random_() * len(EXTRA_TAGS))]} - tags)
            remove = sorted(t for t in tags if random_() < 0.2 and t not in add and t not in scenario.tags)
            if add or remove:
                at = created + 1 + int(random_() * early_limit)
                tags = (tags | set(add)) - set(remove)
                actor = assignee or self._lead()
                data = json.dumps({"add": add, "remove": remove})
                events.append((at, _E.TAGS, data, True, actor.pk, actor.name, "", ""))
                engine_events.append(TagsChange(at, tuple(add), tuple(remove)))
        escalation_group = ctx.escalation_group
        if escalation_group and group != escalation_group and random_() < 0.03:
            at = created + 1 + int(random_() * early_limit)
            leads = ctx.group_people.get(escalation_group) or ctx.leads
            lead = leads[int(random_() * len(leads))]
            change = f"{group or '-'} -> {escalation_group}"
            data = self.dumps(("group", escalation_group), lambda: {"group": escalation_group})
            events.append((at, _E.GROUP, data, True, lead.pk, lead.name, "", change))
            engine_events.append(GroupChange(at, escalation_group))
            group = escalation_group
            group_people = ctx.group_people.get(group) or ctx.everyone
            if assignee is None or assignee.pk != lead.pk:
                assignee = lead
                events.append(self._assigned(at, lead, lead))
        # Engine events are in time order so far; the early changes may have come in any order.
        if len(engine_events) > 1:
            engine_events.sort(key=_event_at)

        # The conversation, as do_customer_message and do_reply write it.
        at_text = self.at
        messages = out.m
        search = [subject, name, email or ""]
        email_channel = channel == "email"
        domain = email.split("@", 1)[1] if email_channel and email else None
        author = assignee or group_people[0]
        last_at = created
        last = len(kinds) - 1
        steps_of = scenario.steps
        for index, kind in enumerate(kinds):
            at = created + offsets[index]
            last_at = at
            line = lines[index]
            if kind == "c":
                text = line.text
                message_id = ""
                if domain is not None:
                    message_id = f"<{created}.{index}.{int(random_() * 1073741825)}@{domain}>"
                html = _body_html(text) if email_channel else ""
                messages.append((k, owner, _M.CUSTOMER, None, text, html, at_text(at), message_id, channel))
                search.append(text)
                if index == 0:
                    continue  # the created event stands for the first message
                events.append((at, _E.REPLY, _J_CUSTOMER, True, None, "system", "", "Customer wrote"))
                engine_events.append(Reply(at, False, True))
                if current == _S.PENDING or current == _S.SOLVED:
                    current = _S.OPEN
                    events.append(
                        (at, _E.STATUS, _J_OPEN, False, None, "system", "", "Reopened by the customer")
                    )
                continue
            # An agent's reply or note; whoever replies takes the ticket when nobody has it.
            public = kind == "r"
            author = self._lead() if kind == "n" and random_() < 0.3 else (assignee or group_people[0])
            if assignee is None and public:
                assignee = author
                events.append(self._assigned(at, author, author))
            if index == 0:
                # A ticket an agent opened for the customer (a phone call) starts as their public reply.
                text = phone_record(line.text, first, self.signatures[author.pk])
                messages.append((k, None, _M.REPLY, author.pk, text, "", at_text(at), "", channel))
                search.append(text)
                continue
            text = reply_text(line.text, first, self.signatures[author.pk], random_) if public else line.text
            messages.append(
                (k, None, _M.REPLY if public else _M.NOTE, author.pk, text, "", at_text(at), "", channel)
            )
            search.append(text)
            events.append(
                (at, _E.REPLY, _J_PUBLIC if public else _J_NOTE, True, author.pk, author.name, "", "")
            )
            engine_events.append(Reply(at, True, public))
            if public and current == _S.NEW:
                current = _S.OPEN
                events.append((at, _E.STATUS, _J_OPEN, False, author.pk, author.name, "", ""))
            # The next status, chosen on send.
            if index == last:
                wanted = _S.SOLVED if status == _S.CLOSED else status
            elif public and steps_of[line.step].asks:
                wanted = _S.PENDING  # the reply asks the customer something
            else:
                wanted = current
            if wanted != current:
                if wanted == _S.SOLVED:
                    # Solving needs every step of a required procedure ticked: ticked just before.
                    for procedure in self._fitting(priority, channel, group, tags):
                        if procedure.required or random_() < 0.5:
                            n = len(procedure.steps)
                            for step in range(n):
                                self._tick(
                                    steps, events, procedure, step, max(created, at - n + step), author
                                )
                events.append(
                    (
                        at,
                        _E.STATUS,
                        _J_STATUS[wanted],
                        True,
                        author.pk,
                        author.name,
                        "",
                        f"{current} -> {wanted}",
                    )
                )
                engine_events.append(StatusChange(at, wanted))
                current = wanted
        updated = last_at
        if closed_at is not None:
            events.append(
                (
                    closed_at,
                    _E.STATUS,
                    _J_STATUS[_S.CLOSED],
                    True,
                    None,
                    "system",
                    "resolution.handling.auto_close_solved_after",
                    f"Closed automatically {self.auto_close_text} after solve",
                )
            )
            engine_events.append(StatusChange(closed_at, _S.CLOSED))
            current = _S.CLOSED
            updated = closed_at
        if current != status:  # pragma: no cover - the script above always reaches it
            raise DemoDataError(f"internal: ticket script ended {current}, meant {status}")
        if (status == _S.OPEN or status == _S.ON_HOLD) and random_() < 0.3:
            for procedure in self._fitting(priority, channel, group, tags):
                for step in range(1 + int(random_() * len(procedure.steps))):
                    self._tick(steps, events, procedure, step, last_at, assignee or author)

        # The engine's answer, stored as refresh_sla stores it, and the escalations it says have
        # fired, recorded as carried out (carry_out_escalations) so that they do not fire again.
        result = ctx.engine.evaluate(engine_events, now)
        for escalation in result.escalations:
            metric = METRIC_WORDS.get(escalation.metric, escalation.metric)
            actions = ", ".join(str(a) for a in escalation.actions)
            data = {
                "key": firing_key(escalation.rule, escalation.metric, escalation.cycle_start),
                "rule": escalation.rule,
                "metric": escalation.metric,
                "cycle_start": escalation.cycle_start,
                "actions": [[a.kind, a.value] for a in escalation.actions],
            }
            events.append(
                (
                    escalation.at,
                    _E.ESCALATION,
                    json.dumps(data),
                    False,
                    None,
                    "protocol",
                    f"escalation.{escalation.rule}",
                    f"Rule '{escalation.rule}' fired on {metric}: {actions}",
                )
            )
        if result.status is not None:
            priority = result.priority
            tags = result.tags
            if result.group != group:
                # An escalation moved the ticket: someone of the new group takes it.
                group = result.group
                moved_at = max(e.at for e in result.escalations) if result.escalations else now
                new_assignee = self.auto_assignee(group)
                if new_assignee is not None or assignee is not None:
                    assignee = new_assignee
                    who = new_assignee.name if new_assignee else "nobody"
                    events.append(
                        (
                            moved_at,
                            _E.ASSIGNEE,
                            self._assignee_json(new_assignee.pk if new_assignee else None),
                            False,
                            None,
                            "protocol",
                            "resolution.handling.assignment",
                            f"Assigned to {who} in group {group}",
                        )
                    )
        events.sort(key=_event_at)
        version = ctx.version_text
        out.e += [
            (k, at_text(at), kind, data, sla_input, actor, label, version, clause, summary)
            for at, kind, data, sla_input, actor, label, clause, summary in events
        ]
        final_tags = tuple(sorted({t.strip().lower() for t in tags if t and t.strip()}))
        out.g += [(k, tag) for tag in final_tags]
        out.s += [(k, procedure, step, person, at_text(at)) for procedure, step, person, at in steps]
        if status == _S.SOLVED and ctx.follow_up_after is not None:
            out.f.append((k, at_text(solved_at + ctx.follow_up_after), None, False))
        out.t.append(
            (
                k,
                owner,
                subject,
                status,
                priority,
                channel,
                group or "",
                assignee.pk if assignee else None,
                self.dumps(final_tags, lambda: list(final_tags)),
                by_agent,
                at_text(created),
                at_text(updated),
                at_text(solved_at),
                at_text(closed_at),
                result.policy or "",
                json.dumps(sla_state(result)),
                at_text(next_due(result)),
                at_text(result.next_deadline),
                is_breached(result),
                " ".join(" ".join(search).split()),  # as tickets.history.search_words
            )
        )
        statuses = out.statuses
        statuses[status] = statuses.get(status, 0) + 1

    def _contingency(self, out, k, text, at, priority, group, tags, events, engine_events):
        """The contingencies ``text`` (the customer's opening) calls for: an activation row each, and
        their actions carried out at ``at`` as the desk's ``do_start_contingency`` does (priority,
        group and tags as the ticket's own events). Their notifications belong to the live desk: a
        loaded history has none. Returns the priority, group and tags after them."""
        version = self.ctx.version_text
        for match in self.contingency_rules.detect(text):
            reason, phrase = match.reason[:300], (match.phrase or "")[:300]
            out.a.append((k, match.id, match.title[:300], reason, phrase, None, version, self.at(at)))
            after_priority, after_group, after_tags = apply_actions(
                self.plans[match.id].do, priority, group, frozenset(tags)
            )
            clause = match.clause
            if after_priority != priority:
                data = json.dumps({"priority": after_priority})
                summary = f"{priority} -> {after_priority}"
                events.append((at, _E.PRIORITY, data, True, None, "system", clause, summary))
                engine_events.append(PriorityChange(at, after_priority))
                priority = after_priority
            if after_group != group:
                data = json.dumps({"group": after_group})
                summary = f"{group or '-'} -> {after_group or '-'}"
                events.append((at, _E.GROUP, data, True, None, "system", clause, summary))
                engine_events.append(GroupChange(at, after_group))
                group = after_group
            added = sorted(after_tags - set(tags))
            if added:
                data = json.dumps({"add": added, "remove": []})
                events.append((at, _E.TAGS, data, True, None, "system", clause, ""))
                engine_events.append(TagsChange(at, tuple(added), ()))
                tags = set(tags) | set(added)
        return priority, group, tags

    def _lead(self) -> _Person:
        leads = self.ctx.leads
        return leads[int(self.rng.random() * len(leads))]

    def _assignee_json(self, pk: int | None) -> str:
        return self.dumps(("assignee", pk), lambda: {"assignee": pk})

    def _assigned(self, at: int, person: _Person, actor: _Person) -> tuple:
        """The event of ``actor`` taking the ticket for ``person``."""
        return (
            at,
            _E.ASSIGNEE,
            self._assignee_json(person.pk),
            False,
            actor.pk,
            actor.name,
            "",
            f"Assigned to {person.name}",
        )

    def _fitting(self, priority, channel, group, tags) -> list:
        key = (priority, channel, group, frozenset(tags))
        found = self.fitting.get(key)
        if found is None:
            tagset = set(tags)
            found = self.fitting[key] = [
                p
                for p in self.ctx.procedures
                if p.match.fits(priority=priority, channel=channel, group=group or None, tags=tagset)
            ]
        return found

    def _tick(self, steps, events, procedure, step, at, actor):
        steps.append((procedure.id, step, actor.pk, at))
        text = f"ticked step {step + 1} of '{procedure.title}': {procedure.steps[step]}"
        data = self.dumps(
            ("step", procedure.id, step), lambda: {"procedure": procedure.id, "step": step, "ticked": True}
        )
        events.append(
            (
                at,
                _E.PROCEDURE,
                data,
                False,
                actor.pk,
                actor.name,
                f"resolution.procedures.{procedure.id}",
                text,
            )
        )


def _created_data(priority, channel, tags, group, by_agent) -> dict:
    data = {"priority": priority, "channel": channel, "tags": list(tags), "group": group}
    if by_agent:
        data["by"] = "agent"
    return data


def _event_at(event) -> int:
    return event[0] if event.__class__ is tuple else event.at


_SYSTEM = (None, "system")  # the actor of what nobody in particular did


# The event data that recur on every ticket, as JSON once (what json.dumps gives for each).
_J_OPEN = json.dumps({"status": "open"})
_J_CUSTOMER = json.dumps({"author": "customer"})
_J_PUBLIC = json.dumps({"author": "agent", "public": True})
_J_NOTE = json.dumps({"author": "agent", "public": False})
_J_STATUS = {status.value: json.dumps({"status": status.value}) for status in Status}
# The choices as plain strings: an enum member costs a lookup each time, and this is the hot path.
_S = SimpleNamespace(**{m.name: m.value for m in Status})
_E = SimpleNamespace(**{m.name: m.value for m in EventKind})
_M = SimpleNamespace(**{m.name: m.value for m in MessageKind})  # the actor of what the protocol's rules did
# Typical gaps (the medians of their log-normal draws), in seconds.
_CHAT = 180  # an agent's answer on chat
_90M = 90 * 60  # an agent's answer to the customer
_8H = 8 * HOUR  # an agent's follow-up to their own reply
_6H = 6 * HOUR  # the customer's answer
_IDLE = {"new": 2 * HOUR, "open": 5 * HOUR}  # since the last message of an open ticket (others: a day)

# The columns each batch fills, in the order the generator gives the values.
TICKET_FIELDS = [
    "id",
    "customer",
    "protocol_version",
    "subject",
    "status",
    "priority",
    "channel",
    "group",
    "assignee",
    "tags",
    "created_by_agent",
    "created_at",
    "updated_at",
    "solved_at",
    "closed_at",
    "sla_policy",
    "sla_state",
    "next_due_at",
    "next_deadline",
    "breached",
    "search_text",
]
MESSAGE_FIELDS = [
    "ticket",
    "kind",
    "author_person",
    "author_customer",
    "body_text",
    "body_html",
    "created_at",
    "message_id",
    "channel",
]
EVENT_FIELDS = [
    "ticket",
    "at",
    "kind",
    "data",
    "sla_input",
    "actor",
    "actor_label",
    "protocol_version",
    "clause",
    "summary",
]
CUSTOMER_FIELDS = ["id", "name", "email", "phone", "organization", "timezone", "language"]
# The message is left empty: the spool does not know the ids messages get (the plan shows all the same).
ACTIVATION_FIELDS = [
    "ticket",
    "contingency",
    "title",
    "reason",
    "phrase",
    "message",
    "protocol_version",
    "at",
]


def _generate_batch(task: tuple):
    """Worker entry point: the rows of one batch (its own random stream, so the result does not
    depend on how many workers run). With a spool folder (SQLite), the rows are written to a
    file of their own there and the answer is that file's name and counts."""
    ctx, seed, messages_per_ticket, spool = _WORKER
    index, owners = task
    gen = _Generator(ctx, f"{seed}:{index}", messages_per_ticket)
    out = _Batch()
    for k, (owner, name, email) in enumerate(owners):
        gen.ticket(out, k, owner, name, email)
    if spool is None:
        return out
    return _spool(os.path.join(spool, f"batch-{index}.sqlite3"), out)


# The spool file's tables (one per table loaded, named as _Batch's lists) and their number of
# columns: c0 is the ticket's place in its batch; c1 of t and m is the customer's place in the load
# (NULL in m: not the customer's message).
_SPOOL = {"t": 20, "m": 9, "e": 10, "g": 2, "s": 5, "f": 4, "a": 8}
_SPOOL_ROWS = 30  # rows per INSERT into a spool table


def _spool(path: str, out: _Batch) -> tuple:
    """Write one batch's rows to a plain SQLite file (no index, no constraint, no journal), which the
    loading process copies in with ``INSERT ... SELECT``: the rows never cross to it as Python
    objects, and it spends no time turning values into SQLite's."""
    db = sqlite3.connect(path, isolation_level=None)
    try:
        db.execute("PRAGMA journal_mode = OFF")
        db.execute("PRAGMA synchronous = OFF")
        db.execute("BEGIN")
        for (name, width), table in zip(_SPOOL.items(), out.tables(), strict=True):
            db.execute(f"CREATE TABLE {name} ({', '.join(f'c{i}' for i in range(width))})")
            # Several rows per statement: a fifth cheaper than one statement per row.
            row = f"({', '.join(['?'] * width)})"
            whole = len(table) - len(table) % _SPOOL_ROWS
            chain = itertools.chain.from_iterable
            db.executemany(
                f"INSERT INTO {name} VALUES {', '.join([row] * _SPOOL_ROWS)}",
                [tuple(chain(table[i : i + _SPOOL_ROWS])) for i in range(0, whole, _SPOOL_ROWS)],
            )
            db.executemany(f"INSERT INTO {name} VALUES {row}", table[whole:])
        db.execute("COMMIT")
    finally:
        db.close()
    return path, len(out.t), len(out.m), len(out.e), out.statuses


_WORKER: tuple = ()


# --------------------------------------------------------------------------- writing


class _Rows:
    """A prepared ``INSERT`` of one model's rows, run with ``executemany``.

    The values come in the order of ``fields``, already in the database's form; every other
    column gets its field's default, so a field added to the model later is still filled.
    """

    def __init__(self, model, fields: list[str], now: dt.datetime) -> None:
        meta = model._meta
        quote = connection.ops.quote_name
        given = [meta.get_field(name) for name in fields]
        # Columns the database computes (GeneratedField, e.g. Ticket.queue_due) are never inserted.
        rest = [
            f
            for f in meta.concrete_fields
            if f not in given and not (f.primary_key and f.auto_created) and not f.generated
        ]
        postgres = connection.vendor == "postgresql"

        def placeholder(f) -> str:
            if postgres and f.get_internal_type() == "JSONField":
                return "%s::jsonb"
            if postgres and f.get_internal_type() == "DateTimeField":
                return "%s::timestamptz"
            return "%s"

        columns = given + rest
        self.head = (
            f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(f.column) for f in columns)}) VALUES "
        )
        self.one = f"({', '.join(placeholder(f) for f in columns)})"
        self.sql = self.head + self.one
        # PostgreSQL: COPY, the server's bulk path (a many-row INSERT costs the driver more time
        # splitting its placeholders than the server takes to store the rows).
        self.copy_sql = (
            f"COPY {quote(meta.db_table)} ({', '.join(quote(f.column) for f in columns)}) FROM STDIN"
            if postgres
            else None
        )
        # SQLite runs a prepared statement per row at C speed; a server is sent many rows per
        # statement instead (a round trip per row would dominate), within its limit of parameters.
        self.rows_per_statement = 1 if connection.vendor == "sqlite" else max(1, 60000 // len(columns))
        defaults = []
        for f in rest:
            if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
                value = now
            else:
                value = f.get_default()
            defaults.append(f.get_db_prep_save(value, connection))
        self.defaults = tuple(defaults)
        self.insert_into = (
            f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(f.column) for f in columns)}) "
        )

    def copy(self, cursor, select: str, source: str, params: list) -> None:
        """``INSERT ... SELECT``: ``select`` gives the values of ``fields`` (with ``params``) from
        ``source``; the defaults of the other columns follow as parameters."""
        defaults = ", %s" * len(self.defaults)
        cursor.execute(
            f"{self.insert_into}SELECT {select}{defaults} FROM {source}", [*params, *self.defaults]
        )

    def write(self, cursor, rows: list[tuple]) -> None:
        if not rows:
            return
        if self.defaults:
            rows = [row + self.defaults for row in rows]
        if self.copy_sql is not None:
            with cursor.cursor.copy(self.copy_sql) as copy:
                write_row = copy.write_row
                for row in rows:
                    write_row(row)
            return
        step = self.rows_per_statement
        if step == 1:
            cursor.executemany(self.sql, rows)
            return
        for start in range(0, len(rows), step):
            chunk = rows[start : start + step]
            cursor.execute(self.head + ", ".join([self.one] * len(chunk)), [v for row in chunk for v in row])


def _reserve_ids(model, count: int) -> list[int]:
    """Ids for ``count`` new rows, taken inside the batch's transaction."""
    table = model._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)", [table, count]
            )
            return [row[0] for row in cursor.fetchall()]
        cursor.execute(f"SELECT MAX(id) FROM {connection.ops.quote_name(table)}")
        top = cursor.fetchone()[0] or 0
        if connection.vendor == "sqlite":
            # AUTOINCREMENT never gives an id twice, even after a delete: start above its counter.
            cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [table])
            row = cursor.fetchone()
            top = max(top, row[0] if row else 0)
    return list(range(top + 1, top + 1 + count))


_FTS_INSERT_TRIGGER = f"{FTS_TABLE}_ai"
# Tickets written per transaction. Each commit writes every page the transaction changed to the
# write-ahead log, and the index pages are changed again by every batch: one commit per batch of
# 1,000 tickets cost a third more than one per 10,000 at 100,000 tickets.
COMMIT_EVERY = 10_000


@contextmanager
def _bulk_load() -> Iterator[_Checkpoints | None]:
    """The database set for a bulk load, and set back afterwards, however the load ends.

    PostgreSQL: commits are not waited for (``synchronous_commit=off``: a crash of the machine may
    lose the last transactions of the load, never corrupt the database). SQLite keeps its safety
    level (``synchronous=NORMAL`` in WAL mode: a commit is never half there, whatever crashes;
    ``OFF`` could corrupt the database should the machine stop during a checkpoint), and its page
    cache is larger meanwhile, as the indexes are kept up as rows come. Its checkpoints (copying
    the write-ahead log into the database file, with a wait for the disk) are taken off the
    loading connection and run beside the load (``_Checkpoints``). Dropping the indexes for the
    load and making them at the end saved little (the ticket rows are wide, so each ``CREATE
    INDEX`` reads them all again) and would leave a killed load's database without them.
    """
    vendor = connection.vendor
    if vendor not in ("sqlite", "postgresql"):
        yield None
        return
    sqlite = vendor == "sqlite"
    checkpoints = None
    with connection.cursor() as cursor:
        if sqlite:
            cursor.execute("PRAGMA cache_size")
            cache_size = cursor.fetchone()[0]
            cursor.execute("PRAGMA cache_size = -262144")  # 256 MiB
            checkpoints = _Checkpoints.start(cursor)
        else:
            cursor.execute("SET synchronous_commit TO OFF")
    try:
        yield checkpoints
    finally:
        with connection.cursor() as cursor:
            if sqlite:
                cursor.execute(f"PRAGMA cache_size = {int(cache_size)}")
                if checkpoints is not None:
                    checkpoints.stop(cursor)
            else:
                cursor.execute("RESET synchronous_commit")


class _Checkpoints:
    """Checkpoints of a SQLite database in write-ahead-log mode, taken by a thread of its own.

    SQLite checkpoints after a commit, on the committing connection, once the log is long: it
    copies the log into the database file and waits for the disk, about a sixth of the loading
    process's time in a bulk load. With automatic checkpoints off on the loading connection, this
    thread's own connection takes a passive checkpoint after each commit instead (one that never
    blocks the writer), while the next transaction is being written: the wait for the disk runs
    beside the load, and the database module lets go of the interpreter lock meanwhile. Safety is
    unchanged: a checkpoint only copies what is committed already.
    """

    def __init__(self, path: str, autocheckpoint: int) -> None:
        self.path = path
        self.autocheckpoint = autocheckpoint
        self.wanted = threading.Event()
        self.stopping = False
        self.thread = threading.Thread(target=self._run, name="sqlite-checkpoints", daemon=True)

    @classmethod
    def start(cls, cursor) -> _Checkpoints | None:
        """Started for a file database in WAL mode outside any transaction; else None."""
        cursor.execute("PRAGMA journal_mode")
        path = connection.settings_dict["NAME"]
        if connection.in_atomic_block or cursor.fetchone()[0] != "wal" or not os.path.isfile(str(path)):
            return None
        cursor.execute("PRAGMA wal_autocheckpoint")
        checkpoints = cls(str(path), cursor.fetchone()[0])
        cursor.execute("PRAGMA wal_autocheckpoint = 0")
        checkpoints.thread.start()
        return checkpoints

    def after_commit(self) -> None:
        self.wanted.set()

    def stop(self, cursor) -> None:
        """Stops the thread (the rest of the log is checkpointed as SQLite would have: after the next
        commit of a connection with automatic checkpoints, the loading one included)."""
        self.stopping = True
        self.wanted.set()
        self.thread.join()
        cursor.execute(f"PRAGMA wal_autocheckpoint = {int(self.autocheckpoint)}")

    def _run(self) -> None:
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
        try:
            while True:
                self.wanted.wait()
                self.wanted.clear()
                if self.stopping:
                    return
                db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        except sqlite3.Error:  # the loading connection checkpoints again once it is set back
            log.warning("background checkpoints of %s stopped", self.path, exc_info=True)
        finally:
            db.close()


class _Transactions:
    """The batches written in transactions of about ``every`` tickets.

    On SQLite the full-text index's insert trigger is set aside inside each transaction, and the
    transaction's new tickets are indexed with one statement before it commits, trigger restored:
    cheaper than the trigger row by row, and every commit (and so whatever a killed load leaves)
    holds the trigger and a complete index.
    """

    def __init__(self, every: int, batches: int, checkpoints: _Checkpoints | None = None) -> None:
        self.every = every
        self.checkpoints = checkpoints
        self.most_batches = batches
        self.written = 0
        self.batches = 0  # written in the open transaction
        self.open = ExitStack()
        self.after = ExitStack()  # what to undo once the transaction has ended (spool files)
        self.unindexed = 0  # the first ticket id of the transaction not in the search index yet
        self.fts = False
        if connection.vendor == "sqlite":
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name = %s",
                    [_FTS_INSERT_TRIGGER],
                )
                self.fts = cursor.fetchone()[0] == 1

    def __enter__(self) -> _Transactions:
        return self

    def __exit__(self, kind, error, trace) -> None:
        with self.after:
            if kind is None and self.batches:
                self.commit()
            self.open.__exit__(kind, error, trace)  # rolls back an open transaction on an error

    def begin(self) -> None:
        """Called before each batch is written."""
        if self.batches:
            return
        self.open.enter_context(transaction.atomic())
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT MAX(id) FROM {Ticket._meta.db_table}")
            self.unindexed = (cursor.fetchone()[0] or 0) + 1
            if self.fts:
                cursor.execute(f"DROP TRIGGER {_FTS_INSERT_TRIGGER}")

    def done(self, tickets: int) -> None:
        """Called after each batch is written: commits once ``every`` tickets are in."""
        self.written += tickets
        self.batches += 1
        if self.written >= self.every or self.batches >= self.most_batches:
            self.commit()

    def commit(self) -> None:
        self.written = self.batches = 0
        try:
            if self.fts:
                with connection.cursor() as cursor:
                    # What the trigger would have done for each new ticket (a spooled batch has
                    # indexed its own), in one statement.
                    cursor.execute(
                        f"INSERT INTO {FTS_TABLE}(rowid, search_text) "
                        f"SELECT id, search_text FROM {Ticket._meta.db_table} WHERE id >= %s ORDER BY id",
                        [self.unindexed],
                    )
                    for statement in SQLITE_CREATE:  # all IF NOT EXISTS: only the trigger is made
                        cursor.execute(statement)
        except BaseException:
            self.open.__exit__(*sys.exc_info())  # rolls the transaction back
            raise
        self.open.close()
        self.after.close()
        if self.checkpoints is not None:
            self.checkpoints.after_commit()


def load_demo_tickets(
    count: int,
    *,
    seed: int = 2026,
    now: dt.datetime | None = None,
    messages_per_ticket: float = 5.0,
    batch_size: int = 1000,
    workers: int | None = None,
    progress: Callable[[LoadReport], None] | None = None,
) -> LoadReport:
    """Add ``count`` realistic tickets (about ``messages_per_ticket`` messages each) as of ``now``.

    Needs a protocol version in force and people holding its roles (``load_demo``). Tickets are
    made by ``workers`` processes (the number of CPUs by default; 1 makes them in this process)
    in batches of ``batch_size`` (the first three smaller), and written here, about
    ``COMMIT_EVERY`` tickets to a transaction. Writes one audit entry for the whole load. The same
    ``seed``, ``now`` and ``batch_size`` give the same tickets.
    """
    global _WORKER
    if count < 0:
        raise DemoDataError("tickets: give a number of tickets, 0 or more")
    if messages_per_ticket < 1:
        raise DemoDataError("messages per ticket: at least 1 (the customer's first message)")
    now = (now or timezone.now()).replace(microsecond=0)
    started = time.perf_counter()
    report = LoadReport()
    if count == 0:
        return report
    ctx = _context(now)
    loaded_after = Ticket.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    sizes = _batch_sizes(count, batch_size)
    batches = len(sizes)
    workers = min(workers or os.cpu_count() or 1, batches)

    # Who writes each ticket: about one new customer in three tickets; the others write again.
    # Decided here, in order, so that the data does not depend on the number of workers.
    rng = random.Random(f"{seed}:customers")
    serial = Customer.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    tz, lang = _Pick(TIMEZONES), _Pick(LANGUAGES)
    known: list[tuple[str, str | None]] = []

    def tasks():
        nonlocal serial
        for index, size in enumerate(sizes):
            owners, fresh = [], []
            for _ in range(size):
                if not known or rng.random() < 0.35:
                    serial += 1
                    customer = _customer(rng, serial, tz, lang)
                    fresh.append(customer)
                    known.append((customer[0], customer[1]))
                    who = len(known) - 1
                else:
                    who = int(rng.random() * len(known))
                owners.append((who, *known[who]))
            yield (index, owners), fresh

    # SQLite: batches come as spool files (see _spool) and are copied in by the writing process.
    # (Not inside a caller's transaction: a spool file read there could only be detached after it.)
    spooled = ctx.vendor == "sqlite" and not connection.in_atomic_block
    spool = tempfile.mkdtemp(prefix="charterdesk-demo-") if spooled else None
    if spool is not None:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS temp.{_OWNERS}")
            cursor.execute(f"CREATE TEMP TABLE {_OWNERS} (who INTEGER PRIMARY KEY, id INTEGER NOT NULL)")
    # Each batch of a transaction stays attached until it commits: no more batches than SQLite
    # can attach at once.
    most_batches = connection.connection.getlimit(sqlite3.SQLITE_LIMIT_ATTACHED) if spool else batches
    _WORKER = (ctx, seed, messages_per_ticket, spool)
    pool = None
    if workers > 1:
        # Forked workers inherit the compiled engine; they never touch the database.
        pool = multiprocessing.get_context("fork").Pool(workers)
    try:
        with (
            _bulk_load() as checkpoints,
            _Transactions(COMMIT_EVERY, most_batches, checkpoints) as transactions,
        ):
            writer = _Writer(ctx, report, transactions, now)
            pending: list = []
            source = tasks()
            window = workers * 2 if pool else 1

            def submit() -> bool:
                item = next(source, None)
                if item is None:
                    return False
                task, fresh = item
                if pool:
                    pending.append((pool.apply_async(_generate_batch, (task,)), fresh))
                else:
                    pending.append((_Ready(_generate_batch(task)), fresh))
                return True

            while len(pending) < window and submit():
                pass
            while pending:
                result, fresh = pending.pop(0)
                mark = time.perf_counter()
                rows = result.get()
                report.generate_seconds += time.perf_counter() - mark
                submit()
                mark = time.perf_counter()
                transactions.begin()
                before = report.tickets
                if spool:
                    writer.copy(rows, fresh)
                else:
                    writer.write(rows, fresh)
                transactions.done(report.tickets - before)
                report.write_seconds += time.perf_counter() - mark
                report.seconds = time.perf_counter() - started
                if progress is not None:
                    progress(report)
    finally:
        if pool is not None:
            pool.terminate()
            pool.join()
        _WORKER = ()
        if spool is not None:
            shutil.rmtree(spool, ignore_errors=True)
            with connection.cursor() as cursor:
                cursor.execute(f"DROP TABLE IF EXISTS temp.{_OWNERS}")
    from .surveys import add_demo_answers

    mark = time.perf_counter()
    report.survey_answers = add_demo_answers(loaded_after, version=version_in_force(), now=now)
    report.survey_seconds = time.perf_counter() - mark
    with transaction.atomic():
        record(
            "demo.tickets",
            f"demo data: {report.tickets} tickets loaded",
            protocol_version=ctx.version_text,
            data={
                "tickets": report.tickets,
                "customers": report.customers,
                "messages": report.messages,
                "events": report.events,
                "survey_answers": report.survey_answers,
                "seed": seed,
                "now": now.isoformat(),
                "statuses": report.statuses,
            },
        )
    report.seconds = time.perf_counter() - started
    return report


def _batch_sizes(count: int, batch_size: int) -> list[int]:
    """The tickets of each batch: the first ones smaller, so that the loading process, idle until
    a batch is made, starts writing sooner (then ``batch_size`` each, the last one what is left)."""
    sizes: list[int] = []
    left = count
    ramp = [max(1, batch_size // d) for d in (8, 4, 2)]
    while left > 0:
        size = min(ramp[len(sizes)] if len(sizes) < len(ramp) else batch_size, left)
        sizes.append(size)
        left -= size
    return sizes


class _Ready:
    """A batch made in this process, with the interface of a pool's result."""

    def __init__(self, rows) -> None:
        self.rows = rows

    def get(self):
        return self.rows


def _customer(rng: random.Random, serial: int, tz: _Pick, lang: _Pick) -> tuple:
    # Drawn with random() alone, like the tickets (the loading process makes every customer).
    random_ = rng.random
    first = FIRST_NAMES[int(random_() * len(FIRST_NAMES))]
    last = LAST_NAMES[int(random_() * len(LAST_NAMES))]
    phone_only = random_() < 0.03
    domain = MAIL_DOMAINS[int(random_() * len(MAIL_DOMAINS))]
    email = None if phone_only else f"{first}.{last}.{serial}@{domain}".lower()
    phone = ""
    if phone_only or random_() < 0.4:
        phone = f"+1 555 {100 + int(random_() * 900)} {1000 + int(random_() * 9000)}"
    organization = ORGANIZATIONS[int(random_() * len(ORGANIZATIONS))] if random_() < 0.3 else ""
    return (f"{first} {last}", email, phone, organization, tz(rng), lang(rng))


class _Writer:
    """Writes the batches in the loading process, inside the transaction ``_Transactions`` holds."""

    def __init__(self, ctx: _Context, report: LoadReport, transactions: _Transactions, now: dt.datetime):
        self.ctx = ctx
        self.version_id = ctx.version.pk
        self.report = report
        self.transactions = transactions
        self.customer_ids: list[int] = []  # by place in the load
        self.tickets = _Rows(Ticket, TICKET_FIELDS, now)
        self.messages = _Rows(Message, MESSAGE_FIELDS, now)
        self.events = _Rows(TicketEvent, EVENT_FIELDS, now)
        self.tags = _Rows(TicketTag, ["ticket", "tag"], now)
        self.steps = _Rows(ProcedureStep, ["ticket", "procedure", "step", "ticked_by", "ticked_at"], now)
        self.follow_ups = _Rows(ScheduledFollowUp, ["ticket", "due_at", "sent_at", "cancelled"], now)
        self.activations = _Rows(ContingencyActivation, ACTIVATION_FIELDS, now)
        self.customers = _Rows(Customer, CUSTOMER_FIELDS, now)

    def _customers(self, cursor, fresh: list[tuple]) -> list[int]:
        ids = _reserve_ids(Customer, len(fresh)) if fresh else []
        self.customers.write(cursor, [(pk, *c) for pk, c in zip(ids, fresh, strict=True)])
        self.customer_ids.extend(ids)
        self.report.customers += len(fresh)
        return ids

    def _counted(self, tickets: int, messages: int, events: int, statuses: dict[str, int]) -> None:
        report = self.report
        report.tickets += tickets
        report.messages += messages
        report.events += events
        for status, n in statuses.items():
            report.statuses[status] = report.statuses.get(status, 0) + n

    def write(self, out: _Batch, fresh: list[tuple]) -> None:
        """A batch made as rows (PostgreSQL, or inside a caller's transaction): ids put in here."""
        with connection.cursor() as cursor:
            self._customers(cursor, fresh)
            base = _reserve_ids(Ticket, len(out.t))[0] if out.t else 0
            cid = self.customer_ids
            version_id = self.version_id
            self.tickets.write(cursor, [(base + r[0], cid[r[1]], version_id, *r[2:]) for r in out.t])
            self.messages.write(
                cursor,
                [
                    (base + k, kind, person, None if own is None else cid[own], *rest)
                    for k, own, kind, person, *rest in out.m
                ],
            )
            for rows, table in (
                (self.events, out.e),
                (self.tags, out.g),
                (self.steps, out.s),
                (self.follow_ups, out.f),
                (self.activations, out.a),
            ):
                rows.write(cursor, [(base + r[0], *r[1:]) for r in table])
        self._counted(len(out.t), len(out.m), len(out.e), out.statuses)

    def copy(self, spooled: tuple, fresh: list[tuple]) -> None:
        """A spooled batch (SQLite): its new customers, then every table's rows copied from the
        spool file with ids given on the way."""
        path, count, messages, events, statuses = spooled
        # A database read in a transaction can only be detached after it: each batch of a
        # transaction is attached under a name of its own, and detached once it has ended.
        batch = f"demo_batch{self.transactions.batches}"
        with connection.cursor() as cursor:
            cursor.execute(f"ATTACH DATABASE %s AS {batch}", [path])
        self.transactions.after.callback(_detach, batch, path)
        with connection.cursor() as cursor:
            first = len(self.customer_ids)
            ids = self._customers(cursor, fresh)
            cursor.executemany(
                f"INSERT INTO temp.{_OWNERS} (who, id) VALUES (%s, %s)",
                [(first + i, pk) for i, pk in enumerate(ids)],
            )
            base = _reserve_ids(Ticket, count)[0]
            owners = f"temp.{_OWNERS} AS o ON o.who = x.c1"
            values = ", ".join(f"x.c{i}" for i in range(2, _SPOOL["t"]))
            # The spool's rows are in the batch's order (c0), so rowid order needs no sort.
            self.tickets.copy(
                cursor,
                f"x.c0 + %s, o.id, %s, {values}",
                f"{batch}.t AS x JOIN {owners} ORDER BY x.rowid",
                [base, self.version_id],
            )
            if self.transactions.fts:
                # From the spool: the new tickets' rows would be read back from the database.
                search_text = f"x.c{_SPOOL['t'] - 1}"
                cursor.execute(
                    f"INSERT INTO {FTS_TABLE}(rowid, search_text) "
                    f"SELECT x.c0 + %s, {search_text} FROM {batch}.t AS x ORDER BY x.rowid",
                    [base],
                )
                self.transactions.unindexed = base + count
            self.messages.copy(
                cursor,
                "x.c0 + %s, x.c2, x.c3, o.id, x.c4, x.c5, x.c6, x.c7, x.c8",
                f"{batch}.m AS x LEFT JOIN {owners} ORDER BY x.rowid",
                [base],
            )
            for rows, name in (
                (self.events, "e"),
                (self.tags, "g"),
                (self.steps, "s"),
                (self.follow_ups, "f"),
                (self.activations, "a"),
            ):
                values = ", ".join(f"x.c{i}" for i in range(1, _SPOOL[name]))
                rows.copy(cursor, f"x.c0 + %s, {values}", f"{batch}.{name} AS x ORDER BY x.rowid", [base])
        self._counted(count, messages, events, statuses)


_OWNERS = "demo_load_customers"  # a TEMP table: a customer's place in the load -> its id


def _detach(batch: str, path: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"DETACH DATABASE {batch}")
    os.remove(path)
