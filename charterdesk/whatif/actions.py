"""Asking for a what-if: one audited request, the work itself in the worker (tasks.py)."""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from charterdesk.audit.actions import action, nothing_to_record, record

from .models import RunState, WhatifRun


@action
def do_request_whatif(
    draft, base, *, period: str, start: dt.datetime, end: dt.datetime, actor
) -> tuple[WhatifRun, bool]:
    """The run for this draft (as saved), version in force and period: the one already asked for
    (not failed), or a new one queued for the worker. Returns (run, whether it is new)."""
    existing = (
        WhatifRun.objects.filter(
            draft=draft, draft_saved_at=draft.updated_at, base=base, period_from=start, period_to=end
        )
        .exclude(state=RunState.FAILED)
        .first()
    )
    if existing is not None:
        nothing_to_record("the same draft and period were already asked for; their run is reused")
        return existing, False
    run = WhatifRun.objects.create(
        draft=draft,
        draft_saved_at=draft.updated_at,
        base=base,
        period=period,
        period_from=start,
        period_to=end,
        requested_by=actor,
    )
    record(
        "whatif.request",
        f"Tried draft {draft.version or draft.pk} on the tickets of {period} beside version {base.version}",
        actor=actor,
        target=f"protocol:{draft.pk}",
        protocol_version=base.version,
        data={"run": run.pk, "from": start.isoformat(), "to": end.isoformat()},
    )
    from .tasks import run_whatif

    transaction.on_commit(lambda: run_whatif.enqueue(run.pk))
    return run, True
