"""Tickets' own answers to the lifecycle hooks, as any family's: the periodic jobs of a ticket's
life (follow-ups, auto-close) and the worker's housekeeping."""

from __future__ import annotations

import datetime as dt

from charterdesk.notifications.actions import send_digests

from . import jobs
from .lifecycle import PeriodicJob, hookimpl


@hookimpl
def periodic_jobs():
    return [
        PeriodicJob(
            "follow-ups",
            dt.timedelta(minutes=1),
            jobs.send_due_follow_ups,
            "sends the protocol's follow-up message to customers whose ticket was solved long enough ago",
        ),
        PeriodicJob(
            "auto-close",
            dt.timedelta(minutes=1),
            jobs.close_solved_tickets,
            "closes solved tickets once resolution.handling.auto_close_solved_after has passed",
        ),
        PeriodicJob(
            "notification-digests",
            dt.timedelta(minutes=1),
            send_digests,
            "mails each person the notifications that waited for their digest (docs/workspace.md)",
        ),
        PeriodicJob(
            "prune-task-results",
            dt.timedelta(hours=1),
            jobs.prune_task_results,
            "deletes finished background task results older than 7 days",
        ),
    ]
