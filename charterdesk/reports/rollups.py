"""The reports' daily rollups: each ticket's KPI facts and each day's sums, kept fresh by the worker.

The engine (``charterdesk/engine/kpi_rollups.py``) says what a ticket counts in any report
(its *facts*) and how facts add up per day; this module stores both and keeps them current:

- ``KpiTicketFacts``: a ticket's facts as JSON; ``KpiFactDay``: the days they fall on (or are
  bounded on), to find the tickets of a day; ``KpiDaySums``: each day's sums, for the whole
  desk, each group, channel, priority and agent, and each channel, priority and agent within
  each group (the teams' reports); ``KpiRollupState``: which build the page
  reads and up to when it is current (``built_at``).
- The worker's ``kpi-rollups`` job (every minute, ``refresh``) recomputes the facts of the
  tickets changed since the last run (``Ticket.updated_at``, and survey answers through the
  ``history_changed_since`` hook), and the sums of the days whose facts changed. When the
  protocol version in force is not the one the rollups were built under (a new version
  published, or the version edited; or the rollups are of an older shape, ``FORMAT``), it
  builds everything afresh under a new build name and switches the page over when done; until
  then the page computes from the raw histories.
- The page (``page_reports``) sums the days of the period and counts afresh the tickets
  changed since the last run, and, while a period is running, the tickets with anything on
  its current day, from their facts judged at the moment (``combine``'s ``plus``). A team's
  report reads its groups' sums and their cross slices (``combine``'s ``groups``).

A build's facts are computed up to a horizon (``HORIZON``) after the build started; the worker
builds afresh before it comes near.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from typing import Any

import orjson
from django.db import transaction
from django.db.models import Count, F, Max, Q, Sum

from charterdesk.engine.kpi_rollups import (
    CROSS,
    FORMAT,
    DayCutter,
    Decoded,
    Fact,
    Part,
    Sums,
    combine,
    rollup,
    stored_dimensions,
    ticket_facts,
)
from charterdesk.engine.kpis import KpiEngine, Period, Report, team_timezone
from charterdesk.library.versions import protocol_of, version_in_force
from charterdesk.tickets.lifecycle import hooks
from charterdesk.tickets.models import Ticket, TicketEvent

from .models import KpiDaySums, KpiFactDay, KpiRollupState, KpiTicketFacts

# A change is looked for this long before the last run began: a transaction that started before
# the run and committed after it is still seen (counting a ticket afresh twice costs nothing).
MARGIN = dt.timedelta(minutes=2)
# Facts are computed up to this long after a build starts (breaches due later are not in them).
HORIZON = dt.timedelta(days=400)
# A build this close to its horizon is made afresh.
RENEW_BEFORE = dt.timedelta(days=30)
BATCH = 2000


def build_prefix(version) -> str:
    """The part of a build's name that names the shape of its sums (``kpi_rollups.FORMAT``) and
    the protocol version (and its last change): rollups of another shape or version are not read,
    and the worker builds them afresh."""
    return f"f{FORMAT}:{version.pk}:{version.updated_at.isoformat() if version.updated_at else ''}"


def current_state(prefix: str | None) -> KpiRollupState | None:
    """The rollups' state, when they were built under the version named by ``prefix``."""
    if prefix is None:
        return None
    state = KpiRollupState.objects.order_by("pk").first()
    if state is None or not state.build.startswith(prefix + "#"):
        return None
    return state


def _seconds(moment: dt.datetime) -> int:
    return int(moment.timestamp())


def horizon_of(state: KpiRollupState) -> int:
    return _seconds(state.started_at + HORIZON)


_cutters: dict[str, DayCutter] = {}


def cutter_for(engine: KpiEngine) -> DayCutter:
    found = _cutters.get(engine.timezone)
    if found is None:
        found = _cutters[engine.timezone] = DayCutter(engine.timezone)
    return found


# --------------------------------------------------------------------------- facts


def encode_facts(facts: list[Fact]) -> str:
    return orjson.dumps([tuple(fact) for fact in facts]).decode()


def decode_facts(text: str) -> list[Fact]:
    return [Fact(*fact) for fact in orjson.loads(text)]


def facts_of(
    engine: KpiEngine, ids: Iterable[int], horizon: int, marks: dict[int, str] | None = None
) -> dict[int, list[Fact]]:
    """The facts of these tickets, from their stored histories (``marks``: see ``event_mark``)."""
    from .figures import histories_by_ticket

    histories = histories_by_ticket(list(ids), team_timezone(engine.protocol), marks)
    return {ticket_id: ticket_facts(engine, history, horizon) for ticket_id, history in histories.items()}


