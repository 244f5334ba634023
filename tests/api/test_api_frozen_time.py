"""One ticket driven through the API at frozen times gives the same clocks as `charterdesk sla replay`.

The desk's SLA answer (GET /api/v1/tickets/{id}/sla) and a replay of the ticket's exported events
under the example protocol file must agree on every due time, outcome and escalation.
"""

from __future__ import annotations

import datetime as dt
import json
from unittest.mock import patch

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.test import Client

from charterdesk.api.actions import do_create_token
from charterdesk.demo.loader import EXAMPLE
from charterdesk.replay_command import main as replay_main
from charterdesk.tickets.actions import do_customer_message, refresh_sla
from charterdesk.tickets.models import Ticket

NY = dt.timezone(dt.timedelta(hours=-5))  # New York in December (EST)


def ny(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 12, day, hour, minute, tzinfo=NY)


def utc(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture(autouse=True)
def fresh_rate_limits():
    cache.clear()
    yield
    cache.clear()


def test_a_ticket_worked_through_the_api_replays_to_the_same_clocks(demo, tmp_path):
    """Opened Friday 17:30 New York by a lead, answered Monday 09:00 (pending), the customer writes
    Tuesday 10:00, priority goes to high at 10:30, judged Wednesday 15:00: the API's SLA and the
    replay agree on every cycle and every escalation, and both are what the protocol says."""
    lead = demo["lead"]
    client = Client(headers={"Authorization": f"Bearer {do_create_token(lead, 'frozen', actor=lead)[1]}"})

    def at(moment: dt.datetime):
        return patch("django.utils.timezone.now", return_value=moment.astimezone(dt.UTC))

    with at(ny(4, 17, 30)):
        response = client.post(
            "/api/v1/tickets",
            {
                "customer": {"email": "jo@example.com", "name": "Jo Walker"},
                "subject": "Tent pole snapped",
                "body": "Hello Jo, I have logged your call about the tent pole. Thanks",
                "channel": "phone",
            },
            content_type="application/json",
        )
    assert response.status_code == 201, response.json()
    ticket_id = response.json()["id"]
    assert response.json()["created_at"] == "2026-12-04T22:30:00Z"

    with at(ny(7, 9, 0)):
        response = client.post(
            f"/api/v1/tickets/{ticket_id}/reply",
            {"body": "Hello Jo, could you send a photo of the pole? Thanks", "next_status": "pending"},
            content_type="application/json",
        )
    assert response.status_code == 201, response.json()

    with at(ny(8, 10, 0)):
        do_customer_message(Ticket.objects.get(pk=ticket_id), body="Here is the photo.")

    with at(ny(8, 10, 30)):
        response = client.patch(
            f"/api/v1/tickets/{ticket_id}", {"priority": "high"}, content_type="application/json"
        )
    assert response.status_code == 200, response.json()

    final = ny(9, 15, 0)
    with at(final):
        refresh_sla(Ticket.objects.get(pk=ticket_id))
        api_sla = client.get(f"/api/v1/tickets/{ticket_id}/sla").json()
        ticket_now = client.get(f"/api/v1/tickets/{ticket_id}").json()

    events = tmp_path / "events.jsonl"
    call_command("tickets", "export-events", "--ticket", str(ticket_id), "-o", str(events))
    out = tmp_path / "replayed.jsonl"
    code = replay_main(["--protocol", str(EXAMPLE), "--now", utc(final), str(events), "-o", str(out)])
    assert code == 0
    [replayed] = [json.loads(line) for line in out.read_text().splitlines()]

    # The same policy, and per metric the same cycles: start, due, fulfilment, outcome.
    assert api_sla["evaluated_at"] == utc(final)
    assert api_sla["policy"] == replayed["policy"]
    assert set(api_sla["metrics"]) == set(replayed["metrics"])
    for metric, cycles in replayed["metrics"].items():
        ours = api_sla["metrics"][metric]
        for field in ("start", "due", "fulfilled", "breached", "target"):
            assert [c[field] for c in ours] == [c.get(field) for c in cycles], (metric, field)
    # The same escalations, at the same instants, and the desk has carried each out.
    assert [(e["rule"], e["metric"], e["at"]) for e in api_sla["escalations"]] == [
        (e["rule"], e["metric"], e["at"]) for e in replayed["escalations"]
    ]
    assert all(e["carried_out"] for e in api_sla["escalations"])

    # And they are what the protocol says, worked by hand (office hours Mon-Fri 08-18, Sat 10-14,
    # New York). Created by an agent, so no first response. Resolution counted Fri 17:30-18:00,
    # Sat 10-14, Mon 08-09 = 5.5 h, paused while pending, running again from Tue 10:00.
    # Next response opened Tue 10:00; at high priority 4 h: breached Tue 14:00 (19:00Z).
    # Resolution at high, 16 h: 10.5 h left from Tue 10:00 -> Wed 10:30 (15:30Z), breached then;
    # 2 h after that (Wed 12:30, 17:30Z) hand-to-escalations moves the ticket and makes it urgent,
    # and the urgent targets (2 h, 8 h) put both due times back on Tuesday, from each cycle's start.
    assert api_sla["metrics"]["first_response"] == []
    assert [(e["rule"], e["metric"], e["at"]) for e in api_sla["escalations"]] == [
        ("lead-on-breach", "next_response", "2026-12-08T19:00:00Z"),
        ("lead-on-breach", "resolution", "2026-12-09T15:30:00Z"),
        ("hand-to-escalations", "resolution", "2026-12-09T17:30:00Z"),
    ]
    [next_response] = api_sla["metrics"]["next_response"]
    assert (next_response["target"], next_response["start"], next_response["due"]) == (
        "2h",
        utc(ny(8, 10, 0)),
        utc(ny(8, 12, 0)),
    )
    [resolution] = api_sla["metrics"]["resolution"]
    assert (resolution["target"], resolution["due"], resolution["breached"]) == (
        "8h",
        utc(ny(8, 12, 30)),
        True,
    )
    assert api_sla["priority"] == "urgent" and api_sla["breached"] is True
    # The escalations' actions reached the ticket: tagged, moved to the escalations group, urgent.
    assert "sla-breached" in ticket_now["tags"]
    assert ticket_now["group"] == "escalations" and ticket_now["priority"] == "urgent"
