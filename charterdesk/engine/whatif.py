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
- objectives: every objective of each version judged by the KPI engine (``kpis.py``) over the
  same tickets and the period, from the very SLA answers the counts above come from.
"""

from __future__ import annotations

import contextlib
import marshal
import multiprocessing
import sys
from bisect import bisect_right
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from multiprocessing.connection import Connection

from charterdesk.protocol.models import Protocol

from .kpis import KpiEngine, Survey, TicketHistory, period_between
from .replay import workers_for
from .sla import (
    METRICS,
    Created,
    Event,
    EventError,
    PriorityChange,
    SlaEngine,
    TicketSla,
    format_time,
)

__all__ = [
    "Outcome",
    "PeriodError",
    "Whatif",
    "active_in",
    "compare",
    "count",
    "format_text",
    "judge",
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


# One (metric, state) pair object for all tickets: less to allocate, and comparing two
# tickets' cycles meets the same objects (an identity check) instead of equal strings.
_PAIRS: dict[str, dict[str, tuple[str, str]]] = {
    metric: {state: (metric, state) for state in (ACHIEVED, BREACHED, OPEN)} for metric in METRICS
}


def outcome_of(ticket: str, priority: str | None, result: TicketSla) -> Outcome:
    """A ticket's outcome from the engine's answer."""
    cycles: list[tuple[str, str]] = []
    metrics = result.metrics
    for metric in METRICS:
        found = metrics[metric]
        if found:
            pairs = _PAIRS[metric]
            for cycle in found:
                cycles.append(pairs[_state(cycle.fulfilled, cycle.breached)])
    now = result.now
    escalations = tuple([(e.rule, e.metric, e.at) for e in result.escalations if e.at < now])
    return Outcome(ticket, priority, result.policy, tuple(cycles), escalations)


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


@dataclass(slots=True)
class Counts:
    """One version's counts over a set of outcomes (``count``): what the report's tables add up."""

    cells: Counter
    """Cycles per (metric, priority, achieved | breached | open)."""
    overall: Counter
    """Cycles per state, all metrics and priorities."""
    firings: Counter
    """Firings per escalation rule."""
    rule_tickets: Counter
    """Tickets on which each rule fired."""
    groups: Counter
    """Tickets handed to each group by an escalation (``assign_group``; once per group)."""


def count(outcomes: Iterable[Outcome], protocol: Protocol) -> Counts:
    """Add up one version's outcomes. Most tickets share their shape (priority and the states of
    their cycles; the rules that fired), so each shape is counted once and then multiplied."""
    shapes: Counter = Counter()
    fired: Counter = Counter()
    for outcome in outcomes:
        shapes[outcome.priority, outcome.cycles] += 1
        if outcome.escalations:
            fired[tuple([rule for rule, _metric, _at in outcome.escalations])] += 1
    cells: Counter = Counter()
    overall: Counter = Counter()
    for (priority, cycles), tickets in shapes.items():
        for metric, state in cycles:
            cells[metric, priority, state] += tickets
            overall[state] += tickets
    firings: Counter = Counter()
    rule_tickets: Counter = Counter()
    groups: Counter = Counter()
    assigns = _assigns(protocol)
    for rules, tickets in fired.items():
        for rule in rules:
            firings[rule] += tickets
        for rule in set(rules):
            rule_tickets[rule] += tickets
        for group in {group for rule in rules for group in assigns.get(rule, ())}:
            groups[group] += tickets
    return Counts(cells, overall, firings, rule_tickets, groups)


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
    objectives: tuple[list[dict], list[dict]] = ([], []),
    counts: tuple[Counts, Counts] | None = None,
) -> Whatif:
    """The report for the same tickets under the version in force (``base``) and the draft.

    Tickets present under only one version are left out (both replays read the same tickets,
    so that happens only to a caller's mistake). ``objectives``: each version's objectives as
    the KPI engine judged them (``Report.objectives``; ``judge`` makes them from histories).
    ``counts``: each version's ``count`` of these very outcomes, when the caller made them
    already (``run`` does, in each version's process).
    """
    if len(base) == len(draft) and all(ticket in draft for ticket in base):
        ids = list(base)
        same = True
    else:
        ids = [ticket for ticket in base if ticket in draft]
        same = False
    report = Whatif(tickets=len(ids), now=now, period_from=period_from)
    if counts is None or not same:
        counts = (
            count([base[t] for t in ids], base_protocol),
            count([draft[t] for t in ids], draft_protocol),
        )
    before_counts, after_counts = counts
    base_cells, base_all = before_counts.cells, before_counts.overall
    draft_cells, draft_all = after_counts.cells, after_counts.overall
    base_firings, base_rule_tickets = before_counts.firings, before_counts.rule_tickets
    draft_firings, draft_rule_tickets = after_counts.firings, after_counts.rule_tickets

    # The ticket's own priority is the same under both versions; a priority without cycles
    # under either has no row.
    priorities = {priority for _metric, priority, _state in base_cells} | {
        priority for _metric, priority, _state in draft_cells
    }
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

    # One pass over the tickets for what needs both outcomes side by side: policy moves and the
    # tickets whose outcome changes (most do not: equal tuples, nothing to put in words).
    moves: Counter = Counter()
    changes: list[tuple[str, list[str], int]] = []
    for ticket in ids:
        before_outcome, after_outcome = base[ticket], draft[ticket]
        if (
            before_outcome.policy == after_outcome.policy
            and before_outcome.cycles == after_outcome.cycles
            and before_outcome.escalations == after_outcome.escalations
        ):
            continue
        if before_outcome.policy != after_outcome.policy:
            moves[before_outcome.policy, after_outcome.policy] += 1
        why = _difference(before_outcome, after_outcome)
        if why:
            changes.append((ticket, why, _breaches(after_outcome) - _breaches(before_outcome)))
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

    base_groups, draft_groups = before_counts.groups, after_counts.groups
    report.workload = [
        {"group": group, "base": base_groups[group], "draft": draft_groups[group]}
        for group in sorted(set(base_groups) | set(draft_groups))
    ]

    report.objectives = _objective_rows(base_protocol, draft_protocol, *objectives)

    report.changed = len(changes)
    # The most telling first: the largest change in breaches, then the tickets' own order (the
    # sort keeps it among equals).
    changes.sort(key=_largest_change)
    report.samples = [
        {
            "ticket": ticket,
            "priority": base[ticket].priority,
            "why": why,
            "base_breaches": _breaches(base[ticket]),
            "draft_breaches": _breaches(draft[ticket]),
        }
        for ticket, why, _change in changes[:sample_limit]
    ]
    return report


def _largest_change(change: tuple[str, list[str], int]) -> int:
    return -abs(change[2])


def _objective_rows(
    base_protocol: Protocol, draft_protocol: Protocol, base: list[dict], draft: list[dict]
) -> list[dict]:
    """One row per objective id, those of the version in force first, then the draft's new ones:
    its words and KPI (the draft's when it states the objective), and under each version the
    target, the actual figures and whether it is met (all None where that version lacks it)."""
    texts = {o.id: o.text for o in base_protocol.objectives}
    texts.update({o.id: o.text for o in draft_protocol.objectives})
    judged = ({row["id"]: row for row in base}, {row["id"]: row for row in draft})
    ids = [row["id"] for row in base] + [row["id"] for row in draft if row["id"] not in judged[0]]
    rows = []
    for key in ids:
        before, after = judged[0].get(key), judged[1].get(key)
        either = after or before
        assert either is not None
        row: dict[str, object] = {"id": key, "text": texts.get(key), "kpi": either["kpi"]}
        for side, found in (("base", before), ("draft", after)):
            row[f"{side}_kpi"] = None if found is None else found["kpi"]
            row[f"{side}_target"] = None if found is None else found["target"]
            row[f"{side}_actual"] = None if found is None else found["actual"]
            row[f"{side}_met"] = None if found is None else found["met"]
        row["in_base"], row["in_draft"] = before is not None, after is not None
        rows.append(row)
    return rows


def judge(
    kpi: KpiEngine,
    histories: Iterable[TicketHistory],
    start: int,
    now: int,
    results: Iterable[TicketSla] | None = None,
) -> list[dict]:
    """The protocol's objectives judged by the KPI engine over these tickets, from ``start`` to
    ``now`` (POSIX seconds, days cut in the team's time zone), everything judged at ``now``:
    ``Report.objectives``. ``results``: the SLA answers at ``now`` when the caller has them
    (``KpiEngine.compute``); the histories' events then end at ``now``, as the what-if read them."""
    span = period_between(min(start, now - 1), now, kpi.timezone)
    return kpi.compute(histories, span, kpis=[], results=results).objectives


def _version(
    engine: SlaEngine,
    items: list[tuple[str, list[Event]]],
    surveys: Mapping[str, list[Survey]],
    now: int,
    start: int,
    progress: Callable[[int], object] | None = None,
) -> tuple[list[Outcome], list[dict], Counts]:
    """Every ticket under one version: its outcomes, its objectives judged by the KPI engine from
    the very same SLA answers (each ticket is evaluated once, and not kept), and its counts."""
    outcomes: list[Outcome] = []
    append = outcomes.append
    evaluate = engine.evaluate

    def evaluated() -> Iterator[TicketSla]:
        for done, (ticket, events) in enumerate(items, 1):
            result = evaluate(events, now)
            append(outcome_of(ticket, priority_at(events, now), result))
            if progress is not None and done % PROGRESS_EVERY == 0:
                progress(done)
            yield result

    no_answers: list[Survey] = []
    histories = (TicketHistory(events, surveys.get(ticket, no_answers)) for ticket, events in items)
    objectives = judge(KpiEngine(engine.protocol, engine), histories, start, now, evaluated())
    return outcomes, objectives, count(outcomes, engine.protocol)


def _version_worker(connection: Connection, args: tuple) -> None:
    """A forked process: one version over every ticket. The answer goes back marshalled (plain
    tuples, lists, dicts and strings: about twice as fast both ways as pickling the dataclasses
    and counters)."""
    try:
        outcomes, objectives, counts = _version(*args)
        tables = tuple(
            dict(table)
            for table in (counts.cells, counts.overall, counts.firings, counts.rule_tickets, counts.groups)
        )
        answer: tuple = ("done", [_fields(o) for o in outcomes], objectives, tables)
    except EventError as error:  # raised again in the parent, as one process would
        answer = ("event", error.index, error.message)
    except BaseException:  # reported to the parent, which raises it
        import traceback

        answer = ("crash", traceback.format_exc())
    try:
        connection.send_bytes(marshal.dumps(answer))
    finally:
        connection.close()


def _at(event: Event) -> int:
    return event.at


def _fields(outcome: Outcome) -> tuple:
    return (outcome.ticket, outcome.priority, outcome.policy, outcome.cycles, outcome.escalations)


def run(
    base_engine: SlaEngine,
    draft_engine: SlaEngine,
    tickets: Mapping[str, list[Event]],
    now: int,
    *,
    period_from: int | None = None,
    surveys: Mapping[str, list[Survey]] | None = None,
    sample_limit: int = SAMPLE_LIMIT,
    progress: Callable[[int], object] | None = None,
    workers: int | None = None,
) -> Whatif:
    """Replay every ticket under both versions at ``now``, judge each version's objectives, and
    compare.

    ``surveys``: the survey answers per ticket, in time order (for the KPIs that count them).
    The objectives are judged over the period from ``period_from`` (None: the first event) to
    ``now``. With two processes or more (``replay.workers_for``: ``CHARTERDESK_REPLAY_WORKERS``
    or ``workers`` decide, one per core for large inputs), the draft runs in a forked process
    while this one runs the version in force: the histories are read once and shared by the
    fork, and each version's KPI engine sees all its tickets in one place. ``progress(done)`` is
    called every ``PROGRESS_EVERY`` tickets (the desk's progress bar), as tickets of ``tickets``
    done (estimated from this process's share).
    """
    # Events after `now` are not applied by the SLA engine; the KPI engine, given its answers,
    # must not see them either (a solve after the end is not one of the period's).
    items = [
        (
            ticket,
            events if not events or events[-1].at <= now else events[: bisect_right(events, now, key=_at)],
        )
        for ticket, events in tickets.items()
    ]
    answers: Mapping[str, list[Survey]] = surveys if surveys is not None else {}
    start = period_from
    if start is None:
        start = min((events[0].at for _ticket, events in items if events), default=now)
    count = workers_for(sum(len(events) for _ticket, events in items), workers)
    if count > 1 and items:
        base, draft = _run_parallel(base_engine, draft_engine, items, answers, now, start, progress)
    else:
        total = len(items)

        def first_half(done: int) -> object:
            assert progress is not None
            return progress(done // 2)

        def second_half(done: int) -> object:
            assert progress is not None
            return progress((total + done) // 2)

        base = _version(base_engine, items, answers, now, start, first_half if progress else None)
        draft = _version(draft_engine, items, answers, now, start, second_half if progress else None)
    return compare(
        {outcome.ticket: outcome for outcome in base[0]},
        {outcome.ticket: outcome for outcome in draft[0]},
        base_engine.protocol,
        draft_engine.protocol,
        now=now,
        period_from=period_from,
        sample_limit=sample_limit,
        objectives=(base[1], draft[1]),
        counts=(base[2], draft[2]),
    )


def _run_parallel(
    base_engine: SlaEngine,
    draft_engine: SlaEngine,
    items: list[tuple[str, list[Event]]],
    surveys: Mapping[str, list[Survey]],
    now: int,
    start: int,
    progress: Callable[[int], object] | None,
) -> tuple[tuple[list[Outcome], list[dict], Counts], tuple[list[Outcome], list[dict], Counts]]:
    context = multiprocessing.get_context("fork")
    for stream in (sys.stdout, sys.stderr):  # a forked child flushes what it inherited
        with contextlib.suppress(Exception):
            stream.flush()
    parent_end, child_end = context.Pipe()
    args = (draft_engine, items, surveys, now, start)
    process = context.Process(target=_version_worker, args=(child_end, args), daemon=True)
    try:
        process.start()
        child_end.close()
        base = _version(base_engine, items, surveys, now, start, progress)
        try:
            reply = marshal.loads(parent_end.recv_bytes())
        except EOFError:
            raise RuntimeError("a what-if worker ended without an answer") from None
        if reply[0] == "event":
            raise EventError(reply[1], reply[2])
        if reply[0] == "crash":
            raise RuntimeError(f"a what-if worker failed:\n{reply[1]}")
        _done, fields, objectives, tables = reply
        counts = Counts(*(Counter(table) for table in tables))
        return base, ([Outcome(*row) for row in fields], objectives, counts)
    finally:
        parent_end.close()
        if process.pid is not None:
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
    lines += ["", "Objectives, judged by the KPI engine over these tickets (in force -> draft):"]
    for row in report["objectives"]:
        lines.append(f"  {row['id']} ({row['kpi']}): {_judged(row, 'base')} -> {_judged(row, 'draft')}")
    if not report["objectives"]:
        lines.append("  none in either version")
    lines += ["", "Sample tickets that change outcome:"]
    lines += [f"  {row['ticket']}: {'; '.join(row['why'])}" for row in report["samples"]] or ["  none"]
    return "\n".join(lines) + "\n"


RATIO_KPIS = frozenset({"sla_compliance", "csat", "fcr", "reopen_rate"})
BOUNDS = {"min": "at least", "max": "at most"}


def shown_figure(kpi: str, key: str, value: float | None) -> str:
    """An objective's target or actual figure in words: a percentile as a duration, a ratio in
    percent, anything else (NPS, CES, backlog) as the number it is."""
    if value is None:
        return "-"
    if key.startswith("p"):
        minutes, seconds = divmod(int(value), 60)
        hours, minutes = divmod(minutes, 60)
        return (
            "".join(
                f"{amount}{unit}" for amount, unit in ((hours, "h"), (minutes, "m"), (seconds, "s")) if amount
            )
            or "0s"
        )
    if kpi in RATIO_KPIS:
        return _percent(value)
    return f"{value:g}"


def _judged(row: dict, side: str) -> str:
    """One version's side of an objective row: each target key, the actual figure, met or missed."""
    if not row[f"in_{side}"]:
        return "(not an objective here)"
    kpi = row[f"{side}_kpi"]
    target, actual = row[f"{side}_target"], row[f"{side}_actual"]
    parts = [
        ("" if key in BOUNDS else f"{key} ")
        + f"{shown_figure(kpi, key, actual[key])} (target {BOUNDS.get(key, 'at most')} "
        + f"{shown_figure(kpi, key, bound)})"
        for key, bound in target.items()
    ]
    return f"{', '.join(parts)} {_met(row[f'{side}_met'])}"


def _met(met: bool | None) -> str:
    return "nothing to count" if met is None else ("met" if met else "missed")


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