def fact_days(facts: list[Fact], cutter: DayCutter) -> set[dt.date]:
    days = set()
    for fact in facts:
        days.add(cutter.day(fact.at))
        if fact.lo is not None:
            days.add(cutter.day(fact.lo))
        if fact.hi is not None:
            days.add(cutter.day(fact.hi))
    return days


def changed_tickets(since: dt.datetime, build: str | None = None) -> set[int]:
    """Tickets changed at or after ``since``: an event, an edit, or a survey answer. With
    ``build``, leaves out those whose facts there were made from the history they have now (the
    worker has counted them already)."""
    found = set(Ticket.objects.filter(updated_at__gte=since).order_by().values_list("pk", flat=True))
    for ids in hooks.history_changed_since(since=since):
        found.update(ids or ())
    if build is not None and found:
        found = unseen(build, found)
    return found


def unseen(build: str, ids: set[int]) -> set[int]:
    """Those of these tickets whose history is not the one their stored facts were made from."""
    from .figures import event_mark, survey_answers

    stored = dict(
        KpiTicketFacts.objects.filter(build=build, ticket_id__in=ids).values_list("ticket_id", "events")
    )
    answers = survey_answers(sorted(ids))
    now = {
        ticket_id: event_mark(count, last, answers.get(ticket_id, []))
        for ticket_id, count, last in TicketEvent.objects.filter(sla_input=True, ticket_id__in=ids)
        .values("ticket_id")
        .annotate(count=Count("id"), last=Max("id"))
        .values_list("ticket_id", "count", "last")
    }
    return {ticket_id for ticket_id in ids if stored.get(ticket_id) != now.get(ticket_id, "")}


def stored_facts(build: str, ids: Iterable[int]) -> dict[int, list[Fact]]:
    out: dict[int, list[Fact]] = {}
    ids = list(ids)
    for start in range(0, len(ids), BATCH):
        rows = KpiTicketFacts.objects.filter(build=build, ticket_id__in=ids[start : start + BATCH])
        for ticket_id, text in rows.values_list("ticket_id", "facts"):
            out[ticket_id] = decode_facts(text)
    return out


def _instants(fact: Fact) -> tuple[int, ...]:
    return tuple(t for t in (fact.at, fact.lo, fact.hi) if t is not None)


def _pending(facts: list[Fact], cutter: DayCutter, computed: int) -> dict[dt.date, list[Fact]]:
    """The facts with an instant at or after ``computed``, by the day of each such instant: a
    report judged during that day, before the instant, counts them differently from the day's sums."""
    out: dict[dt.date, list[Fact]] = defaultdict(list)
    for fact in facts:
        for day in {cutter.day(t) for t in _instants(fact) if t >= computed}:
            out[day].append(fact)
    return out


def _write_facts(
    build: str, facts: dict[int, list[Fact]], cutter: DayCutter, computed: int, marks: dict[int, str]
) -> None:
    KpiTicketFacts.objects.bulk_create(
        [
            KpiTicketFacts(build=build, ticket_id=tid, facts=encode_facts(f), events=marks.get(tid, ""))
            for tid, f in facts.items()
        ],
        batch_size=1000,
    )
    rows = []
    for tid, found in facts.items():
        pending = _pending(found, cutter, computed)
        for day in fact_days(found, cutter):
            later = pending.get(day)
            rows.append(
                KpiFactDay(build=build, day=day, ticket_id=tid, pending=encode_facts(later) if later else "")
            )
    KpiFactDay.objects.bulk_create(rows, batch_size=2000)


def _day_rows(build: str, sums: dict) -> list[KpiDaySums]:
    return [
        KpiDaySums(
            build=build,
            day=day,
            prev_day=prev,
            lo_day=lo,
            hi_day=hi,
            dimension=dimension,
            slice_key=slice_key or "",
            backlog=found.counts.get("backlog", 0),
            sums=orjson.dumps(found.encode()).decode(),
        )
        for (day, prev, lo, hi), slices in sums.items()
        for (dimension, slice_key), found in slices.items()
        if not found.empty()
    ]


def _merge(into: dict, more: dict) -> None:
    for key, slices in more.items():
        target = into.setdefault(key, {})
        for slice_key, found in slices.items():
            have = target.get(slice_key)
            if have is None:
                target[slice_key] = found
                continue
            for name, count in found.counts.items():
                have.counts[name] = have.counts.get(name, 0) + count
            for kpi, values in found.values.items():
                have.values.setdefault(kpi, []).extend(values)


