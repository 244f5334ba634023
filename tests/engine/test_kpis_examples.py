"""Worked KPI examples, computed by hand (specs/kpi-format.md).

The test protocol (tests/engine/kpi_support.py): office hours Mon-Fri 09:00-17:00 Berlin;
the standard policy (office) gives first_response 4h for normal tickets (2h high, 1h
urgent), next_response 4h and resolution 16h (normal; 4h urgent); vip tickets are on a
24x7 calendar (first_response 1h, next_response 1h, periodic_update 2h, resolution 8h);
phone tickets have only a resolution target; tickets linked to a critical incident are on the
incident policy (24x7, first_response 30m, resolution 2h). "01-04 09:00" is Monday 4 January 2027,
09:00 in Berlin; a period "01-04" is that day, Berlin midnight to midnight.
"""

from __future__ import annotations

from charterdesk.engine.kpis import round_half_up
from tests.engine.kpi_support import (
    agent,
    created,
    customer,
    kpis,
    line,
    make_protocol,
    no_times,
    one_time,
    protocol_data,
    status,
    survey,
)

# --------------------------------------------------------------------------- first and next response


def test_first_response_inside_office_hours():
    """A ticket opened Monday 09:00 and answered at 10:30 took 5,400 s to a first response."""
    events = [created("T1", "01-04 09:00"), agent("T1", "01-04 10:30")]
    assert kpis(events, "01-04")["first_response_time"] == one_time(5400)


def test_first_response_counts_only_open_hours():
    """Opened Monday 16:00, answered Tuesday 10:00: one office hour each day, 7,200 s."""
    events = [created("T1", "01-04 16:00"), agent("T1", "01-05 10:00")]
    assert kpis(events, "01-04", "01-05")["first_response_time"] == one_time(7200)


def test_first_response_over_a_weekend():
    """Opened Saturday 12:00, answered Monday 09:30: only Monday's half hour counts."""
    events = [created("T1", "01-09 12:00"), agent("T1", "01-11 09:30")]
    assert kpis(events, "01-04", "01-11")["first_response_time"] == one_time(1800)


def test_first_response_on_a_round_the_clock_policy():
    """A vip ticket (24x7 calendar) opened Monday 20:00 and answered 20:45 took 2,700 s."""
    events = [created("T1", "01-04 20:00", tags=["vip"]), agent("T1", "01-04 20:45")]
    assert kpis(events, "01-04")["first_response_time"] == one_time(2700)


def test_percentiles_are_nearest_rank():
    """Ten first responses of 1 to 10 minutes: mean 330 s, p50 the 5th (300 s), p90 the 9th
    (540 s), p95 the 10th (600 s), whatever the order they came in."""
    events = []
    for number, minutes in enumerate([7, 2, 10, 1, 5, 9, 3, 8, 4, 6]):
        ticket = f"T{number}"
        events += [created(ticket, "01-04 09:00"), agent(ticket, f"01-04 09:{minutes:02d}")]
    assert kpis(events, "01-04")["first_response_time"] == {
        "count": 10,
        "mean": 330,
        "p50": 300,
        "p90": 540,
        "p95": 600,
    }


def test_mean_rounds_half_up_to_whole_seconds():
    """Responses of 1 s and 2 s: the mean 1.5 s is 2 s; p50 is the first (1 s), p90 the second."""
    events = [
        created("T1", "01-04 10:00"),
        agent("T1", "01-04 10:00:01"),
        created("T2", "01-04 10:00"),
        agent("T2", "01-04 10:00:02"),
    ]
    assert kpis(events, "01-04")["first_response_time"] == {
        "count": 2,
        "mean": 2,
        "p50": 1,
        "p90": 2,
        "p95": 2,
    }


def test_a_response_counts_in_the_period_of_its_fulfilment():
    """Only the response given on Monday counts for Monday: one opened Sunday 12:00 and answered
    Monday 09:30 (1,800 s), not one answered Tuesday nor one answered the Friday before."""
    events = [
        created("A", "01-03 12:00"),
        agent("A", "01-04 09:30"),
        created("B", "01-04 10:00"),
        agent("B", "01-05 10:00"),
        created("C", "01-01 09:00"),
        agent("C", "01-01 10:00"),
    ]
    assert kpis(events, "01-04")["first_response_time"] == one_time(1800)


