"""SLA clocks: a ticket's events in, metric cycles, due times and escalations out.

This is protocol section "SLA" (and the timeline of section "Escalation") as
code. The same engine serves the live desk, after every change to a ticket,
and ``charterdesk sla replay`` over a log of events, so both give the same
due times.

    engine = SlaEngine(protocol)            # once per protocol version
    result = engine.evaluate(events, now)   # per ticket; `now` is POSIX seconds

Events are small slotted dataclasses carrying ``at`` as integer POSIX seconds
(:class:`Created`, :class:`Reply`, :class:`StatusChange`, :class:`PriorityChange`,
:class:`TagsChange`, :class:`GroupChange`, :class:`IncidentChange`). No datetime is made on
the hot path and the clock is never read: ``now`` is passed in.

How the rules are computed
--------------------------

- The policy is chosen again after every event and every escalation whose
  actions change the ticket (first policy whose ``match`` fits). Choices are
  memoised on (priority, channel, group, tags). While the ticket is linked to
  an incident (``IncidentChange``), the incident's policy applies whatever
  ``match`` says.
- A cycle's target is always looked up in the policy in force, so when the
  policy or the priority changes, each unfulfilled cycle's due time is
  recomputed from that cycle's own start, in the new policy's calendar: the
  counted time of the whole cycle so far is measured again in that calendar.
  A fulfilled cycle keeps the target, calendar and outcome it had at
  fulfilment.
- ``first_response``, ``next_response`` and ``periodic_update`` never pause:
  their due time is ``calendar.add_seconds(start, target)``. ``resolution``
  keeps the list of spans during which its clock ran (not paused, not
  solved); its due time is the instant at which the business time counted over
  those spans reaches the target.
- Escalation instants are levels of counted time (see ``escalation.py``), found
  like due times. The engine runs a timeline: before applying each event it
  fires, in time order, every escalation whose instant comes before that event
  (events at an instant are applied before escalations at the same instant, so
  a reply exactly at the due time prevents ``breached``). Only escalations
  strictly before ``now`` fire. An instant that a change of policy, priority or
  tags puts in the past fires at the moment of that change.
- Several rules due at one instant run like a help desk's triggers: the first
  in the protocol's order (and, for ``metric: any``, in the order of
  ``METRICS``) fires and takes its actions, then checking starts again from the
  first rule, so a rule that the actions made untrue (its metric has no target
  under the policy now chosen, say) does not fire, and one they made true does.

Choices where the protocol is silent are listed in docs/sla-replay.md.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import ClassVar

from charterdesk.protocol import models
from charterdesk.protocol.durations import Duration

from .calendar import BusinessCalendar, format_duration
from .calendars import Calendars
from .escalation import CompiledRule, Escalation, TicketMatch, apply_actions, compile_rules

__all__ = [
    "METRICS",
    "CompiledProtocol",
    "Created",
    "Cycle",
    "EventError",
    "GroupChange",
    "IncidentChange",
    "PriorityChange",
    "Reply",
    "SlaEngine",
    "StatusChange",
    "TagsChange",
    "TicketSla",
    "compile_protocol",
    "evaluate",
    "explain_cycle",
    "format_time",
]

METRICS = models.METRICS
FIRST_RESPONSE, NEXT_RESPONSE, PERIODIC_UPDATE, RESOLUTION = 0, 1, 2, 3
STATUSES = frozenset(models.STATUSES)
PRIORITIES = frozenset(models.PRIORITIES)
_DONE = frozenset({"solved", "closed"})

_CREATED, _REPLY, _STATUS, _PRIORITY, _TAGS, _GROUP, _INCIDENT = range(7)
_NEVER = 1 << 62


# --------------------------------------------------------------------------- events


# Each event class names its kind in a plain class attribute (not annotated as ClassVar: the
# compiled engine, see engine/__init__.py, would make an annotated one a read-only slot that the
# dataclass's __init__ then cannot skip).


@dataclass(slots=True)
class Created:
    """The ticket is opened with status ``new``; ``by_agent`` when an agent opened it for the customer,
    which is the agent's first public reply, so that ticket starts ``open``."""

    at: int
    priority: str
    channel: str
    tags: tuple[str, ...] = ()
    group: str | None = None
    by_agent: bool = False
    kind = _CREATED


@dataclass(slots=True)
class Reply:
    """A message; ``public=False`` from an agent is an internal note.

    A customer's message counts as public whatever its flag: customers have no internal notes."""

    at: int
    by_agent: bool
    public: bool = True
    kind = _REPLY


@dataclass(slots=True)
class StatusChange:
    at: int
    status: str
    kind = _STATUS


@dataclass(slots=True)
class PriorityChange:
    at: int
    priority: str
    kind = _PRIORITY


@dataclass(slots=True)
class TagsChange:
    at: int
    add: tuple[str, ...] = ()
    remove: tuple[str, ...] = ()
    kind = _TAGS


