from django.db import models


class SurveyKind(models.TextChoices):
    """The protocol's three surveys (``surveys.csat``, ``surveys.nps``, ``surveys.ces``)."""

    CSAT = "csat", "Satisfaction (CSAT)"
    NPS = "nps", "Net Promoter Score (NPS)"
    CES = "ces", "Customer effort (CES)"


class InvitationState(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"
    SENT = "sent", "Sent"
    CANCELLED = "cancelled", "Not sent"


class AnsweredVia(models.TextChoices):
    EMAIL = "email", "Email link"
    PORTAL = "portal", "Portal"
