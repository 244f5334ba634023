"""The audit log is append-only and hash-chained; `audit verify` finds the first broken link."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction

from charterdesk.audit.actions import record, verify_chain
from charterdesk.audit.models import AuditEntry, AuditLogIsAppendOnly


def _append(n: int) -> list[AuditEntry]:
    entries = []
    for i in range(n):
        with transaction.atomic():
            entries.append(record("test.event", f"event {i}", data={"i": i}))
    return entries


def test_each_entry_links_to_the_one_before(db):
    """Every entry carries the hash of the entry before it; the first one links to nothing."""
    first, second, third = _append(3)
    assert first.prev_hash == ""
    assert second.prev_hash == first.hash
    assert third.prev_hash == second.hash
    assert verify_chain().ok and verify_chain().checked == 3


def test_recording_outside_a_transaction_is_refused(transactional_db):
    """An audit entry must be written in the same transaction as the change it records."""
    with pytest.raises(RuntimeError, match="inside the transaction"):
        record("test.event", "outside")


def test_entries_cannot_be_changed_or_deleted_through_the_models(db):
    """An audit entry can be neither rewritten nor deleted: both raise AuditLogIsAppendOnly."""
    (entry,) = _append(1)
    entry.summary = "rewritten"
    with pytest.raises(AuditLogIsAppendOnly):
        entry.save()
    with pytest.raises(AuditLogIsAppendOnly):
        entry.delete()


def test_verify_reports_the_first_changed_entry(db):
    """Rewriting an entry behind the desk's back is found, at that entry."""
    entries = _append(5)
    with connection.cursor() as cursor:
        cursor.execute("UPDATE audit_auditentry SET summary = %s WHERE id = %s", ["forged", entries[2].pk])
    report = verify_chain()
    assert not report.ok
    assert report.broken_at == entries[2].pk
    assert report.checked == 2
    assert "changed" in report.reason


def test_verify_reports_a_removed_entry(db):
    """Deleting an entry breaks the link of the entry after it."""
    entries = _append(4)
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditentry WHERE id = %s", [entries[1].pk])
    report = verify_chain()
    assert report.broken_at == entries[2].pk
    assert "removed" in report.reason


def test_verify_reports_a_cut_off_tail(db):
    """Deleting the newest entries is found too: the head remembers how many were written."""
    entries = _append(3)
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditentry WHERE id = %s", [entries[-1].pk])
    report = verify_chain()
    assert not report.ok
    assert "3 were written" in report.reason


def test_audit_verify_command(db, capsys):
    """`charterdesk audit verify` says the log is intact, or fails naming the broken entry."""
    entries = _append(2)
    call_command("audit", "verify")
    assert "2 entries, every link verified" in capsys.readouterr().out
    with connection.cursor() as cursor:
        cursor.execute("UPDATE audit_auditentry SET action = %s WHERE id = %s", ["x", entries[0].pk])
    with pytest.raises(CommandError, match=f"broken at entry #{entries[0].pk}"):
        call_command("audit", "verify")


def test_a_failed_change_leaves_no_audit_entry(db):
    """The entry is rolled back with the change it describes."""
    with pytest.raises(ZeroDivisionError), transaction.atomic():
        record("test.event", "doomed")
        1 / 0  # noqa: B018
    assert AuditEntry.objects.count() == 0
    assert verify_chain().ok


def test_the_log_page_filters_by_action_and_says_when_nothing_matches(signed_in, demo):
    """The audit page filtered by 'protocol.' lists protocol.publish; filtered by 'bogus' it says no entry's
    action starts with bogus."""
    client = signed_in("manager")
    page = client.get("/audit/?action=protocol.").content.decode()
    assert "protocol.publish" in page and "No entry's action starts with" not in page
    empty = client.get("/audit/?action=bogus").content.decode()
    assert "No entry's action starts with <code>bogus</code>" in empty
