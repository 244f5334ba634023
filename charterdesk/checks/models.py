from django.db import models


class ContingencyActivation(models.Model):
    """A ticket is under a contingency: a customer message on it matched the contingency's
    ``detect``. One row per ticket and contingency: the plan is shown, and its ``do`` actions
    run, once per ticket, however often the customer writes so again."""

    ticket = models.ForeignKey("tickets.Ticket", on_delete=models.CASCADE, related_name="contingencies")
    contingency = models.CharField(max_length=100, help_text="the contingency's id in the protocol")
    title = models.CharField(max_length=300)
    reason = models.CharField(max_length=300, help_text="why it matched, in words")
    phrase = models.CharField(max_length=300, blank=True, help_text="the phrase that matched, if any")
    message = models.ForeignKey("tickets.Message", null=True, blank=True, on_delete=models.SET_NULL)
    protocol_version = models.CharField(max_length=50)
    at = models.DateTimeField()

    class Meta:
        ordering = ["at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["ticket", "contingency"], name="contingency_once_per_ticket")
        ]
        indexes = [models.Index(fields=["contingency", "ticket"], name="contingency_tickets")]

    def __str__(self) -> str:
        return f"{self.contingency} on ticket {self.ticket_id}"


class RedactionSweep(models.Model):
    """How far ``charterdesk privacy redact-existing`` went through one kind of stored text, so
    that a run cut short goes on where it stopped. One row per protocol version and place."""

    protocol_version = models.CharField(max_length=50)
    place = models.CharField(max_length=60, help_text="e.g. tickets.Message")
    last_pk = models.BigIntegerField(default=0)
    scanned = models.PositiveIntegerField(default=0)
    changed = models.PositiveIntegerField(default=0)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["protocol_version", "place"], name="one_sweep_per_place")
        ]

    def __str__(self) -> str:
        return f"{self.place} under {self.protocol_version}: up to #{self.last_pk}"
