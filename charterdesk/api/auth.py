"""Who is calling: a personal API token in ``Authorization: Bearer <token>``, and their permissions.

The token's person acts with exactly the permissions their roles grant in the protocol in force
at the time of the request (``charterdesk.core.permissions.permissions_of``), as on the
desk's pages. Rate limits are counted here too, before any work is done: per token once the
token is known, per client address for requests without a valid token.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils import timezone
from ninja.security import HttpBearer

from charterdesk.core.client import client_ip
from charterdesk.core.permissions import permissions_of, sees_customer_contact

from . import ratelimit
from .actions import hash_secret, note_token_used
from .errors import ApiError, forbidden, unauthorized
from .models import ApiToken


@dataclass
class Caller:
    """The person behind a request's token, with what their roles let them do right now.
    ``contact``: they see customers' contact details (the desk's one rule, as on the pages)."""

    person: object
    token: ApiToken
    permissions: frozenset[str]
    contact: bool = False

    def can(self, permission: str) -> bool:
        return permission in self.permissions

    def require(self, *permissions: str) -> None:
        """403 naming the first of ``permissions`` the caller's roles do not grant."""
        for permission in permissions:
            if permission not in self.permissions:
                raise forbidden(permission)

    def require_any(self, *permissions: str) -> None:
        """403 unless the caller's roles grant at least one of ``permissions``."""
        if len(permissions) == 1:
            return self.require(*permissions)
        if not any(p in self.permissions for p in permissions):
            raise ApiError(
                403,
                f"Your roles grant none of {', '.join(permissions)}.",
                permission=" or ".join(permissions),
            )


def caller_of(request) -> Caller:
    return request.auth


def _limit(request, scope: str, who: str, setting: str, default: str) -> None:
    rate = ratelimit.configured_rate(setting, default)
    decision = ratelimit.hit(scope, who, rate, timezone.now().timestamp())
    if not decision.allowed:
        raise ApiError(
            429,
            f"too many requests: the limit is {rate}; try again in {decision.retry_after} s",
            headers={
                "Retry-After": str(decision.retry_after),
                "X-RateLimit-Limit": str(decision.limit),
                "X-RateLimit-Remaining": "0",
            },
        )


def _refuse(request, message: str) -> ApiError:
    _limit(
        request,
        "ip",
        client_ip(request),
        ratelimit.ANON_RATE_SETTING,
        ratelimit.ANON_RATE_DEFAULT,
    )
    return unauthorized(message)


class TokenAuth(HttpBearer):
    """``Authorization: Bearer <token>``; every failure is a 401 that says what is wrong.

    With a ``need`` (``charterdesk.api.needs``: the operation's permission), a valid token whose
    person's roles do not meet it is refused with 403 here, before ninja reads the request's
    parameters or body."""

    def __init__(self, need=None) -> None:
        super().__init__()
        self.need = need

    def __call__(self, request):
        header = request.headers.get(self.header, "")
        if not header.strip():
            raise _refuse(request, "send a personal API token as 'Authorization: Bearer <token>'")
        scheme, _, secret = header.strip().partition(" ")
        if scheme.lower() != "bearer" or not secret.strip():
            raise _refuse(request, "the Authorization header must be 'Bearer <token>'")
        return self.authenticate(request, secret.strip())

    def authenticate(self, request, token: str) -> Caller:
        row = ApiToken.objects.select_related("person").filter(token_hash=hash_secret(token)).first()
        if row is None:
            raise _refuse(request, "this API token is not valid")
        if row.revoked_at is not None:
            raise _refuse(request, "this API token has been revoked")
        person = row.person
        if not person.is_active:
            raise _refuse(request, "the owner of this API token is deactivated")
        _limit(request, "token", str(row.pk), ratelimit.TOKEN_RATE_SETTING, ratelimit.TOKEN_RATE_DEFAULT)
        note_token_used(row, timezone.now())
        # Code that reads request.user (audit labels, permission helpers) sees the token's person.
        request.user = person
        # request.protocol is a lazy object, never None itself: "or None" unwraps "no version in force".
        protocol = request.protocol or None
        caller = Caller(
            person=person,
            token=row,
            permissions=permissions_of(person, protocol),
            contact=sees_customer_contact(person, protocol),
        )
        if self.need is not None:
            self.need.check(caller)
        return caller
