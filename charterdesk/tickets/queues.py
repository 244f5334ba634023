"""The agent's queues: the views, their counts, filters and sorting, and the SLA badges of a ticket.

A *view* is a named slice of the unsolved work (mine, unassigned in my groups, due soon,
breached, pending, all open) or of the solved tickets.

At scale (100,000 tickets and more) every view reads an index in queue order: "unsolved" is the
range ``queue_due < NOT_IN_QUEUE`` of the stored sort key ``Ticket.queue_due`` (see models.py),
so the first page is the first fifty entries of ``(queue_due, id)``, or of ``(assignee,
queue_due, id)`` for mine and unassigned, instead of a sort of every open ticket. The sidebar
counts the unsolved views with one aggregate over the open range of a covering index, and the
solved tickets from the status index; the counts are cached for :data:`COUNTS_FOR` per person,
and made again at once after any change made on the desk (every change writes the audit log,
whose entry count is part of the cache key).

Badges read the engine's stored answer (``Ticket.sla_state``) and count the time left in
*business* time of each cycle's own calendar, so "2h 10m left" on a Friday evening means two
working hours.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass, field

from django.core.cache import cache
from django.db import connection
from django.db.models import Case, Count, Exists, IntegerField, OuterRef, Q, Value, When

from charterdesk.audit.models import AuditHead
from charterdesk.engine.assignment import group_roles
from charterdesk.protocol.vocabulary import METRIC_LABELS, PRIORITY_RANK, STATUS_SHORT

from .choices import Status
from .lifecycle import QueueColumn, QueueFilter, all_answers, hooks
from .live_sla import engine_for, explain_stored
from .models import NOT_IN_QUEUE, Ticket, TicketTag

DUE_SOON = dt.timedelta(minutes=60)
PAGE_SIZE = 50
COUNTING_INDEX = "ticket_view_counts"  # (see models.py)
# How long the sidebar counts may be reused when nothing was changed on the desk meanwhile (time
# alone moves tickets into "due soon" and "breached").
COUNTS_FOR = 30

# What a queue row shows of a ticket: the wide columns (search_text above all) stay in the database.
LIST_COLUMNS = (
    "id",
    "subject",
    "status",
    "priority",
    "channel",
    "group",
    "tags",
    "updated_at",
    "next_due_at",
    "breached",
    "unverified_sender",
    "queue_due",
    "sla_state",
    "customer__name",
    "assignee__name",
    "protocol_version__updated_at",
)


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
    """The tickets of a view, written so that an index answers it in queue order.

    A merged ticket is closed, so no view (all are unsolved or solved tickets) can hold one.
    """
    unsolved = Q(queue_due__lt=NOT_IN_QUEUE)
    if slug == "mine":
        return unsolved & Q(assignee=person)
    if slug == "unassigned":
        return unsolved & Q(assignee__isnull=True, group__in=groups)
    if slug == "due-soon":
        # queue_due is the earliest open cycle's due time of an unsolved ticket (the stand-ins for
        # "no clock" and "not unsolved" are centuries away); one in the past is a breach.
        return Q(queue_due__gte=now, queue_due__lte=now + DUE_SOON, breached=False)
    if slug == "breached":
        return unsolved & (Q(breached=True) | Q(queue_due__lt=now))
    if slug == "pending":
        # Pending or on hold, written as "neither new nor open" so that SQLite walks the queue_due
        # index in order (status IN (...) would lead it to the status index and a sort).
        return unsolved & ~Q(status__in=(Status.NEW, Status.OPEN))
    if slug == "open":
        return unsolved
    if slug == "solved":
        return Q(status=Status.SOLVED)
    raise KeyError(slug)


def _key(slug: str) -> str:
    return slug.replace("-", "_")


def count_views(person, groups: list[str], now: dt.datetime) -> dict[str, int]:
    """Every view's count, from the database: two index-only queries, whatever the data's size."""
    unsolved = [v for v in VIEWS if v.slug != "solved"]
    aggregate = (
        Ticket.objects.filter(queue_due__lt=NOT_IN_QUEUE)
        .values(one=Value(1))  # one group: COUNT ... FILTER per view over the unsolved tickets
        .annotate(
            **{
                _key(v.slug): Count("pk", filter=view_condition(v.slug, person, groups, now))
                for v in unsolved
            }
        )
        .values(*(_key(v.slug) for v in unsolved))
        .order_by()
    )
    row = _from_counting_index(aggregate)
    counts = {v.slug: row[_key(v.slug)] if row else 0 for v in unsolved}
    counts["solved"] = Ticket.objects.filter(view_condition("solved", person, groups, now)).count()
    return {v.slug: counts[v.slug] for v in VIEWS}


def _from_counting_index(queryset) -> dict | None:
    """The one row of an aggregate over the unsolved tickets, read from the ``ticket_view_counts``
    index alone. SQLite, without statistics, would take the narrower ``(queue_due, id)`` index for
    the same range and then read every unsolved ticket's row (ten times slower at 100,000
    tickets), so there the index is named; other databases choose it themselves."""
    if connection.vendor != "sqlite":
        return next(iter(queryset), None)
    sql, params = queryset.query.get_compiler(connection=connection).as_sql()
    table = connection.ops.quote_name(Ticket._meta.db_table)
    head = f"FROM {table} "
    assert sql.count(head) == 1, sql
    sql = sql.replace(head, f"{head}INDEXED BY {connection.ops.quote_name(COUNTING_INDEX)} ")
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        names = [column[0] for column in cursor.description]
        found = cursor.fetchone()
    return dict(zip(names, found, strict=True)) if found else None


def view_counts(person, groups: list[str], now: dt.datetime) -> dict[str, int]:
    """Every view's count for the sidebar: at most :data:`COUNTS_FOR` seconds old, and made again
    as soon as anything has been changed on the desk (one query reads the audit log's length)."""
    changes = AuditHead.objects.values_list("count", flat=True).first() or 0
    key = f"desk:view-counts:{person.pk}:{changes}:{','.join(sorted(groups))}"
    counts = cache.get(key)
    if counts is None:
        counts = count_views(person, groups, now)
        cache.set(key, counts, COUNTS_FOR)
    return counts


def list_queryset():
    """Tickets with only what a queue row shows of them (the customer's and assignee's names)."""
    return Ticket.objects.select_related("customer", "assignee", "protocol_version").only(*LIST_COLUMNS)


# A filtered or searched view is counted up to this many tickets ("1,000+" beyond): a common word
# can match tens of thousands, and counting them all would cost more than finding the first page.
COUNT_UP_TO = 1000


@dataclass
class QueuePage:
    """One page of a view: the rows, and the page numbers around it (the total comes from the
    sidebar's count when no filter narrows the view, so it costs no query of its own)."""

    rows: list
    number: int
    count: int
    more: bool = False  # there are more than ``count`` tickets (a capped count)

    @property
    def num_pages(self) -> int:
        return max(1, -(-self.count // PAGE_SIZE))

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.more or self.number < self.num_pages

    @property
    def previous_page_number(self) -> int:
        return self.number - 1

    @property
    def next_page_number(self) -> int:
        return self.number + 1


def page_of(queryset, number: str | None, count: int | None = None) -> QueuePage:
    """The page ``number`` (1 when missing or not a number; the last one when beyond it).

    Without a known ``count`` the tickets are counted up to :data:`COUNT_UP_TO`, or up to the
    page asked for when it is deeper, so that the pager still knows whether a next page exists.
    """
    wanted = max(1, int(number)) if (number or "").isdigit() else 1
    more = False
    if count is None:
        up_to = max(COUNT_UP_TO, wanted * PAGE_SIZE)
        count = queryset.order_by()[: up_to + 1].count()
        if count > up_to:
            count, more = up_to, True
    page = QueuePage([], wanted, count, more)
    page.number = min(page.number, page.num_pages + (1 if more else 0))
    start = (page.number - 1) * PAGE_SIZE
    page.rows = list(queryset[start : start + PAGE_SIZE])
    return page


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
    # The families' filters that are set (``queue_filters``), each with its value.
    extra: tuple[tuple[QueueFilter, str], ...] = ()

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
        for family_filter, value in self.extra:
            queryset = family_filter.apply(queryset, value)
        if self.q:
            queryset = search(
                queryset, self.q, in_index_order=self.sort not in ("priority", "newest", "oldest", "updated")
            )
        return sort(queryset, self.sort)

    @property
    def active(self) -> bool:
        return any(
            (
                self.status,
                self.priority,
                self.group,
                self.assignee,
                self.tag,
                self.channel,
                self.q,
                self.extra,
            )
        )


def sort(queryset, key: str):
    if key == "priority":
        # Most urgent first: the reverse of the protocol's rank.
        rank = Case(
            *(When(priority=p, then=Value(-PRIORITY_RANK[p])) for p in PRIORITY_RANK),
            output_field=IntegerField(),
        )
        return queryset.annotate(_rank=rank).order_by("_rank", "queue_due", "pk")
    ordering = SORTS.get(key, SORTS["due"])[1]
    if ordering is None:
        # Unsolved tickets by next due time, those without a running clock after them: the order
        # of the (queue_due, id) indexes.
        return queryset.order_by("queue_due", "pk")
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
    explain = explain_stored(engine, metric, cycle)
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


# --------------------------------------------------------------------------- queue rows


def zone_of(person) -> dt.tzinfo:
    try:
        return zoneinfo.ZoneInfo(person.timezone or "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return dt.UTC


def when_long(moment: dt.datetime, zone: dt.tzinfo) -> str:
    """'Mon 9 Nov 2026, 12:39 EST' in ``zone`` (what the ``D j M Y, H:i T`` date format writes)."""
    local = moment.astimezone(zone)
    return f"{local:%a} {local.day} {local:%b %Y, %H:%M} {local.tzname()}"


def when_short(moment: dt.datetime, zone: dt.tzinfo) -> str:
    """'Nov 9, 12:39' in ``zone``."""
    local = moment.astimezone(zone)
    return f"{local:%b} {local.day}, {local:%H:%M}"


@dataclass(frozen=True)
class RowBadge:
    """A badge with its hover text (the engine's explanation, and the due time in the viewer's zone)."""

    badge: Badge
    title: str


def row_badges(ticket: Ticket, now: dt.datetime, zone: dt.tzinfo) -> list[RowBadge]:
    return [
        RowBadge(b, f"{b.explain} Due {when_long(b.due, zone)}." if b.due else b.explain)
        for b in badges(ticket, now)
    ]


@dataclass(frozen=True)
class QueueRow:
    """A queue row with everything it shows already worked out, so the template only writes it out
    (50 rows of date formatting, URL reversing and includes cost more than the queries)."""

    ticket: Ticket
    url: str
    status: str
    badges: list[RowBadge]
    updated_iso: str
    updated_long: str
    updated_short: str
    extra: list[str] = field(default_factory=list)  # the families' columns (``queue_columns``)


def family_columns(rows: list[QueueRow]) -> list[QueueColumn]:
    """The families' columns (``queue_columns``), each asked once for the whole page; every row
    gets its ``extra`` texts in the columns' order (— where a column has nothing)."""
    columns = all_answers(hooks.queue_columns())
    ids = [row.ticket.pk for row in rows]
    for column in columns:
        values = column.values(ids) if ids else {}
        for row in rows:
            row.extra.append(values.get(row.ticket.pk) or "—")
    return columns


def queue_rows(tickets, now: dt.datetime, person, ticket_url) -> list[QueueRow]:
    """``ticket_url(pk)`` is the ticket page's address."""
    zone = zone_of(person)
    return [
        QueueRow(
            ticket=t,
            url=ticket_url(t.pk),
            status=STATUS_SHORT[t.status],
            badges=row_badges(t, now, zone),
            updated_iso=t.updated_at.astimezone(zone).isoformat(),
            updated_long=when_long(t.updated_at, zone),
            updated_short=when_short(t.updated_at, zone),
        )
        for t in tickets
    ]
