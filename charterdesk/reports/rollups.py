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
  builds everything afresh under a new build name, a slice of tickets per run (``build_step``;
  ``KpiRollupBuild`` records how far it got), and switches the page over when every ticket is
  built and the changes since are counted; until then the page computes from the raw
  histories. Each slice queues the next as a task (``tasks.continue_rollup_build``), so a
  build goes on between the job's minutes.
- The page (``page_reports``) sums the days of the period and counts afresh the tickets
  changed since the last run, and, while a period is running, the tickets with anything on
  its current day, from their facts judged at the moment (``combine``'s ``plus``). A team's
  report reads its groups' sums and their cross slices (``combine``'s ``groups``).

A build's facts are computed up to a horizon (``HORIZON``) after the build started; the worker
builds afresh before it comes near.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import msgspec
from django.db import IntegrityError, connection, transaction
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

from .models import KpiDaySums, KpiFactDay, KpiRollupBuild, KpiRollupState, KpiTicketFacts

# A change is looked for this long before the last run began: a transaction that started before
# the run and committed after it is still seen (counting a ticket afresh twice costs nothing).
MARGIN = dt.timedelta(minutes=2)
# Facts are computed up to this long after a build starts (breaches due later are not in them).
HORIZON = dt.timedelta(days=400)
# A build this close to its horizon is made afresh.
RENEW_BEFORE = dt.timedelta(days=30)
# Tickets whose histories are read at once.
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
    return msgspec.json.encode([tuple(fact) for fact in facts]).decode()


def decode_facts(text: str) -> list[Fact]:
    return [Fact(*fact) for fact in msgspec.json.decode(text)]


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
            sums=msgspec.json.encode(found.encode()).decode(),
        )
        for (day, prev, lo, hi), slices in sums.items()
        for (dimension, slice_key), found in slices.items()
        if not found.empty()
    ]


# --------------------------------------------------------------------------- the worker's job

# Tickets one run of the job builds at most (a slice, in id order): seconds of work, so the
# worker's other jobs and tasks run between slices.
SLICE = 2000
# A run building a slice holds the build this long at most: a run that stopped midway (a worker
# killed) leaves the slice to the next run after that. Like the worker's own RUNNING_HOLD.
CLAIM_HOLD = dt.timedelta(minutes=10)
# A follow-up task queued this long ago and not run yet is taken as lost: another is queued.
FOLLOW_UP_LOST = dt.timedelta(minutes=10)

log = logging.getLogger("charterdesk.worker")


def refresh(now: dt.datetime, *, size: int = 0) -> int:
    """Bring the rollups up to date with the version in force; how many tickets were counted
    afresh. The rollups the page reads get the tickets changed since the last run; a build under
    way (a new version in force, or the facts' horizon near) gets its next slice of ``size``
    tickets (``SLICE`` when 0), and the page switches to it once it is complete."""
    version = version_in_force()
    if version is None:
        return 0
    from .figures import kpi_engine

    engine = kpi_engine(version, protocol_of(version))
    prefix = build_prefix(version)
    abandon_others(prefix)
    counted = 0
    state = current_state(prefix)
    if state is not None:
        changed = changed_tickets(state.built_at - MARGIN)
        counted += recount(engine, state, changed, now) if changed else 0
        KpiRollupState.objects.filter(pk=state.pk, build=state.build).update(built_at=now)
    renew = state is None or now + RENEW_BEFORE >= state.started_at + HORIZON
    if renew or KpiRollupBuild.objects.filter(prefix=prefix).exists():
        step = build_step(engine, prefix, now, version=version.version, size=size or SLICE)
        counted += step.counted
        if step.more:
            ask_follow_up(now)
    return counted


def continue_build(now: dt.datetime, *, size: int = 0) -> int:
    """The build's next slice, as a task queued by the run before (``ask_follow_up``), so a build
    goes on between the job's minutes; nothing when no build for the version in force is under way."""
    KpiRollupBuild.objects.update(follow_up_at=None)  # this one runs: the next may be queued
    version = version_in_force()
    if version is None:
        return 0
    prefix = build_prefix(version)
    abandon_others(prefix)
    if not KpiRollupBuild.objects.filter(prefix=prefix).exists():
        return 0
    from .figures import kpi_engine

    engine = kpi_engine(version, protocol_of(version))
    step = build_step(engine, prefix, now, version=version.version, size=size or SLICE)
    if step.more:
        ask_follow_up(now)
    return step.counted


