"""Every change to the protocol library: drafts and publishing. Atomic, audited."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from charterdesk.accounts.models import Person, PersonRole
from charterdesk.audit.actions import action, nothing_to_record, record
from charterdesk.audit.refs import ref
from charterdesk.protocol.load import Problem, load_protocol

from .models import ProtocolVersion, VersionStatus
from .versions import next_scheduled, version_in_force


class PublishRefused(Exception):
    """The draft cannot be published; ``reasons`` says every reason, ``problems`` the file's errors."""

    def __init__(self, reasons: list[str], problems: list[Problem] | None = None):
        super().__init__("; ".join(reasons))
        self.reasons = reasons
        self.problems = problems or []


@dataclass
class PublishCheck:
    """What stands between a draft and publishing, for the publish page to show before the click."""

    problems: list[Problem] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    # role id -> people who hold it although the new version no longer has that role
    orphaned_roles: dict[str, list[Person]] = field(default_factory=dict)
    # the roles of the new version, for moving people off a dropped role
    new_roles: list[tuple[str, str]] = field(default_factory=list)
    # the version number is already published: no choice on the publish page can fix that
    version_taken: bool = False

    @property
    def ok(self) -> bool:
        return not self.reasons


def _copy_header(version: ProtocolVersion, source: str) -> list[Problem]:
    result = load_protocol(source, filename="draft.yaml")
    # A draft with errors still shows the version, title and company it names, if it names them.
    raw = result.source.data if result.source is not None and isinstance(result.source.data, dict) else {}
    for field_name in ("version", "title", "company"):
        value = getattr(result.protocol, field_name) if result.protocol is not None else raw.get(field_name)
        setattr(version, field_name, str(value)[:200] if value is not None else "")
    return result.errors


@action
def do_create_draft(source: str, *, actor: Person, note: str = "") -> ProtocolVersion:
    """Save a new draft. A draft may have errors; it cannot be published until it has none."""
    with transaction.atomic():
        draft = ProtocolVersion(source=source, note=note.strip()[:300], created_by=actor)
        errors = _copy_header(draft, source)
        draft.save()
        record(
            "protocol.draft.create",
            f"{ref(actor)} created a draft of version {draft.version or '?'}"
            + (f" ({len(errors)} error(s) to fix)" if errors else ""),
            actor=actor,
            target=draft.audit_ref,
            protocol_version=draft.version,
        )
    return draft


@action
def do_update_draft(
    draft: ProtocolVersion, source: str, *, actor: Person, note: str | None = None
) -> list[Problem]:
    """Replace a draft's text; returns the problems of the new text (saved either way)."""
    with transaction.atomic():
        draft = ProtocolVersion.objects.select_for_update().get(pk=draft.pk)
        if not draft.is_draft:
            raise PublishRefused([f"version {draft.version} is published and cannot change"])
        if source == draft.source and (note is None or note == draft.note):
            nothing_to_record("the draft is unchanged")
            return load_protocol(source, filename="draft.yaml").errors
        draft.source = source
        if note is not None:
            draft.note = note.strip()[:300]
        errors = _copy_header(draft, source)
        draft.save()
        record(
            "protocol.draft.update",
            f"{ref(actor)} edited the draft of version {draft.version or '?'}",
            actor=actor,
            target=draft.audit_ref,
            protocol_version=draft.version,
        )
    return errors


@action
def do_delete_draft(draft: ProtocolVersion, *, actor: Person) -> None:
    with transaction.atomic():
        if not draft.is_draft:
            raise PublishRefused([f"version {draft.version} is published and cannot be deleted"])
        record(
            "protocol.draft.delete",
            f"{ref(actor)} deleted the draft of version {draft.version or '?'}",
            actor=actor,
            target=draft.audit_ref,
            protocol_version=draft.version,
        )
        draft.delete()


def check_publish(
    draft: ProtocolVersion,
    *,
    effective_at: dt.datetime | None = None,
    role_moves: dict[str, str] | None = None,
    now: dt.datetime | None = None,
) -> PublishCheck:
    """Everything that would refuse publishing this draft, without changing anything.

    ``role_moves`` maps a role the new version drops to the role its holders get instead.
    """
    role_moves = role_moves or {}
    now = now or timezone.now()
    effective_at = effective_at or now
    check = PublishCheck()
    if not draft.is_draft:
        check.reasons.append(f"version {draft.version} is already published")
        return check
    result = load_protocol(draft.source, filename="draft.yaml")
    check.problems = result.errors
    if not result.ok:
        check.reasons.append(f"the file has {len(result.errors)} error(s)")
        return check
    protocol = result.protocol
    assert protocol is not None
    taken = ProtocolVersion.objects.filter(status=VersionStatus.PUBLISHED, version=protocol.version)
    if taken.exists():
        check.version_taken = True
        check.reasons.append(f"version {protocol.version} is already published; raise the version number")
    # A version scheduled later than this one would silently replace it when its day comes.
    later = ProtocolVersion.objects.filter(
        status=VersionStatus.PUBLISHED, effective_at__gt=max(effective_at, now)
    ).order_by("effective_at")
    for scheduled in later:
        check.reasons.append(
            f"version {scheduled.version} is scheduled to take over on "
            f"{scheduled.effective_at.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC, after this one would, "
            f"and would replace it; withdraw {scheduled.version} first, or publish this one from a later date"
        )
    kept_roles = {role.id for role in protocol.team.roles}
    check.new_roles = [(role.id, role.title) for role in protocol.team.roles]
    for old, new in role_moves.items():
        if new not in kept_roles:
            check.reasons.append(
                f"role '{old}' cannot move to '{new}': version {protocol.version} has no such role"
            )
    held = PersonRole.objects.filter(person__is_active=True).exclude(role__in=kept_roles)
    for holding in held.select_related("person").order_by("role", "person__name"):
        check.orphaned_roles.setdefault(holding.role, []).append(holding.person)
    for role, people in check.orphaned_roles.items():
        if role_moves.get(role) in kept_roles:
            continue
        names = ", ".join(p.name for p in people)
        check.reasons.append(
            f"role '{role}' is dropped but still held by {names}; choose the role they move to, "
            f"or give them another role first"
        )
    return check


