"""The only ways survey rows are fetched on someone's behalf: a customer holding a signed link, an
agent looking at answers on the tickets they handled, a lead or manager looking at anyone's."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404

from charterdesk.accounts.models import Person
from charterdesk.core.permissions import can, require
from charterdesk.tickets.models import Customer

from .models import SurveyAnswer, SurveyInvitation
from .tokens import read_answer, read_opt_out, read_rating


def _invitation(invitation_id: int) -> SurveyInvitation:
    invitation = (
        SurveyInvitation.objects.select_related("ticket__customer", "ticket__protocol_version")
        .filter(pk=invitation_id)
        .first()
    )
    if invitation is None:
        raise Http404("This survey no longer exists.")
    return invitation


def access_rating(token: str) -> tuple[SurveyInvitation, int]:
    """The invitation and the score a rating link stands for (BadToken when it was edited)."""
    rating = read_rating(token)
    return _invitation(rating.invitation_id), rating.score


def access_answer_page(token: str) -> SurveyInvitation:
    return _invitation(read_answer(token))


def access_opt_out(token: str) -> Customer:
    customer = Customer.objects.filter(pk=read_opt_out(token)).first()
    if customer is None:
        raise Http404("There is no such customer any more.")
    return customer


def access_agent_answers(request, person_id: int):
    """An agent's answers: their own for anyone who sees tickets; anyone's for holders of
    ``reports.view`` (leads, managers)."""
    require(request, "ticket.view")
    if person_id != request.user.pk and not can(request, "reports.view"):
        raise PermissionDenied("You can see the survey answers on your own tickets; a lead sees everyone's.")
    person = Person.objects.filter(pk=person_id).first()
    if person is None:
        raise Http404(f"There is no person #{person_id}.")
    answers = (
        SurveyAnswer.objects.filter(agent=person)
        .select_related("ticket__customer", "ticket__protocol_version")
        .order_by("-answered_at")
    )
    return person, answers
