"""Loop protection: which messages must never get an automatic mail, and the per-address rate limit.

Agent replies are people writing to people and are not limited here; the rules cover what the
desk sends on its own (receipts, surveys). An address that gets more than
``CHARTERDESK_AUTOMAIL_PER_HOUR`` automatic mails in an hour gets no more until the hour has
passed, whatever the reason it keeps writing.
"""

from __future__ import annotations

import datetime as dt
import re

from django.utils import timezone

from .parse import ParsedEmail

_NO_REPLY_LOCALS = re.compile(
    r"^(mailer-daemon|postmaster|no-?reply|do-?not-?reply|donotreply|noreply-.*|.*-noreply|"
    r"bounces?|bounce-.*|.*-bounces?|auto-?reply|autoresponder|listserv|majordomo|owner-.*|.*-owner|"
    r"notifications?|daemon)$"
)
_AUTO_SUBJECT = re.compile(
    r"(?i)^(out of (the )?office|automatic reply|auto(matic)?[- ]?reply|autoreply|auto:|"
    r"abwesenheitsnotiz|réponse automatique|absence)"
)


def is_machine_address(address: str) -> bool:
    """mailer-daemon, postmaster, no-reply, bounce and list robot addresses."""
    local = address.split("@")[0].split("+")[0].lower()
    return bool(_NO_REPLY_LOCALS.match(local))


def automatic_reasons(parsed: ParsedEmail) -> list[str]:
    """Why this message must get no automatic mail (empty: it may)."""
    reasons = []
    auto = parsed.header("auto-submitted").lower()
    if auto and not auto.startswith("no"):
        reasons.append(f"Auto-Submitted: {auto}")
    precedence = parsed.header("precedence").lower()
    if precedence in ("bulk", "list", "junk", "auto_reply"):
        reasons.append(f"Precedence: {precedence}")
    if parsed.header("list-id") or parsed.header("list-unsubscribe"):
        reasons.append("sent through a mailing list")
    for name in ("x-autoreply", "x-autorespond", "x-autoresponder"):
        if parsed.header(name):
            reasons.append(f"{name}: {parsed.header(name)}")
    suppress = parsed.header("x-auto-response-suppress").lower()
    if suppress and any(word in suppress for word in ("all", "autoreply", "oof")):
        reasons.append(f"X-Auto-Response-Suppress: {suppress}")
    if parsed.header("return-path").strip() in ("<>", "") and "return-path" in parsed.headers:
        reasons.append("null return path (a bounce)")
    if not parsed.from_address:
        reasons.append("no sender address")
    elif is_machine_address(parsed.from_address):
        reasons.append(f"machine sender {parsed.from_address}")
    if parsed.bounce is not None:
        reasons.append("delivery status notification")
    return reasons


def is_auto_reply(parsed: ParsedEmail) -> bool:
    """An out-of-office or other automatic answer (as opposed to mail a person wrote)."""
    auto = parsed.header("auto-submitted").lower()
    if auto.startswith("auto-replied"):
        return True
    if any(parsed.header(n) for n in ("x-autoreply", "x-autorespond", "x-autoresponder")):
        return True
    if parsed.header("precedence").lower() == "auto_reply":
        return True
    return bool(_AUTO_SUBJECT.match(parsed.subject.strip()))


def is_bulk(parsed: ParsedEmail) -> bool:
    return parsed.header("precedence").lower() in ("bulk", "list", "junk") or bool(parsed.header("list-id"))


# What the desk sends on its own and counts against the hourly limit (surveys too: surveys/; the
# requests to confirm an unverified sender: senders.py).
AUTOMATIC_KINDS = ("receipt", "survey", "confirm")


def may_send_automatic(address: str, *, now: dt.datetime | None = None) -> tuple[bool, str]:
    """Whether one more automatic mail may go to ``address`` now, and if not, why."""
    from .choices import OutboundState
    from .conf import automail_per_hour
    from .models import OutboundMail

    address = (address or "").strip().lower()
    if not address or "@" not in address:
        return False, "no address"
    if is_machine_address(address):
        return False, f"{address} is a machine address"
    now = now or timezone.now()
    limit = automail_per_hour()
    sent = OutboundMail.objects.filter(
        to_address=address,
        kind__in=AUTOMATIC_KINDS,
        state=OutboundState.SENT,
        created_at__gt=now - dt.timedelta(hours=1),
    ).count()
    if sent >= limit:
        return False, f"{address} already had {sent} automatic mails in the last hour (limit {limit})"
    return True, ""
