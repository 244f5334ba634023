"""The agent workspace: queues, the ticket page, saved replies and new tickets. Thin: parse, check,
act (through the ``do_*`` actions), render. Every button a role lacks is hidden, and its endpoint
answers 403 (see ``access.py`` for the choices where the permission list is silent)."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from charterdesk.accounts.models import Person
from charterdesk.core.permissions import can, require, sees_customer_contact
from charterdesk.core.ratelimit import Once
from charterdesk.protocol.vocabulary import METRIC_LABELS, METRIC_WORDS, STATUS_SHORT

from . import actions
from .access import (
    MANUAL_STATUSES,
    access_attachment,
    access_customer_for_edit,
    access_macro,
    access_ticket,
    access_ticket_by_reference,
    access_tickets,
    can_use_macros,
    require_status,
    status_choices,
    workspace_rights,
)
from .actions import ReplyRefused, TicketError
from .attachments import do_reply_with_files, max_attachment_bytes, serve
from .choices import EventKind
from .forms import (
    AssigneeForm,
    BulkForm,
    ComposerForm,
    CustomerForm,
    FilterForm,
    MacroForm,
    NewTicketForm,
    PropertiesForm,
    TicketNumberForm,
    active_people,
)
from .lifecycle import all_answers, hooks
from .macros import PLACEHOLDERS, MacroError, do_delete_macro, do_save_macro, macros_for, unknown_placeholders
from .macros import render as render_macro
from .models import Customer, ProcedureStep, Ticket
from .preferences import queue_density, set_queue_density
from .presence import PRESENCE_EVERY, changes_since, mark_present, others_present, page_version
from .queues import (
    COUNTS_FOR,
    PAGE_SIZE,
    VIEWS,
    VIEWS_BY_SLUG,
    badges,
    family_columns,
    list_queryset,
    my_groups,
    page_of,
    queue_rows,
    view_condition,
    view_counts,
)
from .rendering import render_message
from .worktime import ACTIVE_WITHIN, credit_page_time, team_day

# --------------------------------------------------------------------------- the queue


@login_required
@require_GET
def queue(request):
    require(request, "ticket.view")
    now = timezone.now()
    slug = request.GET.get("view") or "open"
    if slug not in VIEWS_BY_SLUG:
        raise Http404(f"There is no queue view '{slug}'.")
    groups = my_groups(request.protocol, request.user)
    people = list(active_people())
    contact = sees_customer_contact(request.user, request.protocol)
    form = FilterForm(request.GET, protocol=request.protocol, people=people, contact=contact)
    filters = form.filters()
    counts = view_counts(request.user, groups, now)
    tickets = filters.apply(list_queryset().filter(view_condition(slug, request.user, groups, now)))
    # Unfiltered, the view's size is the sidebar's count; a filter or a search counts its own.
    page = page_of(tickets, request.GET.get("page"), None if filters.active else counts[slug])
    rows = queue_rows(page.rows, now, request.user, _ticket_url())
    columns = family_columns(rows)
    rights = workspace_rights(request)
    statuses = [(v, STATUS_SHORT[v]) for v, _ in status_choices(request)]
    keep = request.GET.copy()
    keep.pop("page", None)
    return render(
        request,
        "tickets/queue.html",
        {
            "views": [{"view": v, "count": counts[v.slug]} for v in VIEWS],
            "counts_for": COUNTS_FOR,
            "current": VIEWS_BY_SLUG[slug],
            "form": form,
            "filters": filters,
            "ignored": form.ignored(),
            "page": page,
            "rows": rows,
            "columns": columns,
            "ids": ",".join(str(row.ticket.pk) for row in rows),
            "query": keep.urlencode(),
            "people": people,
            "rights": rights,
            "statuses": statuses,
            "can_bulk": rights["assign"] or rights["edit"] or bool(statuses),
            "groups": groups,
            "density": queue_density(request.user),
            "customer_contact": contact,
        },
    )


@login_required
@require_POST
def set_density(request):
    """The queue's row density for the signed-in person (Comfortable, or Compact for 15+ rows on
    a laptop screen), remembered for them on every device."""
    require(request, "ticket.view")
    try:
        set_queue_density(request.user, request.POST.get("density", ""))
    except ValueError as error:
        return HttpResponseBadRequest(str(error))
    back = request.POST.get("next") or ""
    if not back.startswith("/") or back.startswith("//"):
        back = reverse("tickets:queue")
    return redirect(back)


@login_required
@require_GET
def queue_badges(request):
    """The SLA badges of the listed tickets, as out-of-band swaps (the queue polls every 30 s)."""
    require(request, "ticket.view")
    ids = [int(i) for i in request.GET.get("ids", "").split(",") if i.isdigit()][:PAGE_SIZE]
    now = timezone.now()
    rows = queue_rows(access_tickets(request, ids), now, request.user, _ticket_url())
    return render(request, "tickets/_queue_badges.html", {"rows": rows})


def _ticket_url():
    """A ticket page's address from its id, reversing the URL pattern once instead of once a row."""
    head, tail = reverse("tickets:ticket", args=[4242424242]).split("4242424242")
    return lambda pk: f"{head}{pk}{tail}"


