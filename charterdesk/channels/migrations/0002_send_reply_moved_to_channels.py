"""Sending replies moved from tickets to the channels (the ticket domain no longer knows how mail
is delivered). Replies queued before an upgrade, and their retries, name the old task path;
they are pointed at the new one so that none is lost."""

from django.db import migrations

OLD = "charterdesk.tickets.tasks.send_reply"
NEW = "charterdesk.channels.tasks.send_reply"


def forward(apps, schema_editor):
    DBTaskResult = apps.get_model("django_tasks_database", "DBTaskResult")
    DBTaskResult.objects.filter(task_path=OLD).update(task_path=NEW)


def backward(apps, schema_editor):
    DBTaskResult = apps.get_model("django_tasks_database", "DBTaskResult")
    DBTaskResult.objects.filter(task_path=NEW).update(task_path=OLD)


class Migration(migrations.Migration):
    dependencies = [
        ("channels", "0001_initial"),
        ("django_tasks_database", "0021_conditional_partial_index_ordering"),
    ]

    operations = [migrations.RunPython(forward, backward)]