def test_no_first_response_time_without_a_target():
    """Phone tickets have no first_response target, so their replies are not response times."""
    events = [created("T1", "01-04 09:00", channel="phone"), agent("T1", "01-04 10:00")]
    assert kpis(events, "01-04")["first_response_time"] == no_times()


def test_next_response_after_the_customer_writes_again():
    """First reply 09:10 (600 s); the customer writes at 11:00, the next reply comes 12:30 (5,400 s)."""
    events = [
        created("T1", "01-04 09:00"),
        agent("T1", "01-04 09:10"),
        customer("T1", "01-04 11:00"),
        agent("T1", "01-04 12:30"),
    ]
    result = kpis(events, "01-04")
    assert result["first_response_time"] == one_time(600)
    assert result["next_response_time"] == one_time(5400)


def test_agent_opened_ticket_has_no_first_response():
    """A ticket an agent opened has had its first response: only the reply to the customer's
    answer counts, as a next response (10:00 to 10:20)."""
    events = [
        created("T1", "01-04 09:00", by="agent"),
        customer("T1", "01-04 10:00"),
        agent("T1", "01-04 10:20"),
    ]
    result = kpis(events, "01-04")
    assert result["first_response_time"] == no_times()
    assert result["next_response_time"] == one_time(1200)


def test_solving_without_a_reply_ends_the_first_response_clock():
    """Solved at 11:00 without a reply: the SLA engine counts the first_response cycle as fulfilled
    then, so the KPI does too (7,200 s)."""
    events = [created("T1", "01-04 09:00"), status("T1", "01-04 11:00", "solved")]
    assert kpis(events, "01-04")["first_response_time"] == one_time(7200)


def test_a_reply_at_the_end_of_the_period_belongs_to_the_next_day():
    """A reply at Tuesday 00:00 is not used for Monday (still unanswered, breached at 13:00); over
    Monday and Tuesday it counts, with Monday's eight office hours (28,800 s), and late; by the
    end of Tuesday the resolution clock (16 h, due Tuesday 17:00) is breached too."""
    events = [created("T1", "01-04 09:00"), agent("T1", "01-05 00:00")]
    monday = kpis(events, "01-04")
    assert monday["first_response_time"] == no_times()
    assert monday["sla_compliance"] == {"achieved": 0, "breached": 1, "value": 0.0}
    both = kpis(events, "01-04", "01-05")
    assert both["first_response_time"] == one_time(28800)
    assert both["sla_compliance"] == {"achieved": 0, "breached": 2, "value": 0.0}


def test_an_incident_linked_ticket_is_timed_on_the_incident_policy():
    """Opened Monday 16:30 and linked to an incident at 16:35: its policy is the incident's, on a
    24x7 calendar, so the reply at 17:30 took 3,600 s (not the office's 30 min) and was late
    (due 17:00); solved at 18:00 after 5,400 s, within the 2 h resolution target."""
    events = [
        created("T1", "01-04 16:30"),
        line("T1", "01-04 16:35", "incident", policy="incident"),
        agent("T1", "01-04 17:30"),
        status("T1", "01-04 18:00", "solved"),
    ]
    result = kpis(events, "01-04")
    assert result["first_response_time"] == one_time(3600)
    assert result["resolution_time"] == one_time(5400)
    assert result["sla_compliance"] == {"achieved": 1, "breached": 1, "value": 0.5}
    assert result["fcr"] == {"solved": 1, "value": 1.0}


def test_an_unlinked_ticket_returns_to_its_own_policy():
    """Linked at 16:35 and unlinked at 16:50 (the incident is resolved): the reply at 17:30 is
    judged under the standard policy again, 30 office minutes, on time."""
    events = [
        created("T1", "01-04 16:30"),
        line("T1", "01-04 16:35", "incident", policy="incident"),
        line("T1", "01-04 16:50", "incident", policy=None),
        agent("T1", "01-04 17:30"),
    ]
    result = kpis(events, "01-04")
    assert result["first_response_time"] == one_time(1800)
    assert result["sla_compliance"] == {"achieved": 1, "breached": 0, "value": 1.0}


