"""Whose numbers each person sees on the reports page (agent, lead, manager, nobody)."""

from __future__ import annotations

import pytest

from charterdesk.library.versions import version_in_force
from charterdesk.reports.access import ALL, Scope
from charterdesk.reports.figures import histories_of, kpi_engine, load_histories

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


def test_a_lead_with_reports_view_sees_the_teams_tickets_only(signed_in, week, demo):
    """Ravi (lead, reports.view) sees the tickets of his groups (frontline, whose agents report to
    him, and escalations): A, B and C, not D, which is in no group."""
    response = signed_in("lead").get("/reports/", CUSTOM)
    assert response.status_code == 200
    page = response.context["page"]
    assert page.scope.kind == "team"
    assert set(page.scope.groups) == {"frontline", "escalations"}
    e = engine()
    team = [week[k].pk for k in "ABC"]
    expected = e.compute(histories_of(team), e.period(*map(_day, WEEK)))
    assert page.figures["first_response_time"] == expected.figures["first_response_time"]
    assert page.figures["sla_compliance"] == expected.figures["sla_compliance"]
    assert page.figures["csat"]["answered"] == 2
    assert page.figures["first_response_time"]["count"] == 3


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
