"""The IMAP poller against a real dovecot on loopback: side by side, TLS-free on loopback, seen only
after storing, one failing mailbox never stopping the others."""

from __future__ import annotations

import multiprocessing
import os
import socket
import threading

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from charterdesk.channels import imap
from charterdesk.channels.actions import do_save_mailbox
from charterdesk.channels.imap import poll_all_mailboxes
from charterdesk.channels.models import InboundMessage, Mailbox
from charterdesk.channels.secrets import decrypt
from charterdesk.tickets.models import Ticket

from . import email_corpus
from .email_corpus import plain, refuse_storing, require_tool
from .email_dovecot import Dovecot

live_email_env = email_corpus.live_email_env  # the shared fixture

USERS = {f"box{n}": f"secret-{n}" for n in range(1, 13)}


@pytest.fixture(scope="module")
def dovecot():
    require_tool("dovecot")
    with Dovecot(USERS) as server:
        yield server


def _mailbox(server: Dovecot, user: str, manager, **extra) -> Mailbox:
    fields = {
        "name": f"Mailbox {user}",
        "channel": "email",
        "host": "127.0.0.1",
        "port": server.port,
        "security": "none",
        "username": user,
        "folder": "INBOX",
    }
    fields.update(extra)
    password = fields.pop("password", USERS.get(user, "wrong"))
    return do_save_mailbox(None, actor=manager, password=password, **fields)


def _mails(prefix: str, n: int) -> list[bytes]:
    return [plain(f"{prefix}-{i}", f"Message {i} from {prefix}")[0] for i in range(n)]


def test_unseen_mail_becomes_tickets_and_is_flagged_seen_only_after_storing(live_email_env, dovecot):
    """Each unseen message is stored, then flagged \\Seen, then turned into a ticket."""
    dovecot.append("box1", _mails("imap-a", 5))
    box = _mailbox(dovecot, "box1", live_email_env["manager"])
    assert "secret-1" not in box.password_encrypted and decrypt(box.password_encrypted) == "secret-1"
    [result] = poll_all_mailboxes()
    assert (result.new, result.error) == (5, "")
    assert all(b"\\Seen" in flags for flags in dovecot.flags("box1").values())
    assert Ticket.objects.count() == 5
    assert set(InboundMessage.objects.values_list("source", "mailbox_id").distinct()) == {("imap", box.pk)}
    box.refresh_from_db()
    assert box.last_count == 5 and box.last_polled_at is not None
    # Polling again finds nothing new.
    [again] = poll_all_mailboxes()
    assert again.new == 0 and Ticket.objects.count() == 5


def test_a_message_that_cannot_be_stored_stays_unseen_and_comes_back(live_email_env, dovecot, monkeypatch):
    """If storing fails, the message is not flagged seen; the next poll takes it."""
    dovecot.append("box2", _mails("imap-b", 3))
    _mailbox(dovecot, "box2", live_email_env["manager"])
    refuse_storing(monkeypatch, b"imap-b-1", RuntimeError("disk full"))
    [result] = poll_all_mailboxes()
    assert result.new == 2 and "disk full" in result.error
    flags = dovecot.flags("box2")
    assert sorted(b"\\Seen" in f for f in flags.values()) == [False, True, True]
    monkeypatch.undo()
    [result] = poll_all_mailboxes()
    assert result.new == 1 and result.error == ""
    assert all(b"\\Seen" in f for f in dovecot.flags("box2").values())
    assert Ticket.objects.count() == 3


def test_mailboxes_are_polled_side_by_side_and_a_broken_one_stops_nobody(live_email_env, dovecot):
    """Three mailboxes are connected at the same moment (a barrier all three must reach together would
    never open if they were polled one after another); a mailbox with a wrong password reports its
    error; the same message in two mailboxes makes one ticket."""
    shared = plain("imap-shared", "Sent to two addresses")[0]
    for user in ("box3", "box4", "box5"):
        dovecot.append(user, [*_mails(f"imap-{user}", 2), shared])
    manager = live_email_env["manager"]
    boxes = [_mailbox(dovecot, u, manager) for u in ("box3", "box4", "box5")]
    broken = _mailbox(dovecot, "box6", manager, password="not-the-password", name="Broken")
    # Shared by the poll processes (forked after they are made) as by their threads.
    context = multiprocessing.get_context("fork")
    # The time limit only ends a poll that would otherwise wait forever: far beyond what three
    # logins to a local server take on the busiest machine.
    barrier = context.Barrier(3, timeout=600)
    pollers = context.SimpleQueue()

    def together(mailbox):
        pollers.put(os.getpid())
        barrier.wait()  # raises BrokenBarrierError (an error on the result) unless all three are connected

    results = {r.name: r for r in poll_all_mailboxes(mailboxes=boxes, on_connected=together)}
    if connection.vendor == "postgresql" and (os.cpu_count() or 1) > 1:
        # Shared among poll processes (one a core), so that their Python work runs on every core.
        assert len({pollers.get() for _ in boxes}) == 2
    assert all(r.error == "" for r in results.values()), results
    assert sum(r.new for r in results.values()) == 7  # 6 own + the shared one once
    assert sum(r.duplicates for r in results.values()) == 2
    assert Ticket.objects.count() == 7, list(InboundMessage.objects.values_list("state", "reason"))
    [failed] = poll_all_mailboxes(mailboxes=[broken])
    assert "AUTHENTICATIONFAILED" in failed.error or "Authentication failed" in failed.error
    broken.refresh_from_db()
    assert broken.last_error == failed.error


