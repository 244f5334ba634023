"""Writing to the audit log. Every `do_*` action of the desk is marked ``@action``: it runs in
one transaction and calls `record` inside it."""

from __future__ import annotations

import contextlib
import functools
import hmac
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import ParamSpec, TypeVar

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from . import keys
from .models import AuditEntry, AuditHead
from .refs import ref


def record(
    action: str,
    summary: str,
    *,
    actor=None,
    target: str = "",
    protocol_version: str = "",
    clause: str = "",
    data: dict | None = None,
    at=None,
) -> AuditEntry:
    """Append one entry to the chain. Must run inside the caller's transaction."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("audit.record must run inside the transaction of the change it records")
    entry = AuditEntry(
        at=at or timezone.now(),
        actor=actor if actor is not None and actor.pk else None,
        actor_label=_label(actor),
        action=action,
        target=target,
        summary=summary,
        protocol_version=protocol_version,
        clause=clause,
        data=data or {},
    )
    # Round-trip the JSON now so the hash covers exactly what the database will give back.
    entry.data = _normalise(entry.data)
    for frame in getattr(_actions, "stack", ()):
        frame.recorded += 1
    waiting = getattr(_deferred, "entries", None)
    if waiting is not None:
        waiting.append(entry)  # chained at the end of the deferred_entries() block
    else:
        _append([entry])
    return entry


_deferred = threading.local()


# --------------------------------------------------------------------------- actions

P = ParamSpec("P")
R = TypeVar("R")
_actions = threading.local()


class UnauditedAction(AssertionError):
    """An action returned without writing an audit entry or saying why there was nothing to record."""


@dataclass
class _Frame:
    name: str
    recorded: int = 0
    excused: str = ""


def action(func: Callable[P, R]) -> Callable[P, R]:
    """Make a ``do_*`` function an action: the whole call is one transaction (a failure anywhere
    leaves nothing half-done), and it must write its audit entry in it.

    With ``CHARTERDESK_STRICT_ACTIONS`` on (the test suite turns it on), an action that returns
    without recording anything, and without calling :func:`nothing_to_record` to say why, raises
    :class:`UnauditedAction`, so a write that escapes the audit log fails a test. An entry written by
    an inner action counts for the outer one too."""

    @functools.wraps(func)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        frame = _Frame(func.__qualname__)
        stack = getattr(_actions, "stack", None)
        if stack is None:
            stack = _actions.stack = []
        with transaction.atomic():
            stack.append(frame)
            try:
                result = func(*args, **kwargs)
            finally:
                stack.pop()
            strict = getattr(settings, "CHARTERDESK_STRICT_ACTIONS", False)
            if strict and not frame.recorded and not frame.excused:
                raise UnauditedAction(
                    f"{frame.name} wrote no audit entry; call audit.actions.record(...), or "
                    "nothing_to_record(why) where there was nothing to change"
                )
        return result

    run.is_action = True  # type: ignore[attr-defined]
    return run


def nothing_to_record(why: str) -> None:
    """Say, inside an action, that this call changed nothing worth an audit entry (``why``: for
    the reader, e.g. "the tickets were already linked"); the actions that called it are excused too."""
    for frame in getattr(_actions, "stack", ()):
        frame.excused = frame.excused or why


@contextlib.contextmanager
def deferred_entries():
    """Chain the entries recorded inside this block at its end instead of one by one.

    Use it as the last thing inside a transaction (``with transaction.atomic(), deferred_entries():``).
    Every writer waits for the chain's head row, which stays locked until its transaction commits;
    taking it only for the final moments lets concurrent transactions (the ingest workers) do their
    real work side by side. The entries are still written in the transaction of the change they
    record, in the order recorded; if the block fails they are dropped with the rest of it."""
    outer = getattr(_deferred, "entries", None)
    _deferred.entries = []
    try:
        yield
        entries = _deferred.entries
    finally:
        _deferred.entries = outer
    if outer is not None:
        # Nested (one message of a batch): its entries join the outer block's, or are dropped
        # with its savepoint when it fails.
        outer.extend(entries)
    elif entries:
        _append(entries)


def _append(entries: list[AuditEntry]) -> None:
    # The head row is locked for the rest of the transaction, so concurrent writers
    # append one after another and the chain never forks.
    head = AuditHead.objects.select_for_update().filter(pk=1).first()
    if head is None:
        AuditHead.objects.get_or_create(pk=1)
        head = AuditHead.objects.select_for_update().get(pk=1)
    kid, key = keys.current_key()
    previous = head.last_hash
    if head.count and head.key_id and head.key_id != kid and entries[0].action != ROTATION:
        # The key changed since the newest entry: the hand-over comes first, signed by both.
        entries = [_rotation_entry(head.key_id, kid), *entries]
    for entry in entries:
        entry.prev_hash = previous
        entry.key_id = kid
        if entry.action == ROTATION:
            old = keys.known_keys().get(entry.data["previous_key"])
            entry.data.pop("previous_mac", None)
            entry.data["previous_mac"] = keys.sign(old, entry.payload()) if old else ""
        entry.hash = entry.compute_hash(key)
        previous = entry.hash
    if len(entries) == 1:
        entries[0].save()
    else:
        AuditEntry.objects.bulk_create(entries)
    count = head.count + len(entries)
    AuditHead.objects.filter(pk=1).update(
        last_hash=previous, count=count, key_id=kid, mac=keys.head_mac(key, count, previous)
    )


ROTATION = "audit.key_rotation"


def _rotation_entry(old_id: str, new_id: str) -> AuditEntry:
    """The entry that hands the chain from one key to the next: signed by the new key like every
    entry, and carrying its signature under the old key (empty when the desk no longer has the
    old key, which ``audit verify`` then reports)."""
    return AuditEntry(
        at=timezone.now(),
        actor_label="system",
        action=ROTATION,
        summary=f"the audit log is signed with key {new_id} from here on (was {old_id})",
        data={"previous_key": old_id},
    )


def rotate() -> AuditEntry | None:
    """Write the hand-over entry now (``charterdesk audit rotate``) instead of before the next
    change; None when the log is already signed with the current key."""
    with transaction.atomic():
        head = AuditHead.objects.select_for_update().filter(pk=1).first()
        kid, _ = keys.current_key()
        if head is None or not head.count or head.key_id == kid:
            return None
        entry = _rotation_entry(head.key_id, kid)
        _append([entry])
        return entry


def _label(actor) -> str:
    # By id (refs.ref), never str(actor): a row's str() is often its name and address.
    if actor is None:
        return "system"
    return getattr(actor, "audit_label", None) or ref(actor)


def _normalise(data: dict) -> dict:
    import json

    return json.loads(json.dumps(data, default=str))


@dataclass(frozen=True)
class ChainReport:
    """The result of walking the chain: how many entries held, and the first broken link, if any."""

    checked: int
    broken_at: int | None = None  # id of the first entry whose link is broken
    reason: str = ""

    @property
    def ok(self) -> bool:
        return not self.reason


def verify_chain() -> ChainReport:
    """Walk the whole log in order and report the first entry that does not verify: its link to
    the entry before, its signature under its key, and at a change of key the hand-over entry's
    signature under the old key; then the head row's own signature."""
    known = keys.known_keys()
    previous, previous_key = "", ""
    checked = 0
    for entry in AuditEntry.objects.order_by("id").iterator(chunk_size=2000):
        key = known.get(entry.key_id)
        if key is None:
            return ChainReport(
                checked,
                entry.pk,
                f"it is signed with key {entry.key_id or '(none)'}, which this desk does not have "
                "(set CHARTERDESK_AUDIT_OLD_KEYS to the earlier keys to verify it)",
            )
        if entry.prev_hash != previous:
            return ChainReport(
                checked, entry.pk, "it does not point at the entry before it (an entry was removed)"
            )
        if entry.compute_hash(key) != entry.hash:
            return ChainReport(
                checked, entry.pk, "its signature does not match its content (it was changed or re-signed)"
            )
        if previous_key and entry.key_id != previous_key and not _hand_over_holds(entry, previous_key, known):
            return ChainReport(
                checked, entry.pk, f"the key changes here without a hand-over signed by key {previous_key}"
            )
        previous, previous_key = entry.hash, entry.key_id
        checked += 1
    head = AuditHead.objects.filter(pk=1).first()
    if head is not None and (head.last_hash != previous or head.count != checked):
        return ChainReport(
            checked, None, f"the log ends after {checked} entries but {head.count} were written"
        )
    if head is not None and head.count:
        key = known.get(head.key_id)
        if key is None or keys.head_mac(key, head.count, head.last_hash) != head.mac:
            return ChainReport(
                checked, None, "the head of the log was rewritten (its signature does not hold)"
            )
    return ChainReport(checked)


def _hand_over_holds(entry: AuditEntry, old_id: str, known: dict[str, bytes]) -> bool:
    old = known.get(old_id)
    if entry.action != ROTATION or old is None or entry.data.get("previous_key") != old_id:
        return False
    signed = AuditEntry(**{f.attname: getattr(entry, f.attname) for f in AuditEntry._meta.concrete_fields})
    signed.data = {k: v for k, v in entry.data.items() if k != "previous_mac"}
    return hmac.compare_digest(keys.sign(old, signed.payload()), str(entry.data.get("previous_mac", "")))


@action
def do_record_reading(actor, what: str, target: str, *, ip: str, data: dict | None = None) -> None:
    """A person read a customer's data in full: a ticket's raw email, an attachment, an export.
    Reading is recorded (who, what, when, from which address) so that a data-protection request
    ("who has seen my data?") can be answered; the entry names the thing by id, never its content."""
    with transaction.atomic():
        record(
            f"read.{what}",
            f"{getattr(actor, 'audit_label', 'system')} opened {what.replace('_', ' ')} of {target}",
            actor=actor,
            target=target,
            data={"ip": ip, **(data or {})},
        )
