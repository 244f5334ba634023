"""Full-text search over tickets.search_text: FTS5 on SQLite, a GIN index on PostgreSQL.

Other databases get nothing here; charterdesk.tickets.search falls back to substring matching.
"""

from django.db import migrations


def create_index(apps, schema_editor):
    from charterdesk.tickets.search import ensure_search_index

    ensure_search_index(schema_editor.connection)


def drop_index(apps, schema_editor):
    from charterdesk.tickets.search import drop_search_index

    drop_search_index(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("tickets", "0001_initial")]

    operations = [migrations.RunPython(create_index, drop_index, elidable=False)]
