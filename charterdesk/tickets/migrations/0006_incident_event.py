"""The ticket event history takes the SLA engine's `incident` event (a link to a critical incident
whose SLA policy applies while it lasts): a new choice of kind, no change to the table."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("tickets", "0005_fewer_indexes"),
    ]

    operations = [
        migrations.AlterField(
            model_name="ticketevent",
            name="kind",
            field=models.CharField(
                choices=[
                    ("created", "Created"),
                    ("reply", "Message"),
                    ("status", "Status changed"),
                    ("priority", "Priority changed"),
                    ("tags", "Tags changed"),
                    ("group", "Group changed"),
                    ("assignee", "Assigned"),
                    ("escalation", "Escalation rule fired"),
                    ("sla", "SLA"),
                    ("merge", "Merged"),
                    ("link", "Linked"),
                    ("procedure", "Procedure step"),
                    ("troubleshooting", "Troubleshooting"),
                    ("subject", "Subject changed"),
                    ("incident", "Incident link"),
                ],
                max_length=20,
            ),
        ),
    ]
