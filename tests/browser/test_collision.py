"""Two agents on the same ticket in two browsers: each sees the other, and a reply written on a
page the ticket has moved past asks before it is sent."""

from __future__ import annotations

import datetime as dt
import os

import pytest
from django.utils import timezone

from .conftest import sign_in

pytestmark = pytest.mark.browser


@pytest.fixture
def long_ticket(demo_live):
    from charterdesk.accounts.models import Person
    from charterdesk.library.models import ProtocolVersion
    from charterdesk.tickets.actions import do_create_ticket, do_find_or_create_customer, do_reply

    ProtocolVersion.objects.update(effective_at=timezone.now() - dt.timedelta(days=1))
    jo = do_find_or_create_customer(
        email="jo.walker-longname@example-outdoor-customers.com", name="Jo Walker"
    )
    ticket = do_create_ticket(
        customer=jo, subject="Tent pole snapped", body="My pole broke.", channel="email"
    )
    alex = Person.objects.get(email="alex@acme.example")
    for n in range(6):
        do_reply(ticket, author=alex, body=f"Update {n}: we are looking into it.\n\n" + "More detail. " * 40)
    return ticket


def _shot(page, name: str) -> None:
    folder = os.environ.get("CHARTERDESK_SCREENSHOTS")
    if folder:
        page.screenshot(path=os.path.join(folder, f"{name}.png"))


def test_two_agents_see_each_other_and_a_stale_reply_asks_first(browser, demo_live, long_ticket):
    """Ravi and Dana open #N; Dana sees Ravi viewing, then typing; Ravi sends; Dana's Send from the
    old page is held with what changed and her text kept; her second Send goes."""
    url = f"{demo_live}/tickets/{long_ticket.pk}/"
    ravi_ctx = browser.new_context(viewport={"width": 1366, "height": 768})
    dana_ctx = browser.new_context(viewport={"width": 1366, "height": 768})
    ravi, dana = ravi_ctx.new_page(), dana_ctx.new_page()
    for page in (ravi, dana):
        page.set_default_timeout(30_000)
    sign_in(ravi, demo_live, "ravi@acme.example", "demo-lead-1")
    sign_in(dana, demo_live, "dana@acme.example", "demo-manager-1")
    ravi.goto(url)
    dana.goto(url)
    dana.wait_for_selector("[data-present=viewing]:has-text('Ravi Menon is viewing')")
    # The composer is in reach on a long thread: docked at the bottom of the window.
    assert ravi.locator(".composer-dock.docked").count() == 1
    ravi.click(".dock-handle")
    ravi.fill("#composer textarea", "Hello Jo, a new pole is on its way.")
    dana.wait_for_selector("[data-present=typing]:has-text('Ravi Menon is typing a reply')")
    _shot(dana, "ticket-collision")
    dana.click(".dock-handle")
    dana.fill("#composer textarea", "Hi Jo, we will send a pole.")
    ravi.click("#composer [data-send]")
    ravi.wait_for_url(url)
    dana.click("#composer [data-send]")
    dana.wait_for_selector("text=this ticket changed since you opened it: Ravi Menon replied")
    assert dana.input_value("#composer textarea") == "Hi Jo, we will send a pole."
    dana.click("#composer [data-send]")
    dana.wait_for_selector("text=Reply sent")
    ravi_ctx.close()
    dana_ctx.close()


def test_sidebar_cards_fold_and_stay_folded(browser, demo_live, long_ticket):
    """Every sidebar card folds from its heading (the families' panels too), and stays folded on the
    next ticket page; screenshots at 1366x768 and 390 px."""
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    page = context.new_page()
    page.set_default_timeout(15_000)
    sign_in(page, demo_live, "ravi@acme.example", "demo-lead-1")
    page.goto(f"{demo_live}/tickets/{long_ticket.pk}/")
    channels = page.locator("#panel-channels")
    assert channels.locator(".panel-toggle").count() == 1
    channels.locator(".panel-toggle").click()
    assert "folded" in channels.get_attribute("class")
    page.locator(".card[data-panel='Customer'] .panel-toggle").click()
    page.reload()
    assert "folded" in page.locator("#panel-channels").get_attribute("class")
    # A long thread: the composer waits folded at the bottom of the window, one click away.
    page.evaluate("window.scrollTo(0, 0)")
    dock = page.locator(".composer-dock.docked.folded")
    assert dock.count() == 1
    box = dock.bounding_box()
    assert box is not None and box["y"] + box["height"] <= 768 + 1
    _shot(page, "ticket-page")
    page.set_viewport_size({"width": 390, "height": 844})
    _shot(page, "ticket-page-390")
    context.close()
