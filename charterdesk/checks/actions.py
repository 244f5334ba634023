"""The checks family's writes: a ticket put under a contingency (its plan's actions carried out
once), and masking secrets already stored when a version adds a detector."""

from __future__ import annotations

import datetime as dt
from collections import Counter

from django.db import IntegrityError, transaction
from django.utils import timezone

from charterdesk.audit.actions import action, nothing_to_record, record
from charterdesk.engine.escalation import apply_actions
from charterdesk.engine.messages import ContingencyMatch, MessageChecks
from charterdesk.tickets import actions as ticket_actions
from charterdesk.tickets.escalation_effects import notify_and_note
from charterdesk.tickets.history import protocol_for, whole_second
from charterdesk.tickets.models import Message, Ticket

from .models import ContingencyActivation, RedactionSweep


@action
def do_start_contingency(
    ticket: Ticket, match: ContingencyMatch, *, message: Message | None, at: dt.datetime | None = None
) -> ContingencyActivation | None:
    """Put ``ticket`` under the contingency ``match`` names and carry out its ``do`` actions, once
    per ticket: a ticket already under it changes nothing (None).

    Priority, group and tags change through the tickets' own actions, so they are the ticket's
    ordinary events (``sla replay`` of its history sees them as the live desk does); notify and
    add_note are the escalation rules' own code. Every action is audited with the contingency's
    clause and the ticket's protocol version."""
    at = whole_second(at)
    version = ticket.protocol_version.version
    with transaction.atomic():
        if ContingencyActivation.objects.filter(ticket=ticket, contingency=match.id).exists():
            nothing_to_record("the ticket is already under this contingency")
            return None
        try:
            with transaction.atomic():
                activation = ContingencyActivation.objects.create(
                    ticket=ticket,
                    contingency=match.id,
                    title=match.title[:300],
                    reason=match.reason[:300],
                    phrase=(match.phrase or "")[:300],
                    message=message,
                    protocol_version=version,
                    at=at,
                )
        except IntegrityError:
            nothing_to_record("put under this contingency meanwhile by another worker")
            return None
        record(
            "checks.contingency",
            f"{ticket.reference} is under contingency '{match.title}': {match.reason}",
            target=f"ticket:{ticket.pk}",
            protocol_version=version,
            clause=match.clause,
            data={"contingency": match.id, "phrase": match.phrase, "shouting": match.shouting},
            at=at,
        )
        protocol = protocol_for(ticket)
        todo = list(protocol.contingency(match.id).do)
        fresh = Ticket.objects.get(pk=ticket.pk)
        priority, group, tags = apply_actions(
            todo, fresh.priority, fresh.group or None, frozenset(fresh.tags)
        )
        if priority != fresh.priority:
            ticket_actions.do_set_priority(fresh, priority, actor=None, at=at)
        if group != (fresh.group or None):
            ticket_actions.do_set_group(fresh, group, actor=None, at=at)
        added = sorted(tags - set(fresh.tags))
        if added:
            ticket_actions.do_change_tags(fresh, add=added, actor=None, at=at)
        notify_and_note(
            fresh,
            todo,
            protocol=protocol,
            text=f"Contingency '{match.title}' on {ticket.reference} ({ticket.subject}): {match.reason}",
            reason=f"protocol {version}, {match.clause}",
            signed=f"added by contingency '{match.id}'",
            at=at,
        )
        for step in todo:
            record(
                "checks.contingency_action",
                f"Contingency '{match.id}' on {ticket.reference}: {step}",
                target=f"ticket:{ticket.pk}",
                protocol_version=version,
                clause=match.clause,
                data={"contingency": match.id, "action": [step.kind, step.value]},
                at=at,
            )
    return activation


# --------------------------------------------------------------------------- redacting what is stored

# Every place a secret written by a customer or an agent can be stored, with its text columns.
# (InboundMessage.raw is rewritten whole by channels.masking, for processed messages only.)
PLACES: dict[str, tuple[str, ...]] = {
    "tickets.Ticket": ("subject", "search_text"),
    "tickets.Message": ("body_text", "body_html"),
    "tickets.Attachment": ("filename",),
    "tickets.TicketEvent": ("summary",),
    "notifications.Notification": ("text",),
    "channels.InboundMessage": ("subject", "raw"),
}


def _model(place: str):
    from django.apps import apps

    app, name = place.split(".")
    return apps.get_model(app, name)


@action
def do_redact_stored(sweep: RedactionSweep, checks: MessageChecks, *, batch: int = 500) -> int:
    """Mask the secrets in the next ``batch`` rows of ``sweep.place`` after ``sweep.last_pk``,
    and move the sweep on (so a run cut short goes on where it stopped). Audited by counts:
    rows read, rows changed and secrets masked by detector, never the secrets. Returns the rows
    read (0: the place is done)."""
    from charterdesk.channels.masking import masked_raw

    model = _model(sweep.place)
    columns = PLACES[sweep.place]
    with transaction.atomic():
        read = ("pk", *columns, *(("state",) if "raw" in columns else ()))
        rows = list(model.objects.filter(pk__gt=sweep.last_pk).order_by("pk").only(*read)[:batch])
        found: Counter[str] = Counter()
        changed = 0
        for row in rows:
            updates = {}
            for column in columns:
                value = getattr(row, column)
                if column == "raw":
                    if row.state != "processed":
                        continue  # quarantined and held mail is kept whole until a person decides
                    rewritten = masked_raw(bytes(value))
                    if rewritten is not None:
                        updates[column] = rewritten
                        found["raw"] += 1
                    continue
                if not value:
                    continue
                redaction = checks.redact(value)
                if redaction.findings:
                    updates[column] = redaction.text
                    found.update(f.detector for f in redaction.findings)
            if updates:
                model.objects.filter(pk=row.pk).update(**updates)
                changed += 1
        sweep.scanned += len(rows)
        sweep.changed += changed
        if rows:
            sweep.last_pk = rows[-1].pk
        else:
            sweep.finished_at = timezone.now()
        sweep.save()
        if changed:
            record(
                "checks.redact_existing",
                f"Masked secrets in {changed} of {len(rows)} {sweep.place} rows "
                f"({', '.join(f'{n} {d}' for d, n in sorted(found.items()))})",
                protocol_version=sweep.protocol_version,
                clause="privacy.redact",
                data={"place": sweep.place, "read": len(rows), "changed": changed, "found": dict(found)},
            )
        else:
            nothing_to_record("no secret in these rows")
    return len(rows)
