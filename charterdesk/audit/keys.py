"""The keys that sign the audit chain.

Each entry's ``hash`` is an HMAC-SHA256 of its content (and of the entry before it) under a key
that never lives in the database: it is derived from ``CHARTERDESK_AUDIT_KEY`` in the
environment (or, when that is not set, from ``SECRET_KEY``). Whoever can write to the database but
does not have the key cannot rewrite the log and re-sign it: ``audit verify`` finds the first
entry whose signature does not hold.

Every entry names its key by ``key_id`` (the first 16 hex digits of the key's own SHA-256), so
old keys can be kept for verifying: ``CHARTERDESK_AUDIT_OLD_KEYS`` (comma-separated). Rotation
(``charterdesk audit rotate``) writes one entry signed by the new key that also carries its
signature under the old one, so the hand-over itself cannot be forged with either key alone.
"""

from __future__ import annotations

import hashlib
import hmac
import os

from django.conf import settings


def _derive(secret: str) -> bytes:
    # A key of its own, never the secret itself: the same secret may sign sessions elsewhere.
    return hmac.new(b"charterdesk audit chain v1", secret.encode(), hashlib.sha256).digest()


def key_id(key: bytes) -> str:
    return hashlib.sha256(key).hexdigest()[:16]


def _secret() -> str:
    return (
        getattr(settings, "CHARTERDESK_AUDIT_KEY", None)
        or os.environ.get("CHARTERDESK_AUDIT_KEY", "")
        or settings.SECRET_KEY
    )


def current_key() -> tuple[str, bytes]:
    key = _derive(_secret())
    return key_id(key), key


def known_keys() -> dict[str, bytes]:
    """Every key the desk can verify with: the current one and the old ones."""
    old = getattr(settings, "CHARTERDESK_AUDIT_OLD_KEYS", None)
    if old is None:
        old = os.environ.get("CHARTERDESK_AUDIT_OLD_KEYS", "")
    secrets = [s.strip() for s in (old.split(",") if isinstance(old, str) else old) if s.strip()]
    keys = {key_id(k): k for k in (_derive(s) for s in secrets)}
    kid, key = current_key()
    keys[kid] = key
    return keys


def sign(key: bytes, payload: bytes) -> str:
    return hmac.new(key, payload, hashlib.sha256).hexdigest()


def head_mac(key: bytes, count: int, last_hash: str) -> str:
    """The head row's own signature, so that cutting off the newest entries and rewriting the head
    needs the key too."""
    return sign(key, f"head:{count}:{last_hash}".encode())
