"""Customers, tickets, their messages, and each ticket's event history (what the SLA engine reads)."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.db.models import Case, Value, When
from django.db.models.functions import Coalesce

from charterdesk.accounts.models import validate_timezone

from .choices import UNSOLVED, EventKind, MessageKind, Priority, Status

# The queue's sort key (``Ticket.queue_due``) for tickets without a due time: far beyond any real
# one, so they sort after every ticket with a running clock, and the solved and closed ones after
# those. "Unsolved" is then a range of one indexed column (``queue_due < NOT_IN_QUEUE``), which an
# index can give in order, where ``status IN (four statuses)`` cannot.
NO_CLOCK = dt.datetime(9000, 1, 1, tzinfo=dt.UTC)
NOT_IN_QUEUE = dt.datetime(9999, 1, 1, tzinfo=dt.UTC)


class Customer(models.Model):
    """Someone the team helps. Email is the usual key; phone-only customers have none."""

    name = models.CharField(max_length=200)
    # Whether ``name`` is the customer's own (a display name in their mail, a name they or an agent
    # typed), not a stand-in made from the address's local part, a phone number or "Customer".
    # Etiquette asks a reply to use the customer's name only when it is known.
    name_known = models.BooleanField(default=False)
    email = models.EmailField(null=True, blank=True, unique=True)
    phone = models.CharField(max_length=40, blank=True)
    organization = models.CharField(max_length=200, blank=True)
    timezone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone])
    language = models.CharField(max_length=16, default="en")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        indexes = [models.Index(fields=["organization"])]

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>" if self.email else self.name

    @property
    def first_name(self) -> str:
        return self.name.split()[0] if self.name.strip() else ""


class Ticket(models.Model):
    """One customer request and everything done about it, under the protocol version it runs under."""

    subject = models.CharField(max_length=300)
    # The (customer, created_at) index below serves lookups by customer, so the key needs none of its own
    # (each index is one more write per ticket). The same holds for the other `db_index=False` keys here.
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="tickets", db_index=False)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.NEW)
    priority = models.CharField(max_length=10, choices=Priority.choices, default=Priority.NORMAL)
    channel = models.CharField(max_length=64, help_text="a customer channel id of the protocol")
    group = models.CharField(max_length=64, blank=True, help_text="a group id of the protocol")
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_tickets",
        db_index=False,  # served by the (assignee, ...) indexes below
    )
    tags = models.JSONField(default=list, blank=True)
    protocol_version = models.ForeignKey(
        "protocols.ProtocolVersion", on_delete=models.PROTECT, related_name="tickets"
    )
    created_by_agent = models.BooleanField(default=False)
    created_at = models.DateTimeField(db_index=True)
    updated_at = models.DateTimeField()
    solved_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    # The SLA engine's answer after the last change (tickets/live_sla.py keeps these current).
    sla_policy = models.CharField(max_length=64, blank=True)
    sla_state = models.JSONField(default=dict, blank=True)
    next_due_at = models.DateTimeField(null=True, blank=True, help_text="the earliest open cycle's due time")
    next_deadline = models.DateTimeField(
        null=True, blank=True, help_text="the next instant the worker must look at this ticket"
    )
    breached = models.BooleanField(default=False)
    # Opened by a message whose sender could not be verified (see Message.unverified_sender) and
    # not yet confirmed by the customer: the ticket stays out of the customer's portal until then.
    unverified_sender = models.BooleanField(default=False)
    # Computed by the database from status and next_due_at (never written by the code), so that every
    # queue view's first page comes straight off an index: the next due time of an unsolved ticket,
    # NO_CLOCK for an unsolved ticket whose clocks are all paused or met, NOT_IN_QUEUE otherwise.
    queue_due = models.GeneratedField(
        expression=Case(
            When(status__in=UNSOLVED, then=Coalesce("next_due_at", Value(NO_CLOCK))),
            default=Value(NOT_IN_QUEUE),
        ),
        output_field=models.DateTimeField(),
        db_persist=True,
    )

    # Plain text of subject, messages and customer, for search.
    search_text = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["status", "next_due_at"], name="ticket_queue"),
            models.Index(fields=["assignee", "status", "next_due_at"], name="ticket_mine"),
            models.Index(fields=["group", "status", "next_due_at"], name="ticket_group_queue"),
            models.Index(fields=["next_deadline"], name="ticket_next_deadline"),
            models.Index(fields=["customer", "created_at"], name="ticket_by_customer"),
            models.Index(fields=["breached", "status"], name="ticket_breached"),
            # The queue views in queue order (all open, due soon, breached; the API list), by
            # assignee (mine, unassigned, the assignee filter) and by group (the group filter).
            models.Index(fields=["queue_due", "id"], name="ticket_queue_due"),
            models.Index(fields=["assignee", "queue_due", "id"], name="ticket_assignee_due"),
            models.Index(fields=["group", "queue_due", "id"], name="ticket_group_due"),
            # Everything the sidebar counts of the unsolved views read, so they count from the index alone.
            models.Index(
                fields=["queue_due", "status", "assignee", "group", "breached"], name="ticket_view_counts"
            ),
            # The tickets changed since a moment: those the KPI rollups count afresh (reports/rollups.py).
            models.Index(fields=["updated_at"], name="ticket_updated"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.subject}"

    @property
    def reference(self) -> str:
        return f"#{self.pk}"

    @property
    def is_unsolved(self) -> bool:
        return self.status in (Status.NEW, Status.OPEN, Status.PENDING, Status.ON_HOLD)


class TicketTag(models.Model):
    """One row per tag of a ticket, so that filtering by tag uses an index."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="tag_rows", db_index=False)
    tag = models.CharField(max_length=64)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["ticket", "tag"], name="tag_once_per_ticket")]
        indexes = [models.Index(fields=["tag", "ticket"])]

    def __str__(self) -> str:
        return self.tag