# --------------------------------------------------------------------------- the worker's job


def refresh(now: dt.datetime) -> int:
    """Bring the rollups up to date with the version in force; how many tickets were counted
    afresh (every ticket when the rollups were built anew)."""
    version = version_in_force()
    if version is None:
        return 0
    from .figures import kpi_engine

    engine = kpi_engine(version, protocol_of(version))
    prefix = build_prefix(version)
    state = current_state(prefix)
    if state is None or now + RENEW_BEFORE >= state.started_at + HORIZON:
        return rebuild(engine, prefix, now)
    changed = changed_tickets(state.built_at - MARGIN)
    counted = recount(engine, state, changed, now) if changed else 0
    KpiRollupState.objects.filter(pk=state.pk, build=state.build).update(built_at=now)
    return counted


def rebuild(engine: KpiEngine, prefix: str, now: dt.datetime) -> int:
    """Every ticket's facts and every day's sums, under a new build; the page switches to it at
    the end, and the rows of other builds are deleted."""
    build = f"{prefix}#{uuid.uuid4().hex[:12]}"
    horizon = _seconds(now + HORIZON)
    cutter = cutter_for(engine)
    ids = list(Ticket.objects.order_by("pk").values_list("pk", flat=True))
    sums: dict = {}
    for start in range(0, len(ids), BATCH):
        marks: dict[int, str] = {}
        facts = facts_of(engine, ids[start : start + BATCH], horizon, marks)
        with transaction.atomic():
            _write_facts(build, facts, cutter, _seconds(now), marks)
        _merge(sums, rollup((fact for found in facts.values() for fact in found), cutter))
    rows = _day_rows(build, sums)
    with transaction.atomic():
        KpiDaySums.objects.bulk_create(rows, batch_size=1000)
        state = KpiRollupState.objects.order_by("pk").first()
        if state is None:
            KpiRollupState.objects.create(build=build, built_at=now, started_at=now)
        else:
            state.build, state.built_at, state.started_at = build, now, now
            state.save()
    for model in (KpiDaySums, KpiTicketFacts, KpiFactDay):
        model.objects.exclude(build=build).delete()
    return len(ids)


def recount(engine: KpiEngine, state: KpiRollupState, ids: Iterable[int], now: dt.datetime) -> int:
    """Count these tickets afresh: their facts, and the day sums their old and new facts are in
    (the old taken out, the new put in), in one transaction; how many tickets' facts changed."""
    build = state.build
    cutter = cutter_for(engine)
    ids = sorted(set(ids))
    marks: dict[int, str] = {}
    new = facts_of(engine, ids, horizon_of(state), marks)
    with transaction.atomic():
        # Locked, so that two runs never take the same old facts out twice.
        rows = KpiTicketFacts.objects.select_for_update().filter(build=build, ticket_id__in=ids)
        old, seen = {}, {}
        for ticket_id, text, events in rows.values_list("ticket_id", "facts", "events"):
            old[ticket_id], seen[ticket_id] = decode_facts(text), events
        removed: list[Fact] = []
        added: list[Fact] = []
        changed = []
        for ticket_id in ids:
            before, after = Counter(old.get(ticket_id, [])), Counter(new.get(ticket_id, []))
            if before == after and (ticket_id in old) == (ticket_id in new):
                if ticket_id in old and seen[ticket_id] != marks.get(ticket_id, ""):
                    # The same facts from newer events: note them, so pages stop counting it afresh.
                    KpiTicketFacts.objects.filter(build=build, ticket_id=ticket_id).update(
                        events=marks.get(ticket_id, "")
                    )
                continue
            changed.append(ticket_id)
            removed.extend((before - after).elements())
            added.extend((after - before).elements())
        if not changed:
            return 0
        KpiTicketFacts.objects.filter(build=build, ticket_id__in=changed).delete()
        KpiFactDay.objects.filter(build=build, ticket_id__in=changed).delete()
        _write_facts(build, {t: new[t] for t in changed if t in new}, cutter, _seconds(now), marks)
        _change_sums(build, rollup(removed, cutter), rollup(added, cutter))
        KpiRollupState.objects.filter(pk=state.pk).update(generation=F("generation") + 1)
    return len(changed)


