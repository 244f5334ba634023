"""The worker's part of a what-if: read the histories, replay them under both versions, store the report.

The run's own rows (state, progress, report) are written here directly, not through an action:
they are the run's bookkeeping, asked for by ``do_request_whatif`` (which is audited), and a
progress bar must be visible before the run ends, so each write commits on its own.
"""

from __future__ import annotations

import logging
import time

from django.utils import timezone
from django_tasks import task

from charterdesk.engine.bulk import many_small_objects
from charterdesk.engine.sla import EventError, SlaEngine
from charterdesk.engine.whatif import run
from charterdesk.library.versions import load_version
from charterdesk.tickets.live_sla import to_seconds

from .histories import period_histories, survey_answers
from .models import RunState, WhatifRun

log = logging.getLogger("charterdesk.worker")

READ_SHARE = 30
"""Percent of the progress bar given to reading the histories (the rest: the engine)."""


@task()
def run_whatif(run_id: int) -> None:
    compute(run_id)


def _set(run_id: int, **fields) -> None:
    WhatifRun.objects.filter(pk=run_id).update(**fields)


def compute(run_id: int) -> None:
    """Carry out one run (the task, and the tests without a worker)."""
    job = WhatifRun.objects.select_related("draft", "base").get(pk=run_id)
    if job.state == RunState.DONE:
        return
    _set(run_id, state=RunState.RUNNING, progress=1)
    try:
        with many_small_objects():
            report, read, engine = _replay(job, run_id)
    except (EventError, ValueError) as error:
        log.warning("what-if run %s failed: %s", run_id, error)
        _set(run_id, state=RunState.FAILED, error=str(error), finished_at=timezone.now())
        return
    _set(
        run_id,
        state=RunState.DONE,
        progress=100,
        report=report,
        read_seconds=round(read, 3),
        engine_seconds=round(engine, 3),
        finished_at=timezone.now(),
    )


def _replay(job: WhatifRun, run_id: int) -> tuple[dict, float, float]:
    """(the report, seconds reading, seconds replaying); EventError or ValueError for a run that fails."""
    draft = load_version(job.draft).protocol
    base = load_version(job.base).protocol
    if draft is None or base is None:
        raise ValueError("the draft does not validate; fix it in the editor and try again")
    started = time.perf_counter()
    tickets = period_histories(job.period_from, job.period_to)
    surveys = survey_answers(tickets, job.period_to)
    read = time.perf_counter() - started
    _set(run_id, progress=READ_SHARE, tickets=len(tickets))
    total = max(len(tickets), 1)

    def progress(done: int) -> None:
        _set(run_id, progress=READ_SHARE + (100 - READ_SHARE - 1) * done // total)

    started = time.perf_counter()
    report = run(
        SlaEngine(base),
        SlaEngine(draft),
        tickets,
        to_seconds(job.period_to),
        period_from=to_seconds(job.period_from),
        surveys=surveys,
        progress=progress,
    ).as_dict()
    return report, read, time.perf_counter() - started
