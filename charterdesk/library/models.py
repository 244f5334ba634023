"""Protocol versions: drafts that can be edited, published versions that never change."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class VersionStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    PUBLISHED = "published", "Published"
    WITHDRAWN = "withdrawn", "Withdrawn before it took effect"


class PublishedVersionIsFinal(Exception):
    """Something tried to change a published protocol version."""


class ProtocolVersion(models.Model):
    """One version of the team's protocol file, with the YAML exactly as written."""

    status = models.CharField(max_length=12, choices=VersionStatus.choices, default=VersionStatus.DRAFT)
    source = models.TextField(help_text="The protocol file, YAML")
    # Copied from the file when it validates, for lists and look-ups without parsing.
    version = models.CharField(max_length=40, blank=True)
    title = models.CharField(max_length=200, blank=True)
    company = models.CharField(max_length=200, blank=True)
    note = models.CharField(max_length=300, blank=True, help_text="What this draft is about")
    effective_at = models.DateTimeField(null=True, blank=True, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    published_at = models.DateTimeField(null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-effective_at", "-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["version"],
                condition=models.Q(status="published"),
                name="one_published_version_per_number",
            ),
            models.CheckConstraint(
                condition=models.Q(status="draft") | models.Q(effective_at__isnull=False),
                name="published_version_has_effective_date",
            ),
        ]

    def __str__(self) -> str:
        state = "draft" if self.is_draft else "published"
        return f"{self.title or 'Protocol'} {self.version or '?'} ({state})"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            stored = ProtocolVersion.objects.filter(pk=self.pk).values_list("status", flat=True).first()
            if stored == VersionStatus.PUBLISHED:
                raise PublishedVersionIsFinal(f"version {self.version} is published and cannot change")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        if self.status == VersionStatus.PUBLISHED:
            raise PublishedVersionIsFinal(f"version {self.version} is published and cannot be deleted")
        return super().delete(*args, **kwargs)

    @property
    def is_draft(self) -> bool:
        return self.status == VersionStatus.DRAFT

    @property
    def label(self) -> str:
        return f"{self.version or 'untitled'}{' (draft)' if self.is_draft else ''}"

    @property
    def audit_ref(self) -> str:
        return f"protocol-version:{self.pk}"
