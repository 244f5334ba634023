"""Agents' working time on a ticket (the handle_time KPI): the ticket page's signs of life credit
the seconds it was worked on, capped, once however many windows are open; phone calls add their
length; concurrent writes add up."""

from __future__ import annotations

import datetime as dt
import threading
from unittest.mock import patch

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from charterdesk.tickets.actions import do_create_ticket, do_find_or_create_customer, do_set_status
from charterdesk.tickets.models import TicketPresence, WorkTime
from charterdesk.tickets.worktime import CREDIT_AT_MOST, add_work, work_of

T0 = dt.datetime(2026, 3, 4, 15, 0, tzinfo=dt.UTC)  # Wednesday 10:00 in New York, the team's zone


class Clock:
    """The desk's clock in these tests: stands still until moved."""

    def __init__(self, at: dt.datetime) -> None:
        self.at = at

    def __call__(self) -> dt.datetime:
        return self.at

    def move(self, seconds: float) -> None:
        self.at += dt.timedelta(seconds=seconds)


@pytest.fixture
def clock():
    moving = Clock(T0)
    with patch("django.utils.timezone.now", moving):
        yield moving


@pytest.fixture
def ticket(demo):
    from charterdesk.library.models import ProtocolVersion

    ProtocolVersion.objects.update(effective_at=T0 - dt.timedelta(days=30))
    customer = do_find_or_create_customer(email="jo@example.com", name="Jo Walker")
    return do_create_ticket(customer=customer, subject="Tent", body="Broken pole", channel="email", at=T0)


def beat(client, ticket, active, state="viewing"):
    return client.post(reverse("tickets:presence", args=[ticket.pk]), {"state": state, "active": active})


def seconds_of(person, ticket, kind=WorkTime.PAGE) -> int:
    rows = WorkTime.objects.filter(ticket=ticket, person=person, kind=kind)
    return sum(rows.values_list("seconds", flat=True))


def test_signs_of_life_from_a_page_in_use_add_up(signed_in, demo, ticket, clock):
    """Alex opens the ticket and works on it for 30 seconds: three signs of life of 10 worked
    seconds each record 30 seconds on the team's day."""
    alex = signed_in("agent")
    assert beat(alex, ticket, "0").status_code == 200
    for _ in range(3):
        clock.move(10)
        assert beat(alex, ticket, "10").status_code == 200
    assert seconds_of(demo["agent"], ticket) == 30
    assert WorkTime.objects.get(ticket=ticket).day == dt.date(2026, 3, 4)


def test_an_idle_or_hidden_page_records_nothing(signed_in, demo, ticket, clock):
    """A page left open in a hidden tab or untouched for over a minute says 0 worked seconds:
    an hour of such signs of life records no time."""
    alex = signed_in("agent")
    for _ in range(360):
        clock.move(10)
        beat(alex, ticket, "0")
    assert not WorkTime.objects.exists()


def test_one_sign_of_life_credits_at_most_its_interval(signed_in, demo, ticket, clock):
    """A page claiming 10 minutes in one sign of life is credited CREDIT_AT_MOST seconds; one
    claiming 10 seconds only 3 seconds after the last credited one is credited those 3."""
    alex = signed_in("agent")
    beat(alex, ticket, "600")
    assert seconds_of(demo["agent"], ticket) == CREDIT_AT_MOST
    clock.move(3)
    beat(alex, ticket, "10")
    assert seconds_of(demo["agent"], ticket) == CREDIT_AT_MOST + 3


def test_two_windows_on_one_ticket_count_its_time_once(signed_in, demo, ticket, clock):
    """Alex works 70 seconds on the ticket: alone in one window for 20, then with a second window
    open too, both in use, their signs of life 5 seconds apart, each saying 10 worked seconds.
    70 seconds are recorded, not the 120 the windows say between them."""
    first = signed_in("agent")
    second = Client()
    second.force_login(demo["agent"])
    beat(first, ticket, "0")
    clock.move(10)
    beat(first, ticket, "10")
    clock.move(5)
    beat(second, ticket, "0")  # the second window opens
    clock.move(5)
    beat(first, ticket, "10")
    for _ in range(5):
        clock.move(5)
        beat(second, ticket, "10")
        clock.move(5)
        beat(first, ticket, "10")
    assert clock.at - T0 == dt.timedelta(seconds=70)
    assert seconds_of(demo["agent"], ticket) == 70


