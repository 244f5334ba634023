"""Text search over tickets (subject, messages and customer, kept in ``Ticket.search_text`` by the actions).

One function, :func:`search`, narrows a ticket queryset to the tickets matching what an agent
typed. Each database answers with its own full-text index:

- SQLite: an external-content FTS5 table ``tickets_ticket_fts`` over ``search_text``, kept in
  step by triggers (created by migration ``0002_search``; :func:`ensure_search_index` makes it
  again, idempotently, should a table rebuild have dropped the triggers).
- PostgreSQL: a GIN index on ``to_tsvector('simple', search_text)``, queried with
  ``websearch_to_tsquery`` (so quotes and ``-word`` work as people expect from web search).
- Anything else: a case-insensitive substring match on every word.
"""

from __future__ import annotations

import re

from django.db import connection
from django.db.models import BooleanField, Q, QuerySet
from django.db.models.expressions import RawSQL

FTS_TABLE = "tickets_ticket_fts"
PG_INDEX = "ticket_search_text_gin"

_WORD = re.compile(r"\w[\w@.+'-]*", re.UNICODE)

_DELETE_OLD = (
    f"INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, search_text) VALUES ('delete', old.id, old.search_text); "
)
SQLITE_CREATE = [
    f"CREATE VIRTUAL TABLE IF NOT EXISTS {FTS_TABLE} USING fts5("
    "search_text, content='tickets_ticket', content_rowid='id', tokenize='unicode61 remove_diacritics 2')",
    f"CREATE TRIGGER IF NOT EXISTS {FTS_TABLE}_ai AFTER INSERT ON tickets_ticket BEGIN "
    f"INSERT INTO {FTS_TABLE}(rowid, search_text) VALUES (new.id, new.search_text); END",
    f"CREATE TRIGGER IF NOT EXISTS {FTS_TABLE}_ad AFTER DELETE ON tickets_ticket BEGIN {_DELETE_OLD}END",
    f"CREATE TRIGGER IF NOT EXISTS {FTS_TABLE}_au AFTER UPDATE OF search_text ON tickets_ticket BEGIN "
    f"{_DELETE_OLD}INSERT INTO {FTS_TABLE}(rowid, search_text) VALUES (new.id, new.search_text); END",
]
SQLITE_DROP = [
    f"DROP TRIGGER IF EXISTS {FTS_TABLE}_ai",
    f"DROP TRIGGER IF EXISTS {FTS_TABLE}_ad",
    f"DROP TRIGGER IF EXISTS {FTS_TABLE}_au",
    f"DROP TABLE IF EXISTS {FTS_TABLE}",
]
PG_CREATE = [
    f"CREATE INDEX IF NOT EXISTS {PG_INDEX} ON tickets_ticket USING GIN (to_tsvector('simple', search_text))",
]
PG_DROP = [f"DROP INDEX IF EXISTS {PG_INDEX}"]


def words(text: str) -> list[str]:
    """The words of a query, as the index sees them (punctuation between words is dropped)."""
    return _WORD.findall(text or "")


def fts5_query(text: str) -> str:
    """An FTS5 MATCH expression: every word must occur; the last one may be a prefix.

    Each word is quoted, so that FTS5 operators typed by an agent (AND, NEAR, ``*``, ``:``)
    are searched for as text instead of raising a syntax error.
    """
    found = words(text)
    parts = ['"' + w.replace('"', '""') + '"' for w in found]
    if parts:
        parts[-1] += "*"
    return " ".join(parts)


def _sqlite_ready(schema_connection) -> bool:
    with schema_connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM sqlite_master WHERE name IN (%s, %s, %s, %s)",
            [FTS_TABLE, f"{FTS_TABLE}_ai", f"{FTS_TABLE}_ad", f"{FTS_TABLE}_au"],
        )
        return cursor.fetchone()[0] == 4


def ensure_search_index(schema_connection=None) -> bool:
    """Create the full-text index for the database in use when it is missing; True if it was made.

    Safe to run at any time (migrations run it; so may a ``post_migrate`` hook). On SQLite a
    missing trigger means the table was rebuilt by a later migration, so the index is filled
    again from the tickets.
    """
    schema_connection = schema_connection or connection
    vendor = schema_connection.vendor
    if vendor == "sqlite":
        if _sqlite_ready(schema_connection):
            return False
        with schema_connection.cursor() as cursor:
            for statement in SQLITE_CREATE:
                cursor.execute(statement)
            cursor.execute(f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES ('rebuild')")
        return True
    if vendor == "postgresql":
        with schema_connection.cursor() as cursor:
            for statement in PG_CREATE:
                cursor.execute(statement)
        return True
    return False


def compact_search_index() -> None:
    """Merge the SQLite full-text index's segments, so that words taken out of ``search_text``
    (secrets masked afterwards) leave the index's own tables too. PostgreSQL's index is rebuilt
    from the column as rows change and needs nothing."""
    if connection.vendor == "sqlite" and _sqlite_ready(connection):
        with connection.cursor() as cursor:
            cursor.execute(f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES ('optimize')")


def drop_search_index(schema_connection=None) -> None:
    schema_connection = schema_connection or connection
    statements = {"sqlite": SQLITE_DROP, "postgresql": PG_DROP}.get(schema_connection.vendor, [])
    with schema_connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)


ADDRESS_NEEDS_CONTACT = "searching by an email address needs access to customer data"
"""Why a search is refused to someone without access to customer data: tickets found by a customer's
email address would tell them whose address it is, which the customer-data rule hides from them."""


def names_an_address(text: str) -> bool:
    """Whether a search holds an email address (or a part of one with its @)."""
    return "@" in (text or "")


def search(queryset: QuerySet, text: str, *, in_index_order: bool = False) -> QuerySet:
    """``queryset`` narrowed to the tickets whose subject, messages or customer match ``text``.

    ``#42`` finds ticket 42 and nothing else; a bare ``42`` finds that ticket as well as the
    tickets whose text has the number (an order number, say).

    ``in_index_order``: the caller sorts by an index that also answers its other conditions (the
    queue's ``queue_due`` order). On SQLite the matches are then only probed while that index is
    walked in order (``+id`` keeps SQLite from looking every matching ticket up by id instead),
    so a common word costs the first page's fifty entries of the index, not a read and a sort of
    every matching ticket (a few thousand wide rows); a rare word costs one pass over the index.
    """
    text = (text or "").strip()
    if not text:
        return queryset
    reference = re.fullmatch(r"#?(\d{1,12})", text)
    if reference and text.startswith("#"):
        return queryset.filter(pk=int(reference.group(1)))
    vendor = connection.vendor
    if vendor == "sqlite":
        query = fts5_query(text)
        matches = f"SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH %s"
        if not query:
            condition = Q(pk__in=[])
        elif in_index_order:
            table = queryset.model._meta.db_table
            condition = Q(RawSQL(f'+"{table}"."id" IN ({matches})', [query], output_field=BooleanField()))
        else:
            condition = Q(pk__in=RawSQL(matches, [query]))
    elif vendor == "postgresql":
        condition = Q(
            RawSQL(
                "to_tsvector('simple', tickets_ticket.search_text) @@ websearch_to_tsquery('simple', %s)",
                [text],
                output_field=BooleanField(),
            )
        )
    else:
        condition = Q()
        for word in words(text) or [text]:
            condition &= Q(search_text__icontains=word)
    if reference:
        condition |= Q(pk=int(reference.group(1)))
    return queryset.filter(condition)
