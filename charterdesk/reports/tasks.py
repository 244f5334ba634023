"""The reports' task for the worker's queue: the next slice of a KPI rollups build.

The ``kpi-rollups`` job builds one slice a minute; while a build is under way each slice also
queues this task (one at a time, ``rollups.ask_follow_up``) so that the next slice follows as
soon as the worker is free, after any other ready task (replies, receipts: this one has a lower
priority). The build's own row says where to go on from, so a task that runs late, twice, or
after a restart does no harm.
"""

from __future__ import annotations

from django.utils import timezone
from django_tasks import task

from . import rollups


@task(priority=-10)
def continue_rollup_build() -> int:
    return rollups.continue_build(timezone.now())