@login_required
@require_POST
def bulk(request):
    """Assign, set status or add a tag on many tickets, one action each; refusals are listed."""
    require(request, "ticket.view")
    form = BulkForm(request.POST)
    back = request.POST.get("next") or reverse("tickets:queue")
    if not back.startswith("/"):
        back = reverse("tickets:queue")
    if not form.is_valid():
        messages.error(request, "Choose at least one ticket and an action.")
        return redirect(back)
    action = form.cleaned_data["action"]
    if action == "assign":
        require(request, "ticket.assign")
        value = form.cleaned_data["assignee"]
        assignee = None
        if value and value != "none":
            assignee = Person.objects.filter(pk=value if value.isdigit() else None, is_active=True).first()
            if assignee is None:
                messages.error(request, "assignee: choose an active person")
                return redirect(back)

        def act(ticket):
            return actions.do_assign(ticket, assignee, actor=request.user)

        done_words = f"assigned to {assignee.name if assignee else 'nobody'}"
    elif action == "status":
        status = form.cleaned_data["status"]
        if status not in MANUAL_STATUSES:  # bad input, not a missing permission: nothing changes
            messages.error(request, _not_by_hand("status", status))
            return redirect(back)
        require_status(request, status)

        def act(ticket):
            return actions.do_set_status(ticket, status, actor=request.user)

        done_words = f"set to {status}"
    else:
        require(request, "ticket.edit")
        tag = form.cleaned_data["tag"].strip().lower()
        if not tag or " " in tag:
            messages.error(request, "tag: write one tag, without spaces")
            return redirect(back)

        def act(ticket):
            return actions.do_change_tags(ticket, add=[tag], actor=request.user)

        done_words = f"tagged {tag}"
    done, refused = [], []
    for ticket in access_tickets(request, form.cleaned_data["ids"]):
        try:
            act(ticket)
            done.append(ticket.reference)
        except TicketError as error:
            refused.append(f"{ticket.reference}: {error}")
    if done:
        count = f"{len(done)} ticket{'s' if len(done) != 1 else ''}"
        messages.success(request, f"{count} {done_words}: {', '.join(done)}.")
    for line in refused:
        messages.error(request, f"Not changed: {line}")
    return redirect(back)


# --------------------------------------------------------------------------- the ticket page


@dataclass
class Entry:
    """One line of the ticket's timeline."""

    kind: str  # message | event | sla | family (a family's ``timeline_entries``)
    at: object
    item: object = None
    text: str = ""
    order: int = 0


def attachment_url(attachment) -> str:
    return reverse("tickets:attachment", args=[attachment.pk])


def _timeline(ticket: Ticket, now) -> list[Entry]:
    messages_ = ticket.messages.select_related("author_person", "author_customer").prefetch_related(
        "attachments"
    )
    entries = []
    for m in messages_:
        m.rendered = render_message(m, attachment_url)
        entries.append(Entry("message", m.created_at, m, order=0))
    # Message events repeat what the messages show; the rest (status, SLA, escalations...) stay.
    for event in ticket.events.select_related("actor").exclude(kind=EventKind.REPLY):
        if event.kind == EventKind.ESCALATION:
            event.metric_words = METRIC_WORDS.get(event.data.get("metric"), event.data.get("metric", ""))
            event.action_words = ", ".join(
                f"{kind.replace('_', ' ')} {value}" for kind, value in event.data.get("actions", [])
            )
        entries.append(Entry("event", event.at, event, order=1))
    now_s = int(now.timestamp())
    for metric, cycles in ((ticket.sla_state or {}).get("metrics") or {}).items():
        for cycle in cycles:
            due = cycle.get("due")
            fulfilled = cycle.get("fulfilled")
            if due is None or due > now_s or (fulfilled is not None and fulfilled <= due):
                continue
            label = METRIC_LABELS.get(metric, metric).lower()
            text = f"{label} target ({cycle.get('target')}) breached under policy '{cycle.get('policy')}'"
            entries.append(Entry("sla", dt.datetime.fromtimestamp(due, tz=dt.UTC), cycle, text=text, order=2))
    for line in all_answers(hooks.timeline_entries(ticket=ticket)):
        entries.append(Entry("family", line.at, line, text=line.text, order=3))
    entries.sort(key=lambda e: (e.at, e.order))
    return entries


