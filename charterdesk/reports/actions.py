"""Every change the reports make: claiming a scheduled instant, and marking its mail sent."""

from __future__ import annotations

import datetime as dt

from django.db import IntegrityError, transaction

from charterdesk.audit.actions import action, nothing_to_record, record

from .models import ReportSend


@action
def do_claim_send(
    *,
    entry: str,
    due_at: dt.datetime,
    report: str,
    first_day: dt.date,
    last_day: dt.date,
    now: dt.datetime,
    late: bool = False,
    by=None,
    protocol_version: str = "",
) -> ReportSend | None:
    """Claim one report mail: the row for (entry, instant), or None when another worker has it.

    The unique constraint decides between workers: the second insert fails, inside a savepoint,
    and its worker moves on, so an instant is mailed once however many workers run."""
    try:
        with transaction.atomic():
            row = ReportSend.objects.create(
                entry=entry,
                due_at=due_at,
                report=report,
                first_day=first_day,
                last_day=last_day,
                late=late,
                by=by if getattr(by, "pk", None) else None,
                protocol_version=protocol_version,
                claimed_at=now,
            )
    except IntegrityError:
        nothing_to_record("another worker has already claimed this scheduled report")
        return None
    when = "sent by hand" if by is not None else f"scheduled for {due_at:%Y-%m-%d %H:%M} UTC"
    record(
        "reports.send",
        f"The {report} report for {first_day} to {last_day} is being mailed "
        f"({when}{', late' if late else ''})",
        actor=by if getattr(by, "pk", None) else None,
        target=f"report-send:{row.pk}",
        protocol_version=protocol_version,
        clause="reporting.schedule",
        data={"entry": entry, "due_at": due_at.isoformat(), "late": late},
        at=now,
    )
    return row


@action
def do_mark_sent(row: ReportSend, *, recipients: list[str], now: dt.datetime) -> ReportSend:
    """The report's mail has been handed to the mail server: who got it and when."""
    row.recipients = recipients
    row.sent_at = now
    row.save(update_fields=["recipients", "sent_at"])
    record(
        "reports.sent",
        f"The {row.report} report for {row.first_day} to {row.last_day} "
        f"was mailed to {len(recipients)} people",
        target=f"report-send:{row.pk}",
        protocol_version=row.protocol_version,
        clause="reporting.schedule",
        # How many, not who: the addresses stay on the report's own row (ReportSend.recipients).
        data={"recipients": len(recipients)},
        at=now,
    )
    return row
