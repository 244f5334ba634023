"""The raw email kept for durability, rewritten once its message is processed when the desk masked
a secret in it (``redact_text``): the stored ticket message and the raw store then hold the same
masks, and the secret is in neither.

Kept apart from storing and de-duplication (``store_inbound``): ``dedupe_key`` and ``sha256`` are
taken from the original bytes when the message arrives and are never recomputed, so the same
message arriving again is still recognised after its raw bytes were rewritten.
"""

from __future__ import annotations

import email
from email.charset import QP, Charset
from email.header import Header, decode_header, make_header

from charterdesk.tickets.actions import stored_text

from .models import InboundMessage
from .parse import ParsedEmail

# Masked text parts are written quoted-printable: readable as they are stored, 7-bit safe.
_READABLE = Charset("utf-8")
_READABLE.body_encoding = QP


def secret_was_masked(parsed: ParsedEmail, message) -> bool:
    """Whether storing the message masked something: its stored text differs from the parsed text."""
    if message is None:
        return False
    return message.body_text != (parsed.text or "(no text)") or message.body_html != parsed.html


def masked_raw(raw: bytes) -> bytes | None:
    """``raw`` with its Subject and every text part passed through ``redact_text`` (where
    ``raw``); None when nothing in it is masked. Attachments other than text are kept as they are.
    (The classic ``compat32`` parser: parts it leaves alone are written back byte for byte, and it
    is several times faster than the modern one, which matters for ingest.)"""
    parsed = email.message_from_bytes(raw)
    changed = False
    subject = parsed.get("Subject")
    if subject is not None:
        try:
            words = str(make_header(decode_header(str(subject))))
        except (LookupError, ValueError, UnicodeError):
            words = str(subject)
        masked = stored_text(words, "raw")
        if masked != words:
            del parsed["Subject"]
            parsed["Subject"] = Header(masked, "utf-8")
            changed = True
    for part in parsed.walk():
        if part.is_multipart() or part.get_content_maintype() != "text":
            continue
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes):
            continue
        try:
            text = payload.decode(part.get_content_charset() or "utf-8", errors="replace")
        except LookupError:
            text = payload.decode("utf-8", errors="replace")
        masked = stored_text(text, "raw")
        if masked != text:
            del part["Content-Transfer-Encoding"]
            part.set_payload(masked, _READABLE)
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