def test_an_agent_opened_ticket_is_in_the_backlog_and_resolved_on_first_contact():
    """An agent-opened ticket starts open: it is in the backlog from its creation, has no
    first-response cycle to breach, and solved without another reply it counts for fcr."""
    events = [created("T1", "01-04 16:00", by="agent"), status("T1", "01-05 10:00", "solved")]
    result = kpis(events, "01-04", "01-05")
    assert result["backlog"]["days"] == {"2027-01-04": 1, "2027-01-05": 0}
    assert result["first_response_time"] == no_times()
    assert result["fcr"] == {"solved": 1, "value": 1.0}
    assert result["resolution_time"] == one_time(7200)
    assert result["sla_compliance"] == {"achieved": 1, "breached": 0, "value": 1.0}


# --------------------------------------------------------------------------- resolution time


def test_resolution_time_leaves_out_pauses():
    """Pending from 10:00 until the customer answers at 14:00: solved at 15:00 after 2 counted hours."""
    events = [
        created("T1", "01-04 09:00"),
        agent("T1", "01-04 09:30"),
        status("T1", "01-04 10:00", "pending"),
        customer("T1", "01-04 14:00"),
        status("T1", "01-04 15:00", "solved"),
    ]
    assert kpis(events, "01-04")["resolution_time"] == one_time(7200)


def test_resolution_time_of_a_ticket_solved_twice_is_taken_at_the_last_solve():
    """Solved 10:00, reopened 11:00, solved again 12:00: one ticket, 2 h of counted time."""
    events = [
        created("T1", "01-04 09:00"),
        agent("T1", "01-04 09:30"),
        status("T1", "01-04 10:00", "solved"),
        customer("T1", "01-04 11:00"),
        agent("T1", "01-04 11:30"),
        status("T1", "01-04 12:00", "solved"),
    ]
    assert kpis(events, "01-04")["resolution_time"] == one_time(7200)


def test_resolution_time_stands_when_the_ticket_is_reopened_later():
    """Solved Monday 13:00 (4 h) and reopened Tuesday: the Monday solve still counts, with its 4 h."""
    events = [
        created("T1", "01-04 09:00"),
        agent("T1", "01-04 09:30"),
        status("T1", "01-04 13:00", "solved"),
        customer("T1", "01-05 09:00"),
    ]
    assert kpis(events, "01-04", "01-05")["resolution_time"] == one_time(14400)


def test_resolution_time_counts_solves_in_the_period_only():
    """Solved the Friday before and solved the Tuesday after: nothing for Monday."""
    events = [
        created("A", "01-01 09:00"),
        status("A", "01-01 10:00", "solved"),
        created("B", "01-04 09:00"),
        status("B", "01-05 10:00", "solved"),
    ]
    assert kpis(events, "01-04")["resolution_time"] == no_times()


def test_closing_without_solving_is_not_a_solve():
    """Closed at 10:00 without being solved: no resolution time and nothing for fcr, but the
    ticket leaves the backlog and its cycles have their outcomes (both on time)."""
    events = [
        created("T1", "01-04 09:00"),
        agent("T1", "01-04 09:30"),
        status("T1", "01-04 10:00", "closed"),
    ]
    result = kpis(events, "01-04")
    assert result["resolution_time"] == no_times()
    assert result["fcr"] == {"solved": 0, "value": None}
    assert result["backlog"] == {"days": {"2027-01-04": 0}, "value": 0}
    assert result["sla_compliance"] == {"achieved": 2, "breached": 0, "value": 1.0}


# --------------------------------------------------------------------------- SLA compliance


def test_compliance_counts_achieved_and_breached_cycles():
    """One reply within 4 h (achieved), one after 5 h (breached at 13:00); the resolution cycles
    are due Tuesday, so they have no outcome on Monday: 1 of 2."""
    events = [
        created("A", "01-04 09:00"),
        agent("A", "01-04 10:00"),
        created("B", "01-04 09:00"),
        agent("B", "01-04 14:00"),
    ]
    assert kpis(events, "01-04")["sla_compliance"] == {"achieved": 1, "breached": 1, "value": 0.5}


