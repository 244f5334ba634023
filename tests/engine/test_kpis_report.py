"""The KPI report around the definitions: periods and time zones, which KPIs are listed,
objectives, breakdowns, the events reader and the ``charterdesk kpi`` command.

Times as in test_kpis_examples.py: Berlin wall-clock times of January 2027.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import yaml

from charterdesk.cli import main as cli_main
from charterdesk.engine.kpis import (
    KpiEngine,
    TicketHistory,
    Work,
    make_period,
    period_between,
    read_histories,
    team_timezone,
)
from charterdesk.engine.replay import ReplayError
from charterdesk.engine.sla import Created, Reply, StatusChange
from tests.engine.kpi_support import (
    ALWAYS,
    OFFICE,
    agent,
    at,
    created,
    customer,
    day,
    desk,
    histories,
    kpis,
    line,
    make_protocol,
    no_times,
    one_time,
    protocol_data,
    report,
    status,
    survey,
)


def utc(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp())


# --------------------------------------------------------------------------- periods


def test_team_time_zone_is_the_first_calendar_that_has_one():
    """A 24x7 calendar without a zone listed first does not decide: the Berlin office does; with
    no zone anywhere the team's days are UTC days."""
    assert team_timezone(make_protocol(protocol_data(calendars=[ALWAYS, OFFICE]))) == "Europe/Berlin"
    data = protocol_data(
        calendars=[ALWAYS],
        sla={"policies": [{"id": "all", "match": {}, "calendar": "always", "targets": {"resolution": "8h"}}]},
    )
    del data["emergency"]
    protocol = make_protocol(data)
    assert team_timezone(protocol) == "UTC"
    events = [created("T1", "01-04 00:30")]  # 2027-01-03T23:30Z: Sunday in UTC
    result = report(events, "01-04", protocol=protocol).as_json()
    assert result["period"] == {"from": "2027-01-04", "to": "2027-01-04", "timezone": "UTC"}
    assert result["kpis"]["backlog"]["days"] == {"2027-01-04": 1}
    assert kpis(events, "01-03", protocol=protocol)["backlog"]["days"] == {"2027-01-03": 1}


def test_period_runs_from_local_midnight_to_local_midnight():
    """4 to 10 January in Berlin (UTC+1) is 3 January 23:00 UTC to 10 January 23:00 UTC."""
    period = make_period(date(2027, 1, 4), date(2027, 1, 10), "Europe/Berlin")
    assert (period.start, period.end) == (utc("2027-01-03T23:00:00"), utc("2027-01-10T23:00:00"))
    assert len(period.day_ends) == 7
    assert period.day_ends[0] == utc("2027-01-04T23:00:00")


def test_a_day_with_a_clock_change_is_23_hours_long():
    """Berlin moves its clocks forward on 28 March 2027: that day runs 23:00 UTC to 22:00 UTC, and
    a ticket opened at 22:00 UTC belongs to 29 March."""
    period = make_period(date(2027, 3, 28), date(2027, 3, 29), "Europe/Berlin")
    assert period.start == utc("2027-03-27T23:00:00")
    assert period.day_ends == (utc("2027-03-28T22:00:00"), utc("2027-03-29T22:00:00"))
    events = [
        json.dumps(
            {
                "ticket": "A",
                "at": "2027-03-28T21:59:59Z",
                "event": "created",
                "priority": "low",
                "channel": "email",
            }
        ),
        json.dumps(
            {
                "ticket": "B",
                "at": "2027-03-28T22:00:00Z",
                "event": "created",
                "priority": "low",
                "channel": "email",
            }
        ),
    ]
    engine = KpiEngine(desk())
    figures = engine.compute(histories(events), period).kpis
    assert figures["backlog"]["days"] == {"2027-03-28": 1, "2027-03-29": 2}


def test_a_day_without_a_midnight_starts_when_its_clocks_do():
    """Havana moves its clocks from 00:00 to 01:00 on 14 March 2027: the day starts at 05:00 UTC."""
    period = make_period(date(2027, 3, 14), date(2027, 3, 14), "America/Havana")
    assert period.start == utc("2027-03-14T05:00:00")
    assert period.end == utc("2027-03-15T04:00:00")