def test_time_on_a_solved_ticket_is_not_handling_it(signed_in, demo, ticket, clock):
    """Once the ticket is solved, reading it records nothing; reopened, working on it counts again."""
    alex = signed_in("agent")
    do_set_status(ticket, "solved", actor=demo["agent"], at=T0)
    clock.move(10)
    beat(alex, ticket, "10")
    assert seconds_of(demo["agent"], ticket) == 0
    do_set_status(ticket, "open", actor=demo["agent"], at=T0 + dt.timedelta(seconds=10))
    clock.move(10)
    beat(alex, ticket, "10")
    assert seconds_of(demo["agent"], ticket) == 10


def test_a_bad_worked_time_is_refused_and_changes_nothing(signed_in, demo, ticket, clock):
    """A sign of life whose active field is not a whole number is refused, naming the field, and
    records neither presence nor time."""
    answer = beat(signed_in("agent"), ticket, "ten")
    assert answer.status_code == 400
    assert answer.content.decode() == "active: 'ten' is not a whole number of seconds"
    assert not TicketPresence.objects.exists() and not WorkTime.objects.exists()


def test_a_logged_phone_call_adds_its_length(demo, ticket, clock):
    """Alex logs a 4 min 30 s call on the ticket: 270 seconds of call time are his on that day."""
    from charterdesk.channels.actions import do_log_call

    do_log_call(
        actor=demo["agent"],
        direction="outbound",
        duration_seconds=270,
        notes="Talked Jo through the replacement.",
        ticket=ticket,
        at=T0 + dt.timedelta(hours=1),
    )
    assert seconds_of(demo["agent"], ticket, WorkTime.CALL) == 270


def test_work_is_summed_per_person_and_day_for_the_reports(demo, ticket):
    """Page time and a call on the same day make one figure per person and day, at the start of
    that day in the team's time zone."""
    day = dt.date(2026, 3, 4)
    add_work(ticket.pk, demo["agent"].pk, day, WorkTime.PAGE, 100)
    add_work(ticket.pk, demo["agent"].pk, day, WorkTime.CALL, 200)
    add_work(ticket.pk, demo["lead"].pk, day + dt.timedelta(days=1), WorkTime.PAGE, 50)
    work = work_of([ticket.pk], "America/New_York")[ticket.pk]
    midnight = int(dt.datetime(2026, 3, 4, 5, 0, tzinfo=dt.UTC).timestamp())
    assert [(w.at, w.agent, w.seconds) for w in work] == [
        (midnight, str(demo["agent"].pk), 300),
        (midnight + 86400, str(demo["lead"].pk), 50),
    ]


def test_concurrent_writes_to_one_day_add_up(transactional_db, demo):
    """Two workers add time to the same person, ticket and day at once (released together by a
    barrier, 25 times each): every second is kept, on SQLite and PostgreSQL alike."""
    customer = do_find_or_create_customer(email="jo@example.com", name="Jo Walker")
    ticket = do_create_ticket(customer=customer, subject="Tent", body="Broken pole", channel="email")
    person = demo["agent"]
    day = timezone.now().date()
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            for _ in range(25):
                start.wait()
                add_work(ticket.pk, person.pk, day, WorkTime.PAGE, 7)
        except BaseException as error:  # pragma: no cover - shown by the assertion below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert WorkTime.objects.get(ticket=ticket, person=person).seconds == 2 * 25 * 7


def test_merging_a_duplicate_moves_its_time_to_the_ticket_kept(demo, ticket):
    """Alex spent 2 minutes on a duplicate and 3 on the ticket kept, the same day: merged, the kept
    ticket has his 5 minutes and the duplicate none."""
    from charterdesk.tickets.actions import do_merge

    duplicate = do_create_ticket(
        customer=ticket.customer, subject="Tent again", body="Still broken", channel="email", at=T0
    )
    day = dt.date(2026, 3, 4)
    add_work(duplicate.pk, demo["agent"].pk, day, WorkTime.PAGE, 120)
    add_work(ticket.pk, demo["agent"].pk, day, WorkTime.PAGE, 180)
    do_merge(duplicate, ticket, actor=demo["agent"], at=T0 + dt.timedelta(hours=1))
    assert seconds_of(demo["agent"], ticket) == 300
    assert not WorkTime.objects.filter(ticket=duplicate).exists()
