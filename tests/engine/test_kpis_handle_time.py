"""``handle_time``: the agents' measured time on each ticket solved in the period, up to its last
solve there, with the spec's time statistics; each agent's own time in the "by agent" slices.

Times as in test_kpis_examples.py: Berlin wall-clock times of January 2027 (Monday 4 January).
"""

from __future__ import annotations

from datetime import datetime

from charterdesk.engine.kpis import KpiEngine, TicketHistory, Work
from charterdesk.engine.sla import Created, GroupChange, Reply, StatusChange
from tests.engine.kpi_support import at as berlin
from tests.engine.kpi_support import day, desk, make_protocol, no_times, one_time, protocol_data


def t(text: str) -> int:
    """POSIX seconds of a Berlin wall-clock time in January 2027 ("01-04 09:00")."""
    return int(datetime.fromisoformat(berlin(text)).timestamp())


ENGINE = KpiEngine(desk())


def solved_ticket(opened: str, solved: str, work: list[Work], agent: str = "7") -> TicketHistory:
    events = [
        Created(t(opened), "normal", "email"),
        Reply(t(opened) + 60, True),
        StatusChange(t(solved), "solved"),
    ]
    return TicketHistory(events, agents={1: agent}, work=work)


def week(histories, by=()):
    return ENGINE.compute(histories, ENGINE.period(day("01-04"), day("01-10")), kpis=["handle_time"], by=by)


def test_handle_time_statistics_follow_the_spec_for_times():
    """Five tickets worked 10 min, 4 min, 30 min, 2 min and 1 h 1 s: count 5, mean 1,272 s
    (6,361 / 5 = 1,272.2), p50 the 3rd (600), p90 and p95 the 5th (3,601) by nearest rank."""
    seconds = [600, 240, 1800, 120, 3601]
    tickets = [solved_ticket("01-05 09:00", "01-05 12:00", [Work(t("01-05 00:00"), "7", s)]) for s in seconds]
    figures = week(tickets).kpis["handle_time"]
    assert figures == {"count": 5, "mean": 1272, "p50": 600, "p90": 3601, "p95": 3601}


def test_handle_time_sums_every_agent_and_day_up_to_the_solve():
    """A ticket worked Monday by Alex (5 min) and Ravi (3 min), Tuesday by Alex (2 min), solved
    Tuesday 15:00, then worked Thursday after a reopening that is never solved again: the week's
    handle time is the 10 minutes before the solve (600 s); Thursday's 15 minutes are left out."""
    events = [
        Created(t("01-04 09:00"), "normal", "email"),
        Reply(t("01-04 10:00"), True),
        StatusChange(t("01-05 15:00"), "solved"),
        StatusChange(t("01-07 09:00"), "open"),
    ]
    work = [
        Work(t("01-04 00:00"), "7", 300),
        Work(t("01-04 00:00"), "8", 180),
        Work(t("01-05 00:00"), "7", 120),
        Work(t("01-07 00:00"), "7", 900),
    ]
    figures = week([TicketHistory(events, agents={1: "7"}, work=work)]).kpis["handle_time"]
    assert figures == one_time(600)


def test_a_ticket_solved_again_counts_the_work_of_both_stretches():
    """Solved Monday, reopened Tuesday, worked 4 more minutes and solved again Wednesday: the last
    solve in the week counts all 9 minutes (540 s) once."""
    events = [
        Created(t("01-04 09:00"), "normal", "email"),
        Reply(t("01-04 10:00"), True),
        StatusChange(t("01-04 11:00"), "solved"),
        StatusChange(t("01-05 09:00"), "open"),
        StatusChange(t("01-06 11:00"), "solved"),
    ]
    work = [Work(t("01-04 00:00"), "7", 300), Work(t("01-05 00:00"), "7", 240)]
    assert week([TicketHistory(events, work=work)]).kpis["handle_time"] == one_time(540)


def test_tickets_not_solved_or_without_measured_time_are_not_counted():
    """An open ticket with work, a solved ticket with no measured time, and a ticket solved the week
    before: nothing to count, so count 0 and null figures."""
    open_ticket = TicketHistory(
        [Created(t("01-04 09:00"), "normal", "email")], work=[Work(t("01-04 00:00"), "7", 60)]
    )
    unmeasured = solved_ticket("01-04 09:00", "01-04 11:00", [])
    earlier = solved_ticket("12-28 09:00", "12-28 11:00", [Work(t("12-28 00:00"), "7", 60)])
    assert week([open_ticket, unmeasured, earlier]).kpis["handle_time"] == no_times()


