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
    assert "2 entries, every signature verified" in capsys.readouterr().out
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


def _plain_resign_after(deleted_pk: int) -> None:
    """What someone with write access to the database (but not the key) can do: delete an entry,
    then recompute every later entry's link and hash, and the head row, as the old chain did
    (SHA-256 of the content), trying the database's own secret-free material as the key."""
    import hashlib

    from charterdesk.audit.models import AuditHead

    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditentry WHERE id = %s", [deleted_pk])
    previous = ""
    rows = list(AuditEntry.objects.order_by("id"))
    for entry in rows:
        entry.prev_hash = previous
        forged = hashlib.sha256(entry.payload()).hexdigest()
        AuditEntry.objects.filter(pk=entry.pk).update(prev_hash=previous, hash=forged)
        previous = forged
    head = AuditHead.objects.get(pk=1)
    AuditHead.objects.filter(pk=1).update(
        last_hash=previous,
        count=len(rows),
        mac=hashlib.sha256(f"head:{len(rows)}:{previous}".encode()).hexdigest(),
        key_id=head.key_id,
    )


def test_deleting_an_entry_and_rewriting_the_rest_is_caught(db):
    """The attack the plain hash chain let through: delete entry 3 of 6, recompute the later
    links and the head. Without the key the re-signed entries do not verify: `audit verify`
    names the first of them."""
    entries = _append(6)
    _plain_resign_after(entries[2].pk)
    report = verify_chain()
    assert not report.ok
    assert report.broken_at == entries[0].pk
    assert "signature" in report.reason
    with pytest.raises(CommandError, match=f"broken at entry #{entries[0].pk}"):
        call_command("audit", "verify")


def test_a_rewritten_head_is_caught(db):
    """Cutting off the newest entry and fixing the head's count and hash needs the key too."""
    from charterdesk.audit.models import AuditHead

    entries = _append(3)
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditentry WHERE id = %s", [entries[-1].pk])
    AuditHead.objects.filter(pk=1).update(count=2, last_hash=entries[1].hash)
    report = verify_chain()
    assert not report.ok and "head" in report.reason


def test_rotating_the_key_is_a_hand_over_signed_by_both(db, settings):
    """With the old key kept in CHARTERDESK_AUDIT_OLD_KEYS, `audit rotate` writes one entry signed
    by both keys and the whole log verifies; without the old key the earlier entries cannot be
    verified and the report says which key is missing."""
    settings.CHARTERDESK_AUDIT_KEY = "the-first-audit-key-0123456789"
    _append(2)
    settings.CHARTERDESK_AUDIT_KEY = "the-second-audit-key-9876543210"
    settings.CHARTERDESK_AUDIT_OLD_KEYS = "the-first-audit-key-0123456789"
    call_command("audit", "rotate")
    _append(2)
    (rotation,) = AuditEntry.objects.filter(action="audit.key_rotation")
    assert rotation.data["previous_mac"]
    assert verify_chain().ok and verify_chain().checked == 5

    settings.CHARTERDESK_AUDIT_OLD_KEYS = ""
    report = verify_chain()
    assert not report.ok and "CHARTERDESK_AUDIT_OLD_KEYS" in report.reason


def test_a_changed_key_without_a_rotation_is_handed_over_at_the_next_entry(db, settings):
    """An operator who changes the key and keeps the old one gets the hand-over written before the
    next entry; a forged hand-over (not signed by the old key) is caught."""
    settings.CHARTERDESK_AUDIT_KEY = "the-first-audit-key-0123456789"
    _append(1)
    settings.CHARTERDESK_AUDIT_KEY = "the-second-audit-key-9876543210"
    settings.CHARTERDESK_AUDIT_OLD_KEYS = "the-first-audit-key-0123456789"
    _append(1)
    assert [e.action for e in AuditEntry.objects.order_by("id")] == [
        "test.event",
        "audit.key_rotation",
        "test.event",
    ]
    assert verify_chain().ok


def test_a_customers_changed_name_and_email_are_recorded_as_hashes(demo):
    """Changing a customer's name or email records hashes of the old and new values, never the
    values, so erasing the customer's data later leaves nothing of it in the signed log."""
    from charterdesk.tickets.actions import do_find_or_create_customer, do_update_customer

    customer = do_find_or_create_customer(email="jo@example.com", name="Jo Walker")
    do_update_customer(customer, actor=demo["agent"], name="Joanna Walker", email="joanna@example.com")
    entry = AuditEntry.objects.get(action="customer.update")
    text = entry.summary + str(entry.data) + entry.actor_label
    assert "Jo" not in text and "example.com" not in text
    assert entry.data["after"]["email"].startswith("sha256:")
    assert entry.target == f"customer:{customer.pk}"
