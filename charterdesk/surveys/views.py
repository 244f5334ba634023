"""The customer's one-click pages (rate, comment, change, opt out: signed links, no sign-in) and
the agent's page of survey answers.

A rating link shows a confirm page and records on its button (POST): mail scanners that open
every link in a mail record nothing. Recording the same rating twice changes nothing.
"""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from charterdesk.library.versions import protocol_of

from . import rules
from .access import access_agent_answers, access_answer_page, access_opt_out, access_rating
from .actions import SurveyError, do_answer, do_comment, do_opt_out, opted_out
from .choices import AnsweredVia, InvitationState
from .models import SurveyAnswer
from .tokens import BadToken, answer_token, rating_token


def _public(request, template: str, context: dict, *, status: int = 200):
    protocol = request.protocol
    return render(
        request,
        template,
        {"company": protocol.company if protocol else "Support", "customer": None, **context},
        status=status,
    )


def _invalid(request):
    return _public(request, "surveys/invalid.html", {}, status=400)


def _scale(invitation) -> dict:
    protocol = protocol_of(invitation.ticket.protocol_version)
    low, high = rules.scale(protocol, invitation.kind)
    return {
        "question": rules.question(protocol, invitation.kind),
        "scores": list(range(low, high + 1)),
        "ends": rules.labels(protocol, invitation.kind),
        "low": low,
        "high": high,
    }


def _closed(invitation, answer) -> bool:
    """No more answers or changes: the survey was cancelled unanswered, or the window is over."""
    if answer is not None:
        return timezone.now() > answer.answered_at + rules.CHANGE_WINDOW
    return invitation.state == InvitationState.CANCELLED


@require_http_methods(["GET", "POST"])
def rate(request, token: str):
    try:
        invitation, score = access_rating(token)
    except BadToken:
        return _invalid(request)
    answer = SurveyAnswer.objects.filter(invitation=invitation).first()
    context = {"invitation": invitation, "score": score, "answer": answer, **_scale(invitation)}
    if not context["low"] <= score <= context["high"]:
        return _invalid(request)
    if _closed(invitation, answer):
        return _public(request, "surveys/closed.html", context, status=410)
    if request.method == "POST":
        via = AnsweredVia.PORTAL if request.POST.get("via") == "portal" else AnsweredVia.EMAIL
        try:
            do_answer(invitation, score, via=via)
        except SurveyError as exc:
            context["error"] = str(exc)
            return _public(request, "surveys/closed.html", context, status=410)
        messages.success(request, "Thank you: your rating is recorded.")
        return redirect("surveys:answer", token=answer_token(invitation.pk))
    context["via"] = request.GET.get("via", "")
    context["score_label"] = context["ends"].get(score, "")
    return _public(request, "surveys/confirm.html", context)


@require_http_methods(["GET", "POST"])
def answer(request, token: str):
    try:
        invitation = access_answer_page(token)
    except BadToken:
        return _invalid(request)
    found = SurveyAnswer.objects.filter(invitation=invitation).first()
    if found is None:
        return _invalid(request)
    context = {"invitation": invitation, "answer": found, **_scale(invitation)}
    context["closed"] = _closed(invitation, found)
    context["until"] = found.answered_at + rules.CHANGE_WINDOW
    context["change_links"] = [
        (s, rating_token(invitation.pk, s), context["ends"].get(s, "")) for s in context["scores"]
    ]
    status = 200
    if request.method == "POST":
        try:
            do_comment(found, request.POST.get("comment", ""))
        except SurveyError as exc:
            context["error"] = str(exc)
            status = 410
        else:
            messages.success(request, "Thank you: your comment is saved.")
            return redirect("surveys:answer", token=token)
    return _public(request, "surveys/answer.html", context, status=status)


@require_http_methods(["GET", "POST"])
def opt_out(request, token: str):
    try:
        customer = access_opt_out(token)
    except BadToken:
        return _invalid(request)
    if request.method == "POST":
        do_opt_out(customer)
        return _public(request, "surveys/opted_out.html", {"who": customer})
    if opted_out(customer.pk):
        return _public(request, "surveys/opted_out.html", {"who": customer})
    return _public(request, "surveys/opt_out.html", {"who": customer})


@login_required
@require_GET
def mine(request):
    return redirect("surveys:person", person_id=request.user.pk)


@login_required
@require_GET
def person(request, person_id: int):
    agent, answers = access_agent_answers(request, person_id)
    rows = []
    since = timezone.now() - dt.timedelta(days=90)
    recent = []
    for item in answers[:500]:
        protocol = protocol_of(item.ticket.protocol_version)
        _low, high = rules.scale(protocol, item.kind)
        rows.append(
            {"answer": item, "high": high, "low_rating": rules.is_low(protocol, item.kind, item.score)}
        )
        if item.kind == "csat" and item.answered_at >= since:
            recent.append(item.score >= high - 1)
    return render(
        request,
        "surveys/person.html",
        {
            "agent": agent,
            "rows": rows,
            "own": agent.pk == request.user.pk,
            "csat_recent": (sum(recent), len(recent)),
        },
    )
