"""The reports family's answers to the ticket lifecycle hooks: its link in the top navigation, and
the worker's jobs (scheduled report mails, the KPI rollups)."""

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
    from .rollups import refresh

    return [
        PeriodicJob(
            "kpi-rollups",
            dt.timedelta(minutes=1),
            refresh,
            "counts afresh the KPI facts of tickets changed since its last run and the sums of the "
            "days they touch; builds them all anew under a new protocol version, a slice of tickets "
            "per run",
        ),
        PeriodicJob(
            "scheduled-reports",
            dt.timedelta(minutes=1),
            send_scheduled_reports,
            "mails each reporting.schedule entry's report (HTML and PDF) once per scheduled instant",
        ),
    ]