@dataclass(slots=True)
class GroupChange:
    at: int
    group: str | None
    kind = _GROUP


@dataclass(slots=True)
class IncidentChange:
    """The ticket is linked to a critical incident whose SLA policy is ``policy`` (a policy id of the
    protocol); while it is set, that policy applies whatever ``match`` says. None: unlinked, or the
    incident is resolved."""

    at: int
    policy: str | None
    kind = _INCIDENT


Event = Created | Reply | StatusChange | PriorityChange | TagsChange | GroupChange | IncidentChange


class EventError(ValueError):
    """An event the engine cannot take (out of time order, after ``closed``, before ``created``...).

    ``index`` is the event's position in the sequence given to ``evaluate``.
    """

    def __init__(self, index: int, message: str) -> None:
        super().__init__(message)
        self.index = index
        self.message = message


# --------------------------------------------------------------------------- results


class Cycle:
    """One metric cycle: when it started, its target and due time, and whether it was met.

    While the engine runs, a cycle is live state; in a ``TicketSla`` its fields are final:
    ``target`` (the target at fulfilment, or in force at ``now`` for an open cycle; None when the
    policy gives this metric no target), ``policy`` and ``calendar`` (those that gave the target),
    ``due`` (POSIX seconds, or None when it cannot be reached), ``fulfilled`` (None while open)
    and ``breached``.
    """

    __slots__ = (
        "_esc_at",
        "_esc_exact",
        "_esc_level",
        "_esc_low",
        "_esc_rule",
        "_esc_valid",
        "_fired",
        "breached",
        "calendar",
        "due",
        "fulfilled",
        "metric",
        "policy",
        "start",
        "target",
    )
    pausable: ClassVar[bool] = False

    def __init__(self, metric: int, start: int) -> None:
        self.metric = metric
        self.start = start
        self.fulfilled: int | None = None
        self.target: Duration | None = None
        self.due: int | None = None
        self.breached = False
        self.policy: str | None = None
        self.calendar: BusinessCalendar | None = None
        # The escalation rules that fired on this cycle (a bit mask), and the next one due to:
        # its rule and level, a cheap lower bound of its instant (None: not while the state
        # holds) and, once needed, the instant itself. Valid until the state changes.
        self._fired = 0
        self._esc_valid = False
        self._esc_rule: CompiledRule | None = None
        self._esc_level = 0
        self._esc_low: int | None = None
        self._esc_exact = False
        self._esc_at: int | None = None

    @property
    def metric_name(self) -> str:
        return METRICS[self.metric]

    @property
    def running_spans(self) -> list[tuple[int, int | None]]:
        """The spans during which this cycle's clock ran; the last is open-ended (None) while it runs."""
        return [(self.start, self.fulfilled)]

    def __repr__(self) -> str:
        return (
            f"<Cycle {self.metric_name} start={self.start} target={self.target} due={self.due} "
            f"fulfilled={self.fulfilled} breached={self.breached}>"
        )

    # -- counted time ---------------------------------------------------------------------------

    def reach(self, calendar: BusinessCalendar, level: int, tail: int | None) -> int | None:
        """The instant at which the counted time since the start reaches ``level`` seconds.

        For a clock that pauses, it counts the spans during which it ran, then runs on from
        ``tail`` (None: it does not run on). None when the level cannot be reached (paused,
        or never: see ``BusinessCalendar.add_seconds``).
        """
        return calendar.add_seconds(self.start, level)

    def reach_now(self, calendar: BusinessCalendar, level: int) -> int | None:
        """``reach`` with the clock as it stands: running on if it runs, stopped if paused."""
        return calendar.add_seconds(self.start, level)

    def earliest(self, level: int) -> int | None:
        """A lower bound of ``reach_now(..., level)`` that needs no calendar (business time never
        runs faster than real time); None when the level cannot be reached in the present state."""
        return self.start + level

    def counted(self, calendar: BusinessCalendar, until: int) -> int:
        """Business time counted by this cycle's clock from its start to ``until``."""
        end = until if self.fulfilled is None else min(until, self.fulfilled)
        return calendar.between_seconds(self.start, end)

    # -- words ----------------------------------------------------------------------------------

    def explain(self) -> str:
        """Which policy, target and calendar decided this cycle, and how its due time was reached."""
        ran, runs_from = self.spans_for_explain()
        return explain_cycle(
            self.metric_name,
            self.policy,
            self.target,
            self.calendar,
            self.start,
            ran,
            runs_from,
            self.fulfilled,
            self.breached,
        )

    def spans_for_explain(self) -> tuple[list[tuple[int, int]], int | None]:
        """What ``explain_cycle`` needs of the clock: the closed spans during which it ran, and the
        instant from which it runs on (None: it does not). A clock that never pauses just runs on
        from its start."""
        return [], self.start


