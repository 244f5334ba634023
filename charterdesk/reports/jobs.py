"""The worker's ``scheduled-reports`` job: mail each ``reporting.schedule`` entry's report once per
instant, catch up on the instants a stopped worker missed (marked late), and send the mails whose
claim outlived a crashed worker."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.db.models import Max

from charterdesk.library.versions import protocol_of, version_in_force

from .actions import do_claim_send, do_mark_sent
from .figures import kpi_engine
from .mail import recipients, render_html, render_pdf, report_for, title_of
from .models import ReportSend, ScheduleStart
from .schedule import Entry, covered_days, entries, instants

# A mail sent this long after its instant is marked late (the worker was down).
LATE_AFTER = dt.timedelta(minutes=10)
# A claim with no mail after this long belonged to a worker that died: another sends it.
RETRY_AFTER = dt.timedelta(minutes=15)
# A worker down for months catches up at most this many instants per entry (the latest ones).
MAX_CATCH_UP = 31


def _in_force():
    version = version_in_force()
    protocol = protocol_of(version) if version is not None else None
    return version, protocol


def due_instants(entry: Entry, now: dt.datetime, since: dt.datetime) -> list[dt.datetime]:
    """The instants of ``entry`` to mail at ``now``: every one after the last mailed (``since``)."""
    return list(instants(entry, since, now))[-MAX_CATCH_UP:]


def start_watching(key: str, now: dt.datetime) -> None:
    """Note when the desk began watching an entry (the worker's own bookkeeping, like its leases,
    so not an audited action: nothing is decided or sent by it). A second worker doing the same at
    the same moment loses the unique insert and keeps the first's."""
    try:
        with transaction.atomic():
            ScheduleStart.objects.create(entry=key, since=now)
    except IntegrityError:
        pass


def send_scheduled_reports(now: dt.datetime) -> int:
    """Mail every scheduled report due by ``now``; how many were mailed."""
    version, protocol = _in_force()
    if protocol is None:
        return 0
    engine = kpi_engine(version, protocol)
    mailed = 0
    last_sent = dict(
        ReportSend.objects.filter(by__isnull=True).values_list("entry").annotate(last=Max("due_at"))
    )
    started = dict(ScheduleStart.objects.values_list("entry", "since"))
    for entry in entries(protocol, engine.timezone):
        begun = started.get(entry.key)
        if begun is None:
            start_watching(entry.key, now)
            continue
        last = last_sent.get(entry.key)
        due = due_instants(entry, now, max(begun, last) if last is not None else begun)
        for instant in due:
            # The day it is sent on, on the entry's clocks.
            first, last = covered_days(entry.schedule.report, instant.astimezone(ZoneInfo(entry.zone)).date())
            row = do_claim_send(
                entry=entry.key,
                due_at=instant,
                report=entry.schedule.report,
                first_day=first,
                last_day=last,
                now=now,
                late=now - instant > LATE_AFTER,
                protocol_version=version.version,
            )
            if row is not None:
                deliver(row, engine, protocol, entry.schedule.to, now)
                mailed += 1
    for row in ReportSend.objects.filter(sent_at__isnull=True, claimed_at__lt=now - RETRY_AFTER):
        taken = ReportSend.objects.filter(pk=row.pk, sent_at__isnull=True, claimed_at=row.claimed_at).update(
            claimed_at=now
        )
        schedule = next((e.schedule for e in entries(protocol, engine.timezone) if e.key == row.entry), None)
        if taken and schedule is not None:
            deliver(row, engine, protocol, schedule.to, now)
            mailed += 1
    return mailed


def deliver(row: ReportSend, engine, protocol, to: list[str], now: dt.datetime) -> list[str]:
    """Build the report of the row's days, mail it as HTML with its PDF, and mark the row sent."""
    page = report_for(engine, row.first_day, row.last_day, now)
    title = title_of(row.report, row.first_day, row.last_day, protocol.company)
    note = ""
    if row.late:
        note = (
            f"Sent late: this report was due {row.due_at:%Y-%m-%d %H:%M} UTC, "
            "when the desk's worker was not running."
        )
    html = render_html(page, title, note)
    pdf = render_pdf(html)
    addresses = recipients(protocol, to)
    if addresses:
        text = (
            f"{title}\n\nThe report is attached as a PDF; the HTML part of this mail shows the same figures."
        )
        message = EmailMultiAlternatives(
            f"[Charterdesk] {title}{' (late)' if row.late else ''}",
            text,
            settings.DEFAULT_FROM_EMAIL,
            addresses,
        )
        message.attach_alternative(html, "text/html")
        message.attach(f"{row.report}-report-{row.first_day}-{row.last_day}.pdf", pdf, "application/pdf")
        message.send()
    do_mark_sent(row, recipients=addresses, now=now)
    return addresses