class Message(models.Model):
    """A customer's message, an agent's public reply, or an internal note."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="messages", db_index=False)
    kind = models.CharField(max_length=10, choices=MessageKind.choices)
    author_person = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    author_customer = models.ForeignKey(
        Customer, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    body_text = models.TextField()
    body_html = models.TextField(blank=True, help_text="sanitized HTML, when the message came with HTML")
    channel = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(db_index=True)
    # For email threading (channels) and idempotent ingestion.
    message_id = models.CharField(max_length=300, blank=True, db_index=True)
    # Why the sender could not be verified, when the message uses the address of a customer with
    # earlier tickets without proof (no aligned DKIM/SPF pass; a web form not signed in as them).
    # Empty: nothing to verify, or verified. Such a message is hidden from the customer's portal
    # until they confirm it (``sender_confirmed_at``) by the link the desk mails them.
    unverified_sender = models.CharField(max_length=300, blank=True)
    sender_confirmed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["ticket", "created_at"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on #{self.ticket_id}"

    @property
    def is_public(self) -> bool:
        return self.kind != MessageKind.NOTE

    @property
    def awaits_sender_confirmation(self) -> bool:
        """Marked "unverified sender" and not confirmed yet: kept from the customer's portal."""
        return bool(self.unverified_sender) and self.sender_confirmed_at is None


class Attachment(models.Model):
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(upload_to="attachments/%Y/%m/")
    filename = models.CharField(max_length=255)
    content_type = models.CharField(max_length=120, default="application/octet-stream")
    size = models.PositiveBigIntegerField(default=0)
    content_id = models.CharField(max_length=255, blank=True, help_text="for inline images in HTML mail")

    def __str__(self) -> str:
        return self.filename


class TicketEvent(models.Model):
    """One thing that happened on a ticket, in order. ``sla_input`` events are what the engine reads;
    the others (assignments, escalations it derived, procedure ticks) are for the timeline."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="events", db_index=False)
    at = models.DateTimeField()
    kind = models.CharField(max_length=20, choices=EventKind.choices)
    data = models.JSONField(default=dict, blank=True)
    sla_input = models.BooleanField(default=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=200, blank=True)
    protocol_version = models.CharField(max_length=40, blank=True)
    clause = models.CharField(max_length=200, blank=True, help_text="the protocol clause that made it happen")
    summary = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["ticket", "at", "id"])]

    def __str__(self) -> str:
        return f"{self.kind} on #{self.ticket_id} at {self.at:%Y-%m-%d %H:%M:%S}"


class TicketLink(models.Model):
    """Two related tickets (both directions are one row; the lower id first)."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="+")
    other = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["ticket", "other"], name="link_once")]

    def __str__(self) -> str:
        return f"#{self.ticket_id} ~ #{self.other_id}"


