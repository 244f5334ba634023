"""The built-in SMTP listener (aiosmtpd) for the channel addresses.

A message is acknowledged (``250``) only after its raw bytes are committed to the database; if that
fails the client is told to try again later (``451``) and keeps the message. Recipients must be a
channel address of the protocol in force (or its plus-address form); others get ``550``. The message
size limit is announced with SIZE and enforced (``552``), the number of recipients is capped
(``452``), and STARTTLS is offered when a certificate and key are configured at start.
Processing (parse, route, thread) runs after the acknowledgement on a worker thread; a crash there
leaves the message pending for ``charterdesk email process`` or the next start.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from aiosmtpd.controller import Controller
from django.db import close_old_connections, connections

from . import conf
from .addressing import base_address

log = logging.getLogger("charterdesk.channels.smtpd")


def channel_addresses() -> dict[str, str]:
    """Address -> channel id for every customer channel of the protocol in force that has an address."""
    from charterdesk.library.versions import protocol_of, version_in_force

    version = version_in_force()
    protocol = protocol_of(version) if version else None
    if protocol is None:
        return {}
    return {c.address.lower(): c.id for c in protocol.channels.customer if c.address}


class DeskHandler:
    """aiosmtpd handler: RCPT and DATA hooks. Database work runs in threads, never on the event loop."""

    def __init__(self, *, max_recipients: int | None = None, process: bool = True):
        self.max_recipients = max_recipients or conf.smtp_max_recipients()
        self.process = process
        self.store_pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="smtp-store")
        # One processing thread: messages are acted on in the order they arrived.
        self.process_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="smtp-process")
        self._addresses: dict[str, str] = {}
        self._addresses_at = 0.0
        self._lock = threading.Lock()
        self.stored = 0

    # ---- helpers running in threads
    def _lookup_addresses(self) -> dict[str, str]:
        with self._lock:
            if time.monotonic() - self._addresses_at > 30 or not self._addresses:
                close_old_connections()
                try:
                    self._addresses = channel_addresses()
                finally:
                    # A thread's own connections: close them, or PostgreSQL keeps one open per thread.
                    connections.close_all()
                self._addresses_at = time.monotonic()
            return self._addresses

    def _store(self, raw: bytes, envelope_from: str, rcpt_tos: list[str], peer: str, helo: str = ""):
        from .inbound import receive

        close_old_connections()
        try:
            addresses = self._lookup_addresses()
            channel = next((addresses[base_address(r)] for r in rcpt_tos if base_address(r) in addresses), "")
            inbound, created = receive(
                raw,
                source="smtp",
                source_ref=peer,
                envelope_from=envelope_from,
                envelope_to=rcpt_tos,
                channel=channel,
                helo=helo,
                process_now=False,
            )
            return inbound.pk, created
        finally:
            # A thread's own connections: close them, or PostgreSQL keeps one open per thread.
            connections.close_all()

    def _process(self, pk: int) -> None:
        from .inbound import process
        from .models import InboundMessage

        close_old_connections()
        try:
            process(InboundMessage(pk=pk))
        except Exception:  # pragma: no cover - process() quarantines; this is a last resort
            log.exception("processing inbound message %s failed", pk)
        finally:
            # A thread's own connections: close them, or PostgreSQL keeps one open per thread.
            connections.close_all()

    def process_pending(self):
        def run():
            from .inbound import process_pending

            close_old_connections()
            try:
                process_pending()
            finally:
                # A thread's own connections: close them, or PostgreSQL keeps one open per thread.
                connections.close_all()

        return self.process_pool.submit(run)

    def drain(self, timeout: float = 30) -> None:
        """Wait until every accepted message has been processed (for tests and shutdown)."""
        self.process_pool.submit(lambda: None).result(timeout=timeout)

    def shutdown(self) -> None:
        self.store_pool.shutdown(wait=True)
        self.process_pool.shutdown(wait=True)

    # ---- SMTP hooks
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if len(envelope.rcpt_tos) >= self.max_recipients:
            return f"452 4.5.3 Too many recipients (at most {self.max_recipients})"
        loop = asyncio.get_running_loop()
        try:
            addresses = await loop.run_in_executor(self.store_pool, self._lookup_addresses)
        except Exception:
            log.exception("could not read the channel addresses")
            return "451 4.3.0 Temporary failure; try again later"
        if not addresses:
            return "451 4.3.0 This desk has no protocol in force yet; try again later"
        if base_address(address) not in addresses:
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        raw = envelope.original_content or envelope.content
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        peer = session.peer[0] if isinstance(session.peer, tuple) else str(session.peer)
        loop = asyncio.get_running_loop()
        try:
            pk, created = await loop.run_in_executor(
                self.store_pool,
                self._store,
                raw,
                envelope.mail_from or "",
                list(envelope.rcpt_tos),
                peer,
                # Kept for the sender check (SPF of a bounce, whose MAIL FROM is empty, is the HELO name's).
                session.host_name or "",
            )
        except Exception:
            log.exception("could not store a message from %s", peer)
            return "451 4.3.0 The message could not be stored; try again later"
        self.stored += 1
        if created and self.process:
            self.process_pool.submit(self._process, pk)
        return f"250 2.0.0 Stored as {pk}" if created else f"250 2.0.0 Already have it ({pk})"


def tls_context(files: tuple[str, str] | None = None) -> ssl.SSLContext | None:
    files = files or conf.smtp_tls_files()
    if not files:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*files)
    return context


def make_controller(
    host: str,
    port: int,
    *,
    handler: DeskHandler | None = None,
    tls_files: tuple[str, str] | None = None,
    require_tls: bool | None = None,
    max_size: int | None = None,
) -> tuple[Controller, DeskHandler]:
    """A started-on-demand listener: ``controller.start()`` / ``controller.stop()``."""
    handler = handler or DeskHandler()
    context = tls_context(tls_files)
    parameters = {
        "data_size_limit": max_size or conf.smtp_max_size(),
        "ident": "Charterdesk ESMTP",
        "enable_SMTPUTF8": True,
    }
    if context is not None:
        parameters["tls_context"] = context
        parameters["require_starttls"] = conf.smtp_require_tls() if require_tls is None else require_tls
    controller = Controller(handler, hostname=host, port=port, server_hostname=host, **parameters)
    return controller, handler


def serve_forever(host: str, port: int, *, stdout=None) -> None:
    controller, handler = make_controller(host, port)
    handler.process_pending()
    controller.start()
    tls = "with STARTTLS" if conf.smtp_tls_files() else "without TLS"
    if stdout is not None:
        stdout.write(f"Listening for mail on {host}:{port} {tls}; Ctrl-C stops.\n")
        stdout.flush()
    stop = threading.Event()
    try:
        import signal

        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        while not stop.wait(1):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        controller.stop()
        handler.shutdown()
