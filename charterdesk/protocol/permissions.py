"""The desk's own permission names, which roles grant in ``team.roles[].permissions``.

Roles are the only source of what a person may do. A role lists names from
this table, or patterns with ``*`` (``ticket.*``, or ``*`` for everything).
"""

from __future__ import annotations

from fnmatch import fnmatchcase

PERMISSIONS: dict[str, str] = {
    "ticket.view": "See tickets and their conversations",
    "ticket.reply": "Send public replies to customers",
    "ticket.note": "Write internal notes",
    "ticket.solve": "Set a ticket to solved",
    "ticket.assign": "Assign tickets to people and groups",
    "ticket.edit": "Change a ticket's priority, tags, group and status",
    "ticket.merge": "Merge and link tickets",
    "ticket.create": "Open tickets on a customer's behalf",
    "refund.request": "Ask for a refund for a customer",
    "refund.approve": "Approve refunds up to the role's bound",
    "incident.declare": "Declare and end a critical incident",
    "kb.read": "Read the knowledge base",
    "kb.write": "Write and review knowledge-base articles",
    "etiquette.override": "Send a reply that fails the etiquette checks",
    "customer.view": "See customer details and history",
    "customer.export": "Export a customer's data",
    "protocol.view": "See drafts and the protocol library",
    "protocol.edit": "Create and edit protocol drafts",
    "protocol.publish": "Publish a protocol version",
    "people.manage": "Invite people and assign roles",
    "audit.view": "Read the audit log",
    "reports.view": "See KPIs and reports",
    "training.manage": "See everyone's training progress",
    "channels.manage": "Configure mailboxes and channels",
}


def expand(patterns: list[str] | tuple[str, ...]) -> frozenset[str]:
    """The permission names a list of names and ``*`` patterns grants."""
    granted: set[str] = set()
    for pattern in patterns:
        granted.update(name for name in PERMISSIONS if fnmatchcase(name, pattern))
    return frozenset(granted)


def matches_any(pattern: str) -> bool:
    """True when ``pattern`` names at least one permission (so a typo is caught)."""
    return any(fnmatchcase(name, pattern) for name in PERMISSIONS)
