"""Every way a family takes part in a ticket's life, or shows itself where agents work, in one file.

``tickets`` stands below the families (channels, refunds, knowledge, surveys, reports, training,
incidents, privacy) and never imports them. Instead it calls the hooks named here, and each
family registers functions that answer them, in its ``AppConfig.ready()``::

    # charterdesk/surveys/hooks.py
    from charterdesk.tickets.lifecycle import hookimpl

    @hookimpl
    def ticket_status_changed(ticket, before, after, actor, at):
        if after == "solved":
            schedule_csat(ticket, at)

    # charterdesk/surveys/apps.py
    def ready(self):
        from charterdesk.tickets.lifecycle import register
        from . import hooks
        register(hooks)

The hooks are pluggy hook specifications: an implementation must use the argument names of its
specification (it may take fewer of them), and pluggy refuses one that names an argument the
specification does not have, at registration, so a typo fails when the desk starts, not on the
ticket where it matters. Every hook is called with keyword arguments, and returns a list with
one answer per implementation that answered (``None`` answers are dropped); the hooks marked
*first answer* return the first answer that is not None instead.

The lifecycle hooks run **inside** the transaction of the ticket action that calls them, after
its rows are written: what an implementation writes commits or rolls back with the action, and
an exception it raises undoes the whole action. Anything that must not happen unless the action
commits (mail, webhooks) is deferred with ``transaction.on_commit``. Implementations change the
ticket only through the actions of ``tickets.actions`` (which audit) and write their own rows
through their own app's ``do_*`` actions.

docs/architecture.md ("Lifecycle hooks") lists the hooks in this order with a worked example.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import ModuleType
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from .models import Message, Ticket

PROJECT = "charterdesk"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


# --------------------------------------------------------------------------- what hooks answer


@dataclass(frozen=True)
class Objection:
    """Why a public reply may not go out as written, in the agent's words.

    ``clause`` names the protocol clause that objects (``etiquette.greeting``); ``override`` is
    the permission that lets a person send anyway with a reason (``etiquette.override``), or
    None when nobody may (a training gate, an unresolved placeholder).
    """

    code: str
    message: str
    clause: str = ""
    override: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "clause": self.clause, "override": self.override}


@dataclass(frozen=True)
class Panel:
    """A card in the ticket page's sidebar: ``template`` rendered with ``context`` (plus the
    page's own ``ticket``, ``rights`` and ``closed``). Cards are shown by ``order``, lowest first."""

    id: str
    title: str
    template: str
    context: Mapping[str, Any] = field(default_factory=dict)
    order: int = 100


@dataclass(frozen=True)
class TimelineEntry:
    """A line in the ticket's timeline that is not a message or a ticket event (a survey answer,
    a refund decision kept in the family's own rows)."""

    at: dt.datetime
    text: str
    detail: str = ""


@dataclass(frozen=True)
class HistoryEvent:
    """An event of a ticket's history kept in a family's own rows, for `tickets export-events`:
    ``event`` is the line's event name (``survey``) and ``data`` its extra fields
    (``{"kind": "csat", "score": 4}``), as in specs/kpi-format.md."""

    ticket_id: int
    at: dt.datetime
    event: str
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class QueueFilter:
    """A filter the queue offers beside status, priority, group and assignee.

    ``choices(protocol)`` lists (value, label) pairs for the filter's menu; ``apply(tickets,
    value)`` narrows a Ticket queryset to the value (it must stay one query: a subquery or a
    join, never a Python loop over tickets)."""

    name: str
    label: str
    choices: Callable[[Any], list[tuple[str, str]]]
    apply: Callable[[Any, str], Any]


@dataclass(frozen=True)
class QueueColumn:
    """A column of the queue: ``values(ticket_ids)`` answers {ticket id: text} for one page of
    rows at once (one query for the page, whatever its size); a ticket it leaves out shows —."""

    name: str
    label: str
    values: Callable[[list[int]], Mapping[int, str]]


@dataclass(frozen=True)
class PeriodicJob:
    """A job `charterdesk worker` runs at most once per ``every`` across all workers (under a lease)."""

    name: str
    every: dt.timedelta
    run: Callable[[dt.datetime], int]  # does the work at the given instant; returns how many things it did
    does: str

    def __repr__(self) -> str:
        return f"<PeriodicJob {self.name} every {self.every}>"


@dataclass(frozen=True)
class NavItem:
    """A link in the desk's top navigation, shown to people who hold any of ``any_of`` (everyone
    signed in when it is empty). ``app`` marks it current on that app's pages; links are shown
    by ``order`` after the desk's own (tickets 10, handbook 20, protocol library 40, people 50,
    audit log 60)."""

    label: str
    url: str
    any_of: tuple[str, ...] = ()
    app: str = ""
    order: int = 100


# --------------------------------------------------------------------------- the hooks


