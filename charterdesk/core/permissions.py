"""What a person may do: the union of their roles' permissions in the protocol in force."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied

from charterdesk.protocol.models import Protocol
from charterdesk.protocol.permissions import expand

# Before any protocol version is in force, roles mean nothing yet; whoever holds a role
# (the first people are added with `charterdesk people add`) may set up the library.
BOOTSTRAP_PERMISSIONS = frozenset(
    {"protocol.view", "protocol.edit", "protocol.publish", "people.manage", "audit.view"}
)


def permissions_of(person, protocol: Protocol | None) -> frozenset[str]:
    if person is None or not person.is_authenticated or not person.is_active:
        return frozenset()
    if protocol is None:
        return BOOTSTRAP_PERMISSIONS if person.role_ids else frozenset()
    patterns: list[str] = []
    held = set(person.role_ids)
    for role in protocol.team.roles:
        if role.id in held:
            patterns.extend(role.permissions)
    return expand(patterns)


def request_permissions(request) -> frozenset[str]:
    cached = getattr(request, "_charterdesk_permissions", None)
    if cached is None:
        cached = permissions_of(request.user, request.protocol)
        request._charterdesk_permissions = cached
    return cached


def can(request, permission: str) -> bool:
    return permission in request_permissions(request)


def require(request, permission: str) -> None:
    """Raise 403 unless the signed-in person's roles grant ``permission``."""
    if not can(request, permission):
        raise PermissionDenied(f"Your roles do not grant {permission}.")


def sees_customer_contact(person, protocol: Protocol | None) -> bool:
    """The one rule for a customer's contact details (email, phone, full name) on pages, the API and
    exports: a role of the person grants ``customer.view``, and, when the protocol's
    ``privacy.access.customer_data`` lists roles, one of the person's roles is listed."""
    if "customer.view" not in permissions_of(person, protocol):
        return False
    listed = protocol.privacy.access.customer_data if protocol and protocol.privacy else []
    return not listed or bool(set(listed) & set(person.role_ids))


def masked_name(name: str) -> str:
    """What someone without access to customer data sees of a name: 'Jo Walker' -> 'Jo W.'."""
    words = (name or "").split()
    if not words:
        return "Customer"
    return words[0] if len(words) == 1 else f"{words[0]} {words[-1][0]}."