def ask_follow_up(now: dt.datetime) -> bool:
    """Queue the build's next slice as a task (``tasks.continue_rollup_build``) unless one is
    queued already: the slices follow each other as fast as the worker's queue allows, other
    tasks first (a lower priority), rather than one a minute."""
    queued = (
        KpiRollupBuild.objects.filter(Q(follow_up_at__isnull=True) | Q(follow_up_at__lt=now - FOLLOW_UP_LOST))
        .order_by()
        .update(follow_up_at=now)
    )
    if not queued:
        return False
    from .tasks import continue_rollup_build

    transaction.on_commit(continue_rollup_build.enqueue)
    return True


def new_build_name(prefix: str) -> str:
    return f"{prefix}#{uuid.uuid4().hex[:12]}"


@dataclass
class Step:
    """What one run did to the build under way."""

    build: str = ""
    counted: int = 0  # tickets whose facts were computed: the slice's, and changed ones afresh
    sliced: int = 0  # the slice's tickets
    switched: bool = False  # the build is complete: the page reads it now
    busy: bool = False  # another run holds the build (or took it over): nothing done

    @property
    def more(self) -> bool:
        """Slices are left to build."""
        return bool(self.build) and not self.switched and not self.busy


def build_step(
    engine: KpiEngine,
    prefix: str,
    now: dt.datetime,
    *,
    version: str = "",
    size: int = SLICE,
    anew: bool = False,
) -> Step:
    """One run's share of the build for the version named by ``prefix`` (begun if there is none):
    the tickets already built whose history changed since the last run, counted afresh, then the
    next ``size`` tickets by id, their facts and the day sums they add to, in one transaction that
    also records how far the build got. After the last ticket the build becomes the one the page
    reads, in the same transaction. A run that finds another building (the claim on the build's
    row) does nothing: two runs never build the same slice. ``anew``: begin a build even when the
    page has fresh rollups of this version."""
    if size < 1:
        raise ValueError(f"size: a slice is at least one ticket, not {size}")
    row = _build_row(prefix, now, version, anew)
    if row is None:
        return Step()
    token = uuid.uuid4().hex
    claimed = (
        KpiRollupBuild.objects.filter(pk=row.pk)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lte=now))
        .update(claimed_by=token, claimed_until=now + CLAIM_HOLD)
    )
    if not claimed:
        return Step(row.build, busy=True)
    try:
        step = _step(engine, row.pk, token, now, size)
    finally:
        KpiRollupBuild.objects.filter(pk=row.pk, claimed_by=token).update(claimed_by="", claimed_until=None)
    if step.switched:
        clean_up()
    return step


def _build_row(prefix: str, now: dt.datetime, version: str, anew: bool) -> KpiRollupBuild | None:
    """The build under way for ``prefix``, begun if there is none and one is wanted."""
    row = KpiRollupBuild.objects.filter(prefix=prefix).first()
    if row is not None:
        return row
    # Another run may have just switched the page over to the build this one was about to go on
    # with: the switch sets the state and deletes the build's row at once, so a run that finds
    # the row gone finds the new state here, and does not begin the same build again.
    state = None if anew else current_state(prefix)
    if state is not None and now + RENEW_BEFORE < state.started_at + HORIZON:
        return None
    try:
        with transaction.atomic():
            row = KpiRollupBuild.objects.create(
                prefix=prefix,
                build=new_build_name(prefix),
                version=version,
                started_at=now,
                counted_at=now,
                total=Ticket.objects.count(),
            )
    except IntegrityError:  # another run began it at the same moment
        return KpiRollupBuild.objects.get(prefix=prefix)
    log.info(
        "kpi-rollups: building the rollups for version %s afresh (%s tickets)", version, f"{row.total:,}"
    )
    return row