def test_the_poll_threads_store_and_flag_and_the_tickets_are_made_after(live_email_env, dovecot, monkeypatch):
    """The way `charterdesk worker` polls, with the tickets made in its own process (as always on
    SQLite): every message of both mailboxes is stored and flagged seen before the first ticket is
    made, and the tickets are made outside the poll threads (whose making them would keep the other
    pollers waiting)."""
    monkeypatch.setenv("CHARTERDESK_INGEST_WORKERS", "1")
    manager = live_email_env["manager"]
    for user in ("box8", "box9"):
        dovecot.append(user, _mails(f"imap-{user}", 3))
    boxes = [_mailbox(dovecot, user, manager) for user in ("box8", "box9")]
    real = imap.process_all
    ticketing: list[tuple[str, bool]] = []

    def watched(ids):
        flags = [*dovecot.flags("box8").values(), *dovecot.flags("box9").values()]
        ticketing.append((threading.current_thread().name, all(b"\\Seen" in f for f in flags)))
        return real(ids)

    monkeypatch.setattr(imap, "process_all", watched)
    results = poll_all_mailboxes(mailboxes=boxes)
    assert sum(r.new for r in results) == 6 and Ticket.objects.count() == 6
    assert ticketing == [(threading.current_thread().name, True)]


def test_a_mailbox_leased_by_another_worker_is_skipped(live_email_env, dovecot):
    """Two workers never poll the same mailbox at once."""
    dovecot.append("box7", _mails("imap-c", 1))
    box = _mailbox(dovecot, "box7", live_email_env["manager"])
    Mailbox.objects.filter(pk=box.pk).update(
        lease_owner="other-host:1", lease_until=timezone.now() + timezone.timedelta(minutes=5)
    )
    [result] = poll_all_mailboxes()
    assert result.skipped and result.new == 0
    assert Ticket.objects.count() == 0


def test_a_poll_process_that_dies_costs_only_its_own_mailboxes(live_email_env, dovecot):
    """On PostgreSQL the mailboxes are shared among poll processes. One of them dying in the middle
    of its poll is reported on its mailbox, whose lease is given up; the other mailbox is polled as
    usual, and the dead one's mail, never flagged seen, is fetched by the next poll."""
    if connection.vendor != "postgresql":
        pytest.skip("on SQLite the mailboxes are polled in one process")
    manager = live_email_env["manager"]
    dovecot.append("box11", _mails("imap-lives", 2))
    dovecot.append("box12", _mails("imap-dies", 2))
    boxes = [_mailbox(dovecot, "box11", manager), _mailbox(dovecot, "box12", manager)]
    parent = os.getpid()

    def die_in_a_child(mailbox):
        if os.getpid() != parent:
            os._exit(3)

    results = poll_all_mailboxes(mailboxes=boxes, on_connected=die_in_a_child)
    assert [r.name for r in results] == ["Mailbox box11", "Mailbox box12"]
    assert (results[0].new, results[0].error) == (2, "")
    assert (results[1].new, results[1].error) == (0, "the polling process ended without an answer")
    assert not any(b"\\Seen" in f for f in dovecot.flags("box12").values())
    assert Ticket.objects.count() == 2

    died = Mailbox.objects.get(pk=boxes[1].pk)
    assert (died.lease_owner, died.last_error) == ("", "the polling process ended without an answer")
    results = poll_all_mailboxes(mailboxes=boxes)
    assert [(r.new, r.error) for r in results] == [(0, ""), (2, "")]
    assert Ticket.objects.count() == 4


def test_a_mailbox_that_cannot_be_reached_says_why_and_the_poll_command_fails(live_email_env, dovecot):
    """A server that refuses the connection is named in words on the mailbox, and `email poll --once`
    exits non-zero naming the mailbox, so that cron or a monitor notices."""
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    box = _mailbox(dovecot, "box1", live_email_env["manager"], port=closed, name="Unreachable")
    with pytest.raises(CommandError, match="1 mailbox\\(es\\) could not be polled: Unreachable"):
        call_command("email", "poll", "--once")
    box.refresh_from_db()
    assert box.last_error == f"127.0.0.1:{closed}: Connection refused"
    # A host name the resolver cannot even encode (stored before the form checked it) is an error on
    # the mailbox too, not a poll that looks fine.
    Mailbox.objects.filter(pk=box.pk).update(host="imap..acme.example")
    with pytest.raises(CommandError, match="could not be polled: Unreachable"):
        call_command("email", "poll", "--once")
    box.refresh_from_db()
    assert box.last_error == f"imap..acme.example:{closed}: the host name is not valid"
