"""Whose numbers a person sees on the reports page (and in the CSV files behind it).

- Everyone who works tickets (``ticket.view``) sees **their own** numbers: the engine's
  "by agent" slice for them (a count goes to the agent who sent the ticket's latest public
  reply at the moment of the count; see docs/reports.md).
- ``reports.view`` shows **the team's** numbers: what the engine counts for the person's groups,
  each count going to the group the ticket was in at the moment of the count (a response when it
  was given, a breach at its due time, a solve, a rating when it was given, a day's backlog at the
  day's end), as in the manager's "by group" breakdown. So a lead's figures for one group are that
  group's row of the manager's breakdown, and a ticket that moved from one group to another counts
  for each group the part it spent there. A person's groups are the protocol's groups that list one
  of their roles, or a role that reports to one of their roles (``team.roles[].reports_to``): a
  team lead whose agents work the frontline group sees the frontline, as well as the groups the
  lead's own role is in. A ticket in no group counts for no team.
- ``reports.view`` with ``people.manage`` shows **everything**: every ticket, grouped or not.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import PermissionDenied

from charterdesk.core.permissions import request_permissions
from charterdesk.protocol.models import Protocol

OWN, TEAM, ALL = "own", "team", "all"


@dataclass(frozen=True)
class Scope:
    """What one person's report covers: ``kind`` own, team or all; ``groups`` for a team;
    ``agent`` the engine's agent key (the person's id as text) for their own numbers."""

    kind: str
    groups: tuple[str, ...] = ()
    agent: str = ""

    def words(self) -> str:
        if self.kind == ALL:
            return "every ticket"
        if self.kind == TEAM:
            if not self.groups:
                return "no group of yours, so nothing to count"
            named = (
                ", ".join(self.groups[:-1]) + " and " + self.groups[-1]
                if len(self.groups) > 1
                else self.groups[0]
            )
            return f"what {named} counted (each count goes to the group the ticket was in at that moment)"
        return "your own numbers"


def groups_of(protocol: Protocol, role_ids: list[str]) -> tuple[str, ...]:
    """The groups a person with ``role_ids`` leads or works in (see the module's docstring)."""
    held = set(role_ids)
    led = {role.id for role in protocol.team.roles if role.reports_to in held} | held
    return tuple(group.id for group in protocol.team.groups if led & set(group.roles))


def report_scope(request) -> Scope:
    """The person's scope, or 403 when they may see no report at all."""
    held = request_permissions(request)
    protocol = request.protocol
    if protocol is None:
        raise PermissionDenied("No protocol is in force, so there are no KPIs to report yet.")
    if "reports.view" in held:
        if "people.manage" in held:
            return Scope(ALL)
        return Scope(TEAM, groups_of(protocol, request.user.role_ids))
    if "ticket.view" in held:
        return Scope(OWN, agent=str(request.user.pk))
    raise PermissionDenied("Your roles grant neither ticket.view nor reports.view.")


def require_schedule_manager(request) -> None:
    """The schedule page, previews and "send now" are for people who see every ticket's report
    (``reports.view`` and ``people.manage``): a scheduled report covers every ticket."""
    held = request_permissions(request)
    if request.protocol is None:
        raise PermissionDenied("No protocol is in force, so nothing is scheduled.")
    if not {"reports.view", "people.manage"} <= held:
        raise PermissionDenied("Your roles do not grant reports.view and people.manage.")
