"""Background work for surveys: the worker's ``surveys`` job (hooks.periodic_jobs), every minute.

Sending is not a queued task per survey: a survey becomes due at an instant (``send_after`` a
solve), so the job looks for the due ones by an indexed (state, due time) query each tick, like
the tickets' follow-ups, and each one is sent (or cancelled, saying why) by ``do_send_survey``.
"""

from __future__ import annotations

import datetime as dt

from .actions import do_send_survey, log
from .choices import InvitationState
from .models import SurveyInvitation


def send_due_surveys(now: dt.datetime) -> int:
    """The worker's job: send (or cancel) every survey due by ``now``; returns how many were sent."""
    sent = 0
    due = SurveyInvitation.objects.filter(state=InvitationState.SCHEDULED, due_at__lte=now)
    for invitation in due.order_by("due_at", "pk").only("pk")[:500]:
        try:
            sent += do_send_survey(invitation, at=now)
        except Exception:  # one bad survey must not hold up the others
            log.exception("could not send survey %s; trying again next time", invitation.pk)
    return sent
