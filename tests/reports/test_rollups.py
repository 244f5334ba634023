"""The reports page from daily rollups: the same figures as the engine over the raw histories,
fresh after every change, rebuilt under a new protocol version."""

from __future__ import annotations

import datetime as dt

import pytest

from charterdesk.library.versions import protocol_of, version_in_force
from charterdesk.reports import figures, rollups
from charterdesk.reports.access import ALL, OWN, Scope
from charterdesk.reports.models import KpiDaySums, KpiRollupState, KpiTicketFacts

from .conftest import at

pytestmark = pytest.mark.django_db


def engine():
    version = version_in_force()
    return figures.kpi_engine(version, protocol_of(version))


def both(scope: Scope, first: str, last: str, now: dt.datetime, trend: str | None = None):
    """The page's report from the rollups, and the same report from the raw histories."""
    kpis = engine()
    period = kpis.period(dt.date.fromisoformat(first), dt.date.fromisoformat(last))
    seconds = int(now.timestamp())
    fast = figures.build(kpis, scope, period, now=seconds, trend=trend)
    raw = figures.build(
        kpis, scope, period, now=seconds, trend=trend, histories=figures.load_histories(scope, period)
    )
    return fast, raw


def same(fast, raw) -> None:
    assert fast.figures == raw.figures
    assert fast.objectives == raw.objectives
    assert fast.breakdown == raw.breakdown
    assert fast.trend == raw.trend


PERIODS = [
    ("2026-03-02", "2026-03-08", None),
    ("2026-03-03", "2026-03-05", "daily"),
    ("2026-02-01", "2026-03-31", None),
    ("2026-03-04", "2026-03-04", None),
]


@pytest.mark.parametrize(("first", "last", "trend"), PERIODS)
def test_the_page_from_rollups_equals_the_engine_over_the_histories(week, demo, first, last, trend):
    """Every KPI, objective, breakdown and trend point read from the rollups is the engine's own."""
    assert rollups.refresh(at(9, 12)) == 4  # the first run builds them all
    assert KpiRollupState.objects.count() == 1
    for scope in (Scope(ALL), Scope(OWN, agent=str(demo["agent"].pk))):
        for now in (at(9, 13), at(5, 20), at(6, 4, 30)):
            if dt.date.fromisoformat(first) > (now - dt.timedelta(hours=5)).date():
                continue
            fast, raw = both(scope, first, last, now, trend)
            same(fast, raw)


def test_a_change_after_the_worker_ran_shows_at_once(week, demo, answers):
    """A reply, a solve and a rating made after the last rollup run are on the page straight away,
    and still after the worker's next run."""
    from charterdesk.tickets.actions import do_reply, do_set_status

    rollups.refresh(at(6, 18))
    before, _ = both(Scope(ALL), "2026-03-02", "2026-03-08", at(6, 19))
    b = week["B"]
    do_reply(
        b,
        author=demo["agent"],
        body="Hello Casey,\n\nDone.\n\nRegards,\nAcme",
        at=at(6, 20),
        send_email=False,
    )
    do_set_status(b, "solved", actor=demo["agent"], at=at(6, 21))
    answers.add(b, at(6, 22), "csat", 4)
    fast, raw = both(Scope(ALL), "2026-03-02", "2026-03-08", at(6, 23))
    same(fast, raw)
    assert fast.figures["csat"]["answered"] == before.figures["csat"]["answered"] + 1
    assert fast.figures["fcr"]["solved"] == before.figures["fcr"]["solved"] + 1
    assert rollups.refresh(at(6, 23, 30)) >= 1  # the worker counts B afresh
    build = KpiRollupState.objects.get().build
    assert rollups.changed_tickets(at(6, 21), build) == set()  # its reply, solve and rating counted
    assert b.pk in rollups.changed_tickets(at(6, 21))
    fast, raw = both(Scope(ALL), "2026-03-02", "2026-03-08", at(7, 12))
    same(fast, raw)
    fast, raw = both(Scope(ALL), "2026-03-02", "2026-03-06", at(7, 12))
    same(fast, raw)


def test_reopening_a_ticket_moves_its_counts_in_the_stored_days(week, demo):
    """A ticket reopened days after its solve leaves earlier weeks' reports as they were and
    changes the later ones, exactly as the engine judges them, once the worker has run; from then
    on the page no longer reads that ticket's history."""
    from charterdesk.tickets.actions import do_set_status

    rollups.refresh(at(6, 18))
    do_set_status(week["A"], "open", actor=demo["agent"], at=at(10, 15))
    state = KpiRollupState.objects.get()
    assert rollups.changed_tickets(at(10, 15), state.build) == {week["A"].pk}  # counted afresh
    rollups.refresh(at(10, 16))
    # The worker has counted it: the page reads the day sums alone again.
    assert rollups.changed_tickets(at(10, 15), state.build) == set()
    assert rollups.changed_tickets(at(10, 15)) == {week["A"].pk}
    for first, last in (
        ("2026-03-02", "2026-03-03"),
        ("2026-03-02", "2026-03-10"),
        ("2026-03-09", "2026-03-10"),
    ):
        fast, raw = both(Scope(ALL), first, last, at(11, 12))
        same(fast, raw)
    assert KpiTicketFacts.objects.count() == 4


def test_a_new_protocol_version_is_read_from_the_histories_until_rebuilt(week, demo):
    """Once version 3.3 (first responses due in 40 h, not 8 h) is in force, the page judges by its
    targets, from the histories until the worker has built the rollups anew, then from them; the
    old build's rows go."""
    from charterdesk.library.actions import do_create_draft, do_publish

    rollups.refresh(at(6, 18))
    old = KpiRollupState.objects.get().build
    before, _ = both(Scope(ALL), "2026-03-02", "2026-03-08", at(9, 12))
    source = version_in_force().source.replace('version: "3.2"', 'version: "3.3"', 1)
    source = source.replace(
        "first_response: {urgent: 1h, high: 2h, normal: 8h",
        "first_response: {urgent: 1h, high: 2h, normal: 40h",
    )
    manager = demo["manager"]
    do_publish(do_create_draft(source, actor=manager), actor=manager, now=at(9, 11))
    prefix = figures._prefixes[id(engine())]
    assert rollups.current_state(prefix) is None
    fast, raw = both(Scope(ALL), "2026-03-02", "2026-03-08", at(9, 12))
    same(fast, raw)
    assert fast.figures["sla_compliance"] != before.figures["sla_compliance"]
    rollups.refresh(at(9, 12))
    new = KpiRollupState.objects.get().build
    assert new != old and new.startswith(prefix + "#")
    assert not KpiDaySums.objects.filter(build=old).exists()
    fast, raw = both(Scope(ALL), "2026-03-02", "2026-03-08", at(9, 13))
    same(fast, raw)
