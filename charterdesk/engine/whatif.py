"""What-if: two replays of the same tickets (the version in force, a draft) in, one report out.

The desk's "Try on history", its worker task and both modes of ``charterdesk protocol whatif``
build their report here, so every path gives the same numbers. A ticket's result under one
version is boiled down to an ``Outcome`` (from the engine's ``TicketSla`` or from a line that
``charterdesk sla replay`` printed: the same facts either way), and ``compare`` counts.

What is counted (docs/whatif.md says it in a manager's words):

- every cycle with a target, per metric and per priority: achieved (met), breached, or open
  and not yet late at the end of the period; compliance = achieved / (achieved + breached);
- the priority is the one the ticket's own history gives it at the end of the period (its
  ``created`` and ``priority`` events), the same under both versions, so the rows compare
  like with like even when a rule raises the priority;
- escalations: firings per rule; workload: the tickets a rule handed to each group
  (``assign_group``);
- objectives: the protocol's ``sla_compliance`` objectives judged on the overall compliance
  (the other KPIs need the KPI engine and are listed as not judged here).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from multiprocessing.connection import Connection

from charterdesk.protocol.models import Protocol

from .replay import workers_for
from .sla import METRICS, Created, Event, PriorityChange, SlaEngine, TicketSla, format_time

__all__ = [
    "Outcome",
    "PeriodError",
    "Whatif",
    "active_in",
    "compare",
    "format_text",
    "outcome_of",
    "outcome_of_line",
    "period",
    "priority_at",
    "run",
]

PRIORITY_ORDER = ("urgent", "high", "normal", "low")
SAMPLE_LIMIT = 25
PROGRESS_EVERY = 2000
ACHIEVED, BREACHED, OPEN = "achieved", "breached", "open"


@dataclass(frozen=True, slots=True)
class Outcome:
    """One ticket under one version: what the report counts."""

    ticket: str
    priority: str | None
    policy: str | None
    cycles: tuple[tuple[str, str], ...]
    """(metric, achieved | breached | open) for every cycle with a target, metrics in order."""
    escalations: tuple[tuple[str, str, int], ...]
    """(rule, metric, POSIX seconds) of every firing before the end of the period."""


def _state(fulfilled: object, breached: bool) -> str:
    if breached:
        return BREACHED
    return OPEN if fulfilled is None else ACHIEVED


def outcome_of(ticket: str, priority: str | None, result: TicketSla) -> Outcome:
    """A ticket's outcome from the engine's answer."""
    cycles = tuple(
        (metric, _state(cycle.fulfilled, cycle.breached))
        for metric in METRICS
        for cycle in result.metrics[metric]
    )
    now = result.now
    escalations = tuple((e.rule, e.metric, e.at) for e in result.escalations if e.at < now)
    return Outcome(ticket, priority, result.policy, cycles, escalations)


def outcome_of_line(record: Mapping, priority: str | None) -> Outcome:
    """A ticket's outcome from one line of ``charterdesk sla replay``'s output (parsed)."""
    from .replay import parse_time  # the replay's own reading of its times

    metrics = record["metrics"]
    cycles = tuple(
        (metric, _state(cycle["fulfilled"], cycle["breached"]))
        for metric in METRICS
        for cycle in metrics[metric]
    )
    escalations = tuple((e["rule"], e["metric"], parse_time(e["at"])) for e in record["escalations"])
    return Outcome(str(record["ticket"]), priority, record["policy"], cycles, escalations)


def priority_at(events: Iterable[Event], now: int) -> str | None:
    """The priority a ticket's own events give it at ``now`` (escalations left aside)."""
    priority = None
    for event in events:
        if event.at > now:
            break
        if type(event) is Created or type(event) is PriorityChange:
            priority = event.priority
    return priority


# --------------------------------------------------------------------------- the report


@dataclass
class Whatif:
    """The report: plain data (``as_dict`` is what the desk stores and ``--format json`` prints)."""

    tickets: int
    now: int
    period_from: int | None
    metrics: list[dict] = field(default_factory=list)
    overall: dict = field(default_factory=dict)
    policy_changes: list[dict] = field(default_factory=list)
    escalations: list[dict] = field(default_factory=list)
    workload: list[dict] = field(default_factory=list)
    objectives: list[dict] = field(default_factory=list)
    changed: int = 0
    samples: list[dict] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "tickets": self.tickets,
            "from": None if self.period_from is None else format_time(self.period_from),
            "to": format_time(self.now),
            "changed": self.changed,
            "metrics": self.metrics,
            "overall": self.overall,
            "policy_changes": self.policy_changes,
            "escalations": self.escalations,
            "workload": self.workload,
            "objectives": self.objectives,
            "samples": self.samples,
        }


