from django.db import models


class InboundState(models.TextChoices):
    """Where an inbound message is in its life."""

    PENDING = "pending", "Stored, not yet processed"
    PROCESSED = "processed", "Processed"
    QUARANTINED = "quarantined", "Quarantined"
    HELD = "held", "Held for approval"
    REJECTED = "rejected", "Rejected by an agent (kept)"


class MailboxSecurity(models.TextChoices):
    SSL = "ssl", "TLS from the start (IMAPS, port 993)"
    STARTTLS = "starttls", "STARTTLS (port 143)"
    NONE = "none", "None (only for a server on this machine)"


class OutboundKind(models.TextChoices):
    REPLY = "reply", "Agent reply"
    RECEIPT = "receipt", "Automatic receipt"
    SURVEY = "survey", "Survey"
    CONFIRM = "confirm", "Sender confirmation request"


class OutboundState(models.TextChoices):
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"
    BOUNCED = "bounced", "Bounced"
    SUPPRESSED = "suppressed", "Not sent (loop protection)"


class CallDirection(models.TextChoices):
    INBOUND = "inbound", "Inbound (the customer called)"
    OUTBOUND = "outbound", "Outbound (we called the customer)"
