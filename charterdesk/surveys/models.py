"""Survey invitations (one per survey a ticket's solve asks for), the answers, and opt-outs."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from .choices import AnsweredVia, InvitationState, SurveyKind


class SurveyInvitation(models.Model):
    """One survey to ask one customer about one ticket, due at ``due_at``.

    ``solved_at`` is the solve it asks about: a ticket reopened and solved again gets a new
    invitation, and the old one is cancelled. The worker sends it when due (``state`` sent) or
    cancels it, saying why in ``reason`` (reopened, merged, opted out, loop protection, NPS asked
    too recently).
    """

    ticket = models.ForeignKey("tickets.Ticket", on_delete=models.CASCADE, related_name="survey_invitations")
    customer = models.ForeignKey("tickets.Customer", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=4, choices=SurveyKind.choices)
    solved_at = models.DateTimeField()
    due_at = models.DateTimeField()
    state = models.CharField(
        max_length=10, choices=InvitationState.choices, default=InvitationState.SCHEDULED
    )
    sent_at = models.DateTimeField(null=True, blank=True)
    reason = models.CharField(max_length=300, blank=True, help_text="why it was not sent")
    protocol_version = models.CharField(max_length=40, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["state", "due_at"], name="survey_due"),
            models.Index(fields=["customer", "kind", "sent_at"], name="survey_customer_kind"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["ticket", "kind", "solved_at"], name="survey_once_per_solve")
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on #{self.ticket_id} ({self.get_state_display().lower()})"


class SurveyAnswer(models.Model):
    """A customer's answer to one invitation: the score, an optional comment, who handled the ticket.

    ``agent`` is the ticket's assignee when the customer first answered (the agent profile page
    lists answers by it). ``answered_at`` is the first answer; ``changed_at`` the latest change; a
    rating can be changed until seven days after ``answered_at``."""

    invitation = models.OneToOneField(SurveyInvitation, on_delete=models.CASCADE, related_name="answer")
    ticket = models.ForeignKey("tickets.Ticket", on_delete=models.CASCADE, related_name="survey_answers")
    kind = models.CharField(max_length=4, choices=SurveyKind.choices)
    score = models.PositiveSmallIntegerField()
    comment = models.TextField(blank=True)
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    via = models.CharField(max_length=6, choices=AnsweredVia.choices, default=AnsweredVia.EMAIL)
    answered_at = models.DateTimeField()
    changed_at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["ticket"], name="survey_answer_ticket"),
            models.Index(fields=["agent", "answered_at"], name="survey_answer_agent"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.score} on #{self.ticket_id}"


class SurveyOptOut(models.Model):
    """A customer who asked for no more surveys (the link in every survey mail): honoured at once,
    for every invitation not yet sent."""

    customer = models.OneToOneField("tickets.Customer", on_delete=models.CASCADE, related_name="+")
    at = models.DateTimeField()

    def __str__(self) -> str:
        return f"customer {self.customer_id} opted out of surveys"