class ProcedureStep(models.Model):
    """A ticked step of a protocol procedure on a ticket."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="procedure_steps")
    procedure = models.CharField(max_length=64)
    step = models.PositiveSmallIntegerField()
    ticked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    ticked_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["ticket", "procedure", "step"], name="step_ticked_once")
        ]

    def __str__(self) -> str:
        return f"{self.procedure} step {self.step + 1} on #{self.ticket_id}"


class Macro(models.Model):
    """A saved reply with placeholders such as {customer.first_name}."""

    title = models.CharField(max_length=120)
    body = models.TextField()
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, help_text="empty: shared"
    )
    next_status = models.CharField(max_length=10, choices=Status.choices, blank=True)

    class Meta:
        ordering = ["title"]

    def __str__(self) -> str:
        return self.title


class ScheduledFollowUp(models.Model):
    """A follow-up message the protocol asks for after a ticket is solved."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="follow_ups")
    due_at = models.DateTimeField(db_index=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    cancelled = models.BooleanField(default=False)

    def __str__(self) -> str:
        return f"follow-up on #{self.ticket_id} at {self.due_at:%Y-%m-%d %H:%M}"


class AssignmentCursor(models.Model):
    """Who had the last automatically assigned ticket of a group (for round robin)."""

    group = models.CharField(max_length=64, unique=True)
    last_person_id = models.BigIntegerField(null=True)

    def __str__(self) -> str:
        return f"{self.group}: {self.last_person_id}"


class Lease(models.Model):
    """A named claim with an expiry, so that one worker at a time runs a periodic job.

    The worker that takes a job's lease runs the job; nobody else takes it before
    ``expires_at``. A worker that dies holding a lease loses it when it expires.
    """

    name = models.CharField(max_length=64, unique=True)
    holder = models.CharField(max_length=120, blank=True, help_text="the worker that took it last")
    expires_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name} held by {self.holder or 'nobody'} until {self.expires_at:%Y-%m-%d %H:%M:%S}"


class WorkspacePreference(models.Model):
    """How one person likes the workspace drawn (the queue's row density), kept across devices."""

    COMFORTABLE, COMPACT = "comfortable", "compact"
    DENSITIES = [(COMFORTABLE, "Comfortable"), (COMPACT, "Compact")]

    person = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    queue_density = models.CharField(max_length=16, choices=DENSITIES, default=COMFORTABLE)

    def __str__(self) -> str:
        return f"{self.person_id}: {self.queue_density}"


class TicketPresence(models.Model):
    """Who has a ticket open right now, and whether they are typing: one row per person and ticket,
    refreshed by the page every few seconds. In the database so that every worker process of
    `charterdesk serve` sees the same presence (a later step may move it to Redis)."""

    VIEWING, TYPING = "viewing", "typing"

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="+", db_index=False)
    person = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    state = models.CharField(max_length=10, choices=[(VIEWING, "Viewing"), (TYPING, "Typing")])
    seen_at = models.DateTimeField()
    # The last sign of life that was credited as working time (``worktime.credit_page_time``): a
    # second window of the same person on the ticket credits only the time since, never twice.
    worked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["ticket", "person"], name="presence_once_per_person")]

    def __str__(self) -> str:
        return f"{self.person_id} {self.state} #{self.ticket_id}"


class WorkTime(models.Model):
    """The seconds one person worked on one ticket on one day (the team's day), by kind: time
    active on the ticket page (visible, and used within the last minute), or a phone call logged
    on the ticket. The ``handle_time`` KPI sums them per ticket (``worktime.py``). Added to with one
    ``INSERT ... ON CONFLICT DO UPDATE SET seconds = seconds + ...``, so concurrent workers add up."""

    PAGE, CALL = "page", "call"
    KINDS = [(PAGE, "On the ticket page"), (CALL, "Phone call")]

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="+", db_index=False)
    person = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    kind = models.CharField(max_length=8, choices=KINDS)
    seconds = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["ticket", "person", "day", "kind"], name="worktime_once_per_day")
        ]

    def __str__(self) -> str:
        return f"{self.person_id} {self.seconds} s ({self.kind}) on #{self.ticket_id}, {self.day}"
