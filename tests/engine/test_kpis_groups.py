"""A team's report: ``KpiEngine.compute(..., groups=...)`` counts what falls to those groups.

A count goes to the group the ticket has at the moment of the count, as in the "by group"
breakdown, so a lead's report of one group is that group's row of the manager's breakdown, and a
ticket that moved from one group to another counts for each the part it spent there.

Hand-computed examples first (the test protocol of kpi_support: office hours Mon-Fri 09:00-17:00
Berlin; normal tickets: first response 4 h, next response 4 h, resolution 16 h of office time),
then properties on generated tickets (the example protocol, tickets opened in a group or none,
moved between groups by events and by escalation rules).
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from charterdesk.engine.kpis import DIMENSIONS, TIME_KPIS, TicketHistory, Work
from tests.engine.kpi_support import (
    agent,
    created,
    customer,
    day,
    desk,
    engine_for,
    histories,
    line,
    no_times,
    one_time,
    status,
    survey,
)

from .test_kpis_properties import PERIODS, SETTINGS, TICKETS, engine, flat, lines_of, period_of

# --------------------------------------------------------------------------- worked examples


def moved_tickets() -> list[TicketHistory]:
    """A: frontline, email, Monday 09:00; Ana answers 09:30; moved to tier2 at 10:00; the customer
    writes at 11:00, Ben answers 12:00 and solves it 12:30; CSAT 5 at 13:00. Ana worked 600 s on
    it, Ben 300 s, on Monday.

    B: tier2, Monday 09:00, never answered; moved to frontline Tuesday 10:00. Its first response
    was due (and broken) Monday 13:00, in tier2; its resolution Tuesday 17:00, in frontline."""
    found = histories(
        [
            created("A", "01-04 09:00", group="frontline"),
            agent("A", "01-04 09:30"),
            line("A", "01-04 10:00", "group", group="tier2"),
            customer("A", "01-04 11:00"),
            agent("A", "01-04 12:00"),
            status("A", "01-04 12:30", "solved"),
            survey("A", "01-04 13:00", "csat", 5),
            created("B", "01-04 09:00", group="tier2"),
            line("B", "01-05 10:00", "group", group="frontline"),
        ]
    )
    a = found[0]
    a.agents = {1: "ana", 4: "ben"}
    monday = engine_for(desk()).period(day("01-04"), day("01-04")).start
    a.work = [Work(monday, "ana", 600), Work(monday, "ben", 300)]
    return found


def team(groups, by=(), first="01-04", last="01-05", tickets=None):
    kpis = engine_for(desk())
    period = kpis.period(day(first), day(last))
    return kpis.compute(moved_tickets() if tickets is None else tickets, period, by=by, groups=groups)


def test_a_ticket_that_moved_counts_for_each_group_the_part_it_spent_there():
    """Frontline has A's first response (kept) and B's broken resolution; tier2 has A's next
    response, its resolution (both kept), its solve, its rating and B's broken first response;
    the backlog follows B from tier2 on Monday to frontline on Tuesday."""
    front = team({"frontline"}).figures
    assert front["first_response_time"] == one_time(1800)
    assert front["next_response_time"] == no_times()
    assert front["resolution_time"] == no_times()
    assert front["sla_compliance"] == {"achieved": 1, "breached": 1, "value": 0.5}
    assert front["csat"] == {"answered": 0, "satisfied": 0, "value": None}
    assert front["fcr"] == {"solved": 0, "value": None}
    assert front["handle_time"] == no_times()
    assert front["backlog"] == {"days": {"2027-01-04": 0, "2027-01-05": 1}, "value": 1}
    tier2 = team({"tier2"}).figures
    assert tier2["first_response_time"] == no_times()
    assert tier2["next_response_time"] == one_time(3600)
    assert tier2["resolution_time"] == one_time(12600)  # 09:00 to 12:30, the whole of it
    assert tier2["sla_compliance"] == {"achieved": 2, "breached": 1, "value": 0.6667}
    assert tier2["csat"] == {"answered": 1, "satisfied": 1, "value": 1.0}
    assert tier2["fcr"] == {"solved": 1, "value": 0.0}  # Ana's and Ben's replies: two
    assert tier2["reopen_rate"] == {"solved": 1, "value": 0.0}
    assert tier2["handle_time"] == one_time(900)
    assert tier2["backlog"] == {"days": {"2027-01-04": 1, "2027-01-05": 0}, "value": 0}


def test_a_lead_s_figures_for_one_group_are_the_manager_s_row_for_it():
    """Every number is defined once: the report of one group is that group's row of the "by
    group" breakdown, and of all the groups the tickets were ever in, the whole report."""
    everything = team(None, by=DIMENSIONS)
    for group in ("frontline", "tier2"):
        assert team({group}).figures == everything.breakdown["group"][group]
    both = team({"frontline", "tier2"}, by=DIMENSIONS)
    assert both.figures == everything.figures
    assert both.breakdown == everything.breakdown


