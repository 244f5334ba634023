"""Try a draft on the desk's history: the request, the worker's run, the report's pages, the
command line against the database, and the same numbers as `sla replay` on the export."""

from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path

import pytest
from django.core.management import call_command
from django.utils import timezone

from charterdesk.audit.models import AuditEntry
from charterdesk.demo.tickets import load_demo_tickets
from charterdesk.engine.kpis import KpiEngine, TicketHistory
from charterdesk.engine.replay import read_events
from charterdesk.engine.whatif import compare, judge, outcome_of_line, priority_at
from charterdesk.library.actions import do_create_draft
from charterdesk.library.versions import version_in_force
from charterdesk.protocol.load import load_protocol_or_raise
from charterdesk.replay_command import main as replay_main
from charterdesk.tickets.export import event_lines
from charterdesk.tickets.live_sla import to_seconds
from charterdesk.whatif.actions import do_request_whatif
from charterdesk.whatif.histories import active_ticket_ids
from charterdesk.whatif.models import RunState, WhatifRun
from charterdesk.whatif.tasks import compute

FIRST_RESPONSE = "first_response: {urgent: 1h, high: 2h, normal: 8h, low: 24h}"
TIGHTER = FIRST_RESPONSE.replace("high: 2h", "high: 30m")


@pytest.fixture
def desk(demo, example_source):
    """The demo in force with 120 tickets of recent history, and a draft that asks high-priority
    tickets to be first answered within 30 minutes instead of two hours."""
    now = timezone.now().replace(microsecond=0)
    load_demo_tickets(120, seed=7, now=now, workers=1)
    assert FIRST_RESPONSE in example_source
    draft = do_create_draft(
        example_source.replace(FIRST_RESPONSE, TIGHTER).replace("version: ", "version: 9", 1),
        actor=demo["manager"],
        note="high first response 30m",
    )
    return {"draft": draft, "now": now, "source": draft.source, "people": demo}


def _high_first_response(report: dict) -> dict:
    return next(r for r in report["metrics"] if r["metric"] == "first_response" and r["priority"] == "high")


def test_trying_a_draft_from_its_page(signed_in, desk, django_capture_on_commit_callbacks):
    """The manager asks for the last 30 days from the draft's page; the worker runs it; the report
    shows more high-priority first-response breaches under the draft, with sample tickets whose
    page explains both timelines. Asking again for the same period reuses the run."""
    client = signed_in("manager")
    draft = desk["draft"]
    page = client.get(f"/protocols/{draft.pk}/edit/")
    assert f'href="/whatif/draft/{draft.pk}/"' in page.content.decode()
    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = client.post(f"/whatif/draft/{draft.pk}/", {"period": "30d"})
    assert response.status_code == 302 and len(queued) == 1
    run = WhatifRun.objects.get()
    assert response["Location"] == f"/whatif/{run.pk}/"
    assert AuditEntry.objects.filter(action="whatif.request").count() == 1
    waiting = client.get(f"/whatif/{run.pk}/").content.decode()
    assert "Waiting for the worker" in waiting and "<progress" in waiting

    compute(run.pk)  # what the task does in the worker
    run.refresh_from_db()
    assert run.state == RunState.DONE and run.progress == 100
    high = _high_first_response(run.report)
    assert high["draft"]["breached"] > high["base"]["breached"]
    assert client.get(f"/whatif/{run.pk}/progress/")["HX-Refresh"] == "true"
    page = client.get(f"/whatif/{run.pk}/").content.decode()
    assert "<svg" in page and "SLA compliance per metric and priority" in page
    assert 'data-metric="first_response" data-priority="high"' in page
    # Every objective of the demo protocol is judged under each version, in the reports' words.
    for objective in ("fast-first-reply", "keep-promises", "happy-customers"):
        assert f'data-objective="{objective}"' in page
    assert "(target: at least 95%)" in page and "(target: p90 at most 1 h 00 min)" in page
    assert "not judged here" not in page
    sample = run.report["samples"][0]
    explained = client.get(f"/whatif/{run.pk}/ticket/{sample['ticket']}/").content.decode()
    assert "In force (version" in explained and "Draft 9" in explained
    assert explained.count("first_response under policy") >= 2

    again = client.post(f"/whatif/draft/{draft.pk}/", {"period": "30d"})
    assert again["Location"] == f"/whatif/{run.pk}/" and WhatifRun.objects.count() == 1


def test_an_agent_cannot_try_drafts(signed_in, desk):
    """Only those who edit or publish the protocol see drafts and their what-ifs."""
    client = signed_in("agent")
    assert client.get(f"/whatif/draft/{desk['draft'].pk}/").status_code == 403


