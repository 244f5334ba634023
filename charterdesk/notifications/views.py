"""A person's notifications: the list, marking one or all read, and opening the ticket one is about."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from .actions import mark_read
from .models import Notification

PAGE_SIZE = 50


def _own(request, notification_id: int) -> Notification:
    """A notification of the signed-in person (everyone else's answer 404, not 403)."""
    found = Notification.objects.filter(pk=notification_id, person=request.user).first()
    if found is None:
        raise Http404("There is no such notification.")
    return found


@login_required
@require_GET
def inbox(request):
    show = request.GET.get("show", "all")
    notifications = Notification.objects.filter(person=request.user).select_related("ticket")
    if show == "unread":
        notifications = notifications.filter(read_at__isnull=True)
    page = Paginator(notifications, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "notifications/list.html", {"page": page, "show": show, "groups": _grouped(page)})


def _grouped(page) -> list[dict]:
    """The page's notifications, one group per ticket (in the order of each ticket's latest), so ten
    escalations on one ticket are one card with ten short lines; those about no ticket group alone."""
    groups: dict[int | None, dict] = {}
    for n in page.object_list:
        group = groups.setdefault(n.ticket_id, {"ticket": n.ticket, "items": [], "unread": 0})
        group["items"].append(n)
        group["unread"] += n.read_at is None
    return list(groups.values())


@login_required
@require_POST
def read_one(request, notification_id: int):
    mark_read(request.user, [_own(request, notification_id).pk])
    return redirect(request.POST.get("next") if _safe(request.POST.get("next")) else "notifications:list")


@login_required
@require_POST
def read_all(request):
    count = mark_read(request.user)
    messages.success(request, f"Marked {count} notification{'s' if count != 1 else ''} read.")
    return redirect("notifications:list")


@login_required
@require_POST
def open_one(request, notification_id: int):
    """Mark it read and go to its ticket."""
    notification = _own(request, notification_id)
    mark_read(request.user, [notification.pk])
    if notification.ticket_id is None:
        return redirect("notifications:list")
    return redirect("tickets:ticket", notification.ticket_id)


def _safe(url: str | None) -> bool:
    return bool(url) and url.startswith("/") and not url.startswith("//")
