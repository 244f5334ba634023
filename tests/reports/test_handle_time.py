"""Handle time on the reports page, in its CSV and in the mailed report, when the protocol in force
lists it: the agents' measured time on each ticket solved in the period, and each agent's own."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest

from charterdesk.library.versions import version_in_force
from charterdesk.tickets.models import WorkTime
from charterdesk.tickets.worktime import add_work

from .conftest import WEEK

pytestmark = pytest.mark.django_db

CUSTOM = {"period": "custom", "from": WEEK[0], "to": WEEK[1]}
DEMO_KPIS = (
    "kpis: [first_response_time, resolution_time, sla_compliance, csat, fcr, backlog, reopen_rate, nps]"
)


@pytest.fixture
def handle_time_listed(demo):
    """Version 3.3 of the demo protocol, listing handle_time first among its KPIs, is in force."""
    from charterdesk.library.actions import do_create_draft, do_publish

    source = version_in_force().source
    assert DEMO_KPIS in source and 'version: "3.2"' in source
    source = source.replace(DEMO_KPIS, DEMO_KPIS.replace("[", "[handle_time, ")).replace(
        'version: "3.2"', 'version: "3.3"'
    )
    return do_publish(do_create_draft(source, actor=demo["manager"]), actor=demo["manager"])


@pytest.fixture
def worked(week, demo):
    """Time worked in the week (days in New York): on A (solved Monday) Alex 5 min and Ravi 2 min
    on Monday; on C (solved Thursday) Dana 10 min Wednesday and a 1 min call by Alex Thursday; on B
    (still open) Ravi 15 min. Handle time: A 420 s, C 660 s; B is not counted."""
    alex, ravi, dana = demo["agent"], demo["lead"], demo["manager"]
    a, b, c = week["A"], week["B"], week["C"]
    add_work(a.pk, alex.pk, dt.date(2026, 3, 2), WorkTime.PAGE, 300)
    add_work(a.pk, ravi.pk, dt.date(2026, 3, 2), WorkTime.PAGE, 120)
    add_work(c.pk, dana.pk, dt.date(2026, 3, 4), WorkTime.PAGE, 600)
    add_work(c.pk, alex.pk, dt.date(2026, 3, 5), WorkTime.CALL, 60)
    add_work(b.pk, ravi.pk, dt.date(2026, 3, 4), WorkTime.PAGE, 900)
    return week


def test_the_reports_page_shows_handle_time_from_the_time_worked(signed_in, handle_time_listed, worked):
    """The manager's page for 2-8 March lists handle time: 2 tickets solved with time measured
    (420 s and 660 s): mean 540 s shown as 9 min, p50 7 min, p90 11 min; the words say what it
    measures; Monday's trend point has A's 420 s, charted in minutes."""
    response = signed_in("manager").get("/reports/", CUSTOM)
    assert response.status_code == 200
    page = response.context["page"]
    assert page.kpis[0] == "handle_time"
    assert page.figures["handle_time"] == {"count": 2, "mean": 540, "p50": 420, "p90": 660, "p95": 660}
    row = next(r for r in response.context["kpi_rows"] if r["kpi"] == "handle_time")
    assert row["label"] == "Handle time"
    assert (row["shown"]["counted"], row["shown"]["mean"], row["shown"]["p50"], row["shown"]["p90"]) == (
        "2",
        "9 min",
        "7 min",
        "11 min",
    )
    html = response.content.decode()
    assert 'data-kpi="handle_time"' in html
    assert "its page open, visible and in use" in html and "not measured" not in html
    assert dict(page.trend)["2026-03-02"]["handle_time"]["p90"] == 420
    assert "minutes (p90)" in html  # its chart plots minutes of work


def test_each_agent_s_row_has_their_own_time_on_the_tickets(signed_in, handle_time_listed, worked, demo):
    """By agent: Alex worked 300 s on A and a 60 s call on C (2 tickets, p90 300 s); Ravi 120 s on
    A (his 900 s on open B do not count); Dana 600 s on C. Alex's own page shows his figures."""
    response = signed_in("manager").get("/reports/", CUSTOM)
    agents = response.context["page"].breakdown["agent"]
    alex, ravi, dana = (str(demo[role].pk) for role in ("agent", "lead", "manager"))
    assert agents[alex]["handle_time"] == {"count": 2, "mean": 180, "p50": 60, "p90": 300, "p95": 300}
    assert agents[ravi]["handle_time"] == {"count": 1, "mean": 120, "p50": 120, "p90": 120, "p95": 120}
    assert agents[dana]["handle_time"] == {"count": 1, "mean": 600, "p50": 600, "p90": 600, "p95": 600}
    rows = [
        r
        for r in csv.DictReader(
            io.StringIO(signed_in("manager").get("/reports/agent.csv", CUSTOM).content.decode())
        )
        if r["kpi"] == "handle_time"
    ]
    assert {(r["agent"], r["counted"], r["p90"]) for r in rows} >= {
        ("Alex Kim", "2", "300"),
        ("Ravi Menon", "1", "120"),
        ("Dana Whitfield", "1", "600"),
    }
    own = signed_in("agent").get("/reports/", CUSTOM).context["page"]
    assert own.figures["handle_time"]["p90"] == 300


def test_the_kpi_csv_and_the_mailed_report_carry_handle_time(signed_in, handle_time_listed, worked):
    """The KPI CSV has handle time's raw seconds (count 2, mean 540); the scheduled report's mail
    for the same week shows the same row, 9 minutes on average."""
    from charterdesk.reports.figures import kpi_engine
    from charterdesk.reports.mail import render_html, report_for

    rows = list(
        csv.DictReader(io.StringIO(signed_in("manager").get("/reports/kpis.csv", CUSTOM).content.decode()))
    )
    handle = next(r for r in rows if r["kpi"] == "handle_time")
    assert (handle["counted"], handle["mean"], handle["p90"]) == ("2", "540", "660")
    version = version_in_force()
    from charterdesk.library.versions import protocol_of

    engine = kpi_engine(version, protocol_of(version))
    page = report_for(
        engine, dt.date(2026, 3, 2), dt.date(2026, 3, 8), dt.datetime(2026, 3, 9, 14, tzinfo=dt.UTC)
    )
    html = render_html(page, "Weekly report")
    assert "<th>Handle time</th><td>2</td><td>—</td><td>9 min</td>" in html
