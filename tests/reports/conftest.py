"""Tickets with a known week for the reports' tests, and survey answers given through the
``history_events`` hook (as the surveys family gives them)."""

from __future__ import annotations

import datetime as dt

import pytest

from charterdesk.tickets.lifecycle import HistoryEvent, hookimpl, register, unregister

UTC = dt.UTC
# Monday 2 to Sunday 8 March 2026 in New York (the demo's team time zone).
WEEK = ("2026-03-02", "2026-03-08")


def at(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 3, day, hour, minute, tzinfo=UTC)


class Answers:
    """A stand-in for the surveys family: the survey answers it keeps, given to the reports
    through the ``history_events`` hook."""

    def __init__(self) -> None:
        self.events: list[HistoryEvent] = []

    def add(self, ticket, when: dt.datetime, kind: str, score: int) -> None:
        self.events.append(HistoryEvent(ticket.pk, when, "survey", {"kind": kind, "score": score}))

    @hookimpl
    def history_events(self, ticket_ids):
        return [e for e in self.events if ticket_ids is None or e.ticket_id in ticket_ids]

    @hookimpl
    def history_changed_since(self, since):
        return [e.ticket_id for e in self.events if e.at >= since]


@pytest.fixture
def answers():
    plugin = Answers()
    register(plugin)
    yield plugin
    unregister(plugin)


@pytest.fixture
def week(demo, answers):
    """Four tickets in the week, answered by Alex (agent), Ravi (lead) and Dana (manager):

    - A: email, Mon 14:00Z, Alex replies 15:00Z and solves 16:00Z; CSAT 5 on Tuesday.
    - B: web, Tue 13:00Z, Ravi replies Wed 13:30Z; left open.
    - C: email, high, Wed 14:00Z, Dana replies 14:20Z and solves Thu 15:00Z; CSAT 2 on Friday.
    - D: email, Thu 15:00Z, taken out of every group, Alex replies Fri 14:00Z; left open.
    """
    from charterdesk.tickets.actions import (
        do_create_customer,
        do_create_ticket,
        do_reply,
        do_set_group,
        do_set_status,
    )

    alex, ravi, dana = demo["agent"], demo["lead"], demo["manager"]
    customer = do_create_customer(actor=None, name="Casey Client", email="casey@example.com")

    def ticket(subject, when, channel="email", priority="normal"):
        return do_create_ticket(
            customer=customer, subject=subject, body="Hello", channel=channel, priority=priority, at=when
        )

    body = "Hello Casey,\n\nThanks for writing; it is sorted.\n\nRegards,\nAcme"
    a = ticket("A", at(2, 14))
    do_reply(a, author=alex, body=body, at=at(2, 15), send_email=False)
    do_set_status(a, "solved", actor=alex, at=at(2, 16))
    answers.add(a, at(3, 15), "csat", 5)
    b = ticket("B", at(3, 13), channel="web")
    do_reply(b, author=ravi, body=body, at=at(4, 13, 30), send_email=False)
    c = ticket("C", at(4, 14), priority="high")
    do_reply(c, author=dana, body=body, at=at(4, 14, 20), send_email=False)
    do_set_status(c, "solved", actor=dana, at=at(5, 15))
    answers.add(c, at(6, 15), "csat", 2)
    d = ticket("D", at(5, 15))
    do_set_group(d, None, actor=dana, at=at(5, 15, 30))
    do_reply(d, author=alex, body=body, at=at(6, 14), send_email=False)
    return {"A": a, "B": b, "C": c, "D": d}