def _procedures(ticket: Ticket) -> list[dict]:
    ticked = {
        (row.procedure, row.step): row
        for row in ProcedureStep.objects.filter(ticket=ticket).select_related("ticked_by")
    }
    found = []
    for procedure in actions.procedures_for(ticket):
        steps = [
            {"number": n, "text": text, "ticked": ticked.get((procedure.id, n))}
            for n, text in enumerate(procedure.steps)
        ]
        found.append(
            {
                "procedure": procedure,
                "steps": steps,
                "open": [s["text"] for s in steps if not s["ticked"]],
                "open_words": _steps_left([s["number"] + 1 for s in steps if not s["ticked"]]),
            }
        )
    return found


def _steps_left(numbers: list[int]) -> str:
    """[2] -> 'step 2 is not ticked yet'; [1, 3, 4] -> 'steps 1, 3 and 4 are not ticked yet'."""
    if not numbers:
        return ""
    if len(numbers) == 1:
        return f"step {numbers[0]} is not ticked yet"
    return f"steps {', '.join(map(str, numbers[:-1]))} and {numbers[-1]} are not ticked yet"


def _trees(ticket: Ticket):
    protocol = actions.protocol_for(ticket)
    return list(protocol.resolution.troubleshooting) if protocol.resolution else []


def _fitting_trees(ticket: Ticket) -> tuple[list, list]:
    """The troubleshooting trees that fit the ticket (shown on the page), and the others (offered
    from a menu). A tree with a ``match`` fits where the match does; one without fits a ticket
    carrying a tag that is a word of the tree's id (``app-wont-sync`` on a ticket tagged ``app``)."""
    fitting, others = [], []
    tags = set(ticket.tags)
    for tree in _trees(ticket):
        if tree.match is not None:
            fits = tree.match.fits(
                priority=ticket.priority, channel=ticket.channel, group=ticket.group or None, tags=tags
            )
        else:
            fits = bool(tags & set(tree.id.split("-")))
        (fitting if fits else others).append(tree)
    return fitting, others


def _composer(request, ticket: Ticket, data=None, initial=None, files=None) -> ComposerForm:
    kinds = []
    if can(request, "ticket.reply"):
        kinds.append(("reply", "Public reply"))
    if can(request, "ticket.note"):
        kinds.append(("note", "Internal note"))
    return ComposerForm(
        data, files, initial=initial, kinds=kinds, statuses=status_choices(request, include_keep=True)
    )


def _ticket_page(request, ticket: Ticket, *, composer=None, status=200, errors=None, reply_check=None):
    now = timezone.now()
    protocol = actions.protocol_for(ticket)
    rights = workspace_rights(request)
    customer = ticket.customer
    context = {
        "ticket": ticket,
        "rights": rights,
        "badges": badges(ticket, now, include_done=True),
        "timeline": _timeline(ticket, now),
        # Customer messages whose sender could not be verified and has not confirmed (channels/senders.py).
        "unverified": list(
            ticket.messages.exclude(unverified_sender="")
            .filter(sender_confirmed_at__isnull=True)
            .order_by("created_at", "id")
        ),
        "composer": composer or _composer(request, ticket),
        "macros": list(macros_for(request.user)) if rights["macros"] else [],
        "procedures": _procedures(ticket),
        "trees": _fitting_trees(ticket)[0],
        "other_trees": _fitting_trees(ticket)[1],
        "properties": PropertiesForm(
            initial={"priority": ticket.priority, "group": ticket.group, "tags": ", ".join(ticket.tags)},
            protocol=protocol,
        ),
        "assignee_form": AssigneeForm(initial={"assignee": ticket.assignee_id}),
        "customer_form": CustomerForm(
            initial={
                "name": customer.name,
                "email": customer.email or "",
                "phone": customer.phone,
                "organization": customer.organization,
                "timezone": customer.timezone,
                "language": customer.language,
            }
        )
        if rights["edit"]
        else None,
        "other_tickets": list(
            Ticket.objects.filter(customer=customer).exclude(pk=ticket.pk).order_by("-created_at")[:10]
        ),
        "linked": list(actions.linked_tickets(ticket).order_by("pk")),
        "statuses": [(v, STATUS_SHORT[v]) for v, _ in status_choices(request) if v != ticket.status],
        "errors": errors or [],
        "closed": ticket.status == "closed",
        "max_attachment": max_attachment_bytes(),
        "reply_check": reply_check,
        "idempotency_key": uuid.uuid4().hex,
    }
    context["panels"] = _panels(request, ticket, context)
    context["page_version"] = page_version(ticket)
    context["customer_contact"] = sees_customer_contact(request.user, request.protocol)
    context["presence_every"] = PRESENCE_EVERY
    context["active_within"] = ACTIVE_WITHIN
    context["others"] = others_present(ticket, request.user, timezone.now())
    return render(request, "tickets/ticket.html", context, status=status)


