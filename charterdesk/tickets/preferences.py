"""A person's own choices about how the workspace is drawn (the queue's row density)."""

from __future__ import annotations

from .models import WorkspacePreference


def queue_density(person) -> str:
    row = WorkspacePreference.objects.filter(person=person).only("queue_density").first()
    return row.queue_density if row else WorkspacePreference.COMFORTABLE


def set_queue_density(person, density: str) -> None:
    """Not an action: a person's own display choice changes nothing anyone else sees or the
    protocol governs, so it is not audited (like marking a notification read)."""
    if density not in dict(WorkspacePreference.DENSITIES):
        raise ValueError(f"density: '{density}' is not comfortable or compact")
    WorkspacePreference.objects.update_or_create(person=person, defaults={"queue_density": density})