def _counts(achieved: int, breached: int, open_: int) -> dict:
    judged = achieved + breached
    return {
        "achieved": achieved,
        "breached": breached,
        "open": open_,
        "compliance": None if judged == 0 else round(achieved / judged, 4),
    }


def _change(base: float | None, draft: float | None) -> float | None:
    return None if base is None or draft is None else round(draft - base, 4)


def _assigns(protocol: Protocol) -> dict[str, tuple[str, ...]]:
    """Per escalation rule, the groups it hands tickets to."""
    return {
        rule.id: tuple(action.value for action in rule.do if action.kind == "assign_group")
        for rule in protocol.escalation
    }


def _tally(outcomes: Iterable[Outcome]) -> tuple[Counter, Counter, Counter, Counter]:
    """(per (metric, priority, state), per state overall, firings per rule, tickets per rule)."""
    cells: Counter = Counter()
    overall: Counter = Counter()
    firings: Counter = Counter()
    rule_tickets: Counter = Counter()
    for outcome in outcomes:
        for metric, state in outcome.cycles:
            cells[metric, outcome.priority, state] += 1
            overall[state] += 1
        for rule, _metric, _at in outcome.escalations:
            firings[rule] += 1
        for rule in {rule for rule, _metric, _at in outcome.escalations}:
            rule_tickets[rule] += 1
    return cells, overall, firings, rule_tickets


def _workload(outcomes: Iterable[Outcome], assigns: Mapping[str, tuple[str, ...]]) -> Counter:
    """Tickets handed to each group by an escalation (a ticket counts once per group)."""
    groups: Counter = Counter()
    for outcome in outcomes:
        handed = {group for rule, _metric, _at in outcome.escalations for group in assigns.get(rule, ())}
        for group in handed:
            groups[group] += 1
    return groups


def _objectives(protocol: Protocol, compliance: float | None) -> list[dict]:
    found = []
    for objective in protocol.objectives:
        row: dict[str, object] = {
            "id": objective.id,
            "text": objective.text,
            "kpi": objective.kpi,
            "value": None,
            "met": None,
        }
        if objective.kpi == "sla_compliance" and compliance is not None:
            low = objective.target.get("min")
            high = objective.target.get("max")
            met = (not isinstance(low, float | int) or compliance >= low) and (
                not isinstance(high, float | int) or compliance <= high
            )
            row.update(value=compliance, met=met)
        found.append(row)
    return found


def _difference(base: Outcome, draft: Outcome) -> list[str]:
    """What changes for one ticket, in words (empty: the same outcome)."""
    if base.policy == draft.policy and base.cycles == draft.cycles and base.escalations == draft.escalations:
        return []  # most tickets: nothing to put in words
    why = []
    if base.policy != draft.policy:
        why.append(f"policy {base.policy or '(none)'} -> {draft.policy or '(none)'}")
    for metric in METRICS:
        before = [state for m, state in base.cycles if m == metric]
        after = [state for m, state in draft.cycles if m == metric]
        if before != after:
            why.append(f"{metric}: {', '.join(before) or 'no target'} -> {', '.join(after) or 'no target'}")
    rules_before = Counter(rule for rule, _m, _a in base.escalations)
    rules_after = Counter(rule for rule, _m, _a in draft.escalations)
    if rules_before != rules_after:
        gained = sorted((rules_after - rules_before).elements())
        lost = sorted((rules_before - rules_after).elements())
        if gained:
            why.append(f"escalations added: {', '.join(gained)}")
        if lost:
            why.append(f"escalations gone: {', '.join(lost)}")
    return why


def _breaches(outcome: Outcome) -> int:
    return sum(1 for _metric, state in outcome.cycles if state == BREACHED)