def _panels(request, ticket: Ticket, page: dict) -> list[str]:
    """The families' sidebar cards (``ticket_panels`` hook), rendered in their order."""
    shared = {"ticket": ticket, "rights": page["rights"], "closed": page["closed"]}
    panels = sorted(all_answers(hooks.ticket_panels(request=request, ticket=ticket)), key=lambda p: p.order)
    return [render_to_string(p.template, {**shared, **p.context, "panel": p}, request) for p in panels]


@login_required
@require_GET
def ticket_page(request, ticket_id: int):
    ticket = access_ticket(request, ticket_id)
    return _ticket_page(request, ticket)


@login_required
@require_GET
def ticket_badges(request, ticket_id: int):
    ticket = access_ticket(request, ticket_id)
    return render(
        request,
        "tickets/_ticket_badges.html",
        {"ticket": ticket, "badges": badges(ticket, timezone.now(), include_done=True)},
    )


def _not_by_hand(field: str, status: str) -> str:
    return f"{field}: '{status}' is not a status set by hand ({', '.join(MANUAL_STATUSES)})."


def _back(ticket: Ticket) -> HttpResponse:
    return redirect("tickets:ticket", ticket.pk)


def _may_override(request, objections) -> bool:
    return bool(objections) and all(o.override and can(request, o.override) for o in objections)


def _draft_masks(body: str) -> list[str]:
    """The lines of the reply that a family masks secrets in (``redact_text``), as the customer
    will read them; none when nothing is masked."""
    masked = actions.stored_text(body, "draft")
    if masked == body:
        return []
    before, after = body.splitlines(), masked.splitlines()
    if len(before) != len(after):
        return [masked]
    return [_around_change(old, line) for old, line in zip(before, after, strict=True) if old != line]


def _around_change(old: str, new: str, margin: int = 40) -> str:
    """The part of ``new`` that differs from ``old``, with a few words either side."""
    start = next((i for i, (a, b) in enumerate(zip(old, new, strict=False)) if a != b), 0)
    tail = next((i for i, (a, b) in enumerate(zip(reversed(old), reversed(new), strict=False)) if a != b), 0)
    left, right = max(0, start - margin), min(len(new), len(new) - tail + margin)
    return ("…" if left else "") + new[left:right] + ("…" if right < len(new) else "")


@login_required
@require_POST
def check_reply(request, ticket_id: int):
    """What the families object to in the composer's draft, as the agent types (htmx, debounced),
    and the secrets that will be masked: the composer's list of problems, in plain words."""
    ticket = access_ticket(request, ticket_id)
    if not can_use_macros(request):  # the composer's rights: a reply or a note
        raise PermissionDenied("Your roles do not grant ticket.reply or ticket.note.")
    body = request.POST.get("body", "")
    kind = request.POST.get("kind", "reply")
    # One transaction, so that the families look up what they need once for both questions.
    with transaction.atomic():
        checked = kind == "reply" and body.strip()
        objections = actions.reply_objections(ticket, request.user, body) if checked else []
        masked = _draft_masks(body) if body.strip() else []
    return render(
        request,
        "tickets/_reply_check.html",
        {"objections": objections, "may_override": _may_override(request, objections), "masked": masked},
    )


