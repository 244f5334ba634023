"""What the portal shows of surveys on a customer's own ticket (the portal, a floor above, asks)."""

from __future__ import annotations

from charterdesk.library.versions import protocol_of

from . import rules
from .actions import opted_out
from .choices import InvitationState
from .models import SurveyInvitation
from .tokens import answer_token, rating_token


def portal_surveys(ticket) -> list[dict]:
    """The surveys about the ticket's latest solve that the customer can answer (or has answered),
    as soon as it is solved: before the mail, the portal already asks."""
    if ticket.merged_into_id or ticket.status not in ("solved", "closed") or opted_out(ticket.customer_id):
        return []
    protocol = protocol_of(ticket.protocol_version)
    invitations = (
        SurveyInvitation.objects.filter(ticket=ticket, solved_at=ticket.solved_at)
        .exclude(state=InvitationState.CANCELLED, answer__isnull=True)
        .select_related("answer")
        .order_by("kind")
    )
    found = []
    for invitation in invitations:
        answer = getattr(invitation, "answer", None)
        low, high = rules.scale(protocol, invitation.kind)
        ends = rules.labels(protocol, invitation.kind)
        is_open = answer is None or not answer.answered_at + rules.CHANGE_WINDOW < _now()
        found.append(
            {
                "kind": invitation.kind,
                "question": rules.question(protocol, invitation.kind),
                "answer": answer,
                "answer_token": answer_token(invitation.pk),
                "open": is_open,
                "low": low,
                "high": high,
                "ends_low": ends[low],
                "ends_high": ends[high],
                "links": [(s, rating_token(invitation.pk, s), ends.get(s, "")) for s in range(low, high + 1)],
            }
        )
    return found


def _now():
    from django.utils import timezone

    return timezone.now()
