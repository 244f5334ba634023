"""Surveys after a solve: when they are sent, the signed one-click links, opt-out, loop
protection, the low-rating notice, what agents see and the export."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from django.core import mail
from django.core.management import call_command

from charterdesk.channels.models import OutboundMail
from charterdesk.notifications.models import Notification
from charterdesk.surveys.actions import do_answer
from charterdesk.surveys.models import SurveyAnswer, SurveyInvitation, SurveyOptOut
from charterdesk.surveys.tasks import send_due_surveys
from charterdesk.surveys.tokens import answer_token, opt_out_token, rating_token
from charterdesk.tickets.actions import (
    do_assign,
    do_create_ticket,
    do_customer_message,
    do_find_or_create_customer,
    do_merge,
    do_set_status,
)
from charterdesk.tickets.export import event_lines

UTC = dt.UTC


def at(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 12, day, hour, minute, tzinfo=UTC)


@pytest.fixture
def customer(demo):
    return do_find_or_create_customer(email="jo@example.com", name="Jo Walker")


def solved_ticket(demo, customer, solved: dt.datetime, subject: str = "Where is my order?"):
    ticket = do_create_ticket(
        customer=customer,
        subject=subject,
        body="It has been 3 weeks.",
        channel="email",
        at=solved - dt.timedelta(hours=2),
    )
    do_assign(ticket, demo["agent"], actor=demo["lead"], at=solved - dt.timedelta(hours=1))
    do_set_status(ticket, "solved", actor=demo["agent"], at=solved)
    ticket.refresh_from_db()
    return ticket


def survey_mails():
    return [
        m
        for m in mail.outbox
        if "X-Charterdesk-Ticket" in m.extra_headers and "Auto-Submitted" in m.extra_headers
    ]


def links(message) -> dict[int, str]:
    """{score: path} of the rating links in a survey mail."""
    found = re.findall(r"^(\d+)(?: \([^)]*\))?: https?://[^/]+(/surveys/r/\S+/)$", message.body, re.MULTILINE)
    return {int(score): path for score, path in found}


# --------------------------------------------------------------------------- timing


def test_csat_is_sent_an_hour_after_the_solve_by_the_worker(demo, customer):
    """Solved at 15:00 with send_after 1h: nothing at 15:59, the CSAT survey (and NPS with it) at
    16:00, with one link per rating 1 to 5 and the opt-out link; sending again sends nothing."""
    ticket = solved_ticket(demo, customer, at(7, 15))
    mail.outbox.clear()
    assert send_due_surveys(at(7, 15, 59)) == 0
    assert survey_mails() == []
    assert send_due_surveys(at(7, 16)) == 2
    sent = {m.subject: m for m in survey_mails()}
    csat = next(m for s, m in sent.items() if "satisfied" in s)
    assert csat.to == ["jo@example.com"]
    assert sorted(links(csat)) == [1, 2, 3, 4, 5]
    assert "/surveys/opt-out/" in csat.body
    nps = next(m for s, m in sent.items() if "recommend" in s)
    assert sorted(links(nps)) == list(range(11))
    invitation = SurveyInvitation.objects.get(ticket=ticket, kind="csat")
    assert invitation.state == "sent" and invitation.sent_at == at(7, 16)
    assert OutboundMail.objects.filter(ticket=ticket, kind="survey", state="sent").count() == 2
    assert send_due_surveys(at(7, 17)) == 0


def test_a_sent_survey_is_audited_by_customer_id_not_by_address(demo, customer):
    """The audit entry of a sent CSAT survey reads 'csat survey on #N sent to customer #M', without
    jo@example.com: the audit log names customers by id."""
    from charterdesk.audit.models import AuditEntry

    ticket = solved_ticket(demo, customer, at(7, 15))
    send_due_surveys(at(7, 16))
    summaries = list(AuditEntry.objects.filter(action="surveys.sent").values_list("summary", flat=True))
    assert f"csat survey on {ticket.reference} sent to customer #{customer.pk}" in summaries
    assert not any("jo@example.com" in s for s in summaries)


def test_the_worker_command_sends_a_due_survey(demo, customer):
    """`charterdesk worker --once` runs the surveys job: a ticket solved two hours ago gets its mail."""
    from django.utils import timezone

    solved_ticket(demo, customer, timezone.now().replace(microsecond=0) - dt.timedelta(hours=2))
    mail.outbox.clear()
    call_command("worker", "--once")
    assert any("satisfied" in m.subject for m in survey_mails())


def test_a_ticket_reopened_before_the_survey_is_due_gets_none(demo, customer):
    """Solved 15:00, the customer writes again at 15:30: at 16:00 nothing is sent, and the card says why."""
    ticket = solved_ticket(demo, customer, at(7, 15))
    do_customer_message(ticket, body="Actually it is still missing.", at=at(7, 15, 30))
    mail.outbox.clear()
    assert send_due_surveys(at(7, 16)) == 0
    assert survey_mails() == []
    invitation = SurveyInvitation.objects.get(ticket=ticket, kind="csat")
    assert invitation.state == "cancelled" and "reopen" in invitation.reason


def test_reopened_by_an_agent_then_solved_again_asks_about_the_new_solve(demo, customer):
    """Solved 15:00, reopened by the agent 15:30, solved again 17:00: one CSAT mail, at 18:00."""
    ticket = solved_ticket(demo, customer, at(7, 15))
    do_set_status(ticket, "open", actor=demo["agent"], at=at(7, 15, 30))
    do_set_status(ticket, "solved", actor=demo["agent"], at=at(7, 17))
    mail.outbox.clear()
    assert send_due_surveys(at(7, 16)) == 0
    assert send_due_surveys(at(7, 18)) == 2
    assert len([m for m in survey_mails() if "satisfied" in m.subject]) == 1


def test_a_solved_ticket_merged_away_gets_no_survey(demo, customer):
    """Solved 15:00 and merged into another ticket at 15:20: no survey about it at 16:00."""
    ticket = solved_ticket(demo, customer, at(7, 15))
    other = do_create_ticket(
        customer=customer, subject="Order again", body="Hi", channel="email", at=at(7, 15, 10)
    )
    do_merge(ticket, other, actor=demo["lead"], at=at(7, 15, 20))
    mail.outbox.clear()
    assert send_due_surveys(at(7, 16)) == 0
    assert SurveyInvitation.objects.get(ticket=ticket, kind="csat").state == "cancelled"


def test_closing_a_solved_ticket_keeps_its_survey(demo, customer):
    """Solved 15:00 and closed 15:10: the survey still goes at 16:00."""
    ticket = solved_ticket(demo, customer, at(7, 15))
    do_set_status(ticket, "closed", actor=demo["lead"], at=at(7, 15, 10))
    assert send_due_surveys(at(7, 16)) == 2


def test_nps_goes_to_a_customer_at_most_once_every_90_days(demo, customer):
    """NPS every 90d: sent for the solve on 1 Dec; not for 30 Dec (29 days later); sent again for
    a solve on 2 Mar (91 days after 1 Dec). CSAT goes every time."""
    solved_ticket(demo, customer, dt.datetime(2026, 12, 1, 15, tzinfo=UTC), "One")
    send_due_surveys(dt.datetime(2026, 12, 1, 16, tzinfo=UTC))
    second = solved_ticket(demo, customer, dt.datetime(2026, 12, 30, 15, tzinfo=UTC), "Two")
    assert send_due_surveys(dt.datetime(2026, 12, 30, 16, tzinfo=UTC)) == 1
    skipped = SurveyInvitation.objects.get(ticket=second, kind="nps")
    assert skipped.state == "cancelled" and "less than 90 days" in skipped.reason
    assert SurveyInvitation.objects.get(ticket=second, kind="csat").state == "sent"
    third = solved_ticket(demo, customer, dt.datetime(2027, 3, 2, 15, tzinfo=UTC), "Three")
    assert send_due_surveys(dt.datetime(2027, 3, 2, 16, tzinfo=UTC)) == 2
    assert SurveyInvitation.objects.get(ticket=third, kind="nps").state == "sent"


# --------------------------------------------------------------------------- the links


def sent_survey(demo, customer, client=None):
    ticket = solved_ticket(demo, customer, at(7, 15))
    mail.outbox.clear()
    send_due_surveys(at(7, 16))
    csat = next(m for m in survey_mails() if "satisfied" in m.subject)
    return ticket, csat


def test_a_rating_link_asks_to_confirm_and_the_button_records_it(demo, customer, client):
    """Opening the link (as a mail scanner does) records nothing; the button records 4; pressing it
    again changes nothing; the answer page takes a comment."""
    ticket, csat = sent_survey(demo, customer)
    path = links(csat)[4]
    page = client.get(path)
    assert page.status_code == 200 and b"Send my rating" in page.content
    assert not SurveyAnswer.objects.exists()
    done = client.post(path)
    assert done.status_code == 302
    answer = SurveyAnswer.objects.get(ticket=ticket)
    assert (answer.kind, answer.score, answer.agent, answer.via) == ("csat", 4, demo["agent"], "email")
    client.post(path)
    assert SurveyAnswer.objects.count() == 1
    comment = client.post(done["Location"], {"comment": "Quick and friendly."})
    assert comment.status_code == 302
    answer.refresh_from_db()
    assert answer.comment == "Quick and friendly."
    assert b"Quick and friendly." in client.get(done["Location"]).content


def test_a_tampered_token_is_refused(demo, customer, client):
    """A rating link with its score edited, or a made-up token, gets 'not valid' and records nothing;
    an opt-out token is not a rating token."""
    _ticket, csat = sent_survey(demo, customer)
    path = links(csat)[5]
    token = path.split("/")[3]
    forged = token.replace(token[3], "x" if token[3] != "x" else "y", 1)
    assert client.post(f"/surveys/r/{forged}/").status_code == 400
    assert client.get("/surveys/r/not-a-token/").status_code == 400
    assert client.post(f"/surveys/r/{opt_out_token(customer.pk)}/").status_code == 400
    assert not SurveyAnswer.objects.exists()


def test_a_rating_can_be_changed_for_seven_days_and_not_after(demo, customer):
    """Rated 2 on 7 Dec 16:10: changed to 4 on 14 Dec 16:10 (seven days); not on 14 Dec 16:11."""
    from charterdesk.surveys.actions import SurveyError

    ticket, _csat = sent_survey(demo, customer)
    invitation = SurveyInvitation.objects.get(ticket=ticket, kind="csat")
    do_answer(invitation, 2, at=at(7, 16, 10))
    do_answer(invitation, 4, at=at(14, 16, 10))
    assert SurveyAnswer.objects.get(invitation=invitation).score == 4
    with pytest.raises(SurveyError, match="seven days"):
        do_answer(invitation, 5, at=at(14, 16, 11))
    assert SurveyAnswer.objects.get(invitation=invitation).score == 4


def test_after_seven_days_the_link_says_the_survey_is_closed(demo, customer, client):
    """A link used more than seven days after the first answer shows 'closed' (410) and keeps the rating."""
    ticket, csat = sent_survey(demo, customer)
    invitation = SurveyInvitation.objects.get(ticket=ticket, kind="csat")
    from django.utils import timezone

    do_answer(invitation, 3, at=timezone.now() - dt.timedelta(days=8))  # the window is over
    response = client.post(links(csat)[5])
    assert response.status_code == 410
    assert SurveyAnswer.objects.get(invitation=invitation).score == 3


def test_a_score_outside_the_scale_is_refused(demo, customer):
    """CSAT on a 5-point scale takes 1 to 5; 6 is refused, naming the field."""
    from charterdesk.surveys.actions import SurveyError

    ticket, _csat = sent_survey(demo, customer)
    invitation = SurveyInvitation.objects.get(ticket=ticket, kind="csat")
    with pytest.raises(SurveyError, match="score: 6"):
        do_answer(invitation, 6)


# --------------------------------------------------------------------------- opt-out and loops


def test_opting_out_stops_every_survey_at_once(demo, customer, client):
    """The opt-out link in the mail: a confirm page, then no survey of any waiting ticket is sent."""
    _ticket, csat = sent_survey(demo, customer)
    waiting = solved_ticket(demo, customer, at(8, 15), "Another")
    path = re.search(r"https?://[^/]+(/surveys/opt-out/\S+/)", csat.body).group(1)
    assert client.get(path).status_code == 200
    assert not SurveyOptOut.objects.exists()
    client.post(path)
    assert SurveyOptOut.objects.filter(customer=customer).exists()
    mail.outbox.clear()
    assert send_due_surveys(at(8, 16)) == 0
    assert (
        SurveyInvitation.objects.get(ticket=waiting, kind="csat").reason
        == "the customer opted out of surveys"
    )
    later = solved_ticket(demo, customer, at(9, 15), "Yet another")
    assert not SurveyInvitation.objects.filter(ticket=later).exists()


def test_no_survey_to_a_robot_address_or_past_the_hourly_limit(demo, settings):
    """A no-reply address gets no survey; an address that had its automatic mails this hour gets
    none either; both are listed as not sent (loop protection) on the ticket."""
    robot = do_find_or_create_customer(email="no-reply@shop.example", name="Shop robot")
    ticket = solved_ticket(demo, robot, at(7, 15))
    assert send_due_surveys(at(7, 16)) == 0
    assert set(OutboundMail.objects.filter(ticket=ticket, kind="survey").values_list("state", flat=True)) == {
        "suppressed"
    }
    assert "loop protection" in SurveyInvitation.objects.get(ticket=ticket, kind="csat").reason

    settings.CHARTERDESK_AUTOMAIL_PER_HOUR = 1
    busy = do_find_or_create_customer(email="busy@example.com", name="Busy")
    second = solved_ticket(demo, busy, at(8, 15))
    assert send_due_surveys(at(8, 16)) == 1  # CSAT goes; NPS would be the second in the hour
    assert (
        SurveyInvitation.objects.filter(ticket=second, state="cancelled", reason__contains="limit").count()
        == 1
    )


def test_a_ticket_opened_by_list_mail_gets_no_survey(demo):
    """Mail sent through a mailing list (List-Id) opens a ticket but gets no receipt; solved, it
    gets no survey either."""
    from charterdesk.channels.inbound import receive
    from charterdesk.tickets.models import Ticket

    raw = (
        b"From: Pat <pat@example.com>\r\nTo: support@acme.example\r\nSubject: Late order\r\n"
        b"Message-ID: <list-1@example.com>\r\nList-Id: <news.example.com>\r\n\r\nOur order is late.\r\n"
    )
    receive(raw, source="import")
    ticket = Ticket.objects.get()
    do_set_status(ticket, "solved", actor=demo["agent"], at=ticket.created_at + dt.timedelta(minutes=5))
    assert send_due_surveys(ticket.created_at + dt.timedelta(hours=2)) == 0
    assert "automatic mail" in SurveyInvitation.objects.get(ticket=ticket, kind="csat").reason


# --------------------------------------------------------------------------- low ratings


def test_a_low_rating_notifies_the_assignee_and_the_lead(demo, customer):
    """CSAT 2 of 5 on Alex's ticket: Alex and Ravi (the lead Alex reports to) are notified; a 3
    notifies nobody."""
    ticket, _csat = sent_survey(demo, customer)
    invitation = SurveyInvitation.objects.get(ticket=ticket, kind="csat")
    do_answer(invitation, 3)
    assert not Notification.objects.filter(text__contains="Low CSAT").exists()
    do_answer(invitation, 2)
    told = set(Notification.objects.filter(text__contains="Low CSAT").values_list("person__email", flat=True))
    assert told == {demo["agent"].email, demo["lead"].email}


def test_the_low_rating_rule():
    """CSAT lowest two of the scale, NPS 0-6, CES 5 or more."""
    from charterdesk.surveys.rules import is_low

    assert [is_low(None, "csat", s) for s in range(1, 6)] == [True, True, False, False, False]
    assert [is_low(None, "nps", s) for s in (0, 6, 7, 10)] == [True, True, False, False]
    assert [is_low(None, "ces", s) for s in (1, 4, 5, 7)] == [False, False, True, True]


# --------------------------------------------------------------------------- what agents see


def test_the_ticket_page_shows_the_answer_in_the_card_and_the_timeline(demo, customer, signed_in):
    """Alex opens the ticket: the Surveys card has 'CSAT 4 of 5' and the comment, the timeline the rating."""
    from charterdesk.surveys.actions import do_comment

    ticket, _csat = sent_survey(demo, customer)
    answer = do_answer(SurveyInvitation.objects.get(ticket=ticket, kind="csat"), 4)
    do_comment(answer, "Thanks, Alex!")
    page = signed_in("agent").get(f"/tickets/{ticket.pk}/").content.decode()
    assert 'id="panel-surveys"' in page
    assert "CSAT 4 of 5" in page and "Thanks, Alex!" in page
    assert "Customer rated CSAT 4 of 5" in page


def test_the_api_lists_a_tickets_answers(demo, customer, client):
    """GET /api/v1/tickets/ID shows extensions.surveys with the kind and score."""
    from charterdesk.api.actions import do_create_token

    ticket, _csat = sent_survey(demo, customer)
    do_answer(SurveyInvitation.objects.get(ticket=ticket, kind="csat"), 5)
    _row, token = do_create_token(demo["agent"], "t", actor=demo["agent"])
    body = client.get(f"/api/v1/tickets/{ticket.pk}", HTTP_AUTHORIZATION=f"Bearer {token}").json()
    assert [(a["kind"], a["score"]) for a in body["extensions"]["surveys"]] == [("csat", 5)]


def test_the_agent_page_permission_matrix(demo, customer, client, signed_in):
    """Anonymous: sent to sign in; an agent sees their own answers, not the lead's page; the lead
    and the manager see anyone's."""
    ticket, _csat = sent_survey(demo, customer)
    do_answer(SurveyInvitation.objects.get(ticket=ticket, kind="csat"), 5)
    agent_page = f"/surveys/people/{demo['agent'].pk}/"
    lead_page = f"/surveys/people/{demo['lead'].pk}/"
    assert client.get(agent_page).status_code == 302
    assert client.get("/surveys/mine/").status_code == 302
    as_agent = signed_in("agent")
    own = as_agent.get(agent_page)
    assert own.status_code == 200 and ticket.reference.encode() in own.content
    assert as_agent.get("/surveys/mine/")["Location"] == agent_page
    assert as_agent.get(lead_page).status_code == 403
    client.logout()
    assert signed_in("lead").get(agent_page).status_code == 200
    client.logout()
    assert signed_in("manager").get(agent_page).status_code == 200