def test_an_unanswered_ticket_past_due_at_the_end_is_breached():
    """No reply by the end of Monday: the first response was due at 13:00, so it is breached."""
    events = [created("T1", "01-04 09:00")]
    assert kpis(events, "01-04")["sla_compliance"] == {"achieved": 0, "breached": 1, "value": 0.0}


def test_a_breach_counts_on_the_day_of_its_due_time():
    """Opened Monday 16:00, first response due Tuesday 12:00 but given Wednesday 10:00, solved
    Wednesday 10:30 within the resolution target (due Wednesday 16:00): Monday has no outcome,
    Tuesday one breach, Wednesday one achievement."""
    events = [
        created("T1", "01-04 16:00"),
        agent("T1", "01-06 10:00"),
        status("T1", "01-06 10:30", "solved"),
    ]
    assert kpis(events, "01-04")["sla_compliance"] == {"achieved": 0, "breached": 0, "value": None}
    assert kpis(events, "01-05")["sla_compliance"] == {"achieved": 0, "breached": 1, "value": 0.0}
    assert kpis(events, "01-06")["sla_compliance"] == {"achieved": 1, "breached": 0, "value": 1.0}


def test_periodic_updates_are_promises_too():
    """A vip ticket: first reply 20:30, update 22:00, solved 23:00: the first response, two
    periodic updates (the second ended by the solve) and the resolution, all on time."""
    events = [
        created("T1", "01-04 20:00", tags=["vip"]),
        agent("T1", "01-04 20:30"),
        agent("T1", "01-04 22:00"),
        status("T1", "01-04 23:00", "solved"),
    ]
    assert kpis(events, "01-04")["sla_compliance"] == {"achieved": 4, "breached": 0, "value": 1.0}


def test_a_reopened_resolution_cycle_has_the_outcome_it_has_at_the_end():
    """Solved 10:00 and reopened by the customer at 11:00: the resolution cycle is running again
    (7 of 16 h) so it has no outcome; the first response (ended by the solve) is achieved and
    the customer's new message, unanswered since 11:00, is breached at 15:00."""
    events = [
        created("T1", "01-04 09:00"),
        status("T1", "01-04 10:00", "solved"),
        customer("T1", "01-04 11:00"),
    ]
    result = kpis(events, "01-04")
    assert result["sla_compliance"] == {"achieved": 1, "breached": 1, "value": 0.5}
    assert result["reopen_rate"] == {"solved": 1, "value": 1.0}
    assert result["fcr"] == {"solved": 1, "value": 0.0}


def test_compliance_ratio_rounds_to_four_decimals():
    """Two achieved of three: 0.66666... is 0.6667."""
    events = [
        created("A", "01-04 09:00"),
        agent("A", "01-04 10:00"),
        created("B", "01-04 09:00"),
        agent("B", "01-04 10:00"),
        created("C", "01-04 09:00"),
        agent("C", "01-04 14:00"),
    ]
    assert kpis(events, "01-04")["sla_compliance"] == {"achieved": 2, "breached": 1, "value": 0.6667}


# --------------------------------------------------------------------------- surveys


def solved_with(ticket: str, *answers: tuple[str, str, int]) -> list[str]:
    """A ticket opened Monday 09:00, solved 10:00, then the given (time, kind, score) answers."""
    return [
        created(ticket, "01-04 09:00"),
        agent(ticket, "01-04 09:30"),
        status(ticket, "01-04 10:00", "solved"),
        *(survey(ticket, when, kind, score) for when, kind, score in answers),
    ]


def test_csat_counts_the_two_highest_ratings_as_satisfied():
    """Ratings 5, 4 and 3 on the default scale of 5: two satisfied of three, 0.6667."""
    events = []
    for number, score in enumerate([5, 4, 3]):
        events += solved_with(f"T{number}", ("01-04 12:00", "csat", score))
    assert kpis(events, "01-04")["csat"] == {"answered": 3, "satisfied": 2, "value": 0.6667}