# How far ahead a version may be scheduled.
MAX_SCHEDULE_AHEAD = dt.timedelta(days=366)


@action
def do_publish(
    draft: ProtocolVersion,
    *,
    actor: Person,
    effective_at: dt.datetime | None = None,
    now: dt.datetime | None = None,
    role_moves: dict[str, str] | None = None,
) -> ProtocolVersion:
    """Publish a draft, in force from ``effective_at`` (now when not given). It never changes again.

    ``role_moves`` moves the holders of each role the version drops to a role it has, in the
    same transaction (each move audited), so that nobody is left without rules.
    """
    # Whole seconds: ticket events are recorded to the second, and a ticket opened in the same
    # second as the publish must already run under the new version.
    now = (now or timezone.now()).replace(microsecond=0)
    effective_at = (effective_at or now).replace(microsecond=0)
    if effective_at < now - dt.timedelta(minutes=1):
        raise PublishRefused(["the effective date cannot be in the past"])
    if effective_at > now + MAX_SCHEDULE_AHEAD:
        # A date years away is a typo (9999-12-31), and everyone would see its banner until then.
        raise PublishRefused(
            [f"the effective date can be at most a year ahead ({(now + MAX_SCHEDULE_AHEAD):%Y-%m-%d})"]
        )
    with transaction.atomic():
        draft = ProtocolVersion.objects.select_for_update().get(pk=draft.pk)
        check = check_publish(draft, effective_at=effective_at, role_moves=role_moves, now=now)
        if not check.ok:
            raise PublishRefused(check.reasons, check.problems)
        previous = version_in_force(now)
        _move_roles(check, role_moves or {}, actor=actor, version=draft.version)
        draft.source = set_effective_date(draft.source, effective_at.date())
        _copy_header(draft, draft.source)
        draft.status = VersionStatus.PUBLISHED
        draft.effective_at = effective_at
        # The exact instant (not rounded): it orders versions that take effect in the same second.
        draft.published_at = timezone.now()
        draft.published_by = actor
        draft.save()
        when = "now" if effective_at <= now else f"from {effective_at.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC"
        record(
            "protocol.publish",
            f"{ref(actor)} published version {draft.version}, in force {when}"
            + (f" (replacing {previous.version})" if previous and effective_at <= now else ""),
            actor=actor,
            target=draft.audit_ref,
            protocol_version=draft.version,
            data={
                "effective_at": effective_at.isoformat(),
                "previous": previous.version if previous else None,
                "scheduled_before": (s.version if (s := next_scheduled(now)) and s.pk != draft.pk else None),
            },
        )
    return draft


def _move_roles(check: PublishCheck, role_moves: dict[str, str], *, actor: Person, version: str) -> None:
    from charterdesk.accounts.actions import do_set_roles

    for old, people in check.orphaned_roles.items():
        new = role_moves[old]
        for person in people:
            person._role_ids = None
            roles = [r for r in person.role_ids if r != old] + [new]
            do_set_roles(
                person, roles, actor=actor, note=f"moved from '{old}' to '{new}' by publishing {version}"
            )


@action
def do_withdraw(
    version: ProtocolVersion, *, actor: Person, now: dt.datetime | None = None
) -> ProtocolVersion:
    """Withdraw a published version before its effective date comes; it never takes effect."""
    now = now or timezone.now()
    with transaction.atomic():
        version = ProtocolVersion.objects.select_for_update().get(pk=version.pk)
        if version.status != VersionStatus.PUBLISHED or version.effective_at <= now:
            raise PublishRefused(
                [
                    f"version {version.version} is not scheduled; only a version not yet in force "
                    "can be withdrawn"
                ]
            )
        # The text never changes; only the status does (save() guards published text).
        ProtocolVersion.objects.filter(pk=version.pk).update(status=VersionStatus.WITHDRAWN)
        version.status = VersionStatus.WITHDRAWN
        record(
            "protocol.withdraw",
            f"{ref(actor)} withdrew version {version.version}, which was to take over on "
            f"{version.effective_at.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC",
            actor=actor,
            target=version.audit_ref,
            protocol_version=version.version,
        )
    return version


_EFFECTIVE = re.compile(r"^effective:.*$", re.MULTILINE)
_VERSION = re.compile(r"^version:.*$", re.MULTILINE)


def set_effective_date(source: str, day: dt.date) -> str:
    """Write the publish date into the file itself, so the published text says when it governs."""
    line = f"effective: {day.isoformat()}"
    if _EFFECTIVE.search(source):
        return _EFFECTIVE.sub(line, source, count=1)
    match = _VERSION.search(source)
    if match:
        return source[: match.end()] + "\n" + line + source[match.end() :]
    return line + "\n" + source