def test_the_customer_pages_need_only_the_signed_link(demo, customer, client, signed_in):
    """Rating, answer and opt-out pages open for anyone holding the link (no sign-in), signed in or not."""
    ticket, _csat = sent_survey(demo, customer)
    invitation = SurveyInvitation.objects.get(ticket=ticket, kind="csat")
    assert client.get(f"/surveys/r/{rating_token(invitation.pk, 3)}/").status_code == 200
    assert client.get(f"/surveys/a/{answer_token(invitation.pk)}/").status_code == 400  # no answer yet
    assert client.get(f"/surveys/opt-out/{opt_out_token(customer.pk)}/").status_code == 200
    as_agent = signed_in("agent")
    assert as_agent.get(f"/surveys/r/{rating_token(invitation.pk, 3)}/").status_code == 200


# --------------------------------------------------------------------------- the export


def test_the_export_has_survey_events_among_the_tickets_own(demo, customer, tmp_path):
    """A rating changed from 2 to 4 is one `survey` line (csat, 4, at its change), after the solve;
    --sla-only leaves it out."""
    ticket, _csat = sent_survey(demo, customer)
    invitation = SurveyInvitation.objects.get(ticket=ticket, kind="csat")
    do_answer(invitation, 2, at=at(7, 16, 10))
    do_answer(invitation, 4, at=at(7, 16, 20))
    out = tmp_path / "events.jsonl"
    call_command("tickets", "export-events", "-o", str(out))
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    surveys = [line for line in lines if line["event"] == "survey"]
    assert surveys == [
        {
            "ticket": str(ticket.pk),
            "at": "2026-12-07T16:20:00Z",
            "event": "survey",
            "kind": "csat",
            "score": 4,
        }
    ]
    mine = [line for line in lines if line["ticket"] == str(ticket.pk)]
    assert mine[-1]["event"] == "survey"
    assert [line["at"] for line in mine] == sorted(line["at"] for line in mine)
    assert all(json.loads(line)["event"] != "survey" for line in event_lines(families=False))


