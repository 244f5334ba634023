"""The reports family's answers to the ticket lifecycle hooks: its link in the top navigation."""

from __future__ import annotations

from django.urls import reverse

from charterdesk.tickets.lifecycle import NavItem, hookimpl


@hookimpl
def navigation(request):
    # Everyone who works tickets sees their own numbers; reports.view shows the team's.
    return [
        NavItem("Reports", reverse("reports:index"), ("ticket.view", "reports.view"), app="reports", order=35)
    ]