# A composer's key is claimed once per day: long enough for any "resend" of the same page.
SENT_KEYS = Once("tickets.reply-sent", 24 * 3600)


@login_required
@require_POST
def reply(request, ticket_id: int):
    """A public reply or an internal note, with the next status chosen on send.

    The composer's hidden ``idempotency_key`` makes a resubmitted form (a double click, the
    browser's "resend") send nothing the second time; a refused send shows the ticket page with
    the problems at the composer and the text kept; a sent one redirects (POST/redirect/GET)."""
    ticket = access_ticket(request, ticket_id)
    kind = request.POST.get("kind", "reply")
    require(request, "ticket.reply" if kind == "reply" else "ticket.note")
    key = request.POST.get("idempotency_key", "").strip()[:64]
    sent_key = f"{request.user.pk}:{key}" if key else ""
    if sent_key and not SENT_KEYS.claim(sent_key):
        messages.info(request, "That message was already sent; it was not sent again.")
        return _back(ticket)
    try:
        response = _send(request, ticket, kind)
    except BaseException:
        if sent_key:
            SENT_KEYS.release(sent_key)  # nothing was sent: the same form may be sent again
        raise
    if sent_key and response.status_code != 302:
        SENT_KEYS.release(sent_key)  # nothing was sent: the same form may be sent again
    return response


def _send(request, ticket: Ticket, kind: str) -> HttpResponse:
    form = _composer(request, ticket, data=request.POST, files=request.FILES)
    next_status = request.POST.get("next_status") or ""
    if next_status in MANUAL_STATUSES:
        require_status(request, next_status)
    elif next_status:  # bad input, not a missing permission: the composer says so, nothing is sent
        form.is_valid()
        form.add_error(None, _not_by_hand("next_status", next_status))
    if kind not in ("reply", "note"):
        form.is_valid()
        form.add_error(None, f"kind: '{kind}' is neither reply nor note.")
    if not form.is_valid():
        return _ticket_page(request, ticket, composer=form, status=400)
    loaded = request.POST.get("loaded_version", "")
    changed = changes_since(ticket, loaded, reader=request.user) if loaded else []
    if changed:
        # Someone else changed the ticket since this page was drawn: say what, keep the text, and
        # let the second Send (from the fresh page) go through.
        form.add_error(
            None,
            f"Not sent yet: this ticket changed since you opened it: {'; '.join(changed)}. Read what is "
            "new above, then press Send again to send your text as it is.",
        )
        return _ticket_page(request, ticket, composer=form, status=409)
    files = form.cleaned_data["files"]
    try:
        do_reply_with_files(
            ticket,
            author=request.user,
            body=form.cleaned_data["body"],
            files=files,
            public=kind == "reply",
            next_status=next_status or None,
            override_reason=request.POST.get("override_reason", "") if kind == "reply" else "",
        )
    except ReplyRefused as refused:
        # Each problem on its own line at the composer; the text stays as written.
        form.is_valid()
        form.add_error(
            None,
            "Not sent: "
            + ("give a reason to send it anyway." if refused.may_override else "fix these first."),
        )
        return _ticket_page(
            request,
            ticket,
            composer=form,
            status=400,
            reply_check={
                "objections": refused.objections,
                "may_override": refused.may_override,
                "masked": [],
                "reason": request.POST.get("override_reason", ""),
            },
        )
    except TicketError as error:
        # Nothing was sent (the reply, its files and the status change are one transaction):
        # keep the text; the files must be chosen again (a browser cannot be given them back).
        form.add_error(None, f"Not sent: {error}")
        return _ticket_page(request, ticket, composer=form, status=400)
    words = "Reply sent" if kind == "reply" else "Note added"
    if files:
        words += f" with {len(files)} file{'s' if len(files) != 1 else ''}"
    messages.success(request, words + (f"; the ticket is now {next_status}." if next_status else "."))
    return _back(ticket)


@login_required
@require_POST
def presence(request, ticket_id: int):
    """htmx, every few seconds from an open ticket page: this person is here (viewing or typing),
    and worked on the page for ``active`` of the seconds since the page's previous sign of life
    (``worktime``: the handle_time KPI); the answer says who else is here, and whether the ticket
    changed since the page was drawn."""
    ticket = access_ticket(request, ticket_id)
    text = request.POST.get("active", "0").strip() or "0"
    if not text.isdigit():
        return HttpResponseBadRequest(
            f"active: '{text[:20]}' is not a whole number of seconds",
            content_type="text/plain; charset=utf-8",
        )
    now = timezone.now()
    mark_present(ticket, request.user, request.POST.get("state", ""), now)
    credit_page_time(ticket, request.user, int(text[:6]), now, team_day(request.protocol, now))
    loaded = request.POST.get("version", "")
    changed = changes_since(ticket, loaded, reader=request.user) if loaded else []
    return render(
        request,
        "tickets/_presence.html",
        {"ticket": ticket, "others": others_present(ticket, request.user, now), "changed": changed},
    )