def test_a_period_between_two_instants_cuts_its_days_at_local_midnight():
    """What-if's "last N days to the top of the hour": 4 January 10:00 UTC to 6 January 15:00 UTC
    in Berlin has three days, ending at 23:00 UTC on the 4th and 5th and at 15:00 on the 6th."""
    period = period_between(utc("2027-01-04T10:00:00"), utc("2027-01-06T15:00:00"), "Europe/Berlin")
    assert (period.first, period.last) == (date(2027, 1, 4), date(2027, 1, 6))
    assert (period.start, period.end) == (utc("2027-01-04T10:00:00"), utc("2027-01-06T15:00:00"))
    assert period.day_ends == (
        utc("2027-01-04T23:00:00"),
        utc("2027-01-05T23:00:00"),
        utc("2027-01-06T15:00:00"),
    )
    one = period_between(utc("2027-01-04T10:00:00"), utc("2027-01-04T12:00:00"), "Europe/Berlin")
    assert one.day_ends == (utc("2027-01-04T12:00:00"),) and one.first == one.last
    with pytest.raises(ValueError, match="ends"):
        period_between(10, 10, "UTC")


def test_with_the_callers_sla_answers_the_end_instant_belongs_to_the_period():
    """What-if hands the KPI engine the SLA answers it made at the period's end, events at that
    very instant applied (as `sla replay --now` does): the first reply and the rating given at
    that instant count. Without them the engine cuts the period before that instant."""
    engine = KpiEngine(desk())
    events = [
        created("A", "01-04 09:00"),
        created("B", "01-04 09:00"),
        agent("B", "01-04 09:30"),
        agent("A", "01-04 11:00"),
        survey("A", "01-04 11:00", "csat", 5),
    ]
    end = utc("2027-01-04T10:00:00")  # 11:00 in Berlin
    period = period_between(utc("2027-01-04T07:00:00"), end, engine.timezone)
    found = histories(events)
    results = [engine.sla.evaluate(history.events, end) for history in found]
    given = engine.compute(found, period, results=results).figures
    assert given["sla_compliance"] == {"achieved": 2, "breached": 0, "value": 1.0}
    assert given["first_response_time"]["count"] == 2
    assert given["csat"] == {"answered": 1, "satisfied": 1, "value": 1.0}
    cut = engine.compute(found, period).figures
    assert cut["sla_compliance"] == {"achieved": 1, "breached": 0, "value": 1.0}
    assert cut["csat"]["answered"] == 0
    # Nothing at the end instant: the same figures either way.
    earlier = period_between(period.start, end - 60, engine.timezone)
    again = [engine.sla.evaluate([e for e in h.events if e.at <= end - 60], end - 60) for h in found]
    cut_again = [TicketHistory([e for e in h.events if e.at <= end - 60], h.surveys) for h in found]
    assert engine.compute(cut_again, earlier, results=again).figures == engine.compute(found, earlier).figures


def test_a_period_that_ends_before_it_starts_is_refused():
    """--to before --from is an error that says so."""
    with pytest.raises(ValueError, match="ends"):
        make_period(date(2027, 1, 5), date(2027, 1, 4), "UTC")


# --------------------------------------------------------------------------- which KPIs are listed


EVERY_KPI_BUT_HANDLE_TIME = {
    "first_response_time",
    "next_response_time",
    "resolution_time",
    "sla_compliance",
    "csat",
    "nps",
    "ces",
    "fcr",
    "backlog",
    "reopen_rate",
}


def test_without_reporting_every_kpi_but_handle_time_is_listed():
    """No reporting section: every KPI of the spec, except handle_time, which the command never lists."""
    assert set(kpis([created("T1", "01-04 09:00")], "01-04")) == EVERY_KPI_BUT_HANDLE_TIME


