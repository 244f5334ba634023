"""Five foreign keys lose their own index: each is the first column of another index already (the
(ticket, at, id) index of events, (ticket, created_at) of messages, (customer, created_at) and
(assignee, ...) of tickets, the (ticket, tag) unique constraint of tags), which serves the same
lookups. One index fewer is one write fewer for every row.

Only the indexes are dropped: the state change alone (AlterField) would make SQLite copy each whole
table into a new one, which drops the full-text index's triggers with the old table.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

KEYS = [
    ("message", "ticket_id"),
    ("ticket", "assignee_id"),
    ("ticket", "customer_id"),
    ("ticketevent", "ticket_id"),
    ("tickettag", "ticket_id"),
]


def _single_column_indexes(schema_editor, table: str, column: str) -> list[str]:
    with schema_editor.connection.cursor() as cursor:
        constraints = schema_editor.connection.introspection.get_constraints(cursor, table)
    return [
        name
        for name, c in constraints.items()
        if c["index"] and not c["unique"] and not c["primary_key"] and c["columns"] == [column]
    ]


def drop_indexes(apps, schema_editor):
    for model_name, column in KEYS:
        table = apps.get_model("tickets", model_name)._meta.db_table
        for name in _single_column_indexes(schema_editor, table, column):
            schema_editor.execute(f"DROP INDEX {schema_editor.quote_name(name)}")


def make_indexes(apps, schema_editor):
    for model_name, column in KEYS:
        model = apps.get_model("tickets", model_name)
        if _single_column_indexes(schema_editor, model._meta.db_table, column):
            continue
        field = next(f for f in model._meta.local_fields if f.column == column)
        schema_editor.execute(schema_editor._create_index_sql(model, fields=[field]))


class Migration(migrations.Migration):
    dependencies = [
        ("tickets", "0004_queue_due"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(drop_indexes, make_indexes)],
            state_operations=[
                migrations.AlterField(
                    model_name="message",
                    name="ticket",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="messages",
                        to="tickets.ticket",
                    ),
                ),
                migrations.AlterField(
                    model_name="ticket",
                    name="assignee",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="assigned_tickets",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                migrations.AlterField(
                    model_name="ticket",
                    name="customer",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="tickets",
                        to="tickets.customer",
                    ),
                ),
                migrations.AlterField(
                    model_name="ticketevent",
                    name="ticket",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="events",
                        to="tickets.ticket",
                    ),
                ),
                migrations.AlterField(
                    model_name="tickettag",
                    name="ticket",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="tag_rows",
                        to="tickets.ticket",
                    ),
                ),
            ],
        )
    ]