def test_a_bad_period_is_named(signed_in, desk):
    """Dates that end before they begin change nothing and say which field is wrong."""
    client = signed_in("manager")
    page = client.post(
        f"/whatif/draft/{desk['draft'].pk}/", {"period": "dates", "from": "2026-06-10", "to": "2026-06-01"}
    )
    assert "to: the last day comes before the first" in page.content.decode()
    assert not WhatifRun.objects.exists()


def test_the_desk_gives_what_sla_replay_gives_on_the_export(desk, tmp_path: Path, example_source):
    """Export the events of the tickets a what-if read, replay them with `sla replay` under each
    version at the period's end, and count: the very report the desk stored."""
    end = desk["now"].replace(minute=0, second=0)
    start = end - dt.timedelta(days=30)
    run, created = do_request_whatif(
        desk["draft"],
        version_in_force(),
        period="last 30 days",
        start=start,
        end=end,
        actor=desk["people"]["manager"],
    )
    assert created
    compute(run.pk)
    run.refresh_from_db()

    ids = active_ticket_ids(start, end)
    events = tmp_path / "events.jsonl"
    # `tickets export-events --sla-only`: what `sla replay` reads (no survey answers).
    events.write_text("".join(line + "\n" for line in event_lines(ids, families=False)), encoding="utf-8")
    found = read_events(events.read_bytes().splitlines(), "events.jsonl")
    now = to_seconds(end)
    outcomes = []
    for name, text in (("base.yaml", example_source), ("draft.yaml", desk["source"])):
        protocol_file = tmp_path / name
        protocol_file.write_text(text, encoding="utf-8")
        out = tmp_path / f"{name}.out.jsonl"
        stamp = end.strftime("%Y-%m-%dT%H:%M:%SZ")
        assert (
            replay_main(["--protocol", str(protocol_file), "--now", stamp, str(events), "-o", str(out)]) == 0
        )
        lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
        outcomes.append(
            {r["ticket"]: outcome_of_line(r, priority_at(found.tickets[r["ticket"]], now)) for r in lines}
        )
    base_protocol = load_protocol_or_raise(example_source, "base.yaml")
    draft_protocol = load_protocol_or_raise(desk["source"], "draft.yaml")

    # The objectives: the KPI engine over the full export (survey answers too) of the same
    # tickets, cut at the period's end, each version judged on its own SLA answers.
    full = tmp_path / "full.jsonl"
    full.write_text("".join(line + "\n" for line in event_lines(ids)), encoding="utf-8")
    assert '"event":"survey"' in full.read_text(encoding="utf-8")
    objectives = []
    for protocol in (base_protocol, draft_protocol):
        kpi = KpiEngine(protocol)
        histories = [
            TicketHistory([e for e in h.events if e.at <= now], [a for a in h.surveys if a.at <= now])
            for h in kpi.read(full.read_bytes().splitlines(), "full.jsonl").histories.values()
        ]
        results = [kpi.sla.evaluate(h.events, now) for h in histories]
        objectives.append(judge(kpi, histories, to_seconds(start), now, results))
    expected = compare(
        *outcomes,
        base_protocol,
        draft_protocol,
        now=now,
        period_from=to_seconds(start),
        objectives=(objectives[0], objectives[1]),
    )
    assert expected.as_dict() == run.report
    assert run.report["tickets"] == len(ids) > 0
    assert any(
        row["kpi"] == "csat" and row["base_actual"]["min"] is not None for row in run.report["objectives"]
    )


def test_the_command_line_against_the_database(desk, tmp_path: Path):
    """`charterdesk protocol whatif DRAFT.yaml --from D --to D --format json` compares the draft
    with the version in force on the desk's own tickets."""
    draft = tmp_path / "draft.yaml"
    draft.write_text(desk["source"], encoding="utf-8")
    today = desk["now"].date()
    out = io.StringIO()
    call_command(
        "whatif",
        str(draft),
        "--from",
        (today - dt.timedelta(days=30)).isoformat(),
        "--to",
        (today - dt.timedelta(days=1)).isoformat(),
        "--format",
        "json",
        stdout=out,
    )
    report = json.loads(out.getvalue())
    assert report["tickets"] > 0
    high = _high_first_response(report)
    assert high["draft"]["breached"] >= high["base"]["breached"]
    text = io.StringIO()
    call_command("whatif", str(draft), "--since", "30d", stdout=text)
    assert text.getvalue().startswith("What-if over ")
    assert "Objectives, judged by the KPI engine over these tickets (in force -> draft):" in text.getvalue()
    assert "keep-promises (sla_compliance): " in text.getvalue()
    assert {row["id"] for row in report["objectives"]} == {
        "fast-first-reply",
        "keep-promises",
        "happy-customers",
    }
    assert all(row["in_base"] and row["in_draft"] for row in report["objectives"])
