"""The queue's sort key ``Ticket.queue_due`` (a stored column the database computes) and the indexes
that give each queue view's first page, and the sidebar counts, straight from an index.

On SQLite adding a stored generated column rebuilds the table, which drops the full-text
triggers of ``0002_search``: they are made again (and the index refilled) at the end.
"""

import datetime

import django.db.models.functions.comparison
from django.conf import settings
from django.db import migrations, models


def restore_search_index(apps, schema_editor):
    from charterdesk.tickets.search import ensure_search_index

    ensure_search_index(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [
        ("protocols", "0002_withdrawn_status"),
        ("tickets", "0003_lease"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="ticket",
            name="queue_due",
            field=models.GeneratedField(
                db_persist=True,
                expression=models.Case(
                    models.When(
                        status__in=("new", "open", "pending", "on_hold"),
                        then=django.db.models.functions.comparison.Coalesce(
                            "next_due_at",
                            models.Value(datetime.datetime(9000, 1, 1, 0, 0, tzinfo=datetime.UTC)),
                        ),
                    ),
                    default=models.Value(datetime.datetime(9999, 1, 1, 0, 0, tzinfo=datetime.UTC)),
                ),
                output_field=models.DateTimeField(),
            ),
        ),
        migrations.AddIndex(
            model_name="ticket",
            index=models.Index(fields=["queue_due", "id"], name="ticket_queue_due"),
        ),
        migrations.AddIndex(
            model_name="ticket",
            index=models.Index(fields=["assignee", "queue_due", "id"], name="ticket_assignee_due"),
        ),
        migrations.AddIndex(
            model_name="ticket",
            index=models.Index(fields=["group", "queue_due", "id"], name="ticket_group_due"),
        ),
        migrations.AddIndex(
            model_name="ticket",
            index=models.Index(
                fields=["queue_due", "status", "assignee", "group", "breached"], name="ticket_view_counts"
            ),
        ),
        migrations.RunPython(restore_search_index, migrations.RunPython.noop, elidable=False),
    ]