class ResolutionCycle(Cycle):
    """The resolution cycle: its clock pauses in the ``pause_when`` statuses and stops when solved.

    It keeps the spans during which the clock ran; a reopened ticket's clock goes on from the
    time those spans had counted.
    """

    __slots__ = ("_base", "_base_calendar", "_run_since", "_runs", "_wall")
    pausable: ClassVar[bool] = True

    def __init__(self, metric: int, start: int) -> None:
        super().__init__(metric, start)
        self._runs: list[tuple[int, int]] = []  # closed spans during which the clock ran
        self._run_since: int | None = start  # start of the running span; None while stopped
        self._base = 0  # time counted over `_runs` in `_base_calendar`
        self._base_calendar: BusinessCalendar | None = None
        self._wall = 0  # real time over `_runs`, at least `_base` in any calendar

    @property
    def running_spans(self) -> list[tuple[int, int | None]]:
        spans: list[tuple[int, int | None]] = list(self._runs)
        if self._run_since is not None:
            spans.append((self._run_since, None))
        return spans

    def _counted_base(self, calendar: BusinessCalendar) -> int:
        if self._base_calendar is not calendar:
            between = calendar.between_seconds
            self._base = sum([between(a, b) for a, b in self._runs])
            self._base_calendar = calendar
        return self._base

    def _stop(self, at: int) -> None:
        """The clock stops at ``at`` (paused or solved)."""
        since = self._run_since
        if since is None:
            return
        self._run_since = None
        if at > since:
            self._runs.append((since, at))
            self._wall += at - since
            if self._base_calendar is not None:
                self._base += self._base_calendar.between_seconds(since, at)

    def reach(self, calendar: BusinessCalendar, level: int, tail: int | None) -> int | None:
        base = self._counted_base(calendar)
        if level <= base:
            counted = 0
            for a, b in self._runs:
                here = calendar.between_seconds(a, b)
                if counted + here >= level:
                    return calendar.add_seconds(a, level - counted)
                counted += here
        if tail is None:
            return None
        return calendar.add_seconds(tail, level - base)

    def reach_now(self, calendar: BusinessCalendar, level: int) -> int | None:
        return self.reach(calendar, level, self._run_since)

    def earliest(self, level: int) -> int | None:
        since = self._run_since
        if level > self._wall:
            return None if since is None else since + level - self._wall
        return self.start  # perhaps reached already: only the calendar can tell

    def counted(self, calendar: BusinessCalendar, until: int) -> int:
        between = calendar.between_seconds
        total = sum([between(a, min(b, until)) for a, b in self._runs if a < until])
        if self._run_since is not None and self._run_since < until:
            total += between(self._run_since, until)
        return total

    def spans_for_explain(self) -> tuple[list[tuple[int, int]], int | None]:
        return list(self._runs), self.fulfilled if self.fulfilled is not None else self._run_since


def explain_cycle(
    metric: str,
    policy: str | None,
    target: Duration | None,
    calendar: BusinessCalendar | None,
    start: int,
    ran: Sequence[tuple[int, int]],
    runs_from: int | None,
    fulfilled: int | None,
    breached: bool,
) -> str:
    """A cycle's explanation from its facts (``Cycle.explain``).

    A function of its own so that the desk can store the facts, which are short, and put the
    words together only when someone looks: the words run to hundreds of characters per cycle
    and take longer to make than the due time itself.
    """
    if target is None or calendar is None:
        return f"{metric} from {format_time(start)}: no target under the policy in force"
    head = (
        f"{metric} under policy '{policy}', target {target.text}, "
        f"calendar '{calendar.id}' ({calendar.describe()}): "
    )
    if fulfilled is None:
        outcome = "open, breached" if breached else "open"
    else:
        outcome = f"fulfilled {format_time(fulfilled)}, " + ("breached" if breached else "achieved")
    return f"{head}{_how(calendar, target.seconds, ran, runs_from)}. {outcome}."


def _how(calendar: BusinessCalendar, seconds: int, ran: Sequence[tuple[int, int]], tail: int | None) -> str:
    """How counting ``seconds`` over the spans ``ran``, then on from ``tail``, reached the due time."""
    counted = 0
    parts: list[str] = []
    for a, b in ran:
        here = calendar.between_seconds(a, b)
        if counted + here >= seconds:
            before = "; ".join(parts)
            before += f"; then {format_duration(seconds - counted)} more: " if parts else ""
            return before + calendar.explain_add(a, seconds - counted)
        parts.append(f"clock ran {format_time(a)} to {format_time(b)}: {format_duration(here)} counted")
        counted += here
    done = "; ".join(parts)
    if tail is None:
        counted_words, target_words = format_duration(counted), format_duration(seconds)
        return f"{done}; paused with {counted_words} of {target_words} counted: no due time"
    if not parts:
        return calendar.explain_add(tail, seconds)
    return f"{done}; {format_duration(seconds - counted)} to go, counting from {format_time(tail)}: " + (
        calendar.explain_add(tail, seconds - counted)
    )


