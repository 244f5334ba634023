"""Which message rules apply: one ``MessageChecks`` per protocol version, compiled once per process."""

from __future__ import annotations

from django.db import connection

from charterdesk.engine.messages import MessageChecks
from charterdesk.library.models import ProtocolVersion
from charterdesk.library.versions import protocol_of, version_in_force

# (version id, last change) -> its compiled rules; published versions never change.
_compiled: dict[tuple[int, str], MessageChecks] = {}


def checks_of(version: ProtocolVersion | None) -> MessageChecks | None:
    """The rules of ``version`` (None when there is none or it does not load)."""
    if version is None:
        return None
    protocol = protocol_of(version)
    if protocol is None:
        return None
    key = (version.pk, version.updated_at.isoformat() if version.updated_at else "")
    checks = _compiled.get(key)
    if checks is None:
        if len(_compiled) >= 32:
            _compiled.clear()
        checks = _compiled[key] = MessageChecks(protocol)
    return checks


def checks_in_force() -> MessageChecks | None:
    """The rules of the version in force now.

    Redaction runs three or four times for each arriving message (subject, text, HTML, file
    names), always inside the action's transaction; the version in force is looked up once per
    outermost transaction and remembered on it, so an inbound batch asks the database once. A
    version published meanwhile applies from the next transaction (as it does for the rest of
    the batch: channels.inbound.in_force)."""
    outer = connection.atomic_blocks[0] if connection.in_atomic_block and connection.atomic_blocks else None
    if outer is not None:
        remembered = getattr(outer, "charterdesk_checks", False)
        if remembered is not False:
            return remembered
    checks = checks_of(version_in_force())
    if outer is not None:
        outer.charterdesk_checks = checks
    return checks


def checks_for_ticket(ticket) -> MessageChecks | None:
    """The rules of the version the ticket runs under (its etiquette and contingencies)."""
    return checks_of(ticket.protocol_version)
