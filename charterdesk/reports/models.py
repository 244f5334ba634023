"""The scheduled report mails the desk has sent (or is sending): one row per schedule entry and instant."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class ReportSend(models.Model):
    """A report mailed for one ``reporting.schedule`` entry at one scheduled instant, or sent by
    hand from the schedule page.

    The unique (entry, due_at) pair is the claim: the worker that inserts it sends the mail, any
    other worker's insert fails and it moves on, so a scheduled instant is mailed once however many
    workers run. A send by hand has ``by`` set and its own instant (the moment it was asked for).
    """

    entry = models.CharField(max_length=200, help_text="the schedule entry (its index and its words)")
    due_at = models.DateTimeField(help_text="the scheduled instant (for a send by hand: when it was asked)")
    report = models.CharField(max_length=10, help_text="daily, weekly or monthly")
    first_day = models.DateField()
    last_day = models.DateField()
    recipients = models.JSONField(default=list, help_text="the addresses it went to")
    late = models.BooleanField(default=False, help_text="sent well after its instant (the worker was down)")
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    protocol_version = models.CharField(max_length=40, blank=True)
    claimed_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-due_at"]
        constraints = [
            models.UniqueConstraint(fields=["entry", "due_at"], name="report_sent_once_per_instant")
        ]

    def __str__(self) -> str:
        return f"{self.report} report for {self.first_day}..{self.last_day} at {self.due_at:%Y-%m-%d %H:%M}"


class ScheduleStart(models.Model):
    """When the desk began watching a schedule entry: instants before it are never mailed.

    Written the first time the worker sees an entry (a new desk, a new or edited entry), so a
    protocol that has long been in force does not mail its past; from then on every instant is
    mailed, late when the worker was down."""

    entry = models.CharField(max_length=200, unique=True)
    since = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.entry} since {self.since:%Y-%m-%d %H:%M}"