class TicketSla:
    """A ticket's SLA state at ``now``: what the replay prints and what the desk stores."""

    __slots__ = (
        "_engine",
        "_pending",
        "_ticket",
        "channel",
        "escalations",
        "group",
        "metrics",
        "now",
        "policy",
        "priority",
        "status",
        "tags",
    )

    def __init__(
        self,
        now: int,
        *,
        status: str | None,
        policy: str | None,
        priority: str | None = None,
        channel: str | None = None,
        group: str | None = None,
        tags: frozenset[str] = frozenset(),
        metrics: dict[str, list[Cycle]] | None = None,
        escalations: list[Escalation] | None = None,
        engine: SlaEngine | None = None,
        ticket: _Ticket | None = None,
    ) -> None:
        self.now = now
        self.status = status
        """None when the ticket's ``created`` event comes after ``now``."""
        self.policy = policy
        """The id of the policy in force at ``now`` (None when no policy fits)."""
        self.priority = priority
        self.channel = channel
        self.group = group
        self.tags = tags
        self.metrics: dict[str, list[Cycle]] = metrics if metrics is not None else {m: [] for m in METRICS}
        """Every metric, each with its cycles that have a target, in order of start."""
        self.escalations: list[Escalation] = escalations if escalations is not None else []
        """The rules that fired strictly before ``now``, in order of their instant."""
        self._engine = engine
        self._ticket = ticket
        self._pending: list[Escalation] | None = None

    def __repr__(self) -> str:
        return f"<TicketSla policy={self.policy} status={self.status} next_deadline={self.next_deadline}>"

    @property
    def pending(self) -> list[Escalation]:
        """The rules that will fire at or after ``now`` if nothing changes first, in order, with
        their actions. Firing one may change the ticket, so only the first is certain: evaluate
        again once ``now`` is past it."""
        if self._pending is None:
            if self._engine is None or self._ticket is None:
                self._pending = []
            else:
                self._pending = self._engine._pending(self._ticket, self.now)
        return self._pending

    @property
    def next_deadline(self) -> int | None:
        """The earliest instant at or after ``now`` at which something happens: an open cycle
        falls due or an escalation fires. Evaluate again once ``now`` is past it."""
        candidates = [
            cycle.due
            for cycles in self.metrics.values()
            for cycle in cycles
            if cycle.fulfilled is None and cycle.due is not None and cycle.due >= self.now
        ]
        if self.pending:
            candidates.append(self.pending[0].at)
        return min(candidates, default=None)

    def cycles(self) -> list[Cycle]:
        return [cycle for cycles in self.metrics.values() for cycle in cycles]

    def explain(self) -> str:
        status = self.status or "(not created yet)"
        lines = [f"at {format_time(self.now)}: policy {self.policy or '(none)'}, status {status}"]
        lines += [cycle.explain() for cycle in self.cycles()]
        lines += [f"escalation {e.rule} on {e.metric} at {format_time(e.at)}" for e in self.escalations]
        return "\n".join(lines)


# --------------------------------------------------------------------------- the compiled protocol


class _Policy:
    """A policy ready for the hot path: its match as sets, its calendar, and per metric and
    priority the target and the escalation levels (lowest first)."""

    __slots__ = ("calendar", "id", "index", "match", "plans", "targets")

    def __init__(
        self, index: int, policy: models.Policy, calendars: Calendars, rules: Sequence[CompiledRule]
    ) -> None:
        self.index = index
        self.id = policy.id
        self.match = TicketMatch(policy.match)
        self.calendar = calendars[policy.calendar]
        targets: list[dict[str, Duration]] = []
        plans: list[dict[str, tuple[tuple[int, CompiledRule], ...]]] = []
        for number, metric in enumerate(METRICS):
            target = policy.targets.get(metric)
            by_priority = dict(target.by_priority) if target is not None else {}
            targets.append(by_priority)
            watching = [rule for rule in rules if number in rule.metrics]
            plans.append(
                {
                    priority: tuple(
                        sorted(
                            ((rule.level(duration.seconds), rule) for rule in watching),
                            key=lambda item: (item[0], item[1].index),
                        )
                    )
                    for priority, duration in by_priority.items()
                }
            )
        self.targets: tuple[dict[str, Duration], ...] = tuple(targets)
        self.plans = tuple(plans)


