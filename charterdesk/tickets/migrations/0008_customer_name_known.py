from django.db import migrations, models


def known_names(apps, schema_editor):
    """A name that is not the address's local part, the phone number or "Customer" was given by
    someone (a display name, a form, an agent): treat it as known."""
    Customer = apps.get_model("tickets", "Customer")
    for customer in Customer.objects.only("pk", "name", "email", "phone").iterator():
        name = (customer.name or "").strip()
        local = (customer.email or "").split("@")[0]
        if name and name not in (local, customer.phone, "Customer"):
            Customer.objects.filter(pk=customer.pk).update(name_known=True)


class Migration(migrations.Migration):
    dependencies = [("tickets", "0007_incident_event")]

    operations = [
        migrations.AddField(
            model_name="customer", name="name_known", field=models.BooleanField(default=False)
        ),
        migrations.RunPython(known_names, migrations.RunPython.noop),
    ]
