from django.conf import settings
from django.db import models


class Notification(models.Model):
    """Something a person should know about: an escalation, an assignment, a contingency."""

    person = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    ticket = models.ForeignKey(
        "tickets.Ticket", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    text = models.CharField(max_length=500)
    reason = models.CharField(max_length=200, blank=True, help_text="the rule or clause that sent it")
    created_at = models.DateTimeField(db_index=True)
    read_at = models.DateTimeField(null=True, blank=True)
    # When it went out by email, alone or in a digest; null while it waits for the digest.
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["person", "read_at", "created_at"])]

    def __str__(self) -> str:
        return self.text
