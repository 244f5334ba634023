"""The audit log: append-only, every entry chained to the one before it by a keyed MAC (audit/keys.py)."""

from __future__ import annotations

import json

from django.conf import settings
from django.db import models


class AuditLogIsAppendOnly(Exception):
    """An audit entry was about to be changed or deleted."""


class AuditHead(models.Model):
    """One row holding the newest entry's hash; locking it serialises appends to the chain."""

    last_hash = models.CharField(max_length=64, default="")
    count = models.PositiveBigIntegerField(default=0)
    # HMAC of count and last_hash under the key that signed the newest entry (audit/keys.py).
    mac = models.CharField(max_length=64, default="", blank=True)
    key_id = models.CharField(max_length=16, default="", blank=True)

    def __str__(self) -> str:
        return f"audit head after {self.count} entries"


class AuditEntry(models.Model):
    """Who did what, when, under which protocol version and clause."""

    at = models.DateTimeField(db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The actor's name at the time, kept even if the person is renamed or removed.
    actor_label = models.CharField(max_length=200, blank=True)
    action = models.CharField(max_length=80, db_index=True)
    target = models.CharField(max_length=200, blank=True, help_text="e.g. protocol-version:12, person:3")
    summary = models.TextField()
    protocol_version = models.CharField(max_length=40, blank=True)
    clause = models.CharField(max_length=200, blank=True)
    data = models.JSONField(default=dict, blank=True)
    prev_hash = models.CharField(max_length=64)
    # HMAC-SHA256 of payload() under the key named by key_id (audit/keys.py), never a plain hash.
    hash = models.CharField(max_length=64, unique=True)
    key_id = models.CharField(max_length=16, blank=True, default="")

    class Meta:
        ordering = ["id"]
        verbose_name_plural = "audit entries"

    def __str__(self) -> str:
        return f"#{self.pk} {self.action}: {self.summary}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise AuditLogIsAppendOnly("audit entries cannot be changed")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AuditLogIsAppendOnly("audit entries cannot be deleted")

    def payload(self) -> bytes:
        """The canonical bytes the hash covers: every field but the id and the hash itself."""
        body = {
            "at": self.at.isoformat(timespec="microseconds"),
            "actor": self.actor_id,
            "actor_label": self.actor_label,
            "action": self.action,
            "target": self.target,
            "summary": self.summary,
            "protocol_version": self.protocol_version,
            "clause": self.clause,
            "data": self.data,
            "prev_hash": self.prev_hash,
            "key_id": self.key_id,
        }
        return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()

    def compute_hash(self, key: bytes) -> str:
        from .keys import sign

        return sign(key, self.payload())