def _step(engine: KpiEngine, pk: int, token: str, now: dt.datetime, size: int) -> Step:
    row = KpiRollupBuild.objects.filter(pk=pk, claimed_by=token).first()
    if row is None:  # abandoned meanwhile
        return Step(busy=True)
    build, horizon, cutter = row.build, _seconds(row.started_at + HORIZON), cutter_for(engine)
    step = Step(build)
    # The tickets built already whose history changed since the last run: counted afresh, as the
    # job does for the rollups the page reads. Those not built yet are built from what they are now.
    if row.after_ticket:
        changed = {t for t in changed_tickets(row.counted_at - MARGIN) if t <= row.after_ticket}
        changed = unseen(build, changed) if changed else changed
        if changed:

            def still_ours() -> bool:
                return KpiRollupBuild.objects.select_for_update().filter(pk=pk, claimed_by=token).exists()

            _recount(engine, build, horizon, changed, now, still_ours=still_ours)
            step.counted += len(changed)
    KpiRollupBuild.objects.filter(pk=pk, claimed_by=token).update(counted_at=now)
    after = row.after_ticket
    while True:
        # At most BATCH tickets' histories in memory at once; each batch commits with the point
        # it reached, so a slice bigger than that (a build in one go) never holds them all.
        take = min(BATCH, size - step.sliced)
        ids = list(
            Ticket.objects.filter(pk__gt=after).order_by("pk").values_list("pk", flat=True)[: take + 1]
        )
        last = len(ids) <= take
        ids = ids[:take]
        marks: dict[int, str] = {}
        facts = facts_of(engine, ids, horizon, marks) if ids else {}
        with transaction.atomic():
            # Locked, and still ours where we left it: a run that outlived its claim writes nothing.
            held = (
                KpiRollupBuild.objects.select_for_update()
                .filter(pk=pk, claimed_by=token, after_ticket=after)
                .first()
            )
            if held is None:
                step.busy = True
                return step
            _write_facts(build, facts, cutter, _seconds(now), marks)
            _change_sums(build, {}, rollup((fact for found in facts.values() for fact in found), cutter))
            if ids:
                held.after_ticket = ids[-1]
                held.done += len(ids)
            ends = last or step.sliced + len(ids) >= size
            if ends:
                held.slices += 1
            left = 0 if last else Ticket.objects.filter(pk__gt=held.after_ticket).count()
            held.total = held.done + left
            if last:
                _switch(held, now)
            else:
                held.save(update_fields=["after_ticket", "done", "total", "slices"])
        after = held.after_ticket
        step.sliced += len(ids)
        step.counted += len(ids)
        if ends:
            break
    step.switched = last
    if last:
        log.info(
            "kpi-rollups: the rollups for version %s are built (%s tickets in %d slices since %s); "
            "the reports page reads them",
            held.version,
            f"{held.done:,}",
            held.slices,
            f"{held.started_at:%Y-%m-%d %H:%M}",
        )
    else:
        log.info(
            "kpi-rollups: building the rollups for version %s: %s of %s tickets",
            held.version,
            f"{held.done:,}",
            f"{held.total:,}",
        )
    return step


def _switch(held: KpiRollupBuild, now: dt.datetime) -> None:
    """The page reads the build ``held`` from now on (inside the last slice's transaction)."""
    state = KpiRollupState.objects.select_for_update().order_by("pk").first()
    if state is None:
        KpiRollupState.objects.create(build=held.build, built_at=now, started_at=held.started_at)
    else:
        state.build, state.built_at, state.started_at = held.build, now, held.started_at
        state.generation += 1
        state.save()
    held.delete()


def abandon_others(prefix: str) -> int:
    """Give up the builds for versions other than ``prefix``'s (a version published or edited
    during a build): their rows go. How many were given up."""
    stale = list(KpiRollupBuild.objects.exclude(prefix=prefix).values_list("pk", "version"))
    if not stale:
        return 0
    # A run writing a slice of one holds its row: the delete waits for it, and the slice's rows
    # then go with the rest; a run that comes after finds its build gone and writes nothing.
    KpiRollupBuild.objects.filter(pk__in=[pk for pk, _version in stale]).delete()
    for _pk, version in stale:
        log.info(
            "kpi-rollups: gave up building the rollups for version %s: it is no longer in force", version
        )
    clean_up()
    return len(stale)


