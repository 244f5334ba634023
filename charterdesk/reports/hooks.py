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


@hookimpl
def periodic_jobs():
    import datetime as dt

    from charterdesk.tickets.lifecycle import PeriodicJob

    from .jobs import send_scheduled_reports

    return [
        PeriodicJob(
            "scheduled-reports",
            dt.timedelta(minutes=1),
            send_scheduled_reports,
            "mails each reporting.schedule entry's report (HTML and PDF) once per scheduled instant",
        )
    ]