def test_reporting_kpis_choose_the_list():
    """reporting.kpis [csat, backlog] lists those two; no kpis key lists all; kpis: [] lists none;
    handle_time is left out even when named."""
    events = [created("T1", "01-04 09:00")]
    chosen = make_protocol(protocol_data(reporting={"kpis": ["csat", "backlog"]}))
    assert set(kpis(events, "01-04", protocol=chosen)) == {"csat", "backlog"}
    unnamed = make_protocol(protocol_data(reporting={"schedule": []}))
    assert set(kpis(events, "01-04", protocol=unnamed)) == EVERY_KPI_BUT_HANDLE_TIME
    empty = make_protocol(protocol_data(reporting={"kpis": []}))
    assert kpis(events, "01-04", protocol=empty) == {}
    handle = make_protocol(protocol_data(reporting={"kpis": ["handle_time", "fcr"]}))
    assert set(kpis(events, "01-04", protocol=handle)) == {"fcr"}


def test_handle_time_is_the_desk_s_measure():
    """The desk gives each ticket's measured work; the KPI counts tickets solved in the period."""
    engine = KpiEngine(desk())
    start = utc("2027-01-04T08:00:00")
    solved = TicketHistory(
        [Created(start, "normal", "email"), Reply(start + 600, True), StatusChange(start + 900, "solved")],
        work=[Work(start, "7", 300), Work(start + 600, "8", 120)],
    )
    open_ticket = TicketHistory([Created(start, "normal", "email")], work=[Work(start, "7", 900)])
    result = engine.compute(
        [solved, open_ticket], engine.period(day("01-04"), day("01-04")), kpis=["handle_time"]
    )
    assert result.kpis == {"handle_time": one_time(420)}


# --------------------------------------------------------------------------- objectives


OBJECTIVES = [
    {"id": "fast-first-reply", "kpi": "first_response_time", "target": {"p90": "1h"}},
    {"id": "typical-reply", "kpi": "first_response_time", "target": {"p50": "30m", "p90": "2h"}},
    {"id": "keep-promises", "kpi": "sla_compliance", "target": {"min": 0.5}},
    {"id": "small-backlog", "kpi": "backlog", "target": {"max": 1}},
    {"id": "effortless", "kpi": "ces", "target": {"min": 5}},
    {"id": "quick-work", "kpi": "handle_time", "target": {"p90": "1h"}},
]


def test_objectives_compare_like_for_like():
    """First responses of 20 and 90 minutes: p90 is 5,400 s, over the 1 h objective and within
    2 h, but p50 (1,200 s) is within 30 m, so {p50: 30m, p90: 2h} is met; compliance 0.5 meets
    min 0.5 (bounds are inclusive); a backlog of 2 misses max 1; no CES answers and no handle
    time on the command line: null actuals and met null. Objectives are listed whether or not
    their KPI is."""
    protocol = make_protocol(
        protocol_data(objectives=OBJECTIVES, reporting={"kpis": ["first_response_time"]})
    )
    events = [
        created("A", "01-04 09:00"),
        agent("A", "01-04 09:20"),
        created("B", "01-04 09:00"),
        agent("B", "01-04 10:30"),
    ]
    result = report(events, "01-04", protocol=protocol).as_json()
    assert list(result["kpis"]) == ["first_response_time"]
    assert result["objectives"] == [
        {
            "id": "fast-first-reply",
            "kpi": "first_response_time",
            "target": {"p90": 3600},
            "actual": {"p90": 5400},
            "met": False,
        },
        {
            "id": "typical-reply",
            "kpi": "first_response_time",
            "target": {"p50": 1800, "p90": 7200},
            "actual": {"p50": 1200, "p90": 5400},
            "met": True,
        },
        {
            "id": "keep-promises",
            "kpi": "sla_compliance",
            "target": {"min": 0.5},
            "actual": {"min": 1.0},
            "met": True,
        },
        {"id": "small-backlog", "kpi": "backlog", "target": {"max": 1}, "actual": {"max": 2}, "met": False},
        {"id": "effortless", "kpi": "ces", "target": {"min": 5}, "actual": {"min": None}, "met": None},
        {
            "id": "quick-work",
            "kpi": "handle_time",
            "target": {"p90": 3600},
            "actual": {"p90": None},
            "met": None,
        },
    ]