def test_csat_on_a_scale_of_ten():
    """With surveys.csat.scale 10, 9 and 10 are satisfied: 10, 8, 8, 9 give 2 of 4."""
    protocol = make_protocol(protocol_data(surveys={"csat": {"send_after": "1h", "scale": 10}}))
    events = []
    for number, score in enumerate([10, 8, 8, 9]):
        events += solved_with(f"T{number}", ("01-04 12:00", "csat", score))
    assert kpis(events, "01-04", protocol=protocol)["csat"] == {"answered": 4, "satisfied": 2, "value": 0.5}


def test_a_changed_rating_counts_once():
    """A customer who rates 2 and then 5 is counted once, as satisfied."""
    events = solved_with("T1", ("01-04 12:00", "csat", 2), ("01-04 13:00", "csat", 5))
    assert kpis(events, "01-04")["csat"] == {"answered": 1, "satisfied": 1, "value": 1.0}


def test_a_rating_changed_after_the_period_keeps_its_value_in_it():
    """Rated 5 on Monday, changed to 1 on Tuesday: Monday counts the 5, Tuesday and Monday to
    Tuesday count the 1 (the latest answer before their end, in them)."""
    events = solved_with("T1", ("01-04 12:00", "csat", 5), ("01-05 09:00", "csat", 1))
    assert kpis(events, "01-04")["csat"] == {"answered": 1, "satisfied": 1, "value": 1.0}
    assert kpis(events, "01-05")["csat"] == {"answered": 1, "satisfied": 0, "value": 0.0}
    assert kpis(events, "01-04", "01-05")["csat"] == {"answered": 1, "satisfied": 0, "value": 0.0}


def test_an_answer_before_the_period_does_not_count_unless_changed_in_it():
    """Rated the Friday before: nothing on Monday; changed on Monday: the new rating counts."""
    events = [
        created("A", "01-01 09:00"),
        status("A", "01-01 10:00", "solved"),
        survey("A", "01-01 12:00", "csat", 5),
        created("B", "01-01 09:00"),
        status("B", "01-01 10:00", "solved"),
        survey("B", "01-01 12:00", "csat", 5),
        survey("B", "01-04 12:00", "csat", 1),
    ]
    assert kpis(events, "01-04")["csat"] == {"answered": 1, "satisfied": 0, "value": 0.0}


def test_nps_is_promoters_minus_detractors():
    """Scores 10, 9, 8, 7, 6, 0: two promoters, two detractors: 0.0."""
    events = []
    for number, score in enumerate([10, 9, 8, 7, 6, 0]):
        events += solved_with(f"T{number}", ("01-04 12:00", "nps", score))
    assert kpis(events, "01-04")["nps"] == {"answered": 6, "promoters": 2, "detractors": 2, "value": 0.0}


def test_nps_rounds_to_one_decimal():
    """One promoter in three: 33.33... is 33.3."""
    events = []
    for number, score in enumerate([9, 7, 8]):
        events += solved_with(f"T{number}", ("01-04 12:00", "nps", score))
    assert kpis(events, "01-04")["nps"] == {"answered": 3, "promoters": 1, "detractors": 0, "value": 33.3}


def test_nps_halves_round_away_from_zero():
    """Sixteen answers: one promoter and fifteen passives give 6.25, so 6.3; one detractor and
    fifteen passives give -6.25, so -6.3 (half-up on the size, as a manager rounds)."""
    up, down = [], []
    for number in range(16):
        up += solved_with(f"U{number}", ("01-04 12:00", "nps", 10 if number == 0 else 8))
        down += solved_with(f"D{number}", ("01-04 12:00", "nps", 0 if number == 0 else 7))
    assert kpis(up, "01-04")["nps"] == {"answered": 16, "promoters": 1, "detractors": 0, "value": 6.3}
    assert kpis(down, "01-04")["nps"] == {"answered": 16, "promoters": 0, "detractors": 1, "value": -6.3}