def compare(
    base: Mapping[str, Outcome],
    draft: Mapping[str, Outcome],
    base_protocol: Protocol,
    draft_protocol: Protocol,
    *,
    now: int,
    period_from: int | None = None,
    sample_limit: int = SAMPLE_LIMIT,
) -> Whatif:
    """The report for the same tickets under the version in force (``base``) and the draft.

    Tickets present under only one version are left out (both replays read the same tickets,
    so that happens only to a caller's mistake).
    """
    ids = [ticket for ticket in base if ticket in draft]
    report = Whatif(tickets=len(ids), now=now, period_from=period_from)
    base_cells, base_all, base_firings, base_rule_tickets = _tally(base[t] for t in ids)
    draft_cells, draft_all, draft_firings, draft_rule_tickets = _tally(draft[t] for t in ids)

    priorities = {base[t].priority for t in ids}
    ordered = [p for p in PRIORITY_ORDER if p in priorities] + sorted(
        str(p) for p in priorities if p not in PRIORITY_ORDER
    )
    for metric in METRICS:
        for priority in ordered:
            before = _counts(*(base_cells[metric, priority, s] for s in (ACHIEVED, BREACHED, OPEN)))
            after = _counts(*(draft_cells[metric, priority, s] for s in (ACHIEVED, BREACHED, OPEN)))
            if before["achieved"] + before["breached"] + before["open"] == 0 and (
                after["achieved"] + after["breached"] + after["open"] == 0
            ):
                continue
            report.metrics.append(
                {
                    "metric": metric,
                    "priority": priority,
                    "base": before,
                    "draft": after,
                    "change": _change(before["compliance"], after["compliance"]),
                }
            )
    before_all = _counts(*(base_all[s] for s in (ACHIEVED, BREACHED, OPEN)))
    after_all = _counts(*(draft_all[s] for s in (ACHIEVED, BREACHED, OPEN)))
    report.overall = {
        "base": before_all,
        "draft": after_all,
        "change": _change(before_all["compliance"], after_all["compliance"]),
    }

    moves: Counter = Counter(
        (base[t].policy, draft[t].policy) for t in ids if base[t].policy != draft[t].policy
    )
    report.policy_changes = [
        {"from": old, "to": new, "tickets": count}
        for (old, new), count in sorted(
            moves.items(), key=lambda item: (-item[1], str(item[0]), str(item[1]))
        )
    ]

    rules = [rule.id for rule in base_protocol.escalation]
    rules += [rule.id for rule in draft_protocol.escalation if rule.id not in rules]
    report.escalations = [
        {
            "rule": rule,
            "base": base_firings[rule],
            "draft": draft_firings[rule],
            "base_tickets": base_rule_tickets[rule],
            "draft_tickets": draft_rule_tickets[rule],
            "in_base": any(r.id == rule for r in base_protocol.escalation),
            "in_draft": any(r.id == rule for r in draft_protocol.escalation),
        }
        for rule in rules
    ]

    base_groups = _workload((base[t] for t in ids), _assigns(base_protocol))
    draft_groups = _workload((draft[t] for t in ids), _assigns(draft_protocol))
    report.workload = [
        {"group": group, "base": base_groups[group], "draft": draft_groups[group]}
        for group in sorted(set(base_groups) | set(draft_groups))
    ]

    judged_before = _objectives(base_protocol, before_all["compliance"])
    judged_after = {row["id"]: row for row in _objectives(draft_protocol, after_all["compliance"])}
    seen = set()
    for row in judged_before:
        after_row = judged_after.get(row["id"])
        report.objectives.append(_objective_row(row, after_row))
        seen.add(row["id"])
    for key, row in judged_after.items():
        if key not in seen:
            report.objectives.append(_objective_row(None, row))

    changes = []
    for ticket in ids:
        why = _difference(base[ticket], draft[ticket])
        if why:
            changes.append((ticket, why))
    report.changed = len(changes)
    # The most telling first: the largest change in breaches, then the ticket's own order.
    position = {ticket: index for index, ticket in enumerate(ids)}
    changes.sort(
        key=lambda item: (
            -abs(_breaches(draft[item[0]]) - _breaches(base[item[0]])),
            position[item[0]],
        )
    )
    report.samples = [
        {
            "ticket": ticket,
            "priority": base[ticket].priority,
            "why": why,
            "base_breaches": _breaches(base[ticket]),
            "draft_breaches": _breaches(draft[ticket]),
        }
        for ticket, why in changes[:sample_limit]
    ]
    return report


def _objective_row(before: dict | None, after: dict | None) -> dict:
    either = before or after
    assert either is not None
    return {
        "id": either["id"],
        "text": either["text"],
        "kpi": either["kpi"],
        "base": None if before is None else before["value"],
        "draft": None if after is None else after["value"],
        "base_met": None if before is None else before["met"],
        "draft_met": None if after is None else after["met"],
        "judged": either["kpi"] == "sla_compliance",
    }