class _Ticket:
    """The live state of one ticket while its events are replayed."""

    __slots__ = (
        "by_agent",
        "channel",
        "fired",
        "first_response",
        "group",
        "horizon",
        "incident",
        "next_open",
        "next_responses",
        "periodic_open",
        "periodic_updates",
        "policy",
        "priority",
        "resolution",
        "status",
        "tags",
        "time",
    )

    def __init__(self, created: Created) -> None:
        self.time = created.at
        # An agent's ticket starts with the agent's first public reply, which opens a new ticket.
        self.status = "open" if created.by_agent else "new"
        self.priority = created.priority
        self.channel = created.channel
        self.group = created.group
        self.tags = frozenset(created.tags)
        self.by_agent = created.by_agent
        self.policy: _Policy | None = None
        self.incident: _Policy | None = None  # the linked incident's policy, which overrides `match`
        self.first_response: Cycle | None = None
        self.next_responses: list[Cycle] = []
        self.next_open: Cycle | None = None
        self.periodic_updates: list[Cycle] = []
        self.periodic_open: Cycle | None = None
        self.resolution = ResolutionCycle(RESOLUTION, created.at)
        self.fired: list[Escalation] = []
        # No escalation can fire before this instant in the present state (a lower bound; -1
        # when unknown). Lets most events skip the search for the next escalation.
        self.horizon = -1

    def open_cycles(self) -> list[Cycle]:
        cycles = []
        fr = self.first_response
        if fr is not None and fr.fulfilled is None:
            cycles.append(fr)
        if self.next_open is not None:
            cycles.append(self.next_open)
        if self.periodic_open is not None:
            cycles.append(self.periodic_open)
        if self.resolution.fulfilled is None:
            cycles.append(self.resolution)
        return cycles


