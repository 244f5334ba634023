"""The reports page from daily rollups: the same figures as the engine over the raw histories,
for everyone's, a team's and one's own numbers, fresh after every change, rebuilt under a new
protocol version or a new shape of the sums."""

from __future__ import annotations

import datetime as dt
from contextlib import contextmanager
from unittest import mock

import pytest

from charterdesk.library.versions import protocol_of, version_in_force
from charterdesk.reports import figures, rollups
from charterdesk.reports.access import ALL, OWN, TEAM, Scope
from charterdesk.reports.models import KpiDaySums, KpiFactDay, KpiRollupState, KpiTicketFacts

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
    return fast, raw_report(scope, first, last, now, trend)


def raw_report(scope: Scope, first: str, last: str, now: dt.datetime, trend: str | None = None):
    """The page's report from the raw histories (the engine run over them)."""
    kpis = engine()
    period = kpis.period(dt.date.fromisoformat(first), dt.date.fromisoformat(last))
    seconds = int(now.timestamp())
    return figures.build(
        kpis, scope, period, now=seconds, trend=trend, histories=figures.load_histories(scope, period)
    )


@contextmanager
def histories_unread():
    """Fails a page that reads the raw histories: it must come from the rollups alone."""
    with mock.patch.object(figures, "load_histories", side_effect=AssertionError("read the histories")):
        yield


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
    scopes = (
        Scope(ALL),
        Scope(OWN, agent=str(demo["agent"].pk)),
        Scope(TEAM, ("frontline", "escalations")),
        Scope(TEAM, ("escalations",)),
        Scope(TEAM, ()),
    )
    for scope in scopes:
        for now in (at(9, 13), at(5, 20), at(6, 4, 30)):
            if dt.date.fromisoformat(first) > (now - dt.timedelta(hours=5)).date():
                continue
            with histories_unread():
                fast = figures.build(
                    engine(),
                    scope,
                    engine().period(dt.date.fromisoformat(first), dt.date.fromisoformat(last)),
                    now=int(now.timestamp()),
                    trend=trend,
                )
            same(fast, raw_report(scope, first, last, now, trend))


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


def test_a_team_s_page_from_rollups_follows_a_ticket_between_groups(week, demo):
    """E, opened in frontline and answered there by Ravi, is taken out of every group on Tuesday
    and solved on Wednesday: the team's page from the rollups counts its first response and its
    Monday on the backlog, not its resolution, as the engine does over the histories. B, moved to
    escalations after the worker's last run, shows in escalations' report at once, and still
    after the worker's next run."""
    from charterdesk.tickets.actions import do_create_ticket, do_reply, do_set_group, do_set_status
    from charterdesk.tickets.models import Customer

    customer = Customer.objects.get(email="casey@example.com")
    e = do_create_ticket(customer=customer, subject="E", body="Hello", channel="email", at=at(2, 17))
    body = "Hello Casey,\n\nWe are on it.\n\nRegards,\nAcme"
    do_reply(e, author=demo["lead"], body=body, at=at(2, 17, 30), send_email=False)
    do_set_group(e, None, actor=demo["manager"], at=at(3, 15))
    do_set_status(e, "solved", actor=demo["agent"], at=at(4, 16))
    rollups.refresh(at(6, 18))
    lead = Scope(TEAM, ("frontline", "escalations"))
    with histories_unread():
        fast = figures.build(engine(), lead, engine().period(dt.date(2026, 3, 2), dt.date(2026, 3, 8)))
    same(fast, raw_report(lead, "2026-03-02", "2026-03-08", at(9, 12)))
    assert fast.figures["first_response_time"]["count"] == 4
    assert fast.figures["resolution_time"]["count"] == 2
    assert fast.figures["backlog"]["days"]["2026-03-02"] == 1
    escalations = Scope(TEAM, ("escalations",))
    before, _ = both(escalations, "2026-03-02", "2026-03-08", at(6, 19))
    assert before.figures["backlog"]["value"] == 0
    do_set_group(week["B"], "escalations", actor=demo["manager"], at=at(6, 20))
    fast, raw = both(escalations, "2026-03-02", "2026-03-08", at(6, 21))
    same(fast, raw)
    assert fast.figures["backlog"]["days"]["2026-03-06"] == 1  # B, in escalations at Friday's end
    rollups.refresh(at(6, 22))
    fast, raw = both(escalations, "2026-03-02", "2026-03-08", at(7, 12))
    same(fast, raw)
    fast, raw = both(lead, "2026-03-02", "2026-03-08", at(7, 12))
    same(fast, raw)


def test_rollups_of_an_older_shape_are_not_read_but_built_afresh(week, demo):
    """Rollups built before the sums had each group's cross slices (named without the shape's
    mark) are not read: the page counts from the histories, with the same figures, until the
    worker has built them anew; then a team's page reads the new ones."""
    rollups.refresh(at(6, 18))
    state = KpiRollupState.objects.get()
    prefix = figures._prefixes[id(engine())]
    assert prefix.startswith("f2:") and state.build.startswith(prefix + "#")
    old = state.build.removeprefix("f2:")  # how builds were named before
    for model in (KpiDaySums, KpiTicketFacts, KpiFactDay):
        model.objects.filter(build=state.build).update(build=old)
    KpiRollupState.objects.filter(pk=state.pk).update(build=old)
    assert rollups.current_state(prefix) is None
    lead = Scope(TEAM, ("frontline", "escalations"))
    fast, raw = both(lead, "2026-03-02", "2026-03-08", at(9, 12))
    same(fast, raw)
    assert rollups.refresh(at(9, 12)) == 4  # every ticket counted anew under a new build
    assert not KpiDaySums.objects.filter(build=old).exists()
    with histories_unread():
        fast = figures.build(engine(), lead, engine().period(dt.date(2026, 3, 2), dt.date(2026, 3, 8)))
    same(fast, raw)