def _outcomes(
    base_engine: SlaEngine,
    draft_engine: SlaEngine,
    items: list[tuple[str, list[Event]]],
    now: int,
    progress: Callable[[int], object] | None = None,
) -> list[tuple[Outcome, Outcome]]:
    found = []
    evaluate_base = base_engine.evaluate
    evaluate_draft = draft_engine.evaluate
    for done, (ticket, events) in enumerate(items, 1):
        priority = priority_at(events, now)
        found.append(
            (
                outcome_of(ticket, priority, evaluate_base(events, now)),
                outcome_of(ticket, priority, evaluate_draft(events, now)),
            )
        )
        if progress is not None and done % PROGRESS_EVERY == 0:
            progress(done)
    return found


def _share_worker(connection: Connection, args: tuple) -> None:
    try:
        connection.send(_outcomes(*args))
    except BaseException:  # reported to the parent, which raises it
        import traceback

        connection.send(("crash", traceback.format_exc()))
    finally:
        connection.close()


def run(
    base_engine: SlaEngine,
    draft_engine: SlaEngine,
    tickets: Mapping[str, list[Event]],
    now: int,
    *,
    period_from: int | None = None,
    sample_limit: int = SAMPLE_LIMIT,
    progress: Callable[[int], object] | None = None,
    workers: int | None = None,
) -> Whatif:
    """Replay every ticket under both versions at ``now`` and compare.

    Large inputs are shared out in order across one forked process per core, as ``sla replay``
    does (``replay.workers_for``: ``CHARTERDESK_REPLAY_WORKERS`` or ``workers`` decide); each
    sends back its tickets' outcomes. ``progress(done)`` is called every ``PROGRESS_EVERY``
    tickets (the desk's progress bar), estimated from this process's share.
    """
    items = list(tickets.items())
    count = workers_for(sum(len(events) for _ticket, events in items), workers)
    if count > 1 and len(items) >= count:
        pairs = _run_parallel(base_engine, draft_engine, items, now, progress, count)
    else:
        pairs = _outcomes(base_engine, draft_engine, items, now, progress)
    base = {pair[0].ticket: pair[0] for pair in pairs}
    draft = {pair[1].ticket: pair[1] for pair in pairs}
    return compare(
        base,
        draft,
        base_engine.protocol,
        draft_engine.protocol,
        now=now,
        period_from=period_from,
        sample_limit=sample_limit,
    )


