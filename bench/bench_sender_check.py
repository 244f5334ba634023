"""Benchmark the sender check (channels/sender_auth.py, senders.py) in ingest, beside ingest without it.

    python bench/bench_sender_check.py                      # 3 rounds of 300 messages per variant
    python bench/bench_sender_check.py --messages 100 --repeat 1   # a quick look

One process, a fresh SQLite database in a temporary folder with the demo loaded, and as many
customers as messages, each with an earlier ticket (so every message needs the check: a first
contact is never checked). Mail arrives as the SMTP listener stores it (``source="smtp"``) and is
processed with ``process_all``, the ingest workers' path. Three variants, alternating, ``--repeat``
rounds each after one warm-up round:

- **no check (baseline)**: ``senders.check_ahead`` and ``senders.email_reason`` switched off;
- **signed**: every message DKIM-signed (RSA 2048) by its sender's domain: the check reads the
  headers ahead, verifies the signature, finds it aligned, and the message is not marked;
- **unsigned**: no signature: checked, marked "unverified sender", and a confirmation request
  queued (a task row) in place of the receipt.

DNS answers come from a dictionary in this process (the key of each signing domain), so the
figures are the desk's own work, not a DNS server's; a real lookup adds its round trip per message
from a domain not yet in the resolver's cache (at most ``CHARTERDESK_SENDER_DNS_TIMEOUT`` seconds),
outside the processing transaction. Times are this process's CPU time; medians of messages per CPU
second and the ratio to the baseline. No figure is asserted.
"""

from __future__ import annotations

import argparse
import base64
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

CLOCK = time.process_time
SELECTOR = b"bench"


def make_key():
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    public = private.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return pem, b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)


def message(n: int, prefix: str) -> bytes:
    body = f"Hello,\n\nMy order {n} has not arrived. Could you look?\n\nThanks,\nCustomer {n}\n"
    return (
        f"From: Customer {n} <c{n}@d{n}.example>\r\nTo: support@acme.example\r\n"
        f"Subject: Order {n} ({prefix})\r\nMessage-ID: <{prefix}-{n}@d{n}.example>\r\n"
        f"Date: Mon, 07 Dec 2026 10:00:00 -0500\r\nMIME-Version: 1.0\r\n"
        f"Content-Type: text/plain; charset=utf-8\r\n\r\n{body}"
    ).encode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=300, help="messages per round")
    parser.add_argument("--repeat", type=int, default=3, help="rounds per variant")
    args = parser.parse_args()

    scratch = tempfile.mkdtemp(prefix="charterdesk-bench-sender-")
    os.environ["CHARTERDESK_DATA_DIR"] = scratch
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "charterdesk.desk.settings")
    os.environ.pop("DATABASE_URL", None)
    import django

    django.setup()
    import dkim
    from django.conf import settings
    from django.core.management import call_command

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    call_command("migrate", verbosity=0)
    from charterdesk.channels import senders
    from charterdesk.channels.inbound import process_all, store_many
    from charterdesk.channels.sender_auth import authenticate
    from charterdesk.demo.loader import load_demo
    from charterdesk.tickets.actions import do_create_ticket, do_find_or_create_customer
    from charterdesk.tickets.models import Message

    load_demo()
    for n in range(args.messages):
        customer = do_find_or_create_customer(email=f"c{n}@d{n}.example", name=f"Customer {n}")
        do_create_ticket(customer=customer, subject="Earlier", body="An earlier question.", channel="email")
    key = make_key()
    records = {SELECTOR + f"._domainkey.d{n}.example.".encode(): key[1] for n in range(args.messages)}
    senders.DNS_TXT = lambda name, timeout=5: records.get(name)
    senders.SPF_CHECK = lambda ip, mail_from, helo, timeout: ("none", "")

    def signed(raw: bytes, n: int) -> bytes:
        domain = f"d{n}.example".encode()
        return dkim.sign(raw, SELECTOR, domain, key[0], include_headers=[b"from", b"to", b"subject"]) + raw

    real_ahead, real_reason = senders.check_ahead, senders.email_reason
    print(f"load average at start: {os.getloadavg()[0]:.2f}")
    sample = signed(message(0, "sample"), 0)
    start, count = CLOCK(), 200
    for _ in range(count):
        assert authenticate(sample, "c0@d0.example", dns_txt=senders.DNS_TXT).verified
    print(f"authenticate() of one signed message alone: {(CLOCK() - start) / count * 1000:.2f} ms CPU")

    variants = ("no check (baseline)", "signed", "unsigned")
    rates: dict[str, list[float]] = {v: [] for v in variants}
    print(f"\nIngest of {args.messages} messages per round, {args.repeat} rounds each, alternating")
    for round_ in range(-1, args.repeat):
        order = variants if round_ % 2 == 0 else variants[::-1]
        for variant in order:
            if variant.startswith("no check"):
                senders.check_ahead = lambda pks: None
                senders.email_reason = lambda inbound, address, *, trusted_thread: ""
            else:
                senders.check_ahead, senders.email_reason = real_ahead, real_reason
            prefix = f"r{round_ + 1}-{variant.split()[0]}"
            raws = [message(n, prefix) for n in range(args.messages)]
            if variant == "signed":
                raws = [signed(raw, n) for n, raw in enumerate(raws)]
            items = [(raw, "192.0.2.1") for raw in raws]
            start = CLOCK()
            stored = store_many(items, source="smtp")
            process_all([row.pk for row, _created, _why in stored if row is not None])
            took = CLOCK() - start
            ours = Message.objects.filter(ticket__subject__endswith=f"({prefix})")
            marked = ours.exclude(unverified_sender="")
            expected = args.messages if variant == "unsigned" else 0
            assert marked.count() == expected, (variant, marked.count())
            if round_ >= 0:
                rates[variant].append(args.messages / took)
    senders.check_ahead, senders.email_reason = real_ahead, real_reason
    base = statistics.median(rates[variants[0]])
    print(f"{'':<22} {'median msg/s':>13} {'time vs baseline':>17}   rounds (per CPU second)")
    for variant, values in rates.items():
        median = statistics.median(values)
        print(
            f"{variant:<22} {median:>13.1f} {(base / median - 1) * 100:>+16.1f}%   "
            + ", ".join(f"{v:.0f}" for v in values)
        )
    print(f"load average at end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
