"""The raw email kept for durability, rewritten once its message is processed when the desk masked
a secret in it (``redact_text``): the stored ticket message and the raw store then hold the same
masks, and the secret is in neither.

Kept apart from storing and de-duplication (``store_inbound``): ``dedupe_key`` and ``sha256`` are
taken from the original bytes when the message arrives and are never recomputed, so the same
message arriving again is still recognised after its raw bytes were rewritten.
"""

from __future__ import annotations

import email
import email.policy

from charterdesk.tickets.actions import stored_text

from .models import InboundMessage
from .parse import ParsedEmail


def secret_was_masked(parsed: ParsedEmail, message) -> bool:
    """Whether storing the message masked something: its stored text differs from the parsed text."""
    if message is None:
        return False
    return message.body_text != (parsed.text or "(no text)") or message.body_html != parsed.html


def masked_raw(raw: bytes) -> bytes | None:
    """``raw`` with its Subject and every text part passed through ``redact_text`` (where
    ``raw``); None when nothing in it is masked. Attachments other than text are kept as they are."""
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    changed = False
    subject = parsed.get("Subject")
    if subject is not None:
        masked = stored_text(str(subject), "raw")
        if masked != str(subject):
            parsed.replace_header("Subject", masked)
            changed = True
    for part in parsed.walk():
        if part.is_multipart() or part.get_content_maintype() != "text":
            continue
        try:
            text = part.get_content()
        except (LookupError, ValueError, AssertionError):
            continue  # a part that does not decode is not shown anywhere either
        masked = stored_text(text, "raw")
        if masked != text:
            disposition = part.get("Content-Disposition")
            part.set_content(masked, subtype=part.get_content_subtype(), charset="utf-8", disposition=None)
            if disposition is not None:
                part["Content-Disposition"] = disposition
            changed = True
    return parsed.as_bytes() if changed else None


def mask_raw(inbound: InboundMessage, parsed: ParsedEmail, message) -> bool:
    """A step of processing (inside the action that stored the message): rewrite ``inbound.raw``
    with the masks when storing the message masked a secret. True when the raw was rewritten."""
    if not secret_was_masked(parsed, message):
        return False
    rewritten = masked_raw(inbound.raw_bytes)
    if rewritten is None:
        return False
    inbound.raw = rewritten
    InboundMessage.objects.filter(pk=inbound.pk).update(raw=rewritten)
    return True


def masked_original(inbound: InboundMessage) -> bytes:
    """A step of turning quarantined mail into a ticket by hand: the raw bytes with their secrets
    masked (the row is rewritten too), or as they are when they cannot be read as an email at all
    (docs/message-checks.md says where a secret can then remain)."""
    try:
        rewritten = masked_raw(inbound.raw_bytes)
    except Exception:  # mail too broken to parse: why it was quarantined in the first place
        return inbound.raw_bytes
    if rewritten is None:
        return inbound.raw_bytes
    inbound.raw = rewritten
    InboundMessage.objects.filter(pk=inbound.pk).update(raw=rewritten)
    return rewritten
