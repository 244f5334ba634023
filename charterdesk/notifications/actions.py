"""Telling people: an in-app notification, and an email sent once the transaction commits."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from .models import Notification

log = logging.getLogger(__name__)


def resolve_recipients(target: str, *, ticket=None, protocol=None) -> tuple[list, list[str]]:
    """A protocol `notify` target -> (people, plain addresses).

    ``assignee``, ``role:ID`` (everyone active holding the role), ``group:ID`` (everyone holding
    one of the group's roles) or an email address.
    """
    from charterdesk.accounts.models import Person

    active = Person.objects.filter(is_active=True)
    if target == "assignee":
        return ([ticket.assignee] if ticket is not None and ticket.assignee_id else []), []
    if target.startswith("role:"):
        return list(active.filter(roles__role=target[5:]).distinct()), []
    if target.startswith("group:"):
        roles = []
        for group in protocol.team.groups if protocol else ():
            if group.id == target[6:]:
                roles = group.roles
        return list(active.filter(roles__role__in=roles).distinct()), []
    if "@" in target:
        return [], [target]
    return [], []


def notify(people, text: str, *, ticket=None, reason: str = "", addresses=(), at=None) -> list[Notification]:
    """Notify people in the desk and by email (after commit, so a rolled-back change sends nothing).

    A step of the action that decides to tell them (an escalation, an assignment, a failed
    delivery), whose audit entry says why; not an audited action of its own."""
    at = at or timezone.now()
    created = []
    seen = set()
    for person in people:
        if person is None or person.pk in seen:
            continue
        seen.add(person.pk)
        created.append(
            Notification.objects.create(person=person, ticket=ticket, text=text, reason=reason, created_at=at)
        )
    recipients = sorted({p.email for p in people if p is not None} | set(addresses))
    if recipients:
        link = f"{settings.SITE_URL}/tickets/{ticket.pk}/" if ticket is not None else settings.SITE_URL
        body = f"{text}\n\n{link}\n" + (f"\n({reason})\n" if reason else "")

        def send():
            try:
                send_mail(f"[Charterdesk] {text[:120]}", body, settings.DEFAULT_FROM_EMAIL, recipients)
            except Exception:  # a mail server outage must not undo the change that notified
                log.exception("could not email a notification to %s", recipients)

        transaction.on_commit(send)
    return created


def mark_read(person, notification_ids=None) -> int:
    """A person's own reading of their notifications; their state, not a change to the desk, so
    not audited."""
    unread = Notification.objects.filter(person=person, read_at__isnull=True)
    if notification_ids is not None:
        unread = unread.filter(pk__in=notification_ids)
    return unread.update(read_at=timezone.now())