@login_required
@require_GET
def attachment(request, attachment_id: int):
    """Download a file of any message (notes included) for people who see tickets; pictures inline.
    Each download is audited (``read.attachment``)."""
    from charterdesk.audit.actions import do_record_reading
    from charterdesk.core.client import client_ip

    found = access_attachment(request, attachment_id)
    do_record_reading(
        request.user,
        "attachment",
        f"attachment:{found.pk}",
        ip=client_ip(request),
        data={"ticket": found.message.ticket_id},
    )
    return serve(found)


@login_required
@require_POST
def set_status(request, ticket_id: int):
    ticket = access_ticket(request, ticket_id)
    status = request.POST.get("status", "")
    if status not in MANUAL_STATUSES:  # bad input, not a missing permission: nothing changes
        messages.error(request, _not_by_hand("status", status))
        return _back(ticket)
    require_status(request, status)
    try:
        actions.do_set_status(ticket, status, actor=request.user)
        messages.success(request, f"{ticket.reference} is now {status}.")
    except TicketError as error:
        messages.error(request, str(error))
    return _back(ticket)


@login_required
@require_POST
def confirm_sender(request, ticket_id: int, message_id: int):
    """An agent who checked with the customer another way (a call to their known number, say)
    confirms the sender of a message marked "unverified sender" (``ticket.edit``); audited."""
    ticket = access_ticket(request, ticket_id, "ticket.edit")
    message = ticket.messages.filter(pk=message_id).first()
    if message is None:
        raise Http404("There is no such message on this ticket.")
    if actions.do_confirm_sender(message, how="agent", actor=request.user):
        messages.success(
            request, f"The sender of the message of {message.created_at:%d %b %H:%M} is confirmed."
        )
    else:
        messages.info(request, "That message's sender needed no confirmation.")
    return _back(ticket)


@login_required
@require_POST
def set_properties(request, ticket_id: int):
    """Priority, group and tags (``ticket.edit``), together: all of them are saved, or none."""
    ticket = access_ticket(request, ticket_id, "ticket.edit")
    form = PropertiesForm(request.POST, protocol=actions.protocol_for(ticket))
    if not form.is_valid():
        for field, errors in form.errors.items():
            messages.error(request, f"{field}: {' '.join(errors)}")
        return _back(ticket)
    data = form.cleaned_data
    current, wanted = set(ticket.tags), set(data["tags"])
    try:
        actions.do_set_properties(
            ticket,
            actor=request.user,
            priority=data["priority"],
            group=data["group"] or None,
            add_tags=sorted(wanted - current),
            remove_tags=sorted(current - wanted),
        )
        messages.success(request, "Saved.")
    except TicketError as error:
        messages.error(request, str(error))
    return _back(ticket)


@login_required
@require_POST
def set_assignee(request, ticket_id: int):
    ticket = access_ticket(request, ticket_id, "ticket.assign")
    form = AssigneeForm(request.POST)
    if not form.is_valid():
        messages.error(request, "assignee: choose an active person")
        return _back(ticket)
    assignee = form.cleaned_data["assignee"]
    try:
        actions.do_assign(ticket, assignee, actor=request.user)
        messages.success(request, f"Assigned to {assignee.name if assignee else 'nobody'}.")
    except TicketError as error:
        messages.error(request, str(error))
    return _back(ticket)


@login_required
@require_POST
def link_or_merge(request, ticket_id: int, how: str):
    ticket = access_ticket(request, ticket_id, "ticket.merge")
    form = TicketNumberForm(request.POST)
    if not form.is_valid():
        messages.error(request, "other: write the other ticket's number, such as #42")
        return _back(ticket)
    try:
        other = access_ticket_by_reference(request, form.cleaned_data["other"])
    except ValueError as error:
        messages.error(request, f"other: {error}")
        return _back(ticket)
    try:
        if how == "link":
            actions.do_link(ticket, other, actor=request.user)
            messages.success(request, f"Linked to {other.reference}.")
        else:
            target = actions.do_merge(ticket, other, actor=request.user)
            messages.success(request, f"{ticket.reference} is merged into {target.reference}.")
            return _back(target)
    except TicketError as error:
        messages.error(request, str(error))
    return _back(ticket)