def _change_sums(build: str, removed: dict, added: dict) -> None:
    """Take ``removed`` out of the stored day sums and put ``added`` in: each row touched is
    replaced by a new one (a new id: pages never read a row that changes)."""
    keys = {
        (key, slice_key) for sums in (removed, added) for key, slices in sums.items() for slice_key in slices
    }
    if not keys:
        return
    days = {key[0] for key, _slice in keys}
    stored: dict[tuple, tuple[int, Sums]] = {}
    rows = KpiDaySums.objects.filter(build=build, day__in=days).values_list(
        "pk", "day", "prev_day", "lo_day", "hi_day", "dimension", "slice_key", "sums"
    )
    for pk, day, prev, lo, hi, dimension, slice_key, text in rows:
        key = ((day, prev, lo, hi), (dimension, slice_key or None))
        if key in keys:
            stored[key] = (pk, Sums.of(Decoded.of(orjson.loads(text))))
    changed: dict = {}
    for key, slice_key in keys:
        pk, sums = stored.get((key, slice_key), (None, Sums()))
        if slice_key in added.get(key, {}):
            sums.merge(added[key][slice_key])
        if slice_key in removed.get(key, {}):
            sums.merge(removed[key][slice_key], -1)
        changed.setdefault(key, {})[slice_key] = sums
    KpiDaySums.objects.filter(pk__in=[pk for pk, _sums in stored.values()]).delete()
    kept = {
        key: {s: sums for s, sums in slices.items() if not sums.empty()} for key, slices in changed.items()
    }
    KpiDaySums.objects.bulk_create(_day_rows(build, kept), batch_size=1000)


# --------------------------------------------------------------------------- the page

# Day sums read back, by (build, row id). A row never changes: a day summed again gets new rows
# (new ids), and a new build a new name, so a row once read serves every later page in this
# process.
_read: dict[tuple[str, int], Decoded] = {}
_pending_read: dict[tuple[str, int], list[Fact]] = {}
_READ_AT_MOST = 100_000


# Lists of rows read for a build at a generation: any change of the sums or facts counts a new
# generation (recount), so what was read at one still holds.
_lists: dict[tuple, Any] = {}


def _cached(key: tuple, make: Callable[[], Any]) -> Any:
    found = _lists.get(key)
    if found is None:
        if len(_lists) > 200:
            _lists.clear()
        found = _lists[key] = make()
    return found


def _pending_facts(build: str, ids: list[int]) -> dict[int, list[Fact]]:
    """``KpiFactDay`` rows' pending facts by row id (read once per process, like the day sums)."""
    out = {}
    missing = []
    for pk in ids:
        found = _pending_read.get((build, pk))
        if found is None:
            missing.append(pk)
        else:
            out[pk] = found
    if len(_pending_read) + len(missing) > _READ_AT_MOST:
        _pending_read.clear()
    for start in range(0, len(missing), 500):
        rows = KpiFactDay.objects.filter(pk__in=missing[start : start + 500]).values_list("pk", "pending")
        for pk, text in rows:
            out[pk] = _pending_read[(build, pk)] = decode_facts(text)
    return out


def _day_sums(build: str, ids: list[int]) -> dict[int, Decoded]:
    out = {}
    missing = []
    for pk in ids:
        found = _read.get((build, pk))
        if found is None:
            missing.append(pk)
        else:
            out[pk] = found
    if len(_read) + len(missing) > _READ_AT_MOST:
        _read.clear()
    for start in range(0, len(missing), 500):
        rows = KpiDaySums.objects.filter(pk__in=missing[start : start + 500]).values_list("pk", "sums")
        for pk, text in rows:
            out[pk] = _read[(build, pk)] = Decoded.of(orjson.loads(text))
    return out


def page_reports(
    engine: KpiEngine,
    prefix: str | None,
    period: Period,
    spans: list[Period],
    *,
    by: tuple[str, ...],
    now: int | None,
    groups: tuple[str, ...] | None = None,
) -> tuple[Report, list[Report]] | None:
    """The period's report and one report per span (the trend's points) from the rollups, or
    None when there are none for this protocol version yet (the page then reads the histories).
    ``groups``: a team's report, what the engine attributes to these groups."""
    for _attempt in range(3):
        state = current_state(prefix)
        if state is None:
            return None
        found = _reports(engine, state, period, spans, by=by, now=now, groups=groups)
        # The worker changes facts and sums in one transaction and counts it (generation): what
        # was read across such a change is read again.
        if KpiRollupState.objects.filter(
            pk=state.pk, build=state.build, generation=state.generation
        ).exists():
            return found
    return None