def test_breakdowns_are_within_the_team_s_groups():
    """Tier2's report by agent: Ben's next response, resolution and his own 300 s of work; Ana's
    own 600 s on the ticket solved in tier2 (and nothing of her first response, given in
    frontline); B's broken first response and Monday's backlog under no agent. By group: tier2
    alone."""
    found = team({"tier2"}, by=("agent", "group", "channel"))
    agents = found.breakdown["agent"]
    assert set(agents) == {"ana", "ben", None}
    assert agents["ana"]["handle_time"] == one_time(600)
    assert agents["ana"]["first_response_time"] == no_times()
    assert agents["ben"]["handle_time"] == one_time(300)
    assert agents["ben"]["next_response_time"] == one_time(3600)
    assert agents["ben"]["resolution_time"] == one_time(12600)
    assert agents[None]["sla_compliance"] == {"achieved": 0, "breached": 1, "value": 0.0}
    assert agents[None]["backlog"]["days"] == {"2027-01-04": 1, "2027-01-05": 0}
    assert set(found.breakdown["group"]) == {"tier2"}
    assert set(found.breakdown["channel"]) == {"email"}
    front = team({"frontline"}, by=("agent",)).breakdown["agent"]
    assert set(front) == {"ana", None}
    assert front["ana"]["first_response_time"] == one_time(1800)


def test_a_rating_of_a_ticket_closed_before_the_period_goes_to_its_group_then():
    """C was solved and closed in frontline on Monday; its rating on Tuesday counts in a report of
    Tuesday for frontline, not for tier2."""
    tickets = histories(
        [
            created("C", "01-04 09:00", group="frontline"),
            agent("C", "01-04 09:10"),
            status("C", "01-04 09:20", "solved"),
            status("C", "01-04 09:30", "closed"),
            survey("C", "01-05 10:00", "csat", 4),
        ]
    )
    assert team({"frontline"}, first="01-05", tickets=tickets).figures["csat"]["answered"] == 1
    assert team({"tier2"}, first="01-05", tickets=tickets).figures["csat"]["answered"] == 0
    assert team(None, first="01-05", tickets=tickets).figures["csat"]["answered"] == 1


def test_no_groups_count_nothing_and_a_ticket_in_no_group_is_in_no_team():
    """An empty set of groups counts nothing; a ticket never in a group counts for no team."""
    assert team(set()).figures == team(None, tickets=[]).figures
    lone = histories([created("D", "01-04 09:00"), agent("D", "01-04 09:30")])
    assert team({"frontline", "tier2"}, tickets=lone).figures["first_response_time"] == no_times()
    assert team(None, tickets=lone).figures["first_response_time"] == one_time(1800)


def test_groups_given_as_one_string_are_refused_by_name():
    """``groups="frontline"`` (a string, not a set of ids) is an error naming the parameter."""
    with pytest.raises(ValueError, match="groups: give a collection of group ids"):
        team("frontline")


