from django.conf import settings
from django.db import models


class RunState(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class WhatifRun(models.Model):
    """A draft tried on the desk's history beside the version in force, over one period.

    Keyed by the draft as it was saved (``draft_saved_at``), the version in force and the period,
    so asking again for the same draft and period reuses the run; an edited draft asks anew.
    """

    draft = models.ForeignKey("protocols.ProtocolVersion", on_delete=models.CASCADE, related_name="+")
    draft_saved_at = models.DateTimeField()
    base = models.ForeignKey("protocols.ProtocolVersion", on_delete=models.CASCADE, related_name="+")
    period = models.CharField(max_length=60, help_text="as the person chose it: 30d, or FROM..TO")
    period_from = models.DateTimeField()
    period_to = models.DateTimeField(help_text="every ticket is judged at this instant")
    state = models.CharField(max_length=10, choices=RunState.choices, default=RunState.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0, help_text="percent done")
    tickets = models.PositiveIntegerField(default=0)
    report = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True)
    read_seconds = models.FloatField(null=True, blank=True)
    engine_seconds = models.FloatField(null=True, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    requested_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-requested_at"]
        indexes = [models.Index(fields=["draft", "draft_saved_at", "base", "period_from", "period_to"])]

    def __str__(self) -> str:
        return f"what-if of version {self.draft_id} over {self.period} ({self.state})"
