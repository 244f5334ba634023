"""Who gets a new ticket: routing to a group and assignment inside it (protocol `resolution.handling`).

Pure: the desk passes in the candidates with their open-ticket counts and who had the last
ticket; nothing here reads the database or the clock.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from charterdesk.protocol.models import Protocol


@dataclass(frozen=True, slots=True)
class Candidate:
    person_id: int
    open_tickets: int
    away: bool = False


def route_group(protocol: Protocol, channel: str) -> str | None:
    """The first group of the protocol that serves ``channel``; None when no group names it."""
    for group in protocol.team.groups:
        if channel in group.channels:
            return group.id
    return None


def group_roles(protocol: Protocol, group_id: str | None) -> list[str]:
    for group in protocol.team.groups:
        if group.id == group_id:
            return list(group.roles)
    return []


def choose_assignee(method: str, candidates: Sequence[Candidate], last_assigned: int | None) -> int | None:
    """The person to assign, or None (manual assignment, or nobody available).

    People who are away are skipped. ``round_robin`` takes the next person by id after the one
    who had the last ticket of the group; ``least_open`` the person with the fewest unsolved
    tickets, the lowest id breaking ties, so that the choice is the same on every worker.
    """
    available = sorted((c for c in candidates if not c.away), key=lambda c: c.person_id)
    if method == "manual" or not available:
        return None
    if method == "least_open":
        return min(available, key=lambda c: (c.open_tickets, c.person_id)).person_id
    if method == "round_robin":
        for candidate in available:
            if last_assigned is None or candidate.person_id > last_assigned:
                return candidate.person_id
        return available[0].person_id
    raise ValueError(f"unknown assignment method {method!r}")