def test_an_objective_is_met_only_when_every_key_is():
    """{p50: 30m, p90: 2h} with a single 3 h response: both keys missed, met false; a ratio exactly
    on its bound is met."""
    protocol = make_protocol(protocol_data(objectives=OBJECTIVES[1:3]))
    events = [
        created("A", "01-04 09:00"),
        agent("A", "01-04 10:00"),
        created("B", "01-04 09:00"),
        agent("B", "01-04 14:00"),
    ]
    objectives = report(events, "01-04", protocol=protocol).objectives
    assert objectives[0]["actual"] == {"p50": 3600, "p90": 18000}
    assert objectives[0]["met"] is False
    assert objectives[1]["actual"] == {"min": 0.5}
    assert objectives[1]["met"] is True


# --------------------------------------------------------------------------- breakdowns


def test_breakdowns_follow_the_ticket_at_each_count():
    """Ana answers A (frontline, email, normal) after 30 m; A moves to tier2, where Ben answers the
    customer's next message after 1 h and solves it (3.5 h). Ana answers B (no group, chat, high)
    after 15 m and solves it (30 m). Each count goes to the group and agent the ticket had when
    it was made."""
    engine = KpiEngine(desk())
    start = utc("2027-01-04T08:00:00")  # Monday 09:00 in Berlin
    minutes = 60
    from charterdesk.engine.sla import GroupChange

    a = TicketHistory(
        [
            Created(start, "normal", "email", (), "frontline"),
            Reply(start + 30 * minutes, True),
            GroupChange(start + 60 * minutes, "tier2"),
            Reply(start + 120 * minutes, False),
            Reply(start + 180 * minutes, True),
            StatusChange(start + 210 * minutes, "solved"),
        ],
        agents={1: "ana", 4: "ben"},
    )
    b = TicketHistory(
        [
            Created(start, "high", "chat"),
            Reply(start + 15 * minutes, True),
            StatusChange(start + 30 * minutes, "solved"),
        ],
        agents={1: "ana"},
    )
    period = engine.period(day("01-04"), day("01-04"))
    result = engine.compute([a, b], period, by=("group", "channel", "priority", "agent"))
    groups = result.breakdown["group"]
    assert set(groups) == {"frontline", "tier2", None}
    assert groups["frontline"]["first_response_time"] == one_time(1800)
    assert groups["frontline"]["fcr"] == {"solved": 0, "value": None}
    assert groups["tier2"]["first_response_time"] == no_times()
    assert groups["tier2"]["next_response_time"] == one_time(3600)
    assert groups["tier2"]["resolution_time"] == one_time(12600)
    assert groups["tier2"]["fcr"] == {"solved": 1, "value": 0.0}
    assert groups[None]["first_response_time"] == one_time(900)
    assert groups[None]["resolution_time"] == one_time(1800)
    agents = result.breakdown["agent"]
    assert agents["ana"]["first_response_time"] == {
        "count": 2,
        "mean": 1350,
        "p50": 900,
        "p90": 1800,
        "p95": 1800,
    }
    assert agents["ana"]["fcr"] == {"solved": 1, "value": 1.0}
    assert agents["ben"]["next_response_time"] == one_time(3600)
    assert agents["ben"]["resolution_time"] == one_time(12600)
    assert agents["ana"]["reopen_rate"] == {"solved": 1, "value": 0.0}
    assert set(result.breakdown["channel"]) == {"email", "chat"}
    assert result.breakdown["priority"]["high"]["resolution_time"] == one_time(1800)
    assert result.kpis["first_response_time"]["count"] == 2


