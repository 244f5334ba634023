"""Working time in a real browser: the ticket page's own script measures the seconds it is visible
and in use, and the desk records them (the handle_time KPI). The page's clock and the desk's are
both driven by the test, so no second of real time is waited for."""

from __future__ import annotations

import datetime as dt
from unittest.mock import patch

import pytest
from django.utils import timezone

from .conftest import sign_in

pytestmark = pytest.mark.browser


class Clock:
    """The desk's clock, moved by the test in step with the page's."""

    def __init__(self, at: dt.datetime) -> None:
        self.at = at

    def __call__(self) -> dt.datetime:
        return self.at


@pytest.fixture
def open_ticket(demo_live):
    from charterdesk.library.models import ProtocolVersion
    from charterdesk.tickets.actions import do_create_ticket, do_find_or_create_customer

    ProtocolVersion.objects.update(effective_at=timezone.now() - dt.timedelta(days=1))
    jo = do_find_or_create_customer(email="jo@example.com", name="Jo Walker")
    return do_create_ticket(customer=jo, subject="Tent pole snapped", body="My pole broke.", channel="email")


def recorded(ticket) -> int:
    from charterdesk.tickets.models import WorkTime

    return sum(WorkTime.objects.filter(ticket=ticket).values_list("seconds", flat=True))


def test_time_on_a_ticket_page_grows_while_used_and_stops_when_idle_or_hidden(page, demo_live, open_ticket):
    """Alex opens a ticket and scrolls it every 10 seconds for 30 seconds: 30 seconds recorded.
    He stops touching it: it counts on for a minute after his last scroll, then not at all. With
    the tab hidden, even scrolling records nothing."""
    sign_in(page, demo_live, "alex@acme.example", "demo-agent-1")
    desk_clock = Clock(timezone.now())
    # The page's clock stands still but when the test moves it.
    page.clock.install(time=desk_clock.at.timestamp())
    page.clock.pause_at(desk_clock.at.timestamp() + 1)
    url = f"{demo_live}/tickets/{open_ticket.pk}/"

    def ten_seconds(scroll: bool) -> None:
        """Scroll (or not), then let 10 seconds pass on both clocks: the page's sign of life goes."""
        if scroll:
            page.mouse.wheel(0, 120)
        desk_clock.at += dt.timedelta(seconds=10)
        with page.expect_response(lambda r: "/presence/" in r.url):
            page.clock.run_for(10_000)

    with patch("django.utils.timezone.now", desk_clock):
        page.goto(url)
        page.mouse.move(400, 400)
        for _ in range(3):
            ten_seconds(scroll=True)
        assert recorded(open_ticket) == 30
        # Idle: the last scroll was 10 seconds before the third sign of life; a minute after it,
        # the page stops counting.
        for _ in range(7):
            ten_seconds(scroll=False)
        assert recorded(open_ticket) == 30 + 50
        # Hidden: the tab goes to the background (as the browser says when another tab is picked).
        page.evaluate(
            """() => {
                Object.defineProperty(document, "visibilityState", {value: "hidden", configurable: true});
                document.dispatchEvent(new Event("visibilitychange"));
            }"""
        )
        for _ in range(2):
            ten_seconds(scroll=True)
        assert recorded(open_ticket) == 80
