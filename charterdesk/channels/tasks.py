"""Background work for the channels. Tasks take ids, not objects."""

from __future__ import annotations

from django_tasks import task


@task()
def send_receipt(ticket_id: int) -> str:
    from .acknowledge import send_receipt_now

    return send_receipt_now(ticket_id)


@task()
def process_inbound(inbound_id: int) -> str:
    from .inbound import process
    from .models import InboundMessage

    return process(InboundMessage(pk=inbound_id))