# --------------------------------------------------------------------------- the demo


def test_demo_tickets_come_with_coherent_survey_answers(demo):
    """Loading 300 demo tickets: some solved ones have a CSAT answer, each given after its survey
    was sent (an hour after the solve), on a 1-5 scale, credited to the ticket's assignee."""
    from charterdesk.demo.tickets import load_demo_tickets

    report = load_demo_tickets(300, now=at(7, 12), workers=1)
    answers = list(SurveyAnswer.objects.select_related("ticket", "invitation"))
    assert report.survey_answers == len(answers) > 10
    for answer in answers:
        ticket, invitation = answer.ticket, answer.invitation
        assert ticket.solved_at is not None and invitation.solved_at == ticket.solved_at
        assert (
            invitation.sent_at == ticket.solved_at + dt.timedelta(hours=1) <= answer.answered_at <= at(7, 12)
        )
        assert 1 <= answer.score <= 5 and answer.agent_id == ticket.assignee_id
    scores = {answer.score for answer in answers}
    assert {1, 2} & scores and {4, 5} <= scores  # some low ratings among mostly good ones


# --------------------------------------------------------------------------- the portal


def test_a_signed_in_customer_rates_on_the_portal_and_then_gets_no_mail(demo, customer, client):
    """Solved 15:00: at once the portal's ticket page asks the CSAT question with ratings 1 to 5;
    the customer rates 5 there (via portal) and at 16:00 only the NPS survey is mailed. Another
    customer's ticket shows them nothing."""
    from charterdesk.portal.actions import SESSION_KEY

    ticket = solved_ticket(demo, customer, at(7, 15))
    session = client.session
    session[SESSION_KEY] = customer.pk
    session.save()
    page = client.get(f"/portal/tickets/{ticket.pk}/").content.decode()
    assert 'id="survey-csat"' in page and "How satisfied are you" in page
    rate = re.search(r'href="(/surveys/r/[^"]+/)\?via=portal"[^>]*>5<', page).group(1)
    client.post(rate, {"via": "portal"})
    answer = SurveyAnswer.objects.get(ticket=ticket)
    assert (answer.score, answer.via) == (5, "portal")
    assert (
        "Your rating: <strong>5</strong> of 5" in client.get(f"/portal/tickets/{ticket.pk}/").content.decode()
    )
    mail.outbox.clear()
    assert send_due_surveys(at(7, 16)) == 1
    assert [m for m in survey_mails() if "satisfied" in m.subject] == []

    other = do_find_or_create_customer(email="sam@example.com", name="Sam Berg")
    theirs = solved_ticket(demo, other, at(7, 15), "Stove")
    assert client.get(f"/portal/tickets/{theirs.pk}/").status_code == 404


