"""Cursor pagination: an opaque cursor names the last row a page showed, by its sort key and id.

Keyset pagination, not offsets: a page costs the same however deep it is, and rows added or
removed while a client walks the pages do not shift the rest (a row whose sort key changes
meanwhile, such as a ticket's next due time, may move to a page already read or still ahead).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import re
from dataclasses import dataclass

from django.db.models import F, Q, QuerySet

from .errors import invalid, not_found

# What a cursor is made of (base64url without padding): anything else is not a cursor at all (422);
# a cursor made of these that names no page of the list (a damaged one, or another sort's) is 404.
PATTERN = r"^[A-Za-z0-9_-]*$"


@dataclass(frozen=True)
class Order:
    """Rows in order of ``field`` (then id), ascending or descending; ``nullable`` ones sort last."""

    name: str
    field: str
    descending: bool = False
    nullable: bool = False
    value_type: type = dt.datetime  # what the field holds, so that a cursor's value can be checked

    def apply(self, queryset: QuerySet) -> QuerySet:
        expression = F(self.field).desc() if self.descending else F(self.field).asc(nulls_last=True)
        return queryset.order_by(expression, "-id" if self.descending else "id")

    def after(self, queryset: QuerySet, value, pk: int) -> QuerySet:
        """The rows after (value, pk) in this order."""
        f = self.field
        if value is None:
            return queryset.filter(**{f"{f}__isnull": True, "id__gt": pk})
        if self.descending:
            condition = Q(**{f"{f}__lt": value}) | Q(**{f: value, "id__lt": pk})
        else:
            condition = Q(**{f"{f}__gt": value}) | Q(**{f: value, "id__gt": pk})
            if self.nullable:
                condition |= Q(**{f"{f}__isnull": True})
        return queryset.filter(condition)


def _dump(value) -> object:
    if isinstance(value, dt.datetime):
        return {"t": value.isoformat()}
    return value


def _load(value) -> object:
    if isinstance(value, dict):
        return dt.datetime.fromisoformat(value["t"])
    return value


def encode(order: Order, row) -> str:
    raw = json.dumps([order.name, _dump(getattr(row, order.field)), row.pk], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode(order: Order, cursor: str) -> tuple[object, int]:
    if not re.fullmatch(PATTERN, cursor):
        raise invalid("cursor", "this cursor is not valid; start again from the first page without one")
    bad = not_found("cursor", "no page has this cursor; start again from the first page without one")
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        name, value, pk = json.loads(raw)
        value = _load(value)
    except (binascii.Error, ValueError, TypeError, KeyError, UnicodeDecodeError):
        raise bad from None
    if name != order.name:
        raise not_found("cursor", f"this cursor belongs to sort={name}; use the same sort on every page")
    if not isinstance(pk, int) or isinstance(pk, bool):
        raise bad
    if value is None and not order.nullable:
        raise bad
    if value is not None and not isinstance(value, order.value_type):
        raise bad
    if isinstance(value, dt.datetime) and value.tzinfo is None:
        raise bad
    return value, pk


@dataclass
class Page:
    rows: list
    next_cursor: str | None


def paginate(queryset: QuerySet, order: Order, cursor: str | None, limit: int) -> Page:
    queryset = order.apply(queryset)
    if cursor:
        value, pk = decode(order, cursor)
        queryset = order.after(queryset, value, pk)
    rows = list(queryset[: limit + 1])
    if len(rows) > limit:
        rows = rows[:limit]
        return Page(rows, encode(order, rows[-1]))
    return Page(rows, None)


def next_link(request, cursor: str | None) -> str | None:
    """The URL of the next page: this request's query with the new cursor."""
    if cursor is None:
        return None
    query = request.GET.copy()
    query["cursor"] = cursor
    return request.build_absolute_uri(f"{request.path}?{query.urlencode()}")
