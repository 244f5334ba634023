"""The agent's queues: the views, their counts, filters and sorting, and the SLA badges of a ticket.

A *view* is a named slice of the unsolved work (mine, unassigned in my groups, due soon,
breached, pending, all open) or of the solved tickets. The sidebar counts all of them with one
aggregate query. Badges read the engine's stored answer (``Ticket.sla_state``) and count the
time left in *business* time of each cycle's own calendar, so "2h 10m left" on a Friday
evening means two working hours.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Case, Count, Exists, F, IntegerField, OuterRef, Q, Value, When

from charterdesk.engine.assignment import group_roles

from .choices import UNSOLVED, Status
from .models import Ticket, TicketTag
from .sla import engine_for

DUE_SOON = dt.timedelta(minutes=60)
PAGE_SIZE = 50

METRIC_LABELS = {
    "first_response": "First response",
    "next_response": "Next response",
    "periodic_update": "Update",
    "resolution": "Resolution",
}


@dataclass(frozen=True)
class QueueView:
    slug: str
    title: str
    help: str


VIEWS = (
    QueueView("mine", "Mine", "Unsolved tickets assigned to you"),
    QueueView("unassigned", "Unassigned", "Unsolved tickets nobody has, in the groups your roles belong to"),
    QueueView("due-soon", "Due soon", "An open clock is due within the next 60 minutes and not yet breached"),
    QueueView("breached", "Breached", "An open clock is past its due time"),
    QueueView("pending", "Pending", "Waiting on the customer or a third party"),
    QueueView("open", "All open", "Every unsolved ticket"),
    QueueView("solved", "Solved", "Solved, not yet closed"),
)
VIEWS_BY_SLUG = {v.slug: v for v in VIEWS}

SORTS = {
    "due": ("Next due time", None),
    "priority": ("Priority, then due time", None),
    "newest": ("Newest first", ("-created_at", "-pk")),
    "oldest": ("Oldest first", ("created_at", "pk")),
    "updated": ("Recently updated", ("-updated_at", "-pk")),
}


def my_groups(protocol, person) -> list[str]:
    """The protocol groups whose roles include one of the person's roles."""
    if protocol is None:
        return []
    held = set(person.role_ids)
    return [g.id for g in protocol.team.groups if held.intersection(group_roles(protocol, g.id))]


def view_condition(slug: str, person, groups: list[str], now: dt.datetime) -> Q:
    unsolved = Q(status__in=UNSOLVED)
    if slug == "mine":
        return unsolved & Q(assignee=person)
    if slug == "unassigned":
        return unsolved & Q(assignee__isnull=True, group__in=groups)
    if slug == "due-soon":
        # next_due_at is the earliest open cycle's due time; one in the past is a breach.
        return unsolved & Q(next_due_at__gte=now, next_due_at__lte=now + DUE_SOON, breached=False)
    if slug == "breached":
        return unsolved & (Q(breached=True) | Q(next_due_at__lt=now))
    if slug == "pending":
        return Q(status__in=(Status.PENDING, Status.ON_HOLD))
    if slug == "open":
        return unsolved
    if slug == "solved":
        return Q(status=Status.SOLVED)
    raise KeyError(slug)


def view_counts(person, groups: list[str], now: dt.datetime) -> dict[str, int]:
    """Every view's count in one aggregate query."""
    aggregates = {
        v.slug.replace("-", "_"): Count("pk", filter=view_condition(v.slug, person, groups, now))
        for v in VIEWS
    }
    row = Ticket.objects.filter(merged_into__isnull=True).aggregate(**aggregates)
    return {v.slug: row[v.slug.replace("-", "_")] for v in VIEWS}


