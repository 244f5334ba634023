"""Scheduled report mails: their instants across DST changes, once per instant with two workers,
missed instants sent late, the PDF's figures, and the manager's preview and send-now."""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest
from django.core import mail
from pypdf import PdfReader

from charterdesk.protocol.models import ReportSchedule
from charterdesk.reports.actions import do_claim_send
from charterdesk.reports.jobs import send_scheduled_reports
from charterdesk.reports.models import ReportSend
from charterdesk.reports.schedule import Entry, covered_days, instants

UTC = dt.UTC


def entry(every: str, zone: str, report: str = "weekly") -> Entry:
    schedule = ReportSchedule.model_validate({"report": report, "every": every, "to": ["role:manager"]})
    return Entry(0, f"0:{report}:{every}", schedule, zone)


def utc(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


def test_a_daily_report_keeps_its_local_time_across_the_spring_change():
    """'daily 09:00' in New York is 14:00 UTC until Saturday 13 March 2027 and 13:00 UTC from Sunday
    14 March, when the clocks go forward: one instant a day."""
    found = list(
        instants(entry("daily 09:00", "America/New_York", "daily"), utc(2027, 3, 12), utc(2027, 3, 16, 23))
    )
    assert found == [
        utc(2027, 3, 12, 14),
        utc(2027, 3, 13, 14),
        utc(2027, 3, 14, 13),
        utc(2027, 3, 15, 13),
        utc(2027, 3, 16, 13),
    ]


def test_a_time_the_clocks_skip_is_sent_when_they_jump_and_a_doubled_time_once():
    """'sun 02:30' in New York on 14 March 2027 (02:00 jumps to 03:00) is sent at 03:00 EDT (07:00
    UTC); 'sun 01:30' on 7 November 2027 (01:00-02:00 happens twice) is sent once, at the first
    01:30 (05:30 UTC)."""
    assert list(instants(entry("sun 02:30", "America/New_York"), utc(2027, 3, 13), utc(2027, 3, 15))) == [
        utc(2027, 3, 14, 7)
    ]
    assert list(instants(entry("sun 01:30", "America/New_York"), utc(2027, 11, 6), utc(2027, 11, 8))) == [
        utc(2027, 11, 7, 5, 30)
    ]


def test_a_weekly_berlin_report_moves_an_hour_in_utc_after_the_change():
    """'mon 09:00' in Berlin is 08:00 UTC on Monday 22 March 2027 and 07:00 UTC on Monday 29 March,
    after the clocks went forward on the 28th; a weekly report sent on the 29th covers 22-28 March."""
    found = list(instants(entry("mon 09:00", "Europe/Berlin"), utc(2027, 3, 20), utc(2027, 4, 1)))
    assert found == [utc(2027, 3, 22, 8), utc(2027, 3, 29, 7)]
    assert covered_days("weekly", dt.date(2027, 3, 29)) == (dt.date(2027, 3, 22), dt.date(2027, 3, 28))
    assert covered_days("daily", dt.date(2027, 3, 1)) == (dt.date(2027, 2, 28), dt.date(2027, 2, 28))
    assert covered_days("monthly", dt.date(2027, 3, 1)) == (dt.date(2027, 2, 1), dt.date(2027, 2, 28))


# Monday 9 March 2026, 09:00 in New York (EDT since the 8th) is 13:00 UTC: the demo's weekly report.
MONDAY = utc(2026, 3, 9, 13)


@pytest.fixture
def watching(week):
    """The worker has been running since Sunday 8 March: its first tick notes the entry and mails
    nothing."""
    assert send_scheduled_reports(MONDAY - dt.timedelta(days=1)) == 0
    assert not mail.outbox


@pytest.mark.django_db
def test_a_new_desk_does_not_mail_the_reports_of_its_past(week):
    """A worker that first runs on Tuesday 10 March mails nothing for Monday's instant (the desk was
    not watching then), and mails the next Monday's report on time."""
    assert send_scheduled_reports(utc(2026, 3, 10, 12)) == 0
    assert send_scheduled_reports(utc(2026, 3, 16, 13, 0, 20)) == 1
    assert not ReportSend.objects.get().late


@pytest.mark.django_db
def test_two_workers_mail_the_weekly_report_once(watching, demo):
    """Two workers that both run the scheduled-reports job at 09:00:30 on Monday 9 March mail the
    weekly report once, to Dana (role:manager), with one row for the instant; and a worker that
    read the same instant as due but claims it second gets nothing to send."""
    now = MONDAY + dt.timedelta(seconds=30)
    assert send_scheduled_reports(now) == 1  # worker A
    assert send_scheduled_reports(now) == 0  # worker B, same tick
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["dana@acme.example"]
    row = ReportSend.objects.get()
    assert (row.due_at, row.first_day, row.last_day, row.late) == (
        MONDAY,
        dt.date(2026, 3, 2),
        dt.date(2026, 3, 8),
        False,
    )
    # The race itself: both saw the instant due; the unique row lets only the first claim it.
    claim = {
        "entry": row.entry,
        "due_at": MONDAY,
        "report": "weekly",
        "first_day": row.first_day,
        "last_day": row.last_day,
    }
    assert do_claim_send(**claim, now=now) is None
    assert ReportSend.objects.count() == 1


@pytest.mark.django_db
def test_the_weekly_mail_has_the_reports_csat_in_its_html_and_pdf(watching):
    """The weekly mail for 2-8 March has an HTML part with the charts and a PDF attachment whose
    text says CSAT 50% (one of two customers satisfied), as the reports page does."""
    send_scheduled_reports(MONDAY + dt.timedelta(seconds=30))
    message = mail.outbox[0]
    html = message.alternatives[0][0]
    assert 'class="chart"' in html and "50%" in html
    name, content, kind = message.attachments[0]
    assert kind == "application/pdf" and name == "weekly-report-2026-03-02-2026-03-08.pdf"
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)
    assert "CSAT" in text or "Customer satisfaction" in text
    assert "50%" in text


