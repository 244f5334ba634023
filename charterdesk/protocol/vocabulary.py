"""The protocol format's fixed words, and how the desk names them: one home for every page,
mail, report and handbook (the Django side builds its choices from these).

Plain Python with no Django, so the handbook renderer and the engines use it too.
"""

from __future__ import annotations

# Priorities from lowest to highest, and each one's rank in that order.
PRIORITIES: tuple[str, ...] = ("low", "normal", "high", "urgent")
PRIORITY_RANK: dict[str, int] = {p: n for n, p in enumerate(PRIORITIES)}

# Statuses in a ticket's life, with the short label a queue or badge shows.
STATUS_SHORT: dict[str, str] = {
    "new": "New",
    "open": "Open",
    "pending": "Pending",
    "on_hold": "On hold",
    "solved": "Solved",
    "closed": "Closed",
}
# ...and the longer label a menu shows where the short one would leave a reader guessing.
STATUS_LABELS: dict[str, str] = {
    **STATUS_SHORT,
    "pending": "Pending (waiting on the customer)",
    "on_hold": "On hold (waiting on a third party)",
}

# The SLA metrics in the protocol's order: the words inside a sentence ("missed its first
# response target") and the label of a badge ("First response").
METRICS: tuple[str, ...] = ("first_response", "next_response", "periodic_update", "resolution")
METRIC_WORDS: dict[str, str] = {
    "first_response": "first response",
    "next_response": "next response",
    "periodic_update": "periodic update",
    "resolution": "resolution",
}
METRIC_LABELS: dict[str, str] = {
    "first_response": "First response",
    "next_response": "Next response",
    "periodic_update": "Update",
    "resolution": "Resolution",
}