def test_a_breakdown_by_priority_sees_escalations():
    """A rule sets priority urgent when the first response breaches (13:00 for a normal ticket);
    urgent's 1 h target then puts the breach at 10:00, when the ticket was still normal. The
    urgent resolution clock (4 h) is breached at 13:00, as urgent. The reply at 14:30 counts as
    an urgent ticket's first response (5.5 h)."""
    protocol = make_protocol(
        protocol_data(
            escalation=[
                {
                    "id": "bump",
                    "when": {"metric": "first_response", "breached": True},
                    "do": [{"set_priority": "urgent"}],
                }
            ]
        )
    )
    events = [created("T1", "01-04 09:00"), agent("T1", "01-04 14:30"), status("T1", "01-04 14:45", "solved")]
    result = report(events, "01-04", protocol=protocol, by=("priority",))
    priorities = result.breakdown["priority"]
    assert priorities["normal"]["sla_compliance"] == {"achieved": 0, "breached": 1, "value": 0.0}
    assert priorities["urgent"]["sla_compliance"] == {"achieved": 0, "breached": 1, "value": 0.0}
    assert priorities["urgent"]["first_response_time"] == one_time(19800)
    assert result.kpis["sla_compliance"] == {"achieved": 0, "breached": 2, "value": 0.0}


def test_a_reopening_goes_with_the_solve_that_did_not_hold():
    """Ana solves, the customer reopens, Ben solves again: the reopening is Ana's (her solve did not
    hold), the ticket's fcr and resolution go with Ben's last solve."""
    engine = KpiEngine(desk())
    start = utc("2027-01-04T08:00:00")
    history = TicketHistory(
        [
            Created(start, "normal", "email"),
            Reply(start + 600, True),
            StatusChange(start + 900, "solved"),
            Reply(start + 1800, False),
            Reply(start + 2400, True),
            StatusChange(start + 2700, "solved"),
        ],
        agents={1: "ana", 4: "ben"},
    )
    result = engine.compute([history], engine.period(day("01-04"), day("01-04")), by=("agent",))
    agents = result.breakdown["agent"]
    assert agents["ana"]["reopen_rate"] == {"solved": 1, "value": 1.0}
    assert agents["ana"]["fcr"] == {"solved": 0, "value": None}
    assert agents["ben"]["reopen_rate"] == {"solved": 0, "value": None}
    assert agents["ben"]["fcr"] == {"solved": 1, "value": 0.0}
    assert agents["ben"]["resolution_time"] == one_time(1800)


def test_backlog_by_group_follows_moves_between_days():
    """A ticket in frontline on Monday and moved to tier2 on Tuesday is in frontline's backlog on
    Monday and in tier2's on Tuesday."""
    events = [
        created("T1", "01-04 10:00", group="frontline"),
        line("T1", "01-05 10:00", "group", group="tier2"),
    ]
    groups = report(events, "01-04", "01-05", by=("group",)).breakdown["group"]
    assert groups["frontline"]["backlog"] == {"days": {"2027-01-04": 1, "2027-01-05": 0}, "value": 0}
    assert groups["tier2"]["backlog"] == {"days": {"2027-01-04": 0, "2027-01-05": 1}, "value": 1}


def test_a_period_in_progress_is_judged_at_now():
    """The desk asks for this week on Tuesday 12:00: a first response due Tuesday 13:00 and still
    open is not breached yet (at the week's end it would be), the backlog has Monday and
    Tuesday so far (Tuesday's as it stands at noon), and a rating given at 11:00 counts."""
    engine = KpiEngine(desk())
    period = engine.period(day("01-04"), day("01-10"))
    events = [
        created("A", "01-05 09:00"),
        created("B", "01-04 10:00"),
        agent("B", "01-04 10:30"),
        status("B", "01-04 11:00", "solved"),
        survey("B", "01-05 11:00", "csat", 5),
        created("C", "01-05 11:30"),
    ]
    now = utc("2027-01-05T11:00:00")  # Tuesday 12:00 in Berlin
    result = engine.compute(histories(events), period, now=now).figures
    assert result["sla_compliance"] == {"achieved": 2, "breached": 0, "value": 1.0}
    assert result["backlog"] == {"days": {"2027-01-04": 0, "2027-01-05": 2}, "value": 2}
    assert result["csat"] == {"answered": 1, "satisfied": 1, "value": 1.0}
    whole_week = engine.compute(histories(events), period).figures
    # By Sunday's end A's and C's first responses and resolutions are all past due.
    assert whole_week["sla_compliance"]["breached"] == 4
    with pytest.raises(ValueError, match="before the period"):
        engine.compute(histories(events), period, now=period.start)