@pytest.mark.django_db
def test_instants_missed_while_the_worker_was_down_are_sent_once_marked_late(watching):
    """The worker mails the report of 9 March, then is down until Monday 23 March 10:30 EDT: the
    reports of the 16th and the 23rd are mailed then, once each, marked late; the next tick mails
    nothing more."""
    send_scheduled_reports(MONDAY + dt.timedelta(seconds=30))
    back = utc(2026, 3, 23, 14, 30)
    assert send_scheduled_reports(back) == 2
    assert send_scheduled_reports(back + dt.timedelta(minutes=1)) == 0
    late = ReportSend.objects.filter(late=True).order_by("due_at")
    assert [r.due_at for r in late] == [utc(2026, 3, 16, 13), utc(2026, 3, 23, 13)]
    assert [(r.first_day, r.last_day) for r in late] == [
        (dt.date(2026, 3, 9), dt.date(2026, 3, 15)),
        (dt.date(2026, 3, 16), dt.date(2026, 3, 22)),
    ]
    assert all("(late)" in m.subject for m in mail.outbox[1:]) and len(mail.outbox) == 3


@pytest.mark.django_db
def test_the_manager_previews_a_scheduled_report_and_sends_it_now(signed_in, week):
    """Dana (manager) sees the schedule, previews the weekly report (an HTML page with its KPIs),
    and 'Send now' mails it at once to the people named, recorded as sent by her."""
    client = signed_in("manager")
    page = client.get("/reports/schedule/")
    assert (
        page.status_code == 200 and "The weekly report is sent every Monday at 09:00" in page.content.decode()
    )
    preview = client.get("/reports/schedule/0/preview/")
    assert preview.status_code == 200 and "First response time" in preview.content.decode()
    response = client.post("/reports/schedule/0/send/")
    assert response.status_code == 302
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["dana@acme.example"]
    assert ReportSend.objects.get().by.email == "dana@acme.example"


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["agent", "lead"])
def test_agents_and_leads_may_not_see_or_send_the_schedule(signed_in, role):
    """The schedule page, a preview and 'Send now' are refused (403) to an agent and to a lead
    (reports.view without people.manage): scheduled reports cover every ticket."""
    client = signed_in(role)
    assert client.get("/reports/schedule/").status_code == 403
    assert client.get("/reports/schedule/0/preview/").status_code == 403
    assert client.post("/reports/schedule/0/send/").status_code == 403
    assert not mail.outbox


def test_the_handbook_says_what_the_scheduled_reports_do(example_protocol):
    """The demo handbook's Reporting section names the weekly report's time and zone, the days a
    report covers and that a missed report is sent late, as the worker does."""
    from charterdesk.protocol.render.html import render_html

    html = render_html(example_protocol, standalone=True)
    assert "The weekly report is sent every Monday at 09:00" in html
    assert "a weekly report the Monday-to-Sunday week before" in html
    assert "sent when it is back, marked late" in html
    assert "Everyone who works tickets sees their own numbers" in html


@pytest.mark.django_db
def test_the_report_preview_keeps_its_look_under_the_pages_policy(signed_in, week):
    """The weekly report's preview is styled in the browser as in the mail: its one <style> carries
    the nonce that the response's Content-Security-Policy allows; the mailed copy carries none."""
    client = signed_in("manager")
    preview = client.get("/reports/schedule/0/preview/")
    nonce = re.search(r"style-src 'self' 'nonce-([\w-]+)'", preview["Content-Security-Policy"]).group(1)
    assert f'<style nonce="{nonce}">' in preview.content.decode()
    client.post("/reports/schedule/0/send/")
    assert "nonce=" not in mail.outbox[0].alternatives[0][0]
