"""The reports page: the engine's figures for a period, whose they are, and the CSV behind each table."""

from __future__ import annotations

import csv
import io
import json

import pytest

from charterdesk import kpi_command
from charterdesk.library.versions import version_in_force
from charterdesk.tickets.export import event_lines
from charterdesk.tickets.lifecycle import all_answers, hooks
from charterdesk.tickets.live_sla import replay_line

from .conftest import WEEK

pytestmark = pytest.mark.django_db

CUSTOM = {"period": "custom", "from": WEEK[0], "to": WEEK[1]}


def exported(tickets) -> str:
    """The tickets' events as `charterdesk tickets export-events` writes them, with the survey answers
    the families keep (added after each ticket's own events when the export does not write them)."""
    ids = sorted(t.pk for t in tickets)
    lines = list(event_lines(ids))
    if not any('"event":"survey"' in line for line in lines):
        for event in sorted(all_answers(hooks.history_events(ticket_ids=ids)), key=lambda e: e.at):
            lines.append(json.dumps(replay_line(event.ticket_id, event.event, event.at, dict(event.data))))
    return "\n".join(lines) + "\n"


def command_line(tmp_path, tickets, capsys) -> dict:
    protocol = tmp_path / "protocol.yaml"
    protocol.write_text(version_in_force().source, encoding="utf-8")
    events = tmp_path / "events.jsonl"
    events.write_text(exported(tickets), encoding="utf-8")
    capsys.readouterr()
    assert (
        kpi_command.main(["--protocol", str(protocol), "--from", WEEK[0], "--to", WEEK[1], str(events)]) == 0
    )
    return json.loads(capsys.readouterr().out)


def test_the_managers_page_shows_what_charterdesk_kpi_computes_from_the_exported_events(
    signed_in, week, tmp_path, capsys
):
    """The manager's reports page for 2-8 March 2026 shows, KPI by KPI and objective by objective,
    exactly what `charterdesk kpi` computes from the exported events of the same four tickets (CSAT
    1 of 2 satisfied: 50%; the happy-customers objective missed)."""
    expected = command_line(tmp_path, week.values(), capsys)
    response = signed_in("manager").get("/reports/", CUSTOM)
    assert response.status_code == 200
    page = response.context["page"]
    assert page.scope.kind == "all"
    for kpi, figures in expected["kpis"].items():
        assert page.figures[kpi] == figures, kpi
    assert page.objectives == expected["objectives"]
    assert expected["kpis"]["csat"] == {"answered": 2, "satisfied": 1, "value": 0.5}
    html = response.content.decode()
    assert "50%" in html and "Missed" in html


def test_the_kpi_csv_carries_the_same_numbers_as_the_page(signed_in, week):
    """Downloading the KPIs as CSV gives one row per KPI of reporting.kpis, in order, with the raw
    figures (CSAT: 2 answered, value 0.5; first response times in seconds)."""
    client = signed_in("manager")
    response = client.get("/reports/kpis.csv", CUSTOM)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert 'filename="kpis-2026-03-02-2026-03-08.csv"' in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    page = client.get("/reports/", CUSTOM).context["page"]
    assert [r["kpi"] for r in rows] == page.kpis
    csat = next(r for r in rows if r["kpi"] == "csat")
    assert (csat["counted"], csat["value"]) == ("2", "0.5")
    first = next(r for r in rows if r["kpi"] == "first_response_time")
    assert first["p90"] == str(page.figures["first_response_time"]["p90"])


@pytest.mark.parametrize("table", ["objectives", "trend", "group", "channel", "priority", "agent"])
def test_every_table_of_the_managers_page_downloads_as_csv(signed_in, week, table):
    """Each table of the manager's page (objectives, trend, and each breakdown) downloads as a CSV
    file with a header row and at least one row."""
    response = signed_in("manager").get(f"/reports/{table}.csv", CUSTOM)
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert rows


def test_the_trend_has_a_point_per_day_and_the_chart_is_svg(signed_in, week):
    """A week's report has seven daily trend points (2 to 8 March), and each reported KPI has an SVG
    chart with a title and a unit on its axis."""
    response = signed_in("manager").get("/reports/", CUSTOM)
    page = response.context["page"]
    assert [first for first, _ in page.trend] == [f"2026-03-0{d}" for d in range(2, 9)]
    html = response.content.decode()
    assert html.count('<svg xmlns="http://www.w3.org/2000/svg" class="chart"') == len(page.kpis)
    assert "<title>CSAT" in html or "<title>Customer satisfaction" in html
    assert "percent" in html and "hours (p90)" in html


def test_a_bad_date_is_refused_by_name(signed_in, demo):
    """A custom period with 'to' set to 2026-02-30 is refused with a message naming the field."""
    response = signed_in("manager").get(
        "/reports/", {"period": "custom", "from": "2026-02-01", "to": "2026-02-30"}
    )
    assert response.status_code == 400
    assert "to: &#x27;2026-02-30&#x27; is not a date" in response.content.decode()
