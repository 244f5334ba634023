from django.db import models


class Status(models.TextChoices):
    """Fixed by the protocol format."""

    NEW = "new", "New"
    OPEN = "open", "Open"
    PENDING = "pending", "Pending (waiting on the customer)"
    ON_HOLD = "on_hold", "On hold (waiting on a third party)"
    SOLVED = "solved", "Solved"
    CLOSED = "closed", "Closed"


UNSOLVED = (Status.NEW, Status.OPEN, Status.PENDING, Status.ON_HOLD)


class Priority(models.TextChoices):
    LOW = "low", "Low"
    NORMAL = "normal", "Normal"
    HIGH = "high", "High"
    URGENT = "urgent", "Urgent"


PRIORITY_RANK = {"low": 0, "normal": 1, "high": 2, "urgent": 3}


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
    INCIDENT = "incident", "Incident link"