def _protocol_with(surveys_yaml: str):
    from pathlib import Path

    from charterdesk.protocol.load import load_protocol

    source = Path("charterdesk/demo/acme-outdoor.protocol.yaml").read_text()
    start = source.index("\nsurveys:")
    end = source.index("\nreporting:")
    result = load_protocol(source[:start] + "\n" + surveys_yaml + source[end:], "p.yaml")
    assert result.errors == []
    return result.protocol


def test_when_each_survey_is_due_and_its_scale():
    """CSAT 1h and CES 2h after the solve, NPS with CSAT; without CSAT, NPS goes with CES. Scales:
    CSAT 1 to its scale (7 here), NPS 0-10, CES 1-7."""
    from charterdesk.surveys.rules import due_after_solve, scale

    both = _protocol_with(
        "surveys:\n  csat: {send_after: 1h, scale: 7}\n  nps: {every: 90d}\n  ces: {send_after: 2h}\n"
    )
    hour = dt.timedelta(hours=1)
    assert due_after_solve(both) == {"csat": hour, "ces": 2 * hour, "nps": hour}
    assert (scale(both, "csat"), scale(both, "nps"), scale(both, "ces")) == ((1, 7), (0, 10), (1, 7))
    no_csat = _protocol_with("surveys:\n  nps: {every: 30d}\n  ces: {send_after: 2h}\n")
    assert due_after_solve(no_csat) == {"ces": 2 * hour, "nps": 2 * hour}