@login_required
@require_POST
def edit_customer(request, ticket_id: int):
    ticket = access_ticket(request, ticket_id)
    customer = access_customer_for_edit(request, ticket)
    form = CustomerForm(request.POST)
    if not form.is_valid():
        for field, errors in form.errors.items():
            messages.error(request, f"{field}: {' '.join(errors)}")
        return _back(ticket)
    changed = {k: v for k, v in form.cleaned_data.items() if getattr(customer, k) != v}
    if changed:
        try:
            actions.do_update_customer(customer, actor=request.user, **changed)
            messages.success(request, f"Saved {customer.name}'s details.")
        except ValidationError as error:
            for field, errors in error.message_dict.items():
                messages.error(request, f"{field}: {' '.join(errors)}")
        except TicketError as error:
            messages.error(request, str(error))
    return _back(ticket)


@login_required
@require_POST
def tick_step(request, ticket_id: int, procedure_id: str, step: int):
    """Tick or untick one step of a procedure (htmx: answers the procedure's card)."""
    ticket = access_ticket(request, ticket_id, "ticket.note")
    error = ""
    try:
        actions.do_tick_step(
            ticket, procedure_id, step, ticked=request.POST.get("ticked") == "on", actor=request.user
        )
    except TicketError as exc:
        error = str(exc)
    if not request.headers.get("HX-Request"):
        if error:
            messages.error(request, error)
        return _back(ticket)
    card = next((p for p in _procedures(ticket) if p["procedure"].id == procedure_id), None)
    if card is None:
        return HttpResponse(error, status=400)
    return render(
        request,
        "tickets/_procedure.html",
        {"ticket": ticket, "card": card, "rights": workspace_rights(request), "error": error},
    )


def _walk(ticket: Ticket, tree_id: str, path_text: str):
    trees = {t.id: t for t in _trees(ticket)}
    node = trees.get(tree_id)
    if node is None:
        raise Http404(f"There is no troubleshooting tree '{tree_id}'.")
    try:
        path = [int(p) for p in path_text.split(",") if p != ""]
    except ValueError:
        raise Http404("That path does not exist in the tree.") from None
    steps, resolution = [], None
    for index in path:
        if node is None or not 0 <= index < len(node.answers):
            raise Http404("That path does not exist in the tree.")
        answer = node.answers[index]
        steps.append({"question": node.question, "answer": answer.label})
        resolution = answer.resolution
        node = answer.next
    return trees[tree_id], path, steps, node, resolution


@login_required
@require_http_methods(["GET", "POST"])
def troubleshooting(request, ticket_id: int, tree_id: str):
    """Walk a troubleshooting tree one answer at a time; at a resolution, record the walk as a note."""
    ticket = access_ticket(request, ticket_id)
    path_text = request.POST.get("path") if request.method == "POST" else request.GET.get("path", "")
    tree, path, steps, node, resolution = _walk(ticket, tree_id, path_text or "")
    if request.method == "POST":
        require(request, "ticket.note")
        try:
            actions.do_record_troubleshooting(ticket, tree_id, path, actor=request.user)
            messages.success(request, "The troubleshooting walk is recorded as an internal note.")
        except TicketError as error:
            messages.error(request, str(error))
        return _back(ticket)
    context = {
        "ticket": ticket,
        "tree": tree,
        "path": ",".join(str(p) for p in path),
        "steps": steps,
        "node": node,
        "resolution": resolution if node is None and path else None,
        "rights": workspace_rights(request),
    }
    template = (
        "tickets/_troubleshooting.html"
        if request.headers.get("HX-Request")
        else "tickets/troubleshooting.html"
    )
    return render(request, template, context)


@login_required
@require_GET
def insert_macro(request, ticket_id: int, macro_id: int):
    """A saved reply filled in for this ticket and agent (the composer inserts it)."""
    ticket = access_ticket(request, ticket_id)
    macro = access_macro(request, macro_id)
    rendered = render_macro(macro.body, ticket, request.user)
    return JsonResponse(
        {"text": rendered.text, "unknown": list(rendered.unknown), "next_status": macro.next_status}
    )


