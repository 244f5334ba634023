"""Every change to people and roles: atomic, audited."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from django.contrib.auth import login
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import models, transaction
from django.utils import timezone

from charterdesk.audit.actions import action, nothing_to_record, record
from charterdesk.core.client import client_ip

from .models import Invitation, Person, PersonRole

INVITATION_LIFETIME = dt.timedelta(days=7)


class AccountError(Exception):
    """A change to people or roles that cannot be made; the message says why."""


def _version_label(protocol_version) -> str:
    return protocol_version.version if protocol_version else ""


@action
def do_sign_in(request, person: Person, *, backend: str | None = None) -> None:
    with transaction.atomic():
        login(request, person, backend=backend)
        request.session["signed_in_at"] = request.session["seen_at"] = int(timezone.now().timestamp())
        record(
            "person.sign_in",
            f"person #{person.pk} signed in",
            actor=person,
            target=f"person:{person.pk}",
            data={"ip": client_ip(request)},
        )


@action
def do_add_person(
    email: str, name: str, roles: list[str], *, password: str | None = None, actor=None
) -> Person:
    """Add a person directly (the command line, the demo); the desk invites instead."""
    email = email.strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        raise AccountError(f"email: '{email}' is not an email address") from None
    with transaction.atomic():
        if Person.objects.filter(email=email).exists():
            raise AccountError(f"{email} already has an account")
        person = Person.objects.create_person(email, name, password)
        for role in sorted(set(roles)):
            PersonRole.objects.create(person=person, role=role)
        record(
            "person.add",
            f"person #{person.pk} added with roles {', '.join(sorted(roles)) or 'none'}",
            actor=actor,
            target=f"person:{person.pk}",
            data={"roles": sorted(roles)},
        )
    return person


def check_keeps_a_manager(person: Person, roles: list[str], *, active: bool, protocol) -> None:
    """Refuse a change that would leave nobody able to manage people (and so to undo it).

    Raises ``AccountError`` when ``person`` would lose ``people.manage`` (their new ``roles``
    grant none, or they are deactivated) and no other active person holds a role that grants it."""
    if protocol is None:
        return
    from charterdesk.protocol.permissions import expand

    granting = [role.id for role in protocol.team.roles if "people.manage" in expand(role.permissions)]
    if active and set(roles) & set(granting):
        return
    others = PersonRole.objects.filter(role__in=granting, person__is_active=True).exclude(person=person)
    if not others.exists():
        raise AccountError(
            f"roles: {person.name} is the only active person whose roles grant people.manage; "
            "give one of those roles to someone else first, or nobody could manage people any more"
        )


@action
def do_set_roles(
    person: Person, roles: list[str], *, actor: Person, protocol_version=None, note: str = ""
) -> None:
    new = sorted(set(roles))
    with transaction.atomic():
        old = sorted(PersonRole.objects.filter(person=person).values_list("role", flat=True))
        if old == new:
            nothing_to_record("the roles are as they were")
            return
        PersonRole.objects.filter(person=person).exclude(role__in=new).delete()
        for role in new:
            PersonRole.objects.get_or_create(person=person, role=role)
        person._role_ids = None
        record(
            "person.roles",
            f"person #{person.pk}'s roles: {', '.join(old) or 'none'} -> {', '.join(new) or 'none'}"
            + (f" ({note})" if note else ""),
            actor=actor,
            target=f"person:{person.pk}",
            protocol_version=_version_label(protocol_version),
            clause="team.roles",
            data={"before": old, "after": new},
        )


@action
def do_set_active(person: Person, active: bool, *, actor: Person) -> None:
    with transaction.atomic():
        if person.is_active == active:
            nothing_to_record("already so")
            return
        Person.objects.filter(pk=person.pk).update(is_active=active)
        person.is_active = active
        verb = "reactivated" if active else "deactivated"
        record(f"person.{verb}", f"person #{person.pk} {verb}", actor=actor, target=f"person:{person.pk}")


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@action
def do_invite(email: str, name: str, roles: list[str], *, actor: Person, now=None) -> tuple[Invitation, str]:
    """Create an invitation; returns it and the secret for the link (shown once, never stored)."""
    email = email.strip().lower()
    if not roles:
        raise AccountError("choose at least one role")
    now = now or timezone.now()
    token = secrets.token_urlsafe(32)
    with transaction.atomic():
        if Person.objects.filter(email=email).exists():
            raise AccountError(f"{email} already has an account")
        open_invitation = Invitation.objects.filter(
            email=email, accepted_at__isnull=True, expires_at__gt=now
        ).first()
        if open_invitation is not None:
            raise AccountError(
                f"{email} was already invited on {open_invitation.created_at:%Y-%m-%d}; "
                "revoke that invitation to send a new one"
            )
        invitation = Invitation.objects.create(
            email=email,
            name=name.strip(),
            roles=sorted(set(roles)),
            token_hash=hash_token(token),
            invited_by=actor,
            expires_at=now + INVITATION_LIFETIME,
        )
        record(
            "person.invite",
            f"person #{actor.pk} invited someone (invitation #{invitation.pk}) as {', '.join(sorted(roles))}",
            actor=actor,
            target=f"invitation:{invitation.pk}",
            data={"roles": sorted(roles)},
        )
    return invitation, token


def find_invitation(token: str, now=None) -> Invitation | None:
    now = now or timezone.now()
    invitation = Invitation.objects.filter(token_hash=hash_token(token), accepted_at__isnull=True).first()
    if invitation is None or invitation.expires_at < now:
        return None
    return invitation


@action
def do_accept_invitation(invitation: Invitation, password: str, *, timezone_name: str = "UTC") -> Person:
    with transaction.atomic():
        invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
        if invitation.accepted_at is not None:
            raise AccountError("this invitation has already been used")
        if Person.objects.filter(email=invitation.email).exists():
            raise AccountError(f"{invitation.email} already has an account")
        person = Person.objects.create_person(
            invitation.email, invitation.name, password, timezone=timezone_name
        )
        for role in invitation.roles:
            PersonRole.objects.create(person=person, role=role)
        invitation.accepted_at = timezone.now()
        invitation.person = person
        invitation.save(update_fields=["accepted_at", "person"])
        record(
            "person.join",
            f"person #{person.pk} joined with roles {', '.join(invitation.roles)}",
            actor=person,
            target=f"person:{person.pk}",
            data={"roles": invitation.roles, "invitation": invitation.pk},
        )
    return person


@action
def do_revoke_invitation(invitation: Invitation, *, actor: Person) -> None:
    """Take back an invitation that was not accepted; its link stops working at once."""
    with transaction.atomic():
        invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
        if invitation.accepted_at is not None:
            raise AccountError(f"the invitation for {invitation.email} was already accepted")
        record(
            "person.invite.revoke",
            f"person #{actor.pk} revoked invitation #{invitation.pk}",
            actor=actor,
            target=f"invitation:{invitation.pk}",
        )
        invitation.delete()


# --------------------------------------------------------------------------- sign-in security


def email_digest(email: str) -> str:
    """An address as the audit log keeps it when it belongs to nobody: hashed, never in the clear."""
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()


@action
def do_record_failed_sign_in(
    email: str, *, ip: str, failures: int, person: Person | None, locked: bool
) -> None:
    """A wrong password (or an unknown address) at sign-in; at the lockout count the person's
    account is locked. The entry names the person by id, or the address by its hash."""
    with transaction.atomic():
        target = f"person:{person.pk}" if person is not None else ""
        data = {"ip": ip, "failures": failures}
        if person is None:
            data["email_sha256"] = email_digest(email)
        record(
            "person.sign_in_failed",
            f"a failed sign-in for person #{person.pk}"
            if person
            else "a failed sign-in for an unknown address",
            target=target,
            data=data,
        )
        if locked and person is not None and person.sign_in_locked_at is None:
            person.sign_in_locked_at = timezone.now()
            Person.objects.filter(pk=person.pk).update(sign_in_locked_at=person.sign_in_locked_at)
            record(
                "person.sign_in_locked",
                f"person #{person.pk} is locked after {failures} failed sign-ins; an unlock link was emailed",
                target=target,
                data={"ip": ip, "failures": failures},
            )


@action
def do_unlock(person: Person, *, ip: str) -> None:
    """The person followed the emailed unlock link."""
    with transaction.atomic():
        if person.sign_in_locked_at is None:
            nothing_to_record("the account was not locked")
            return
        Person.objects.filter(pk=person.pk).update(sign_in_locked_at=None)
        person.sign_in_locked_at = None
        record(
            "person.unlock",
            f"person #{person.pk} unlocked their account",
            actor=person,
            target=f"person:{person.pk}",
            data={"ip": ip},
        )


@action
def do_change_password(person: Person, password: str, *, ip: str, why: str) -> None:
    """A new password (changed when signed in, or reset by the emailed link). Every session signed
    in with the old one ends; a reset also lifts a lock, since it proves the mailbox."""
    with transaction.atomic():
        person.set_password(password)
        person.sign_in_locked_at = None
        person.save(update_fields=["password", "sign_in_locked_at"])
        record(
            "person.password",
            f"person #{person.pk} {'reset' if why == 'reset' else 'changed'} their password",
            actor=person,
            target=f"person:{person.pk}",
            data={"ip": ip, "how": why},
        )


@action
def do_request_password_reset(email: str, *, person: Person | None, ip: str) -> None:
    with transaction.atomic():
        record(
            "person.password_reset_request",
            f"a password reset link was emailed to person #{person.pk}"
            if person
            else "a password reset was asked for an address that is nobody's; nothing was sent",
            target=f"person:{person.pk}" if person else "",
            data={"ip": ip, "sent": person is not None}
            | ({} if person else {"email_sha256": email_digest(email)}),
        )


@action
def do_sign_out_other_sessions(person: Person, *, ip: str) -> None:
    """End every session of ``person`` but the caller's (which the view keeps with
    ``update_session_auth_hash``)."""
    with transaction.atomic():
        Person.objects.filter(pk=person.pk).update(session_generation=models.F("session_generation") + 1)
        person.refresh_from_db(fields=["session_generation"])
        record(
            "person.sign_out_others",
            f"person #{person.pk} signed out their other sessions",
            actor=person,
            target=f"person:{person.pk}",
            data={"ip": ip},
        )


# --------------------------------------------------------------------------- the second factor


@action
def do_enrol_second_factor(person: Person, secret: str, *, step: int, ip: str) -> list[str]:
    """Keep the person's authenticator app (its first code, ``step``, already checked) and give
    them ten recovery codes, returned once and stored only hashed."""
    from .models import RecoveryCode, SecondFactor
    from .twofactor import hash_recovery, new_recovery_codes

    codes = new_recovery_codes()
    with transaction.atomic():
        SecondFactor.objects.filter(person=person).delete()
        SecondFactor.objects.create(person=person, secret=secret, enrolled_at=timezone.now(), last_step=step)
        RecoveryCode.objects.filter(person=person).delete()
        RecoveryCode.objects.bulk_create(
            RecoveryCode(person=person, code_hash=hash_recovery(code)) for code in codes
        )
        record(
            "person.second_factor.enrol",
            f"person #{person.pk} enrolled an authenticator app",
            actor=person,
            target=f"person:{person.pk}",
            data={"ip": ip},
        )
    return codes


@action
def do_check_second_factor(person: Person, code: str, *, ip: str, now=None) -> str | None:
    """Whether ``code`` is the person's current authenticator code (not used before) or one of
    their unused recovery codes: "app", "recovery" or None. A recovery code is used up."""
    from .models import SecondFactor
    from .twofactor import matching_step, unused_recovery

    now = now or timezone.now()
    with transaction.atomic():
        factor = SecondFactor.objects.select_for_update().filter(person=person).first()
        if factor is None:
            nothing_to_record("the person has no second factor")
            return None
        step = matching_step(factor.secret, code, now)
        if step is not None and step > factor.last_step:
            SecondFactor.objects.filter(pk=factor.pk).update(last_step=step)
            nothing_to_record("the sign-in entry that follows records it")
            return "app"
        recovery = unused_recovery(person, code)
        if recovery is None:
            nothing_to_record("a wrong code is recorded as a failed sign-in by the caller")
            return None
        recovery.used_at = now
        recovery.save(update_fields=["used_at"])
        left = person.recovery_codes.filter(used_at__isnull=True).count()
        record(
            "person.second_factor.recovery",
            f"person #{person.pk} signed in with a recovery code ({left} left)",
            actor=person,
            target=f"person:{person.pk}",
            data={"ip": ip, "left": left},
        )
        return "recovery"


@action
def do_remove_second_factor(person: Person, *, actor: Person, ip: str) -> None:
    from .models import RecoveryCode, SecondFactor

    with transaction.atomic():
        deleted, _ = SecondFactor.objects.filter(person=person).delete()
        RecoveryCode.objects.filter(person=person).delete()
        if not deleted:
            nothing_to_record("the person had no authenticator app")
            return
        record(
            "person.second_factor.remove",
            f"person #{person.pk}'s authenticator app was removed by person #{actor.pk}",
            actor=actor,
            target=f"person:{person.pk}",
            data={"ip": ip},
        )


@action
def do_set_two_factor_roles(roles: list[str], *, actor: Person) -> None:
    """The roles whose holders must use a second factor (from their next sign-in)."""
    from .models import TwoFactorRole

    new = sorted(set(roles))
    with transaction.atomic():
        old = sorted(TwoFactorRole.objects.values_list("role", flat=True))
        if old == new:
            nothing_to_record("the roles are as they were")
            return
        TwoFactorRole.objects.exclude(role__in=new).delete()
        for role in new:
            TwoFactorRole.objects.get_or_create(role=role)
        record(
            "desk.two_factor_roles",
            f"a second factor is required for: {', '.join(new) or 'no role'}",
            actor=actor,
            data={"before": old, "after": new},
        )