def test_ces_is_the_mean_score_to_two_decimals():
    """Scores 7, 6, 6 average 6.333..., so 6.33; eight answers summing to 9 average 1.125, so 1.13."""
    events = []
    for number, score in enumerate([7, 6, 6]):
        events += solved_with(f"T{number}", ("01-04 12:00", "ces", score))
    assert kpis(events, "01-04")["ces"] == {"answered": 3, "value": 6.33}
    events = []
    for number, score in enumerate([1, 1, 1, 1, 1, 1, 1, 2]):
        events += solved_with(f"T{number}", ("01-04 12:00", "ces", score))
    assert kpis(events, "01-04")["ces"] == {"answered": 8, "value": 1.13}


def test_a_survey_after_closing_counts():
    """The customer answers at 12:00, after the ticket was closed at 11:00: it counts."""
    events = [
        created("T1", "01-04 09:00"),
        agent("T1", "01-04 09:30"),
        status("T1", "01-04 10:00", "solved"),
        status("T1", "01-04 11:00", "closed"),
        survey("T1", "01-04 12:00", "csat", 4),
    ]
    assert kpis(events, "01-04")["csat"] == {"answered": 1, "satisfied": 1, "value": 1.0}


def test_no_answers_means_no_values():
    """Without answers the survey KPIs count nothing and have null values."""
    result = kpis(solved_with("T1"), "01-04")
    assert result["csat"] == {"answered": 0, "satisfied": 0, "value": None}
    assert result["nps"] == {"answered": 0, "promoters": 0, "detractors": 0, "value": None}
    assert result["ces"] == {"answered": 0, "value": None}


# --------------------------------------------------------------------------- fcr and reopen rate


def test_fcr_is_one_public_reply_before_the_solve():
    """One reply then solved: yes; two replies: no; an internal note and one reply: yes. 2 of 3."""
    events = [
        created("A", "01-04 09:00"),
        agent("A", "01-04 09:30"),
        status("A", "01-04 10:00", "solved"),
        created("B", "01-04 09:00"),
        agent("B", "01-04 09:30"),
        agent("B", "01-04 09:40"),
        status("B", "01-04 10:00", "solved"),
        created("C", "01-04 09:00"),
        agent("C", "01-04 09:20", public=False),
        agent("C", "01-04 09:30"),
        status("C", "01-04 10:00", "solved"),
    ]
    result = kpis(events, "01-04")
    assert result["fcr"] == {"solved": 3, "value": 0.6667}
    assert result["reopen_rate"] == {"solved": 3, "value": 0.0}


def test_fcr_counts_an_agent_opened_ticket_s_creation_as_its_reply():
    """An agent-opened ticket solved after the customer's answer, without another reply, was
    resolved on first contact; one with another reply was not: 1 of 2."""
    events = [
        created("A", "01-04 09:00", by="agent"),
        customer("A", "01-04 10:00"),
        status("A", "01-04 11:00", "solved"),
        created("B", "01-04 09:00", by="agent"),
        customer("B", "01-04 10:00"),
        agent("B", "01-04 10:30"),
        status("B", "01-04 11:00", "solved"),
    ]
    assert kpis(events, "01-04")["fcr"] == {"solved": 2, "value": 0.5}


def test_a_reopened_ticket_is_not_first_contact_resolution():
    """One reply, solved, reopened by the customer and solved again: not fcr, and reopened."""
    events = [
        created("T1", "01-04 09:00"),
        agent("T1", "01-04 09:30"),
        status("T1", "01-04 10:00", "solved"),
        customer("T1", "01-04 11:00"),
        status("T1", "01-04 12:00", "solved"),
    ]
    result = kpis(events, "01-04")
    assert result["fcr"] == {"solved": 1, "value": 0.0}
    assert result["reopen_rate"] == {"solved": 1, "value": 1.0}


def test_a_reopening_after_the_period_does_not_count_in_it():
    """Solved Monday and reopened Tuesday: Monday sees a first-contact resolution, Monday to
    Tuesday a reopened ticket."""
    events = [
        created("T1", "01-04 09:00"),
        agent("T1", "01-04 09:30"),
        status("T1", "01-04 10:00", "solved"),
        customer("T1", "01-05 09:00"),
    ]
    monday = kpis(events, "01-04")
    assert monday["fcr"] == {"solved": 1, "value": 1.0}
    assert monday["reopen_rate"] == {"solved": 1, "value": 0.0}
    both = kpis(events, "01-04", "01-05")
    assert both["fcr"] == {"solved": 1, "value": 0.0}
    assert both["reopen_rate"] == {"solved": 1, "value": 1.0}


