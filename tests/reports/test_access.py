"""Whose numbers each person sees on the reports page (agent, lead, manager, nobody)."""

from __future__ import annotations

import csv
import io

import pytest

from charterdesk.library.versions import version_in_force
from charterdesk.reports.access import ALL, Scope
from charterdesk.reports.figures import kpi_engine, load_histories

from .conftest import WEEK

pytestmark = pytest.mark.django_db

CUSTOM = {"period": "custom", "from": WEEK[0], "to": WEEK[1]}


def engine():
    from charterdesk.library.versions import protocol_of

    version = version_in_force()
    return kpi_engine(version, protocol_of(version))


def test_an_agent_sees_only_their_own_numbers(signed_in, week, demo):
    """Alex (agent) sees the figures of the tickets he answered (A solved with his reply, D
    answered): first responses 2, no breakdown by group, channel, priority or agent, and no team CSV."""
    client = signed_in("agent")
    response = client.get("/reports/", CUSTOM)
    assert response.status_code == 200
    page = response.context["page"]
    assert page.scope.kind == "own"
    e = engine()
    period = e.period(*map(_day, WEEK))
    everything = e.compute(load_histories(Scope(ALL), period), period, by=("agent",))
    assert page.figures == everything.breakdown["agent"][str(demo["agent"].pk)]
    assert page.figures["first_response_time"]["count"] == 2
    assert page.breakdown == {}
    assert "By group" not in response.content.decode()
    assert client.get("/reports/group.csv", CUSTOM).status_code == 404
    assert client.get("/reports/kpis.csv", CUSTOM).status_code == 200


def test_a_lead_with_reports_view_sees_what_the_teams_groups_counted(signed_in, week, demo):
    """Ravi (lead, reports.view) sees what his groups (frontline, whose agents report to him, and
    escalations) counted: exactly the engine's report for those groups, whose "by group" rows are
    the manager's. D spent only its first half hour in frontline, with nothing counted then: its
    first response, given after it left every group, is not the team's."""
    response = signed_in("lead").get("/reports/", CUSTOM)
    assert response.status_code == 200
    page = response.context["page"]
    assert page.scope.kind == "team"
    assert set(page.scope.groups) == {"frontline", "escalations"}
    e = engine()
    period = e.period(*map(_day, WEEK))
    tickets = load_histories(Scope(ALL), period)
    expected = e.compute(tickets, period, by=("group",), groups=page.scope.groups)
    everything = e.compute(tickets, period, by=("group",))
    assert page.figures == expected.figures
    assert page.breakdown["group"] == expected.breakdown["group"]
    assert page.breakdown["group"] == {
        group: row for group, row in everything.breakdown["group"].items() if group in page.scope.groups
    }
    assert page.figures["csat"]["answered"] == 2
    assert page.figures["first_response_time"]["count"] == 3
    assert everything.figures["first_response_time"]["count"] == 4
    assert "what frontline and escalations counted" in response.content.decode()


def test_a_lead_sees_a_ticket_that_left_the_team_counted_for_the_part_it_spent_there(signed_in, week, demo):
    """E is opened on Monday in frontline and answered by Ravi; on Tuesday Dana takes it out of
    every group; Alex solves it on Wednesday. Ravi's report counts E's first response and its
    Monday in the backlog, not its resolution nor its Tuesday; the manager's "by group" row for
    frontline says the same. The lead's CSV files carry the page's numbers."""
    from charterdesk.tickets.actions import do_reply, do_set_group, do_set_status

    from .conftest import at

    e_ticket = _ticket("E", at(2, 17))
    assert e_ticket.group == "frontline"
    body = "Hello Casey,\n\nWe are on it.\n\nRegards,\nAcme"
    do_reply(e_ticket, author=demo["lead"], body=body, at=at(2, 17, 30), send_email=False)
    do_set_group(e_ticket, None, actor=demo["manager"], at=at(3, 15))
    do_set_status(e_ticket, "solved", actor=demo["agent"], at=at(4, 16))
    client = signed_in("lead")
    page = client.get("/reports/", CUSTOM).context["page"]
    manager = signed_in("manager").get("/reports/", CUSTOM).context["page"]
    assert page.figures["first_response_time"]["count"] == 4  # A, B, C and E
    assert page.figures["resolution_time"]["count"] == 2  # A and C; E was solved in no group
    assert manager.figures["resolution_time"]["count"] == 3
    backlog = page.figures["backlog"]["days"]
    assert (backlog["2026-03-02"], backlog["2026-03-03"]) == (1, 1)  # E on Monday; B from Tuesday
    # Nothing of the week went to escalations: the lead's figures are the manager's frontline row.
    assert "escalations" not in manager.breakdown["group"]
    assert page.figures == manager.breakdown["group"]["frontline"]
    assert page.breakdown["group"] == {"frontline": page.figures}
    client = signed_in("lead")
    rows = list(csv.DictReader(io.StringIO(client.get("/reports/kpis.csv", CUSTOM).content.decode())))
    first = next(r for r in rows if r["kpi"] == "first_response_time")
    assert (first["counted"], first["p90"]) == ("4", str(page.figures["first_response_time"]["p90"]))
    groups = list(csv.DictReader(io.StringIO(client.get("/reports/group.csv", CUSTOM).content.decode())))
    assert {r["group"] for r in groups} == {"frontline"}


def _ticket(subject, when):
    from charterdesk.tickets.actions import do_create_ticket
    from charterdesk.tickets.models import Customer

    customer = Customer.objects.get(email="casey@example.com")
    return do_create_ticket(customer=customer, subject=subject, body="Hello", channel="email", at=when)


def test_a_manager_sees_every_ticket(signed_in, week):
    """Dana (manager: reports.view and people.manage) sees all four tickets, D included."""
    page = signed_in("manager").get("/reports/", CUSTOM).context["page"]
    assert page.scope.kind == "all"
    assert page.figures["first_response_time"]["count"] == 4


def test_someone_without_a_role_is_refused_and_a_visitor_must_sign_in(client, demo, person):
    """A person with no role gets 403 on the page and its CSV; a visitor is sent to sign in."""
    assert client.get("/reports/").status_code == 302
    client.force_login(person("nobody@acme.example", []))
    assert client.get("/reports/").status_code == 403
    assert client.get("/reports/kpis.csv").status_code == 403


def test_the_reports_link_shows_for_agents_and_not_for_people_without_a_role(client, signed_in, person):
    """The top navigation links to Reports for an agent; a person without a role has no link."""
    assert 'href="/reports/"' in signed_in("agent").get("/tickets/").content.decode()
    client.force_login(person("nobody@acme.example", []))
    assert 'href="/reports/"' not in client.get("/handbook/").content.decode()


def _day(text):
    import datetime as dt

    return dt.date.fromisoformat(text)