class SlaEngine:
    """A protocol version compiled for SLA work: policies, targets, calendars and escalation rules.

    Build one per protocol version and reuse it (``compile_protocol`` caches it): it holds the
    business calendars, whose spans are built once, and memoises policy choices. Evaluating a
    ticket changes nothing else in it, so one engine serves any number of tickets.
    """

    def __init__(self, protocol: models.Protocol) -> None:
        self.protocol = protocol
        self.calendars = Calendars(protocol)
        self.pause_when = frozenset(protocol.sla.pause_when)
        self.rules = compile_rules(protocol.escalation)
        self.policies = tuple(
            _Policy(i, p, self.calendars, self.rules) for i, p in enumerate(protocol.sla.policies)
        )
        self._choices: dict[tuple[str, str, str | None, frozenset[str]], _Policy | None] = {}
        self.policy_ids = {policy.id: policy for policy in self.policies}

    def policy_for(
        self, priority: str, channel: str, group: str | None, tags: frozenset[str]
    ) -> _Policy | None:
        """The first policy whose ``match`` fits (memoised)."""
        key = (priority, channel, group, tags)
        try:
            return self._choices[key]
        except KeyError:
            pass
        chosen = None
        for policy in self.policies:
            if policy.match.fits(priority, channel, group, tags):
                chosen = policy
                break
        if len(self._choices) < 100_000:
            self._choices[key] = chosen
        return chosen

    # -- the timeline ---------------------------------------------------------------------------

    def evaluate(self, events: Iterable[Event], now: int) -> TicketSla:
        """Replay one ticket's events (in time order, ``Created`` first) and judge it at ``now``.

        Events after ``now`` are not applied. Raises ``EventError`` for a sequence the desk
        would never produce: no ``Created`` first, a second ``Created``, an event earlier than
        the one before it, any event after ``closed``, or an incident naming a policy the
        protocol does not have.
        """
        iterator = iter(events)
        created = next(iterator, None)
        if not isinstance(created, Created):
            raise EventError(0, "a ticket's first event must be 'created'")
        if created.at > now:
            return TicketSla(now, status=None, policy=None)
        ticket = _Ticket(created)
        self._start(ticket, created)
        escalating = bool(self.rules)
        previous = created.at
        for index, event in enumerate(iterator, 1):
            at = event.at
            if at < previous:
                raise EventError(index, "event is earlier than the ticket's previous event")
            if ticket.status == "closed":
                raise EventError(index, "the ticket is closed; a closed ticket takes no further events")
            kind = event.kind
            if kind == _CREATED:
                raise EventError(index, "the ticket was already created")
            if kind == _INCIDENT:
                incident = event.policy  # type: ignore[union-attr]
                if incident is not None and incident not in self.policy_ids:
                    raise EventError(index, f"incident: '{incident}' is not a policy of the protocol")
            if at > now:
                break
            previous = at
            if escalating and at > ticket.horizon:
                self._escalate_until(ticket, at)
            ticket.time = at
            if kind == _REPLY:
                if event.by_agent:  # type: ignore[union-attr]
                    if event.public:  # type: ignore[union-attr]
                        self._agent_reply(ticket, at)
                else:
                    self._customer_reply(ticket, at)
            elif kind == _STATUS:
                self._set_status(ticket, event.status, at)  # type: ignore[union-attr]
            else:
                self._change(ticket, event)
        if escalating:
            self._escalate_until(ticket, now)
        return self._result(ticket, now)

    def _start(self, ticket: _Ticket, created: Created) -> None:
        ticket.policy = self.policy_for(ticket.priority, ticket.channel, ticket.group, ticket.tags)
        if created.by_agent:
            # Its creation counts as the agent's first public reply: no first_response, and
            # the periodic_update clock starts.
            ticket.periodic_open = cycle = Cycle(PERIODIC_UPDATE, created.at)
            ticket.periodic_updates.append(cycle)
        else:
            ticket.first_response = Cycle(FIRST_RESPONSE, created.at)

    def _change(self, ticket: _Ticket, event: Event) -> None:
        """A change of priority, tags, group or incident: the policy is chosen again."""
        if isinstance(event, PriorityChange):
            if event.priority == ticket.priority:
                return
            ticket.priority = event.priority
        elif isinstance(event, TagsChange):
            tags = (ticket.tags | frozenset(event.add)) - frozenset(event.remove)
            if tags == ticket.tags:
                return
            ticket.tags = tags
        elif isinstance(event, GroupChange):
            if event.group == ticket.group:
                return
            ticket.group = event.group
        elif isinstance(event, IncidentChange):
            incident = self.policy_ids[event.policy] if event.policy is not None else None
            if incident is ticket.incident:
                return
            ticket.incident = incident
        else:  # pragma: no cover - every event kind is handled above or in evaluate
            raise TypeError(f"not an event: {event!r}")
        self._choose_policy(ticket)

    def _agent_reply(self, ticket: _Ticket, at: int) -> None:
        if ticket.status == "new":
            ticket.status = "open"  # both run every clock: nothing else changes
        fr = ticket.first_response
        if fr is not None and fr.fulfilled is None:
            self._fulfil(ticket, fr, at)
        if ticket.next_open is not None:
            self._fulfil(ticket, ticket.next_open, at)
            ticket.next_open = None
        if ticket.periodic_open is not None:
            self._fulfil(ticket, ticket.periodic_open, at)
            ticket.periodic_open = None
        if ticket.status not in _DONE:
            ticket.periodic_open = cycle = Cycle(PERIODIC_UPDATE, at)
            ticket.periodic_updates.append(cycle)
            self._opened(ticket, cycle)

    def _customer_reply(self, ticket: _Ticket, at: int) -> None:
        if ticket.status == "pending" or ticket.status == "solved":
            self._set_status(ticket, "open", at)
        if ticket.next_open is None:
            fr = ticket.first_response
            if fr is None or fr.fulfilled is not None:
                ticket.next_open = cycle = Cycle(NEXT_RESPONSE, at)
                ticket.next_responses.append(cycle)
                self._opened(ticket, cycle)

    def _set_status(self, ticket: _Ticket, status: str, at: int) -> None:
        old = ticket.status
        if status == old:
            return
        ticket.status = status
        resolution = ticket.resolution
        if status in _DONE:
            if old in _DONE:
                return  # solved -> closed: the outcome stands
            fr = ticket.first_response
            if fr is not None and fr.fulfilled is None:
                self._fulfil(ticket, fr, at)
            if ticket.next_open is not None:
                self._fulfil(ticket, ticket.next_open, at)
                ticket.next_open = None
            if ticket.periodic_open is not None:
                self._fulfil(ticket, ticket.periodic_open, at)
                ticket.periodic_open = None
            resolution._stop(at)
            self._fulfil(ticket, resolution, at)
            return
        if old in _DONE:
            # Reopened: the same resolution cycle goes on from the time it had counted; its
            # outcome is decided again at the next solve.
            resolution.fulfilled = None
            resolution.target = None
            resolution.policy = None
            resolution.calendar = None
            resolution.due = None
            resolution.breached = False
            resolution._esc_valid = False
            ticket.horizon = -1
        running = status not in self.pause_when
        if running:
            if resolution._run_since is None:
                resolution._run_since = at
                resolution._esc_valid = False
                ticket.horizon = -1
        elif resolution._run_since is not None:
            resolution._stop(at)
            resolution._esc_valid = False
            ticket.horizon = -1

    def _choose_policy(self, ticket: _Ticket) -> None:
        incident = ticket.incident
        if incident is not None:
            ticket.policy = incident
        else:
            ticket.policy = self.policy_for(ticket.priority, ticket.channel, ticket.group, ticket.tags)
        # Targets and the rules' extra conditions may have changed: every pending escalation
        # instant is found again.
        for cycle in (ticket.first_response, ticket.next_open, ticket.periodic_open, ticket.resolution):
            if cycle is not None:
                cycle._esc_valid = False
        ticket.horizon = -1

    def _opened(self, ticket: _Ticket, cycle: Cycle) -> None:
        """A cycle has started: its escalations may come before the ticket's horizon."""
        if not self.rules:
            return
        self._plan(ticket, cycle)
        if cycle._esc_rule is not None:
            low = cycle._esc_low
            if low is not None and low < ticket.horizon:
                ticket.horizon = low

    def _fulfil(self, ticket: _Ticket, cycle: Cycle, at: int) -> None:
        cycle.fulfilled = at
        self._judge(ticket, cycle, at, at)

    def _judge(self, ticket: _Ticket, cycle: Cycle, now: int, tail: int | None) -> None:
        """Fix the cycle's target, due time and outcome under the state at ``now``; the clock
        runs on from ``tail`` (None: it is paused)."""
        policy = ticket.policy
        target = policy.targets[cycle.metric].get(ticket.priority) if policy is not None else None
        cycle.target = target
        if target is None or policy is None:
            cycle.policy = None
            cycle.calendar = None
            cycle.due = None
            cycle.breached = False
            return
        cycle.policy = policy.id
        cycle.calendar = calendar = policy.calendar
        cycle.due = due = cycle.reach(calendar, target.seconds, tail)
        end = cycle.fulfilled if cycle.fulfilled is not None else now
        cycle.breached = due is not None and end > due

    # -- escalations ----------------------------------------------------------------------------

    def _plan(self, ticket: _Ticket, cycle: Cycle) -> None:
        """Cache on ``cycle`` the lowest-level rule not yet fired on it whose extra conditions
        hold now, and a lower bound of the instant at which it fires."""
        cycle._esc_valid = True
        cycle._esc_rule = None
        cycle._esc_exact = False
        policy = ticket.policy
        if policy is None:
            return
        plan = policy.plans[cycle.metric].get(ticket.priority)
        if not plan:
            return
        fired = cycle._fired
        for level, rule in plan:
            if fired & rule.bit:
                continue
            when = rule.when
            if when is not None and not when.fits(ticket.priority, ticket.channel, ticket.group, ticket.tags):
                continue
            cycle._esc_rule = rule
            cycle._esc_level = level
            cycle._esc_low = cycle.earliest(level)
            return

    def _escalate_until(self, ticket: _Ticket, until: int) -> None:
        """Fire, in time order, every escalation whose instant comes strictly before ``until``."""
        while True:
            best_at = -1
            best_cycle: Cycle | None = None
            best_rule: CompiledRule | None = None
            horizon = _NEVER
            time = ticket.time
            for cycle in (ticket.first_response, ticket.next_open, ticket.periodic_open, ticket.resolution):
                if cycle is None or cycle.fulfilled is not None:
                    continue
                if not cycle._esc_valid:
                    self._plan(ticket, cycle)
                rule = cycle._esc_rule
                if rule is None:
                    continue
                if cycle._esc_exact:
                    at = cycle._esc_at
                else:
                    low = cycle._esc_low
                    if low is None:
                        continue
                    if low >= until:
                        if low < horizon:
                            horizon = low
                        continue  # cannot fire before `until`: no need to ask the calendar
                    assert ticket.policy is not None
                    at = cycle._esc_at = cycle.reach_now(ticket.policy.calendar, cycle._esc_level)
                    cycle._esc_exact = True
                if at is None:
                    continue
                if at < time:
                    at = time  # its condition came to hold through a change at this instant
                if at < horizon:
                    horizon = at
                if (
                    best_rule is None
                    or at < best_at
                    or (at == best_at and (rule.index, cycle.metric) < (best_rule.index, best_cycle.metric))  # type: ignore[union-attr]
                ):
                    best_at, best_cycle, best_rule = at, cycle, rule
            if best_rule is None or best_at >= until:
                ticket.horizon = horizon
                return
            assert best_cycle is not None
            if best_at == time:
                # A change at this instant may have made several rules of one cycle due at once,
                # and each cycle offers only its lowest level: look at them all.
                best_cycle, best_rule = self._first_due(ticket, time, best_cycle, best_rule)
            ticket.time = best_at
            best_cycle._fired |= best_rule.bit
            best_cycle._esc_valid = False
            ticket.horizon = -1
            ticket.fired.append(
                Escalation(
                    best_rule.id, METRICS[best_cycle.metric], best_at, best_rule.actions, best_cycle.start
                )
            )
            if best_rule.changes_ticket:
                ticket.priority, ticket.group, ticket.tags = apply_actions(
                    best_rule.actions, ticket.priority, ticket.group, ticket.tags
                )
                self._choose_policy(ticket)

    def _first_due(
        self, ticket: _Ticket, time: int, cycle: Cycle, rule: CompiledRule
    ) -> tuple[Cycle, CompiledRule]:
        """Of every rule due at ``time`` (the present instant) on an open cycle, the first in the
        protocol's order, then in the order of metrics: the one that fires next. ``cycle`` and
        ``rule`` are one that is due."""
        policy = ticket.policy
        assert policy is not None
        calendar = policy.calendar
        for candidate in (ticket.first_response, ticket.next_open, ticket.periodic_open, ticket.resolution):
            if candidate is None or candidate.fulfilled is not None:
                continue
            plan = policy.plans[candidate.metric].get(ticket.priority)
            if not plan:
                continue
            fired = candidate._fired
            for level, other in plan:
                if fired & other.bit or (other.index, candidate.metric) >= (rule.index, cycle.metric):
                    continue
                when = other.when
                if when is not None and not when.fits(
                    ticket.priority, ticket.channel, ticket.group, ticket.tags
                ):
                    continue
                # The plan is in order of level, and a higher level is never reached sooner.
                low = candidate.earliest(level)
                if low is None or low > time:
                    break
                at = candidate.reach_now(calendar, level)
                if at is None or at > time:
                    break
                cycle, rule = candidate, other
        return cycle, rule

    def _pending(self, ticket: _Ticket, now: int) -> list[Escalation]:
        """Every rule due to fire at or after ``now`` in the state at ``now``, in order of instant."""
        found: list[tuple[int, int, int, Escalation]] = []
        policy = ticket.policy
        if policy is None:
            return []
        for cycle in ticket.open_cycles():
            for level, rule in policy.plans[cycle.metric].get(ticket.priority, ()):
                if cycle._fired & rule.bit:
                    continue
                when = rule.when
                if when is not None and not when.fits(
                    ticket.priority, ticket.channel, ticket.group, ticket.tags
                ):
                    continue
                at = cycle.reach_now(policy.calendar, level)
                if at is None:
                    continue
                at = max(at, now)
                escalation = Escalation(rule.id, METRICS[cycle.metric], at, rule.actions, cycle.start)
                found.append((at, rule.index, cycle.metric, escalation))
        found.sort(key=lambda item: item[:3])
        return [item[3] for item in found]

    def _result(self, ticket: _Ticket, now: int) -> TicketSla:
        fr = ticket.first_response
        if fr is not None and fr.fulfilled is None:
            self._judge(ticket, fr, now, None)
        for cycle in (ticket.next_open, ticket.periodic_open):
            if cycle is not None:
                self._judge(ticket, cycle, now, None)
        resolution = ticket.resolution
        if resolution.fulfilled is None:
            self._judge(ticket, resolution, now, resolution._run_since)
        policy = ticket.policy
        return TicketSla(
            now,
            status=ticket.status,
            policy=policy.id if policy is not None else None,
            priority=ticket.priority,
            channel=ticket.channel,
            group=ticket.group,
            tags=ticket.tags,
            metrics={
                "first_response": [fr] if fr is not None and fr.target is not None else [],
                "next_response": [c for c in ticket.next_responses if c.target is not None],
                "periodic_update": [c for c in ticket.periodic_updates if c.target is not None],
                "resolution": [resolution] if resolution.target is not None else [],
            },
            escalations=ticket.fired,
            engine=self,
            ticket=ticket,
        )