def test_an_unknown_dimension_is_refused():
    """Breaking a report down by something else is an error naming the choices."""
    engine = KpiEngine(desk())
    with pytest.raises(ValueError, match="group, channel, priority, agent"):
        engine.compute([], engine.period(day("01-04"), day("01-04")), by=("colour",))


# --------------------------------------------------------------------------- reading survey lines


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (survey("T1", "01-04 12:00", "csat", 6), "survey: csat score 6 must be a whole number from 1 to 5"),
        (survey("T1", "01-04 12:00", "csat", 0), "survey: csat score 0 must be a whole number from 1 to 5"),
        (survey("T1", "01-04 12:00", "nps", 11), "survey: nps score 11 must be a whole number from 0 to 10"),
        (survey("T1", "01-04 12:00", "ces", 4.5), "survey: ces score 4.5 must be a whole number from 1 to 7"),
        (
            survey("T1", "01-04 12:00", "ces", True),
            "survey: ces score true must be a whole number from 1 to 7",
        ),
        (survey("T1", "01-04 12:00", "ces", "4"), 'survey: ces score "4" must be a whole number from 1 to 7'),
        (survey("T1", "01-04 12:00", "stars", 4), 'survey: kind "stars" must be csat, nps or ces'),
        (line("T1", "01-04 12:00", "survey", score=4), "survey: missing field 'kind'"),
        (line("T1", "01-04 12:00", "survey", kind="nps"), "survey: missing field 'score'"),
        (
            survey("T9", "01-04 12:00", "nps", 9),
            "event for unknown ticket 'T9': its first event must be 'created'",
        ),
        (
            survey("T1", "01-04 08:00", "nps", 9),
            "out of time order: 2027-01-04T07:00:00Z is before ticket 'T1''s previous event "
            "at 2027-01-04T08:00:00Z",
        ),
        (
            line("T1", "01-04 12:00", "surveys"),
            'unknown event "surveys"; use created, reply, status, priority, tags, group, incident, survey',
        ),
    ],
)
def test_a_malformed_survey_line_names_its_line(bad, message):
    """Each problem with a survey line is FILE:LINE: message."""
    lines = [created("T1", "01-04 09:00"), bad]
    with pytest.raises(ReplayError) as caught:
        KpiEngine(desk()).read(lines, "events.jsonl")
    assert str(caught.value) == f"events.jsonl:2: {message}"


def test_survey_scale_follows_the_protocol():
    """A 10 is a rating on a scale of 10, not on the default 5."""
    lines = [created("T1", "01-04 09:00"), survey("T1", "01-04 12:00", "csat", 10)]
    assert read_histories(lines, "e", csat_scale=10).histories["T1"].surveys[0].score == 10
    with pytest.raises(ReplayError):
        read_histories(lines, "e")


def test_surveys_after_closing_are_read_and_kept_in_order():
    """A closed ticket takes survey answers (and only those), in time order."""
    lines = [
        created("T1", "01-04 09:00"),
        status("T1", "01-04 10:00", "closed"),
        survey("T1", "01-04 11:00", "csat", 2),
        survey("T1", "01-04 12:00", "csat", 5),
    ]
    history = read_histories(lines, "e").histories["T1"]
    assert [(s.kind, s.score) for s in history.surveys] == [("csat", 2), ("csat", 5)]
    assert len(history.events) == 2
    with pytest.raises(ReplayError, match="e:4: out of time order"):
        read_histories([*lines[:3], survey("T1", "01-04 10:30", "csat", 5)], "e")


# --------------------------------------------------------------------------- the command


