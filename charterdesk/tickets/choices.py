from django.db import models

from charterdesk.protocol.vocabulary import PRIORITY_RANK, STATUS_LABELS

__all__ = ["PRIORITY_RANK", "UNSOLVED", "EventKind", "MessageKind", "Priority", "Status"]


class Status(models.TextChoices):
    """Fixed by the protocol format."""

    NEW = "new", STATUS_LABELS["new"]
    OPEN = "open", STATUS_LABELS["open"]
    PENDING = "pending", STATUS_LABELS["pending"]
    ON_HOLD = "on_hold", STATUS_LABELS["on_hold"]
    SOLVED = "solved", STATUS_LABELS["solved"]
    CLOSED = "closed", STATUS_LABELS["closed"]


UNSOLVED = (Status.NEW, Status.OPEN, Status.PENDING, Status.ON_HOLD)


class Priority(models.TextChoices):
    LOW = "low", "Low"
    NORMAL = "normal", "Normal"
    HIGH = "high", "High"
    URGENT = "urgent", "Urgent"


class MessageKind(models.TextChoices):
    CUSTOMER = "customer", "Customer message"
    REPLY = "reply", "Public reply"
    NOTE = "note", "Internal note"


class EventKind(models.TextChoices):
    """What happened on a ticket. The first six and ``incident`` are exactly the SLA engine's events."""

    CREATED = "created", "Created"
    REPLY = "reply", "Message"
    STATUS = "status", "Status changed"
    PRIORITY = "priority", "Priority changed"
    TAGS = "tags", "Tags changed"
    GROUP = "group", "Group changed"
    ASSIGNEE = "assignee", "Assigned"
    ESCALATION = "escalation", "Escalation rule fired"
    SLA = "sla", "SLA"
    MERGE = "merge", "Merged"
    LINK = "link", "Linked"
    PROCEDURE = "procedure", "Procedure step"
    TROUBLESHOOTING = "troubleshooting", "Troubleshooting"
    SUBJECT = "subject", "Subject changed"
    FOLLOW_UP = "follow_up", "Follow-up"
    DELIVERY = "delivery", "Mail not delivered"
    INCIDENT = "incident", "Incident link"