# --------------------------------------------------------------------------- properties

GROUPS = ("frontline", "escalations")
COUNTERS = [
    ("sla_compliance", "achieved"),
    ("sla_compliance", "breached"),
    ("csat", "answered"),
    ("csat", "satisfied"),
    ("nps", "answered"),
    ("nps", "promoters"),
    ("nps", "detractors"),
    ("ces", "answered"),
    ("fcr", "solved"),
    ("reopen_rate", "solved"),
]


def compute(records, period, *, by=(), now=None, groups=None):
    found = engine().read(lines_of(records), "<test>")
    return engine().compute(found.histories.values(), period, by=by, now=now, groups=groups)


def _counts(figures) -> list[int]:
    out = [figures[kpi][key] for kpi, key in COUNTERS]
    out += [figures[kpi]["count"] for kpi in TIME_KPIS]
    out += list(figures["backlog"]["days"].values())
    return out


@SETTINGS
@given(TICKETS, PERIODS, st.one_of(st.none(), st.floats(0.01, 0.99)))
def test_one_group_s_report_is_its_row_of_the_breakdown(tickets: tuple, span, share) -> None:
    """For each group, the report of that group alone (finished or judged at a moment within it)
    is the "by group" row of the whole report, and its breakdowns hold that group alone."""
    period = period_of(span)
    now = None if share is None else period.start + max(1, int((period.end - period.start) * share))
    records = flat(tickets)
    everything = compute(records, period, by=("group",), now=now)
    empty = compute([], period, now=now).figures
    for group in GROUPS:
        alone = compute(records, period, by=("group",), now=now, groups={group})
        assert alone.figures == everything.breakdown["group"].get(group, empty)
        assert set(alone.breakdown["group"]) <= {group}


@SETTINGS
@given(TICKETS, PERIODS)
def test_several_groups_count_what_each_counts(tickets: tuple, span) -> None:
    """A report of both groups counts what each group's report counts, added (counters, time
    counts, each day's backlog); with the tickets in no group it is the whole report; its
    percentiles lie between those of the groups' reports; its breakdowns are within the groups
    (each dimension's slices add up to the team's whole) and its "by group" rows are the
    manager's."""
    period = period_of(span)
    records = flat(tickets)
    everything = compute(records, period, by=DIMENSIONS)
    both = compute(records, period, by=DIMENSIONS, groups=set(GROUPS))
    apart = [compute(records, period, groups={group}).figures for group in GROUPS]
    assert _counts(both.figures) == [sum(n) for n in zip(*(_counts(f) for f in apart), strict=True)]
    none = everything.breakdown["group"].get(None)
    if none is None:
        assert both.figures == everything.figures
    else:
        assert [a + b for a, b in zip(_counts(both.figures), _counts(none), strict=True)] == _counts(
            everything.figures
        )
    for kpi in TIME_KPIS:
        found = [f[kpi] for f in apart if f[kpi]["count"]]
        for p in ("p50", "p90", "p95"):
            if found:
                assert min(f[p] for f in found) <= both.figures[kpi][p] <= max(f[p] for f in found)
    assert both.breakdown["group"] == {
        g: row for g, row in everything.breakdown["group"].items() if g in GROUPS
    }
    for dimension in ("channel", "priority", "agent"):
        slices = list(both.breakdown[dimension].values())
        total = [sum(n) for n in zip(*(_counts(s) for s in slices), strict=True)] if slices else None
        mine = _counts(both.figures)
        if dimension == "agent":  # each agent's own handle time: agents' slices need not add up
            handle = len(COUNTERS) + TIME_KPIS.index("handle_time")
            mine = mine[:handle] + mine[handle + 1 :]
            total = None if total is None else total[:handle] + total[handle + 1 :]
        assert (total is None and not any(mine)) or total == mine