CompiledProtocol = SlaEngine

# Protocol models hold lists, so they are not hashable: the cache is keyed on identity and
# an entry goes away with its protocol.
_compiled: dict[int, tuple[weakref.ref[models.Protocol], SlaEngine]] = {}


def compile_protocol(protocol: models.Protocol) -> SlaEngine:
    """The engine for a protocol version, compiled once per protocol object."""
    key = id(protocol)
    found = _compiled.get(key)
    if found is not None and found[0]() is protocol:
        return found[1]
    engine = SlaEngine(protocol)

    # The cache is bound here, not looked up as a global: at interpreter exit module globals are
    # cleared before the last protocols are collected.
    def forget(
        _ref: weakref.ref[models.Protocol],
        key: int = key,
        compiled: dict[int, tuple[weakref.ref[models.Protocol], SlaEngine]] = _compiled,
    ) -> None:
        compiled.pop(key, None)

    _compiled[key] = (weakref.ref(protocol, forget), engine)
    return engine


def evaluate(protocol: models.Protocol | SlaEngine, events: Iterable[Event], now: int) -> TicketSla:
    """One ticket's SLA state at ``now`` (POSIX seconds). Compile the protocol once for many tickets."""
    engine = protocol if isinstance(protocol, SlaEngine) else compile_protocol(protocol)
    return engine.evaluate(events, now)


_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_day_text: dict[int, str] = {}
_CLOCK = [f"{hour:02d}:{minute:02d}:" for hour in range(24) for minute in range(60)]
_SECONDS = [f"{second:02d}Z" for second in range(60)]


def format_time(t: int) -> str:
    """POSIX seconds as UTC ``YYYY-MM-DDTHH:MM:SSZ`` (the replay's and the explanations' form)."""
    days, rest = divmod(t, 86400)
    day = _day_text.get(days)
    if day is None:
        day = _day_text[days] = date.fromordinal(_EPOCH_ORDINAL + days).isoformat() + "T"
    return day + _CLOCK[rest // 60] + _SECONDS[rest % 60]
