"""Who gets a new ticket (or one an escalation moves to another group): the protocol's
``resolution.handling.assignment`` among the people whose roles belong to the group, decided by
the engine (``engine.assignment.choose_assignee``) from the desk's rows."""

from __future__ import annotations

import contextlib
import threading
import time

from django.db.models import Count

from charterdesk.engine.assignment import Candidate, choose_assignee, group_roles
from charterdesk.protocol.models import Protocol

from .models import NOT_IN_QUEUE, AssignmentCursor, Ticket

_lookups = threading.local()


@contextlib.contextmanager
def reusing_lookups(seconds: float = 5.0):
    """Inside this block (a batch of inbound mail), who may be assigned in a group is read once every
    ``seconds`` instead of for every new ticket; a person marked away or given other roles is seen
    within that time. Counts of open tickets are always read fresh."""
    outer = getattr(_lookups, "memo", None)
    if outer is None:
        _lookups.memo = {}
        _lookups.seconds = seconds
    try:
        yield
    finally:
        if outer is None:
            _lookups.memo = None


def _remembered(key, read):
    memo = getattr(_lookups, "memo", None)
    if memo is None:
        return read()
    found = memo.get(key)
    if found is None or time.monotonic() > found[0]:
        found = memo[key] = (time.monotonic() + _lookups.seconds, read())
    return found[1]


def auto_assignee(protocol: Protocol, group: str | None):
    """The person the protocol's assignment rule picks in ``group`` (None for manual or nobody)."""
    from charterdesk.accounts.models import Person

    method = protocol.resolution.handling.assignment if protocol.resolution else "manual"
    roles = group_roles(protocol, group)
    if method == "manual" or not roles:
        return None
    # Round robin reads and moves the group's cursor, locked so that two workers opening tickets
    # in one group never pick the same next person. least_open needs no cursor: it counts.
    round_robin = method == "round_robin"
    cursor = AssignmentCursor.objects.select_for_update().filter(group=group).first() if round_robin else None
    people = _remembered(
        ("assignable", tuple(roles)),
        lambda: {p.pk: p for p in Person.objects.filter(is_active=True, roles__role__in=roles).distinct()},
    )
    available = [pk for pk, p in people.items() if not p.away]
    counts: dict[int, int] = {}
    if method == "least_open" and len(available) > 1:
        # Unsolved is a range of the indexed queue_due column (see models.NOT_IN_QUEUE), so each
        # person's count is read from the (assignee, queue_due) index instead of from the tickets.
        counts = dict(
            Ticket.objects.filter(assignee_id__in=available, queue_due__lt=NOT_IN_QUEUE)
            .values_list("assignee_id")
            .annotate(n=Count("id"))
            .order_by()
        )
    candidates = [Candidate(pk, counts.get(pk, 0), p.away) for pk, p in people.items()]
    chosen = choose_assignee(method, candidates, cursor.last_person_id if cursor else None)
    if chosen is None:
        return None
    if round_robin:
        AssignmentCursor.objects.update_or_create(group=group, defaults={"last_person_id": chosen})
    return people[chosen]
