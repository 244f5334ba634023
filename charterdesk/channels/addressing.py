"""Per-ticket reply addresses and our own Message-IDs, both signed so that nobody can guess their way
onto another customer's ticket.

A reply address is the channel address with a plus tag: ``support+t123.1a2b3c4d@acme.example``.
A Message-ID we send looks like ``<cd.t123.m456.1a2b3c4d@acme.example>``. The eight hex digits are an
HMAC (keyed with SECRET_KEY) of the ticket number and the tag.
"""

from __future__ import annotations

import re

from django.conf import settings
from django.utils.crypto import constant_time_compare, salted_hmac


def _sign(value: str) -> str:
    return salted_hmac("charterdesk.channels.thread", value, secret=settings.SECRET_KEY).hexdigest()[:8]


def reply_address(channel_address: str, ticket_id: int) -> str:
    local, _, domain = channel_address.partition("@")
    local = local.split("+", 1)[0]
    return f"{local}+t{ticket_id}.{_sign(f't{ticket_id}')}@{domain}"


_PLUS = re.compile(r"^([^@+]+)\+t(\d{1,12})\.([0-9a-f]{8})@(.+)$")


def ticket_from_address(address: str) -> int | None:
    """The ticket number of a signed reply address, or None."""
    match = _PLUS.match(address.strip().lower())
    if not match:
        return None
    ticket_id, signature = match.group(2), match.group(3)
    return int(ticket_id) if constant_time_compare(signature, _sign(f"t{ticket_id}")) else None


def base_address(address: str) -> str:
    """``support+anything@acme.example`` -> ``support@acme.example``."""
    local, _, domain = address.strip().lower().partition("@")
    return f"{local.split('+', 1)[0]}@{domain}"


def our_message_id(ticket_id: int, tag: str, domain: str) -> str:
    return f"<cd.t{ticket_id}.{tag}.{_sign(f't{ticket_id}.{tag}')}@{domain}>"


_OURS = re.compile(r"^<cd\.t(\d{1,12})\.([a-z0-9]{1,40})\.([0-9a-f]{8})@[^>]+>$")


def ticket_from_message_id(message_id: str) -> int | None:
    """The ticket number of one of our own Message-IDs (signature checked), or None."""
    match = _OURS.match(message_id.strip().lower())
    if not match:
        return None
    ticket_id, tag, signature = match.groups()
    return int(ticket_id) if constant_time_compare(signature, _sign(f"t{ticket_id}.{tag}")) else None
