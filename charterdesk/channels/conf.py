"""The channels' settings, read as every tunable is (``core.settings``: a Django setting, else the
environment, read at call time), with defaults that suit one machine.

| name | default | what |
| --- | --- | --- |
| CHARTERDESK_SMTP_MAX_SIZE | 26214400 (25 MB) | largest message the SMTP listener accepts |
| CHARTERDESK_SMTP_MAX_RECIPIENTS | 50 | recipients per SMTP transaction |
| CHARTERDESK_SMTP_TLS_CERT / _KEY | (none) | PEM files; when both are set the listener offers STARTTLS |
| CHARTERDESK_SMTP_REQUIRE_TLS | 0 | refuse mail before STARTTLS |
| CHARTERDESK_MAX_ATTACHMENT_BYTES | 15728640 (15 MB) | larger files are not kept (any channel) |
| CHARTERDESK_AUTOMAIL_PER_HOUR | 5 | automatic mails (receipts, surveys, ...) to one address an hour |
| CHARTERDESK_IMAP_TIMEOUT | 60 | seconds before an IMAP server is given up on |
| CHARTERDESK_IMAP_BATCH | 500 | messages fetched from one mailbox per poll |
| CHARTERDESK_INGEST_WORKERS | auto | processes ticketing stored mail (SQLite 1; else cores, at most 4) |
| CHARTERDESK_POLL_PROCESSES | auto | processes polling the IMAP mailboxes (SQLite 1; else cores, at most 4) |
| CHARTERDESK_SENDER_DNS_TIMEOUT | 5 | seconds per DNS lookup of the sender check (DKIM keys, SPF) |
| CHARTERDESK_SMTP_TRUSTED_AUTHSERV_ID | (none) | the listener's relay, whose Authentication-Results count |
"""

from __future__ import annotations

import os

from charterdesk.core.settings import bool_setting
from charterdesk.core.settings import int_setting as _int
from charterdesk.core.settings import setting as _get


def smtp_max_size() -> int:
    return _int("CHARTERDESK_SMTP_MAX_SIZE", 25 * 1024 * 1024)


def smtp_max_recipients() -> int:
    return _int("CHARTERDESK_SMTP_MAX_RECIPIENTS", 50)


def smtp_tls_files() -> tuple[str, str] | None:
    cert, key = _get("CHARTERDESK_SMTP_TLS_CERT", ""), _get("CHARTERDESK_SMTP_TLS_KEY", "")
    return (cert, key) if cert and key else None


def smtp_require_tls() -> bool:
    return bool_setting("CHARTERDESK_SMTP_REQUIRE_TLS", False)


def attachment_max_size() -> int:
    # One limit for files from every channel and the composer: CHARTERDESK_MAX_ATTACHMENT_BYTES.
    from charterdesk.tickets.attachments import max_attachment_bytes

    return max_attachment_bytes()


def automail_per_hour() -> int:
    return _int("CHARTERDESK_AUTOMAIL_PER_HOUR", 5)


def imap_timeout() -> int:
    return _int("CHARTERDESK_IMAP_TIMEOUT", 60)


def imap_batch() -> int:
    return _int("CHARTERDESK_IMAP_BATCH", 500)


def ingest_workers() -> int:
    """Processes that turn stored mail into tickets during `email import` and `email poll`.

    ``auto`` (the default): one on SQLite, whose single writer gains nothing from more; on
    PostgreSQL one per CPU core, at most four."""
    from django.db import connection

    value = _get("CHARTERDESK_INGEST_WORKERS", "auto").strip().lower()
    if value.isdigit() and int(value) > 0:
        return 1 if connection.vendor == "sqlite" else min(int(value), 16)
    return 1 if connection.vendor == "sqlite" else max(1, min(os.cpu_count() or 1, 4))


def poll_processes() -> int:
    """Processes that poll the IMAP mailboxes side by side, each its share of them in threads.

    ``auto`` (the default): one on SQLite, whose single writer gains nothing from more (ten equal
    mailboxes through a 30 ms link: 1.14x as long as the largest alone in one process, 1.30x in two);
    on PostgreSQL one per CPU core, at most four. Fetching and storing mail is Python work (reading
    the server's answers, hashing, building the rows): in one process its threads take turns on one
    core, and ten busy mailboxes took 1.8x as long as the largest alone, 1.3x to 1.5x in two."""
    from django.db import connection

    value = _get("CHARTERDESK_POLL_PROCESSES", "auto").strip().lower()
    if value.isdigit() and int(value) > 0:
        return min(int(value), 16)
    return 1 if connection.vendor == "sqlite" else max(1, min(os.cpu_count() or 1, 4))


def sender_dns_timeout() -> float:
    """Seconds a DNS lookup of the sender check may take; then the sender counts as unverified."""
    from charterdesk.core.settings import float_setting

    return max(0.5, float_setting("CHARTERDESK_SENDER_DNS_TIMEOUT", 5.0))


def smtp_trusted_authserv_id() -> str:
    """When the SMTP listener gets its mail through another mail server (a relay on the same host),
    that server's authserv-id: its Authentication-Results are believed instead of SPF against the
    relay's address, which would always fail."""
    return _get("CHARTERDESK_SMTP_TRUSTED_AUTHSERV_ID", "").strip()