def test_work_on_a_later_day_than_the_solve_counts_only_in_a_later_period():
    """Solved Monday 11:00, reopened and worked Tuesday, solved again Tuesday: Monday's report has
    Monday's 5 minutes; Tuesday's report has all 8 minutes, at Tuesday's solve."""
    events = [
        Created(t("01-04 09:00"), "normal", "email"),
        Reply(t("01-04 10:00"), True),
        StatusChange(t("01-04 11:00"), "solved"),
        StatusChange(t("01-05 09:00"), "open"),
        StatusChange(t("01-05 11:00"), "solved"),
    ]
    history = TicketHistory(events, work=[Work(t("01-04 00:00"), "7", 300), Work(t("01-05 00:00"), "7", 180)])
    monday = ENGINE.compute([history], ENGINE.period(day("01-04"), day("01-04")), kpis=["handle_time"])
    tuesday = ENGINE.compute([history], ENGINE.period(day("01-05"), day("01-05")), kpis=["handle_time"])
    assert monday.kpis["handle_time"] == one_time(300)
    assert tuesday.kpis["handle_time"] == one_time(480)


def test_each_agent_s_slice_has_their_own_time_and_the_group_the_ticket_s_total():
    """Alex (7) worked 10 min and Ravi (8) 5 min on ticket A, Alex 2 min on B: Alex's slice counts
    his 600 s on A and 120 s on B, Ravi's his 300 s on A, though Ravi sent no reply; the group's
    slice and the whole report count each ticket's total (900 s and 120 s)."""
    a = solved_ticket(
        "01-05 09:00", "01-05 12:00", [Work(t("01-05 00:00"), "7", 600), Work(t("01-05 00:00"), "8", 300)]
    )
    b = solved_ticket("01-06 09:00", "01-06 12:00", [Work(t("01-06 00:00"), "7", 120)])
    report = week([a, b], by=("agent", "group"))
    alex = report.breakdown["agent"]["7"]["handle_time"]
    ravi = report.breakdown["agent"]["8"]["handle_time"]
    assert alex == {"count": 2, "mean": 360, "p50": 120, "p90": 600, "p95": 600}
    assert ravi == one_time(300)
    assert report.kpis["handle_time"] == {"count": 2, "mean": 510, "p50": 120, "p90": 900, "p95": 900}
    group = report.breakdown["group"]
    assert sum(s["handle_time"]["count"] for s in group.values()) == 2


def test_handle_time_goes_to_the_group_the_ticket_had_at_its_solve():
    """A ticket moved from frontline to escalations before it was solved: its handle time counts in
    escalations' slice, like its resolution (frontline keeps the first response)."""
    engine = ENGINE
    events = [
        Created(t("01-04 09:00"), "normal", "email", group="frontline"),
        Reply(t("01-04 10:00"), True),
        GroupChange(t("01-04 10:30"), "escalations"),
        StatusChange(t("01-04 11:00"), "solved"),
    ]
    history = TicketHistory(events, work=[Work(t("01-04 00:00"), "7", 420)])
    report = engine.compute(
        [history], engine.period(day("01-04"), day("01-04")), kpis=["handle_time"], by=("group",)
    )
    assert report.breakdown["group"]["escalations"]["handle_time"] == one_time(420)
    assert report.breakdown["group"]["frontline"]["handle_time"]["count"] == 0


def test_an_objective_on_handle_time_is_judged_on_the_desk_s_figures():
    """An objective of p90 within 30 minutes: met by tickets of 10 and 20 minutes."""
    protocol = make_protocol(
        protocol_data(objectives=[{"id": "quick-work", "kpi": "handle_time", "target": {"p90": "30m"}}])
    )
    engine = KpiEngine(protocol)
    tickets = [
        solved_ticket("01-05 09:00", "01-05 12:00", [Work(t("01-05 00:00"), "7", s)]) for s in (600, 1200)
    ]
    report = engine.compute(tickets, engine.period(day("01-04"), day("01-10")))
    assert report.objectives == [
        {
            "id": "quick-work",
            "kpi": "handle_time",
            "target": {"p90": 1800},
            "actual": {"p90": 1200},
            "met": True,
        }
    ]