# --------------------------------------------------------------------------- saved replies


@login_required
@require_http_methods(["GET", "POST"])
def macro_list(request, macro_id: int | None = None):
    """The saved replies a person sees; create one, or edit one (``macro_id``)."""
    if not can_use_macros(request):
        raise PermissionDenied("Your roles do not grant ticket.reply or ticket.note.")
    rights = workspace_rights(request)
    macro = access_macro(request, macro_id, edit=True) if macro_id else None
    initial = None
    if macro is not None:
        initial = {
            "title": macro.title,
            "body": macro.body,
            "next_status": macro.next_status,
            "shared": macro.owner_id is None,
        }
    form = MacroForm(request.POST or None, initial=initial, can_share=rights["shared_macros"])
    if request.method == "POST" and form.is_valid():
        try:
            saved = do_save_macro(
                macro,
                title=form.cleaned_data["title"],
                body=form.cleaned_data["body"],
                shared=form.cleaned_data.get("shared", False),
                next_status=form.cleaned_data["next_status"],
                actor=request.user,
            )
        except MacroError as error:
            form.add_error(None, str(error))
        else:
            unknown = unknown_placeholders(saved.body)
            if unknown:
                messages.warning(
                    request,
                    f"Saved '{saved.title}'. These placeholders are unknown and will be left as written: "
                    + ", ".join(unknown),
                )
            else:
                messages.success(request, f"Saved '{saved.title}'.")
            return redirect("tickets:macros")
    rows = [
        {
            "macro": m,
            "unknown": unknown_placeholders(m.body),
            "editable": m.owner_id or rights["shared_macros"],
        }
        for m in macros_for(request.user).select_related("owner")
    ]
    return render(
        request,
        "tickets/macros.html",
        {"rows": rows, "form": form, "editing": macro, "placeholders": PLACEHOLDERS, "rights": rights},
    )


@login_required
@require_POST
def macro_delete(request, macro_id: int):
    macro = access_macro(request, macro_id, edit=True)
    do_delete_macro(macro, actor=request.user)
    messages.success(request, f"Deleted '{macro.title}'.")
    return redirect("tickets:macros")


# --------------------------------------------------------------------------- new ticket


@login_required
@require_http_methods(["GET", "POST"])
def new_ticket(request):
    """Open a ticket on a customer's behalf: the first message is the agent's public reply."""
    require(request, "ticket.create")
    if request.protocol is None:
        raise PermissionDenied("No protocol version is in force yet.")
    form = NewTicketForm(request.POST or None, protocol=request.protocol)
    reply_check = None
    reason = request.POST.get("override_reason", "")
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            with transaction.atomic():
                customer = actions.do_find_or_create_customer(
                    email=data["email"] or None, name=data["name"], phone=data["phone"]
                )
                ticket = actions.do_create_ticket(
                    customer=customer,
                    subject=data["subject"],
                    body=data["body"],
                    channel=data["channel"],
                    priority=data["priority"],
                    tags=form.tag_list(),
                    by_agent=request.user,
                    override_reason=reason,
                )
        except ReplyRefused as refused:
            # Nothing was stored (not even a new customer): the problems show by the message.
            form.add_error(
                None,
                "Not opened: the first message is a reply to the customer; "
                + ("give a reason to send it anyway." if refused.may_override else "fix it first."),
            )
            reply_check = {"objections": refused.objections, "may_override": refused.may_override}
        except TicketError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, f"Opened {ticket.reference} for {customer.name}.")
            return redirect("tickets:ticket", ticket.pk)
    return render(
        request,
        "tickets/new.html",
        {
            "form": form,
            "rights": workspace_rights(request),
            "reply_check": reply_check,
            "reason": reason,
        },
    )


@login_required
@require_POST
def check_new_ticket(request):
    """The new-ticket form's first message checked as the agent types (htmx, debounced), as the
    composer checks a reply: the customer's name is the one typed in the form, when one is."""
    require(request, "ticket.create")
    body = request.POST.get("body", "")
    name = request.POST.get("name", "").strip()
    draft = Ticket(customer=Customer(name=name, name_known=bool(name)))
    with transaction.atomic():
        objections = actions.reply_objections(draft, request.user, body) if body.strip() else []
        masked = _draft_masks(body) if body.strip() else []
    return render(
        request,
        "tickets/_reply_check.html",
        {"objections": objections, "may_override": _may_override(request, objections), "masked": masked},
    )
