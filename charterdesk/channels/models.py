"""Inbound messages kept whole, mailboxes to poll, what was sent automatically, calls, and web forms."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from .choices import CallDirection, InboundState, MailboxSecurity, OutboundKind, OutboundState


class InboundMessage(models.Model):
    """One message as it arrived, stored whole before anything else happens to it.

    ``dedupe_key`` (``sha:`` and the SHA-256 of the raw bytes as received) makes ingestion
    idempotent: the same message (same Message-ID, same content) arriving twice is stored and
    acted on once. A second, different message that reuses an earlier Message-ID is stored as a
    message of its own, with ``reused_message_id`` set. ``sha256`` is of the bytes as received and
    is kept when a later step (redaction) rewrites ``raw``.
    Quarantined and held messages are rows in the states of the same name.
    """

    dedupe_key = models.CharField(max_length=340, unique=True)
    raw = models.BinaryField()
    size = models.PositiveIntegerField(default=0)
    sha256 = models.CharField(max_length=64)
    message_id = models.CharField(max_length=300, blank=True)
    # Another stored message, with other content, had this Message-ID first.
    reused_message_id = models.BooleanField(default=False)
    source = models.CharField(max_length=20, help_text="smtp, imap, import or embed")
    source_ref = models.CharField(max_length=300, blank=True, help_text="mailbox and UID, file path, peer")
    envelope_from = models.CharField(max_length=320, blank=True)
    # The name the sending server gave in HELO/EHLO (SMTP listener only): SPF's identity for bounces.
    helo = models.CharField(max_length=255, blank=True)
    envelope_to = models.JSONField(default=list, blank=True)
    channel = models.CharField(max_length=64, blank=True, help_text="the protocol channel it came in on")
    mailbox = models.ForeignKey("Mailbox", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    received_at = models.DateTimeField(db_index=True)

    state = models.CharField(
        max_length=12, choices=InboundState.choices, default=InboundState.PENDING, db_index=True
    )
    reason = models.TextField(blank=True, help_text="why it is quarantined or held")
    outcome = models.CharField(max_length=300, blank=True, help_text="what became of it, in words")
    subject = models.CharField(max_length=300, blank=True)
    from_address = models.CharField(max_length=320, blank=True)
    ticket = models.ForeignKey(
        "tickets.Ticket", null=True, blank=True, on_delete=models.SET_NULL, related_name="inbound_messages"
    )
    ticket_message = models.OneToOneField(
        "tickets.Message", null=True, blank=True, on_delete=models.SET_NULL, related_name="inbound"
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    # The sender check (sender_auth.SenderAuth as a dict), made once on the bytes as received,
    # before redaction rewrites them; empty when it was not needed (see senders.py).
    sender_auth = models.JSONField(default=dict, blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-received_at", "-id"]
        indexes = [
            models.Index(fields=["state", "received_at"], name="inbound_queue"),
            models.Index(fields=["message_id"], name="inbound_message_id"),
        ]

    def __str__(self) -> str:
        return f"{self.get_state_display()}: {self.subject or '(no subject)'} from {self.from_address or '?'}"

    @property
    def raw_bytes(self) -> bytes:
        return bytes(self.raw)

    @property
    def raw_text(self) -> str:
        return self.raw_bytes.decode("utf-8", errors="replace")


class TicketParticipant(models.Model):
    """Someone besides the customer whose mail on a ticket is attached without asking (a Cc'd colleague,
    a sender an agent approved)."""

    ticket = models.ForeignKey("tickets.Ticket", on_delete=models.CASCADE, related_name="participants")
    email = models.EmailField()
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["ticket", "email"], name="participant_once")]

    def __str__(self) -> str:
        return f"{self.email} on #{self.ticket_id}"


class Mailbox(models.Model):
    """An external IMAP mailbox the worker polls for one channel. The password is stored encrypted
    (see ``secrets.py``) and never shown back."""

    # Where and as whom the desk signs in: the stored password is sent only there.
    SIGN_IN_FIELDS = ("host", "port", "username", "security")

    name = models.CharField(max_length=120)
    channel = models.CharField(max_length=64, help_text="the protocol channel its mail belongs to")
    host = models.CharField(max_length=255)
    port = models.PositiveIntegerField(default=993)
    security = models.CharField(max_length=10, choices=MailboxSecurity.choices, default=MailboxSecurity.SSL)
    username = models.CharField(max_length=255)
    password_encrypted = models.TextField(blank=True)
    folder = models.CharField(max_length=255, default="INBOX")
    is_active = models.BooleanField(default=True)
    verify_certificate = models.BooleanField(default=True)
    # The authserv-id of the receiving mail server whose Authentication-Results header the desk
    # believes for this mailbox's mail (e.g. mx.acme.example); empty: check DKIM itself.
    trusted_authserv_id = models.CharField(max_length=255, blank=True)
    last_polled_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    last_count = models.PositiveIntegerField(default=0)
    lease_until = models.DateTimeField(null=True, blank=True)
    lease_owner = models.CharField(max_length=120, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "mailboxes"

    def __str__(self) -> str:
        return f"{self.name} ({self.username}@{self.host})"


class OutboundMail(models.Model):
    """A mail the desk sent (or tried to): agent replies and automatic receipts. Automatic ones are
    what the per-address rate limit counts; failures and bounces show on the ticket."""

    ticket = models.ForeignKey("tickets.Ticket", on_delete=models.CASCADE, related_name="outbound_mails")
    ticket_message = models.ForeignKey(
        "tickets.Message", null=True, blank=True, on_delete=models.SET_NULL, related_name="outbound_mails"
    )
    kind = models.CharField(max_length=12, choices=OutboundKind.choices)
    message_id = models.CharField(max_length=300, db_index=True)
    to_address = models.CharField(max_length=320, db_index=True)
    subject = models.CharField(max_length=400, blank=True)
    state = models.CharField(max_length=10, choices=OutboundState.choices, default=OutboundState.SENT)
    error = models.TextField(blank=True, help_text="the server's answer when sending failed or bounced")
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["to_address", "kind", "created_at"], name="outbound_rate")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} to {self.to_address} on #{self.ticket_id}"


class PhoneCall(models.Model):
    """A call an agent logged on a ticket: which way, how long, what was said."""

    ticket = models.ForeignKey("tickets.Ticket", on_delete=models.CASCADE, related_name="phone_calls")
    message = models.OneToOneField(
        "tickets.Message", null=True, blank=True, on_delete=models.SET_NULL, related_name="phone_call"
    )
    direction = models.CharField(max_length=10, choices=CallDirection.choices)
    duration_seconds = models.PositiveIntegerField()
    notes = models.TextField()
    phone_number = models.CharField(max_length=40, blank=True)
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField()

    class Meta:
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"{self.get_direction_display()} call on #{self.ticket_id}"

    @property
    def duration_text(self) -> str:
        minutes, seconds = divmod(self.duration_seconds, 60)
        return f"{minutes} min {seconds:02d} s"


class EmbedForm(models.Model):
    """The embeddable contact form of one `web` channel: which sites may post to it."""

    channel = models.CharField(max_length=64, unique=True)
    allowed_origins = models.JSONField(default=list, blank=True, help_text="e.g. https://www.acme.example")
    enabled = models.BooleanField(default=True)
    title = models.CharField(max_length=120, default="Contact us")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["channel"]

    def __str__(self) -> str:
        return f"contact form for {self.channel}"