@dataclass
class Filters:
    status: str = ""
    priority: str = ""
    group: str = ""
    assignee: str = ""  # a person id, or "none"
    tag: str = ""
    channel: str = ""
    q: str = ""
    sort: str = "due"

    def apply(self, queryset):
        from .search import search

        if self.status:
            queryset = queryset.filter(status=self.status)
        if self.priority:
            queryset = queryset.filter(priority=self.priority)
        if self.group:
            queryset = queryset.filter(group="" if self.group == "none" else self.group)
        if self.assignee == "none":
            queryset = queryset.filter(assignee__isnull=True)
        elif self.assignee:
            queryset = queryset.filter(assignee_id=self.assignee)
        if self.tag:
            queryset = queryset.filter(
                Exists(TicketTag.objects.filter(ticket=OuterRef("pk"), tag=self.tag.strip().lower()))
            )
        if self.channel:
            queryset = queryset.filter(channel=self.channel)
        if self.q:
            queryset = search(queryset, self.q)
        return sort(queryset, self.sort)

    @property
    def active(self) -> bool:
        return any((self.status, self.priority, self.group, self.assignee, self.tag, self.channel, self.q))


def sort(queryset, key: str):
    if key == "priority":
        rank = Case(
            When(priority="urgent", then=Value(0)),
            When(priority="high", then=Value(1)),
            When(priority="normal", then=Value(2)),
            default=Value(3),
            output_field=IntegerField(),
        )
        return queryset.annotate(_rank=rank).order_by("_rank", F("next_due_at").asc(nulls_last=True), "pk")
    ordering = SORTS.get(key, SORTS["due"])[1]
    if ordering is None:
        return queryset.order_by(F("next_due_at").asc(nulls_last=True), "pk")
    return queryset.order_by(*ordering)


# --------------------------------------------------------------------------- SLA badges


@dataclass(frozen=True)
class Badge:
    metric: str
    label: str
    state: str  # running | soon | breached | paused | achieved | missed
    text: str
    explain: str
    due: dt.datetime | None

    @property
    def css(self) -> str:
        return f"sla sla-{self.state}"


def duration_words(seconds: int) -> str:
    """'2h 10m', '3d 4h', '45m', 'under 1m'."""
    minutes = max(0, seconds) // 60
    if minutes < 1:
        return "under 1m"
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h" if hours else f"{days}d"
    if hours:
        return f"{hours}h {mins}m" if mins else f"{hours}h"
    return f"{mins}m"


def badges(ticket: Ticket, now: dt.datetime, *, include_done: bool = False) -> list[Badge]:
    """One badge per clock of the ticket: the open ones, and (``include_done``) each metric's last outcome."""
    state = ticket.sla_state or {}
    metrics = state.get("metrics") or {}
    if not metrics:
        return []
    engine = engine_for(ticket.protocol_version)
    now_s = int(now.timestamp())
    found = []
    for metric, cycles in metrics.items():
        if not cycles:
            continue
        label = METRIC_LABELS.get(metric, metric)
        open_cycles = [c for c in cycles if c.get("fulfilled") is None and c.get("target")]
        chosen = (
            open_cycles
            if open_cycles
            else ([cycles[-1]] if include_done and cycles[-1].get("target") else [])
        )
        for cycle in chosen:
            found.append(_badge(metric, label, cycle, engine, now_s, ticket.is_unsolved))
    order = list(METRIC_LABELS)
    found.sort(key=lambda b: order.index(b.metric) if b.metric in order else 99)
    return found


def _badge(metric: str, label: str, cycle: dict, engine, now_s: int, unsolved: bool) -> Badge:
    explain = cycle.get("explain") or ""
    due_s = cycle.get("due")
    due = dt.datetime.fromtimestamp(due_s, tz=dt.UTC) if due_s is not None else None
    fulfilled = cycle.get("fulfilled")
    if fulfilled is not None:
        missed = cycle.get("breached")
        return Badge(
            metric, label, "missed" if missed else "achieved", "missed" if missed else "met", explain, due
        )
    if due_s is None:
        text = "paused" if cycle.get("paused") or unsolved else "stopped"
        return Badge(metric, label, "paused", text, explain, None)
    if due_s <= now_s:
        return Badge(metric, label, "breached", f"breached {duration_words(now_s - due_s)} ago", explain, due)
    calendar_id = cycle.get("calendar")
    left = (
        engine.calendars[calendar_id].between_seconds(now_s, due_s)
        if calendar_id in engine.calendars
        else due_s - now_s
    )
    state = "soon" if due_s - now_s <= DUE_SOON.total_seconds() else "running"
    return Badge(metric, label, state, f"{duration_words(left)} left", explain, due)
