"""The unread count for the bell in the top bar (a context processor).

Register ``charterdesk.notifications.context.unread_notifications`` in TEMPLATES'
``context_processors``; until then the ``{% unread_notifications %}`` tag in base.html counts
them itself (and uses this value once it is in the context).
"""

from __future__ import annotations

from .models import Notification


def unread_count(person) -> int:
    if person is None or not person.is_authenticated:
        return 0
    return Notification.objects.filter(person=person, read_at__isnull=True).count()


class LazyCount:
    """The count, queried on first use only: pages without the top bar (sign-in) make no query."""

    def __init__(self, person) -> None:
        self._person = person
        self._value: int | None = None

    def __int__(self) -> int:
        if self._value is None:
            self._value = unread_count(self._person)
        return self._value

    def __bool__(self) -> bool:
        return int(self) > 0

    def __str__(self) -> str:
        return str(int(self))

    def __eq__(self, other) -> bool:
        return int(self) == other

    __hash__ = None  # type: ignore[assignment]


def unread_notifications(request):
    return {"unread_notifications": LazyCount(getattr(request, "user", None))}
