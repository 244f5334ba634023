"""Telling people: an in-app notification, and an email sent once the transaction commits."""

from __future__ import annotations

import datetime as dt
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


# The digest rule: a person's first notification after a quiet spell is mailed at once; those that
# follow within DIGEST_WINDOW of that mail wait, and go together in one digest mail once the window
# has passed (the worker's notification-digests job). Addresses that are not people (a protocol's
# notify: ops@...) are mailed each time.
DIGEST_WINDOW = dt.timedelta(minutes=15)


def notify(people, text: str, *, ticket=None, reason: str = "", addresses=(), at=None) -> list[Notification]:
    """Notify people in the desk and by email (after commit, so a rolled-back change sends nothing),
    under the digest rule above.

    A step of the action that decides to tell them (an escalation, an assignment, a failed
    delivery), whose audit entry says why; not an audited action of its own."""
    at = at or timezone.now()
    created = []
    seen = set()
    mail_now: set[str] = set(addresses)
    for person in people:
        if person is None or person.pk in seen:
            continue
        seen.add(person.pk)
        recent = Notification.objects.filter(person=person, emailed_at__gt=at - DIGEST_WINDOW).exists()
        waiting = Notification.objects.filter(person=person, emailed_at__isnull=True, read_at__isnull=True)
        # Mailed at once after a quiet spell; otherwise it waits for the digest.
        now = not recent and not waiting.filter(created_at__gt=at - DIGEST_WINDOW).exists()
        created.append(
            Notification.objects.create(
                person=person,
                ticket=ticket,
                text=text,
                reason=reason,
                created_at=at,
                emailed_at=at if now and person.email else None,
            )
        )
        if now and person.email:
            mail_now.add(person.email)
    recipients = sorted(mail_now)
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


def send_digests(now: dt.datetime) -> int:
    """The worker's job: for each person whose waiting notifications' window has passed (their last
    mail, or their first waiting notification, is DIGEST_WINDOW old), one mail listing them all.
    Read ones are not mailed. Returns how many digests went out."""
    from django.db.models import Max, Min

    waiting = Notification.objects.filter(emailed_at__isnull=True).exclude(person__email="")
    sent = 0
    for row in waiting.values("person").annotate(first=Min("created_at"), count=Max("id")):
        person_id = row["person"]
        last_mail = Notification.objects.filter(person_id=person_id, emailed_at__isnull=False).aggregate(
            last=Max("emailed_at")
        )["last"]
        opened = last_mail or row["first"]
        if opened > now - DIGEST_WINDOW:
            continue
        with transaction.atomic():
            items = list(
                Notification.objects.select_for_update()
                .filter(person_id=person_id, emailed_at__isnull=True)
                .select_related("person")
                .order_by("created_at", "id")
            )
            unread = [n for n in items if n.read_at is None]
            Notification.objects.filter(pk__in=[n.pk for n in items]).update(emailed_at=now)
            if not unread:
                continue
            person = unread[0].person
            lines = []
            for n in unread:
                link = f"{settings.SITE_URL}/tickets/{n.ticket_id}/" if n.ticket_id else ""
                lines.append(f"- {n.text}" + (f"\n  {link}" if link else ""))
            count = len(unread)
            subject = f"[Charterdesk] {count} notification{'s' if count != 1 else ''} since the last mail"
            body = "\n".join(lines) + f"\n\nAll of them: {settings.SITE_URL}/notifications/\n"

            def send(subject=subject, body=body, to=person.email):
                try:
                    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [to])
                except Exception:
                    log.exception("could not email a notification digest to %s", to)

            transaction.on_commit(send)
            sent += 1
    return sent


def mark_read(person, notification_ids=None) -> int:
    """A person's own reading of their notifications; their state, not a change to the desk, so
    not audited."""
    unread = Notification.objects.filter(person=person, read_at__isnull=True)
    if notification_ids is not None:
        unread = unread.filter(pk__in=notification_ids)
    return unread.update(read_at=timezone.now())
