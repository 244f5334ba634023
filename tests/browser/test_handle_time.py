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


# Chromium hands a turn of the mouse wheel to the page's script at its next frame, after
# mouse.wheel has returned, and the scroll it causes later still (scroll events, then
# "scrollend"). Were the page's clock moved before they arrive, the page would date that use ten
# seconds late and count ten seconds too many. This arms a promise, before the wheel turns, that
# holds until the page has had the wheel event and, when the page can still scroll down, the end
# of that scroll; the listeners are added after the page's own (which listen in the capture
# phase), so they run after them.
WATCH_THE_WHEEL = """() => {
    const root = document.scrollingElement;
    const scrolls = root.scrollTop + root.clientHeight < root.scrollHeight - 1;
    const seen = (name) =>
        new Promise((done) => document.addEventListener(name, () => done(), {once: true, passive: true}));
    window.wheelHandled = Promise.all([seen("wheel"), scrolls ? seen("scrollend") : null]).then(() => true);
}"""


def is_presence(response) -> bool:
    return "/presence/" in response.url


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
        """Scroll (or not), then let 10 seconds pass on both clocks: the page's sign of life goes,
        and the desk has answered it before the test goes on."""
        if scroll:
            page.evaluate(WATCH_THE_WHEEL)
            page.mouse.wheel(0, 120)
            page.evaluate("() => window.wheelHandled")
        desk_clock.at += dt.timedelta(seconds=10)
        with page.expect_response(is_presence):
            page.clock.run_for(10_000)

    with patch("django.utils.timezone.now", desk_clock):
        # The page says it is there as it opens (with nothing worked yet); its answer is awaited
        # here so that each step below waits for its own sign of life, not this one.
        with page.expect_response(is_presence) as opened:
            page.goto(url)
        assert opened.value.request.post_data_json["active"] == "0"
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