def _run_parallel(
    base_engine: SlaEngine,
    draft_engine: SlaEngine,
    items: list[tuple[str, list[Event]]],
    now: int,
    progress: Callable[[int], object] | None,
    count: int,
) -> list[tuple[Outcome, Outcome]]:
    context = multiprocessing.get_context("fork")
    bounds = [len(items) * share // count for share in range(count + 1)]
    connections: list[Connection] = []
    processes = []
    for stream in (sys.stdout, sys.stderr):  # a forked child flushes what it inherited
        with contextlib.suppress(Exception):
            stream.flush()
    try:
        for share in range(1, count):
            parent_end, child_end = context.Pipe()
            args = (base_engine, draft_engine, items[bounds[share] : bounds[share + 1]], now)
            process = context.Process(target=_share_worker, args=(child_end, args), daemon=True)
            process.start()
            child_end.close()
            connections.append(parent_end)
            processes.append(process)

        def scaled(done: int) -> object:
            assert progress is not None
            return progress(done * count)

        pairs = _outcomes(base_engine, draft_engine, items[: bounds[1]], now, scaled if progress else None)
        for connection in connections:
            try:
                reply = connection.recv()
            except EOFError:
                raise RuntimeError("a what-if worker ended without an answer") from None
            if isinstance(reply, tuple) and reply and reply[0] == "crash":
                raise RuntimeError(f"a what-if worker failed:\n{reply[1]}")
            pairs += reply
        return pairs
    finally:
        for connection in connections:
            connection.close()
        for process in processes:
            process.join(timeout=5)
            if process.is_alive():  # pragma: no cover - a worker stuck after an error
                process.kill()
                process.join()


# --------------------------------------------------------------------------- as text


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


def _points(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:+.1f} pts"


def format_text(report: dict) -> str:
    """The report (``Whatif.as_dict()``) as plain text for a terminal or a CI log."""
    lines = [
        f"What-if over {report['tickets']} tickets with activity "
        + (f"from {report['from']} " if report["from"] else "")
        + f"to {report['to']}: {report['changed']} change outcome.",
        "",
        "SLA, per metric and priority      in force: achieved/breached  compliance"
        "   draft: achieved/breached  compliance   change",
    ]
    for row in report["metrics"]:
        base, draft = row["base"], row["draft"]
        lines.append(
            f"  {row['metric']:<16} {row['priority'] or '-':<8}"
            f"  {base['achieved']:>8}/{base['breached']:<8} {_percent(base['compliance']):>8}"
            f"   {draft['achieved']:>8}/{draft['breached']:<8} {_percent(draft['compliance']):>8}"
            f"   {_points(row['change'])}"
        )
    overall = report["overall"]
    lines.append(
        f"  {'all':<25}  {overall['base']['achieved']:>8}/{overall['base']['breached']:<8}"
        f" {_percent(overall['base']['compliance']):>8}   {overall['draft']['achieved']:>8}/"
        f"{overall['draft']['breached']:<8} {_percent(overall['draft']['compliance']):>8}"
        f"   {_points(overall['change'])}"
    )
    lines += ["", "Tickets whose policy changes:"]
    lines += [
        f"  {row['from'] or '(none)'} -> {row['to'] or '(none)'}: {row['tickets']}"
        for row in report["policy_changes"]
    ] or ["  none"]
    lines += ["", "Escalations fired (in force -> draft):"]
    lines += [f"  {row['rule']}: {row['base']} -> {row['draft']}" for row in report["escalations"]] or [
        "  none"
    ]
    lines += ["", "Tickets handed to each group by escalations (in force -> draft):"]
    lines += [f"  {row['group']}: {row['base']} -> {row['draft']}" for row in report["workload"]] or [
        "  none"
    ]
    lines += ["", "Objectives (sla_compliance judged on SLA compliance; other KPIs not judged here):"]
    for row in report["objectives"]:
        if not row["judged"]:
            lines.append(f"  {row['id']} ({row['kpi']}): not judged here")
            continue
        lines.append(
            f"  {row['id']} ({row['kpi']}): {_percent(row['base'])} {_met(row['base_met'])}"
            f" -> {_percent(row['draft'])} {_met(row['draft_met'])}"
        )
    if not report["objectives"]:
        lines.append("  none in either version")
    lines += ["", "Sample tickets that change outcome:"]
    lines += [f"  {row['ticket']}: {'; '.join(row['why'])}" for row in report["samples"]] or ["  none"]
    return "\n".join(lines) + "\n"


def _met(met: bool | None) -> str:
    return "(no cycles judged)" if met is None else ("met" if met else "missed")


# --------------------------------------------------------------------------- the period

DAY = 86400


class PeriodError(ValueError):
    """A period that cannot be read; the message names the option."""


def parse_since(text: str) -> int:
    """``90d``, ``12w`` or ``48h`` as seconds."""
    units = {"d": DAY, "w": 7 * DAY, "h": 3600}
    value = text.strip().lower()
    if len(value) >= 2 and value[-1] in units and value[:-1].isdigit() and int(value[:-1]) > 0:
        return int(value[:-1]) * units[value[-1]]
    raise PeriodError(f"--since: '{text}' is not a period such as 7d, 30d, 90d, 12w or 48h")


def parse_day_or_time(option: str, text: str, *, end: bool) -> int:
    """``YYYY-MM-DD`` (UTC; with ``end``, the end of that day) or an ISO 8601 time with an offset."""
    from .replay import _Bad, parse_time

    value = text.strip()
    if len(value) == 10:
        try:
            start = parse_time(value + "T00:00:00Z")
        except _Bad:
            raise PeriodError(f"{option}: '{text}' is not a date such as 2026-12-31") from None
        return start + DAY if end else start
    try:
        return parse_time(value)
    except _Bad as error:
        raise PeriodError(f"{option}: {error}") from None


def period(
    since: str | None, day_from: str | None, day_to: str | None, latest: int | None
) -> tuple[int | None, int | None]:
    """(from, to) in POSIX seconds: ``to`` is the instant every ticket is judged at (``latest``
    when neither ``--to`` nor anything else says), ``from`` None for the whole history."""
    if since is not None and (day_from is not None or day_to is not None):
        raise PeriodError("--since: give either --since or --from/--to, not both")
    to = parse_day_or_time("--to", day_to, end=True) if day_to is not None else latest
    if since is not None:
        return (None if to is None else to - parse_since(since)), to
    start = parse_day_or_time("--from", day_from, end=False) if day_from is not None else None
    if start is not None and to is not None and start >= to:
        raise PeriodError(f"--from: {format_time(start)} is not before --to {format_time(to)}")
    return start, to


def active_in(events: list[Event], start: int | None, end: int) -> bool:
    """Whether a ticket had an event in the period (from ``start``, None: ever, to ``end``)."""
    if not events or events[0].at > end:
        return False
    if start is None:
        return True
    return any(start <= event.at <= end for event in events)