def _reports(
    engine: KpiEngine,
    state: KpiRollupState,
    period: Period,
    spans: list[Period],
    *,
    by: tuple[str, ...],
    now: int | None,
    groups: tuple[str, ...] | None = None,
) -> tuple[Report, list[Report]]:
    build = state.build
    cutter = cutter_for(engine)
    end = period.end if now is None else min(now, period.end)
    last_day = cutter.day(end - 1)  # the last day begun
    dirty = changed_tickets(state.built_at - MARGIN, build)
    # The tickets changed since the worker's last run: every stored fact out, their facts now in.
    minus = [fact for found in stored_facts(build, dirty).values() for fact in found]
    plus = [fact for found in facts_of(engine, dirty, horizon_of(state)).values() for fact in found]
    later: list[Fact] = []
    if end < period.end:
        # A running period is judged at `now`, the stored sums at the end of its day: the facts
        # with an instant between the two are counted from themselves, as they stand at `now`.
        cut = cutter.start(last_day + dt.timedelta(days=1))
        if end >= _seconds(state.built_at):
            rows = _cached(
                (build, state.generation, "pending", last_day),
                lambda: list(
                    KpiFactDay.objects.filter(build=build, day=last_day)
                    .exclude(pending="")
                    .values_list("pk", "ticket_id")
                ),
            )
            ids = [pk for pk, ticket_id in rows if ticket_id not in dirty]
            for found in _pending_facts(build, ids).values():
                later.extend(f for f in found if any(end <= t < cut for t in _instants(f)))
        else:
            # Judged before the last run (a report asked about an earlier moment): any fact of
            # the day may still have been to come then.
            ids = set(
                KpiFactDay.objects.filter(build=build, day=last_day).values_list("ticket_id", flat=True)
            )
            later = [fact for found in stored_facts(build, ids - dirty).values() for fact in found]
    dimensions = stored_dimensions(by, groups)
    team = None if groups is None else tuple(sorted(groups))
    rows = _cached(
        (build, state.generation, "days", period.first, last_day, team, *dimensions),
        lambda: list(
            KpiDaySums.objects.filter(build=build, day__gte=period.first, day__lte=last_day)
            .filter(_slices_read(dimensions, team))
            .values_list("pk", "day", "prev_day", "lo_day", "hi_day", "dimension", "slice_key")
        ),
    )
    sums = _day_sums(build, [row[0] for row in rows])
    parts = [
        Part((day, prev, lo, hi), dimension, slice_key or None, sums[pk])
        for pk, day, prev, lo, hi, dimension, slice_key in rows
    ]
    opening = _cached(
        (build, state.generation, "opening", period.first, team, *dimensions),
        lambda: {
            (dimension, slice_key or None): total
            for dimension, slice_key, total in KpiDaySums.objects.filter(build=build, day__lt=period.first)
            .filter(_slices_read(dimensions, team))
            .values_list("dimension", "slice_key")
            .annotate(total=Sum("backlog"))
            .values_list("dimension", "slice_key", "total")
            if total
        },
    )
    report = combine(
        engine,
        period,
        parts,
        opening=opening,
        minus=minus + later,
        plus=plus + later,
        by=by,
        now=now,
        groups=groups,
    )
    trend_by = tuple(d for d in by if d == "agent") if by == ("agent",) else ()
    wanted = set(stored_dimensions(trend_by, groups))
    trend_parts = [part for part in parts if part.dimension in wanted]
    trend_opening = {key: value for key, value in opening.items() if key[0] in wanted}
    points = []
    for span in spans:
        if now is not None and span.start >= now:
            break
        # A span over before `now` judges the day's later facts at its end either way.
        running = now is not None and now < span.end
        points.append(
            combine(
                engine,
                span,
                trend_parts,
                opening=trend_opening,
                minus=minus + later if running else minus,
                plus=plus + later if running else plus,
                by=trend_by,
                now=now,
                groups=groups,
            )
        )
    return report, points


def _slices_read(dimensions: list[str], team: tuple[str, ...] | None) -> Q:
    """The stored sums a report reads: those of ``dimensions``; for a team's report, only its
    groups' slices and cross slices (``combine`` leaves out any other, this spares reading them)."""
    if team is None:
        return Q(dimension__in=dimensions)
    found = Q(dimension="group", slice_key__in=team) if "group" in dimensions else Q(pk__in=[])
    crosses = [d for d in dimensions if d in CROSS.values()]
    for group in team if crosses else ():
        found |= Q(dimension__in=crosses, slice_key__startswith=f"{group}/")
    return found
