"""Writes the API makes on its own account: tokens and new customers. Atomic and audited.

Changes to tickets go through ``charterdesk.tickets.actions`` like everywhere else.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from django.db import transaction
from django.utils import timezone

from charterdesk.audit.actions import action, nothing_to_record, record
from charterdesk.notifications.actions import notify

from .models import ApiToken

# A recognisable start makes a leaked token easy to find with secret scanners and in logs.
TOKEN_START = "cdk_"
PREFIX_LENGTH = 12
# Stamping "last used" on every request would make each read a write; once a minute is plenty.
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)


class TokenError(Exception):
    """A token change that cannot be made; the message says why."""


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


@action
def do_create_token(person, name: str, *, actor, at: dt.datetime | None = None) -> tuple[ApiToken, str]:
    """A new personal token for ``person``: (the row, the secret). The secret is not kept anywhere."""
    name = (name or "").strip()
    if not name:
        raise TokenError("name: give the token a name, such as the script that will use it")
    if len(name) > 100:
        raise TokenError("name: at most 100 characters")
    if not person.is_active:
        raise TokenError(f"{person.email} is deactivated and cannot hold API tokens")
    at = at or timezone.now()
    secret = TOKEN_START + secrets.token_urlsafe(32)
    with transaction.atomic():
        token = ApiToken.objects.create(
            person=person,
            name=name,
            token_hash=hash_secret(secret),
            prefix=secret[:PREFIX_LENGTH],
            created_at=at,
        )
        # By ids only: the token's name is the owner's own words and may hold anyone's name.
        by = "" if actor is None or getattr(actor, "pk", None) == person.pk else f" by person #{actor.pk}"
        record(
            "api_token.create",
            f"API token #{token.pk} ({token.prefix}…) created for person #{person.pk}{by}",
            actor=actor,
            target=f"person:{person.pk}",
            data={"token": token.pk, "owner": person.pk, "prefix": token.prefix},
            at=at,
        )
    return token, secret


@action
def do_revoke_token(token: ApiToken, *, actor, at: dt.datetime | None = None) -> ApiToken:
    """Revoke a token: from this instant every request bearing it gets 401. Revoking twice is a no-op.

    The owner revokes their own tokens; a person who may manage people (``people.manage``, checked
    by the caller) revokes anyone's, and the owner is then told in the desk who did it and when."""
    at = at or timezone.now()
    with transaction.atomic():
        token = ApiToken.objects.select_for_update(of=("self",)).select_related("person").get(pk=token.pk)
        if token.revoked_at is not None:
            nothing_to_record("revoked before")
            return token
        token.revoked_at = at
        token.save(update_fields=["revoked_at"])
        actor_id = getattr(actor, "pk", None)
        by = "" if actor_id is None or actor_id == token.person_id else f" by person #{actor_id}"
        record(
            "api_token.revoke",
            f"API token #{token.pk} ({token.prefix}…) of person #{token.person_id} revoked{by}",
            actor=actor,
            target=f"person:{token.person_id}",
            data={"token": token.pk, "owner": token.person_id, "actor": actor_id, "prefix": token.prefix},
            at=at,
        )
        if actor_id is not None and actor_id != token.person_id:
            notify(
                [token.person],
                f"{actor.name} revoked your API token “{token.name}” ({token.prefix}…); "
                "requests bearing it are now refused. Create a new one on your API tokens page if you "
                "still need it.",
                reason="a person who manages people revoked it",
                at=at,
            )
    return token


def note_token_used(token: ApiToken, at: dt.datetime) -> None:
    """Stamp when a token was last used, at most once a minute.

    Not audited on purpose: like a session's last activity, it is a usage statistic that would
    otherwise put one audit entry on every API request.
    """
    if token.last_used_at is not None and at - token.last_used_at < LAST_USED_RESOLUTION:
        return
    token.last_used_at = at
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=at)