class TicketHooks:
    """The hook specifications, in the order of a ticket's life, then the worker, then the pages."""

    # -- a ticket's life (called by tickets.actions, inside the action's transaction) --

    @hookspec(firstresult=True)
    def redact_text(self, text: str, where: str) -> str | None:
        """*First answer.* Before a customer's or agent's text is stored anywhere (``where``:
        ``subject``, ``body``, ``html``, ``filename``, ``raw`` for the email kept as received): the
        text to store instead (secrets masked), or None to store it as it is. ``where`` is
        ``draft`` when nothing is stored (the composer shows what will be masked)."""

    @hookspec
    def ticket_opened(self, ticket: Ticket, message: Message, by_agent: Any, send_email: bool) -> None:
        """A ticket and its first message are stored. ``by_agent`` is the person who opened it on
        the customer's behalf (their first message is a public reply) or None; ``send_email``
        False when the first message was given another way (a phone call)."""

    @hookspec
    def check_public_reply(self, ticket: Ticket, author: Any, body: str) -> list[Objection] | None:
        """Before an agent's public reply is stored, and as the agent types it: the objections
        to sending ``body`` as it is (none, or an empty list, when it may go). A reply with
        objections is refused unless every objection names an ``override`` that the author's roles
        grant and the author gives a reason; the override is audited with the objections."""

    @hookspec
    def public_reply_stored(self, ticket: Ticket, message: Message, send_email: bool) -> None:
        """An agent's public reply (or the desk's follow-up) is stored and must reach the
        customer; ``send_email`` False when it was given another way (a phone call). The family
        that delivers it (channels) sends it once the transaction commits."""

    @hookspec
    def customer_message_stored(self, ticket: Ticket, message: Message, reopened: bool) -> None:
        """A message from the customer is stored on an existing ticket (``reopened``: it set a
        solved ticket open again). Not called for the first message: see ``ticket_opened``."""

    @hookspec
    def ticket_status_changed(
        self, ticket: Ticket, before: str, after: str, actor: Any, at: dt.datetime
    ) -> None:
        """The ticket's status changed from ``before`` to ``after`` by hand, by the API, by the
        worker (auto-close) or by a merge; ``actor`` is the person or None for the desk."""

    @hookspec
    def tickets_merged(self, source: Ticket, target: Ticket, actor: Any, at: dt.datetime) -> None:
        """``source`` was merged into ``target``: its messages moved over and it is closed."""

    # -- the worker and the command line --

    @hookspec
    def periodic_jobs(self) -> list[PeriodicJob] | None:
        """The jobs `charterdesk worker` runs every period (one worker runs a
        job per period, under a lease; see worker/loop.py)."""

    @hookspec
    def history_events(self, ticket_ids: list[int] | None) -> list[HistoryEvent] | None:
        """Events kept in the family's own rows that `tickets export-events` writes beside the
        tickets' own (survey answers), for these tickets (all tickets when None)."""

    @hookspec
    def history_changed_since(self, since: dt.datetime) -> list[int] | None:
        """The tickets whose ``history_events`` were added or changed at or after ``since`` (a
        survey answer given or changed): the reports' rollups count those tickets afresh."""

    # -- where agents work --

    @hookspec
    def ticket_panels(self, request: Any, ticket: Ticket) -> list[Panel] | None:
        """Cards for the ticket page's sidebar. Each must cost a fixed number of queries."""

    @hookspec
    def timeline_entries(self, ticket: Ticket) -> list[TimelineEntry] | None:
        """Lines for the ticket's timeline kept in the family's own rows."""

    @hookspec
    def queue_filters(self) -> list[QueueFilter] | None:
        """Filters the queue offers (by name in its address: ``?contingency=aggressive``)."""

    @hookspec
    def queue_columns(self) -> list[QueueColumn] | None:
        """Columns the queue shows after its own."""

    @hookspec
    def api_ticket_fields(self, tickets: list[Ticket]) -> Mapping[str, Mapping[int, Any]] | None:
        """Extra fields of the API's ticket representation, for a page of tickets at once:
        {field name: {ticket id: JSON value}}. They appear under the ticket's ``extensions``."""

    @hookspec
    def navigation(self, request: Any) -> list[NavItem] | None:
        """Links for the desk's top navigation."""


# --------------------------------------------------------------------------- the registry

_manager = pluggy.PluginManager(PROJECT)
_manager.add_hookspecs(TicketHooks)
hooks = _manager.hook


def register(plugin: ModuleType | object) -> None:
    """Register a family's hook implementations (a module or object whose functions carry
    ``@hookimpl``); once per process, from the family's ``AppConfig.ready()``."""
    if not _manager.is_registered(plugin):
        _manager.register(plugin)


def unregister(plugin: ModuleType | object) -> None:
    """Take a plugin out again (tests that register one for a moment)."""
    if _manager.is_registered(plugin):
        _manager.unregister(plugin)


def all_answers(answers: Iterable[list | None]) -> list:
    """The answers of a list-returning hook, flattened: [[a, b], None, [c]] -> [a, b, c]."""
    return [item for answer in answers if answer for item in answer]


def hook_names() -> list[str]:
    """The hooks' names, in the order of this file (the docs list them in the same order)."""
    return [name for name in vars(TicketHooks) if not name.startswith("_")]