def test_a_reopening_before_the_period_is_not_a_reopening_in_it():
    """Solved and reopened the Friday before, solved again Monday: Monday's solve was not set
    back (reopen rate 0), but the ticket was once, so it is not fcr."""
    events = [
        created("T1", "01-01 09:00"),
        agent("T1", "01-01 09:30"),
        status("T1", "01-01 10:00", "solved"),
        customer("T1", "01-01 11:00"),
        status("T1", "01-04 10:00", "solved"),
    ]
    result = kpis(events, "01-04")
    assert result["reopen_rate"] == {"solved": 1, "value": 0.0}
    assert result["fcr"] == {"solved": 1, "value": 0.0}


def test_closing_is_not_a_reopening_but_pending_is():
    """Solved then closed: not set back. Solved then set to pending: set back. 1 of 2 each."""
    events = [
        created("A", "01-04 09:00"),
        agent("A", "01-04 09:30"),
        status("A", "01-04 10:00", "solved"),
        status("A", "01-04 11:00", "closed"),
        created("B", "01-04 09:00"),
        agent("B", "01-04 09:30"),
        status("B", "01-04 10:00", "solved"),
        status("B", "01-04 11:00", "pending"),
    ]
    result = kpis(events, "01-04")
    assert result["fcr"] == {"solved": 2, "value": 0.5}
    assert result["reopen_rate"] == {"solved": 2, "value": 0.5}


# --------------------------------------------------------------------------- backlog


def test_backlog_counts_unsolved_tickets_at_each_day_end():
    """A: Monday to Wednesday 10:00. B: opened the Friday before, pending since Monday, never
    solved (pending is not solved). C: opened and closed on Tuesday afternoon, never at a day's end."""
    events = [
        created("A", "01-04 10:00"),
        status("A", "01-06 10:00", "solved"),
        created("B", "01-01 09:00"),
        status("B", "01-04 10:00", "pending"),
        created("C", "01-05 12:00"),
        status("C", "01-05 13:00", "closed"),
    ]
    assert kpis(events, "01-04", "01-07")["backlog"] == {
        "days": {"2027-01-04": 2, "2027-01-05": 2, "2027-01-06": 1, "2027-01-07": 1},
        "value": 1,
    }


def test_an_event_at_midnight_belongs_to_the_next_day():
    """Opened at Tuesday 00:00 exactly: not in Monday's backlog. Solved at Wednesday 00:00
    exactly: still in Tuesday's."""
    events = [created("T1", "01-05 00:00"), status("T1", "01-06 00:00", "solved")]
    assert kpis(events, "01-04", "01-06")["backlog"] == {
        "days": {"2027-01-04": 0, "2027-01-05": 1, "2027-01-06": 0},
        "value": 0,
    }


def test_a_reopened_ticket_returns_to_the_backlog():
    """Solved Tuesday, reopened by the customer Wednesday: in the backlog Monday, Wednesday, Thursday."""
    events = [
        created("T1", "01-04 10:00"),
        agent("T1", "01-04 10:30"),
        status("T1", "01-05 10:00", "solved"),
        customer("T1", "01-06 10:00"),
    ]
    assert kpis(events, "01-04", "01-07")["backlog"] == {
        "days": {"2027-01-04": 1, "2027-01-05": 0, "2027-01-06": 1, "2027-01-07": 1},
        "value": 1,
    }


# --------------------------------------------------------------------------- rounding


def test_rounding_is_half_up_once_on_the_exact_value():
    """0.66665 is 0.6667 (not 0.6666, as a float's double rounding could give); 2.5 s is 3 s."""
    assert round_half_up(13333, 20000, 4) == 0.6667
    assert round_half_up(5, 2, 0) == 3
    assert round_half_up(-625, 100, 1) == -6.3
    assert round_half_up(1, 3, 4) == 0.3333