def clean_up() -> None:
    """Delete the rows of every build that the page does not read and no run is building: the one
    the page read before a switch, abandoned ones."""
    # The names found first, the builds in use after: a build begun in between has no rows yet
    # when the names are read (its row is written before any of its rows), so none of it goes.
    names: set[str] = set()
    for model in (KpiDaySums, KpiTicketFacts, KpiFactDay):
        names.update(model.objects.order_by().values_list("build", flat=True).distinct())
    used = set(KpiRollupState.objects.values_list("build", flat=True))
    used.update(KpiRollupBuild.objects.values_list("build", flat=True))
    stale = sorted(names - used)
    if stale:
        for model in (KpiDaySums, KpiTicketFacts, KpiFactDay):
            if connection.vendor != "sqlite":
                # PostgreSQL's other writers do not wait for it (it locks only the rows it deletes).
                model.objects.filter(build__in=stale).delete()
                continue
            # A few thousand rows per statement: on SQLite the desk's other writers (pages, mail)
            # get the write lock in between, rather than wait out the deletion of a whole build.
            while ids := list(model.objects.filter(build__in=stale).values_list("pk", flat=True)[:5000]):
                model.objects.filter(pk__in=ids).delete()


def rebuild(engine: KpiEngine, prefix: str, now: dt.datetime, *, size: int = SLICE) -> int:
    """The whole build for ``prefix`` in one call, slice after slice, and the page switched to it:
    what the job does over several runs (for tests and the benchmark). How many tickets were built."""
    built = 0
    while True:
        step = build_step(engine, prefix, now, size=size, anew=True)
        if step.busy:
            raise RuntimeError(f"another run is building {step.build}")
        built += step.sliced
        if step.switched:
            return built


@dataclass(frozen=True)
class Rebuilding:
    """The page's words while it reads the histories for want of rollups of the version in force."""

    version: str
    done: int
    total: int
    begun: bool

    @property
    def words(self) -> str:
        if not self.begun:
            return (
                "Figures are computed from the ticket histories: the worker has not begun building "
                f"the rollups for version {self.version} yet."
            )
        return (
            "Figures are computed from the ticket histories while the rollups are rebuilt for "
            f"version {self.version}: {self.done:,} of {self.total:,} tickets."
        )


def rebuilding(prefix: str | None, version: str) -> Rebuilding | None:
    """How far the build of the rollups for the version named by ``prefix`` has got, when the page
    cannot read rollups of that version yet; None when it can."""
    if prefix is None or current_state(prefix) is not None:
        return None
    row = KpiRollupBuild.objects.filter(prefix=prefix).first()
    if row is None:
        return Rebuilding(version, 0, 0, begun=False)
    return Rebuilding(row.version or version, row.done, max(row.total, row.done), begun=True)


def recount(engine: KpiEngine, state: KpiRollupState, ids: Iterable[int], now: dt.datetime) -> int:
    """Count these tickets afresh in the rollups the page reads (see ``_recount``), and count a
    generation when anything changed; how many tickets' facts changed."""

    def next_generation() -> None:
        KpiRollupState.objects.filter(pk=state.pk).update(generation=F("generation") + 1)

    return _recount(engine, state.build, horizon_of(state), ids, now, next_generation)


def _recount(
    engine: KpiEngine,
    build: str,
    horizon: int,
    ids: Iterable[int],
    now: dt.datetime,
    changed_sums: Callable[[], None] | None = None,
    *,
    still_ours: Callable[[], bool] | None = None,
) -> int:
    """Count these tickets afresh: their facts, and the day sums their old and new facts are in
    (the old taken out, the new put in), in one transaction (``changed_sums`` called in it when
    anything changed; nothing done when ``still_ours`` says the build is no longer this run's);
    how many tickets' facts changed."""
    cutter = cutter_for(engine)
    ids = sorted(set(ids))
    marks: dict[int, str] = {}
    new = facts_of(engine, ids, horizon, marks)
    with transaction.atomic():
        if still_ours is not None and not still_ours():
            return 0
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
        if changed_sums is not None:
            changed_sums()
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
            stored[key] = (pk, Sums.of(Decoded.of(msgspec.json.decode(text))))
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
            out[pk] = _read[(build, pk)] = Decoded.of(msgspec.json.decode(text))
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