def run(argv: list[str], capsys) -> tuple[int, str, str]:
    code = cli_main(["kpi", *argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def demo_events(tmp_path):
    path = tmp_path / "events.jsonl"
    path.write_text(
        "\n".join(
            [created("T1", "01-04 09:00"), agent("T1", "01-04 09:30"), status("T1", "01-04 10:00", "solved")]
        )
        + "\n"
    )
    return path


@pytest.fixture
def protocol_file(tmp_path):
    path = tmp_path / "protocol.yaml"
    path.write_text(yaml.safe_dump(protocol_data(), sort_keys=False))
    return path


def test_command_prints_one_json_object(demo_events, protocol_file, capsys):
    """charterdesk kpi prints the period, the KPIs and the objectives as one JSON object."""
    code, out, err = run(
        ["--protocol", str(protocol_file), "--from", "2027-01-04", "--to", "2027-01-04", str(demo_events)],
        capsys,
    )
    assert (code, err) == (0, "")
    result = json.loads(out)
    assert result["period"] == {"from": "2027-01-04", "to": "2027-01-04", "timezone": "Europe/Berlin"}
    assert result["kpis"]["first_response_time"] == one_time(1800)
    assert result["kpis"]["fcr"] == {"solved": 1, "value": 1.0}
    assert result["objectives"] == []


def test_command_writes_the_output_file(demo_events, protocol_file, tmp_path, capsys):
    """-o writes the same object to a file and prints nothing."""
    out_path = tmp_path / "kpis.json"
    code, out, _ = run(
        [
            "--protocol",
            str(protocol_file),
            "--from",
            "2027-01-04",
            "--to",
            "2027-01-05",
            str(demo_events),
            "-o",
            str(out_path),
        ],
        capsys,
    )
    assert (code, out) == (0, "")
    assert json.loads(out_path.read_text())["kpis"]["backlog"]["days"] == {"2027-01-04": 0, "2027-01-05": 0}


def test_command_refuses_a_malformed_line_and_writes_nothing(protocol_file, tmp_path, capsys):
    """A bad survey line: exit 1, FILE:LINE: message, no output file."""
    events = tmp_path / "events.jsonl"
    events.write_text(created("T1", "01-04 09:00") + "\n" + survey("T1", "01-04 12:00", "nps", 12) + "\n")
    out_path = tmp_path / "kpis.json"
    code, _, err = run(
        [
            "--protocol",
            str(protocol_file),
            "--from",
            "2027-01-04",
            "--to",
            "2027-01-04",
            str(events),
            "-o",
            str(out_path),
        ],
        capsys,
    )
    assert code == 1
    assert err == f"{events}:2: survey: nps score 12 must be a whole number from 0 to 10\n"
    assert not out_path.exists()


@pytest.mark.parametrize(
    ("first", "last", "message"),
    [
        (
            "2027-02-30",
            "2027-03-01",
            "charterdesk kpi: --from: '2027-02-30' is not a date: February 2027 has no day 30",
        ),
        (
            "2027-01-04",
            "4.1.2027",
            "charterdesk kpi: --to: '4.1.2027' is not a date; write YYYY-MM-DD, such as 2026-12-24",
        ),
        ("2027-01-05", "2027-01-04", "charterdesk kpi: --to 2027-01-04 is before --from 2027-01-05"),
    ],
)
def test_command_refuses_bad_dates(demo_events, protocol_file, first, last, message, capsys):
    """An impossible date or a period that ends before it starts: exit 2 and why."""
    code, out, err = run(
        ["--protocol", str(protocol_file), "--from", first, "--to", last, str(demo_events)], capsys
    )
    assert (code, out, err) == (2, "", message + "\n")


def test_command_refuses_a_protocol_that_does_not_validate(demo_events, tmp_path, capsys):
    """A broken protocol: exit 2, its problems as FILE:LINE:COL, nothing computed."""
    bad = tmp_path / "bad.yaml"
    bad.write_text("format: 1\ncompany: X\n")
    code, out, err = run(
        ["--protocol", str(bad), "--from", "2027-01-04", "--to", "2027-01-04", str(demo_events)], capsys
    )
    assert code == 2 and out == ""
    assert f"{bad}: the protocol does not validate; no KPIs were computed" in err
    assert f"{bad}:1:1:" in err


def test_events_at_or_after_the_end_are_checked_but_not_used(protocol_file, tmp_path, capsys):
    """A malformed line dated after the period still fails the run: every line must be well formed."""
    events = tmp_path / "events.jsonl"
    events.write_text(
        created("T1", "01-04 09:00") + "\n" + line("T1", "02-01 09:00", "status", status="done") + "\n"
    )
    code, _, err = run(
        ["--protocol", str(protocol_file), "--from", "2027-01-04", "--to", "2027-01-04", str(events)], capsys
    )
    assert code == 1
    assert err.startswith(f"{events}:2: ")


def test_at_is_the_helpers_berlin_time():
    """The helpers write Berlin times with their offset (a guard for every example's arithmetic)."""
    assert at("01-04 09:00") == "2027-01-04T09:00:00+01:00"
    assert customer("T1", "01-04 09:00").startswith('{"ticket": "T1"')


def test_compiled_and_plain_python_kpis_are_byte_for_byte_the_same(tmp_path):
    """The KPI command gives the same file with the compiled engine and as plain Python, on a
    generated log of 20,000 events with survey answers added."""
    root = Path(__file__).resolve().parents[2]
    events = tmp_path / "events.jsonl"
    subprocess.run(
        [sys.executable, str(root / "bench" / "gen_events.py"), "--events", "20000", "-o", str(events)],
        check=True,
        capture_output=True,
    )
    with events.open("a", encoding="utf-8") as log:
        for number in range(1, 400):
            at_text = f"2027-04-{number % 28 + 1:02d}T12:00:00Z"
            log.write(
                json.dumps(
                    {
                        "ticket": f"T{number:07d}",
                        "at": at_text,
                        "event": "survey",
                        "kind": "csat",
                        "score": number % 5 + 1,
                    }
                )
                + "\n"
            )
    outputs = []
    for pure in ("1", "0"):
        out = tmp_path / f"kpis-{pure}.json"
        command = [
            sys.executable,
            "-m",
            "charterdesk.kpi_command",
            "--protocol",
            str(root / "charterdesk/demo/acme-outdoor.protocol.yaml"),
        ]
        command += ["--from", "2026-10-01", "--to", "2027-04-30", str(events), "-o", str(out)]
        subprocess.run(command, env=dict(os.environ, CHARTERDESK_PURE_PYTHON=pure), check=True, cwd=root)
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1]
    assert json.loads(outputs[0])["kpis"]["csat"]["answered"] > 300


def test_the_worked_example_of_docs_reports_md(tmp_path, capsys):
    """docs/examples/kpi-events.jsonl over the demo protocol gives docs/examples/kpi-output.json."""
    root = Path(__file__).resolve().parents[2]
    code, out, err = run(
        [
            "--protocol",
            str(root / "charterdesk/demo/acme-outdoor.protocol.yaml"),
            "--from",
            "2027-01-11",
            "--to",
            "2027-01-17",
            str(root / "docs/examples/kpi-events.jsonl"),
        ],
        capsys,
    )
    assert (code, err) == (0, "")
    assert json.loads(out) == json.loads((root / "docs/examples/kpi-output.json").read_text())


def test_the_command_never_starts_django(demo_events, protocol_file, tmp_path):
    """charterdesk kpi works on files alone: Django is never imported."""
    argv = ["kpi", "--protocol", str(protocol_file), "--from", "2027-01-04", "--to", "2027-01-04"]
    argv += [str(demo_events), "-o", str(tmp_path / "out.json")]
    code = (
        f"import sys; from charterdesk.cli import main; rc = main({argv!r}); "
        "print(rc, any(name == 'django' or name.startswith('django.') for name in sys.modules))"
    )
    root = Path(__file__).resolve().parents[2]
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=root, env=env, capture_output=True, text=True, check=True
    )
    assert done.stdout.split() == ["0", "False"]
