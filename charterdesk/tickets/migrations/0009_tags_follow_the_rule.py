"""Tags stored before the one tag rule held on every path (the API took "bad tag") are repaired:
spaces and commas become hyphens, the tag is cut to 64 characters, and the ticket's tag rows and the
tag names in its SLA history (created and tags events, which the engine reads back) say the same."""

from django.db import migrations

from charterdesk.protocol.tags import normal_tag, repaired_tag, tag_problem


def _fixed(tags) -> list[str]:
    return sorted({repaired_tag(t) for t in tags if isinstance(t, str) and repaired_tag(t)})


def _breaks_rule(tag) -> bool:
    return not isinstance(tag, str) or tag != normal_tag(tag) or tag_problem(tag) is not None


def repair_tags(apps, schema_editor):
    Ticket = apps.get_model("tickets", "Ticket")
    TicketTag = apps.get_model("tickets", "TicketTag")
    TicketEvent = apps.get_model("tickets", "TicketEvent")
    # Only tickets with a tag that breaks the rule are read; a desk of clean tags costs one query.
    bad = [t for t in TicketTag.objects.values_list("tag", flat=True).distinct() if _breaks_rule(t)]
    ids = set(TicketTag.objects.filter(tag__in=bad).values_list("ticket_id", flat=True))
    for ticket in Ticket.objects.filter(pk__in=ids).only("pk", "tags"):
        wanted = _fixed(ticket.tags)
        Ticket.objects.filter(pk=ticket.pk).update(tags=wanted)
        TicketTag.objects.filter(ticket_id=ticket.pk).delete()
        TicketTag.objects.bulk_create([TicketTag(ticket_id=ticket.pk, tag=t) for t in wanted])
        for event in TicketEvent.objects.filter(ticket_id=ticket.pk, kind__in=("created", "tags")):
            data = dict(event.data or {})
            for key in ("tags", "add", "remove"):
                if isinstance(data.get(key), list):
                    data[key] = _fixed(data[key])
            if data != event.data:
                TicketEvent.objects.filter(pk=event.pk).update(data=data)


class Migration(migrations.Migration):
    dependencies = [
        ("tickets", "0008_customer_name_known"),
    ]

    operations = [migrations.RunPython(repair_tags, migrations.RunPython.noop)]
