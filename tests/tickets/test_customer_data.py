"""One rule for a customer's contact details on the desk's pages: customer.view, and a role listed
in privacy.access.customer_data when the protocol lists any; others see a masked name only."""

from __future__ import annotations

import pytest
import yaml
from django.urls import reverse

from charterdesk.core.permissions import masked_name, sees_customer_contact
from charterdesk.library.versions import protocol_of, version_in_force
from charterdesk.tickets.actions import do_create_ticket, do_find_or_create_customer


@pytest.fixture
def ticket(demo):
    customer = do_find_or_create_customer(
        email="jo.walker@example.com", name="Jo Walker", phone="+44 20 7946 0018"
    )
    return do_create_ticket(customer=customer, subject="Tent", body="Broken pole", channel="email")


def test_the_rule_follows_customer_view_and_the_privacy_list(demo, example_source):
    """In the example, agents, leads and managers hold customer.view and are listed: all see; a
    protocol listing only managers hides contact details from the others."""
    protocol = protocol_of(version_in_force())
    assert all(sees_customer_contact(demo[r], protocol) for r in ("agent", "lead", "manager"))
    data = yaml.safe_load(example_source)
    data["privacy"]["access"]["customer_data"] = ["manager"]
    from charterdesk.protocol.models import Protocol

    only_managers = Protocol.model_validate(data)
    assert sees_customer_contact(demo["manager"], only_managers)
    assert not sees_customer_contact(demo["agent"], only_managers)
    assert masked_name("Jo Walker") == "Jo W." and masked_name("Jo") == "Jo" and masked_name("") == "Customer"


def test_without_access_the_pages_show_a_masked_name_and_no_email_or_phone(
    signed_in, demo, ticket, monkeypatch
):
    """An agent whose roles are not listed sees 'Jo W.' on the ticket and in the queue, and neither
    the email nor the phone; a listed one sees them."""
    from charterdesk.tickets import access, views

    page = signed_in("agent").get(reverse("tickets:ticket", args=[ticket.pk])).content.decode()
    assert "walker@" in page and "+44 20 7946 0018" in page
    monkeypatch.setattr(views, "sees_customer_contact", lambda person, protocol: False)
    monkeypatch.setattr(access, "sees_customer_contact", lambda person, protocol: False)
    agent = signed_in("agent")
    page = agent.get(reverse("tickets:ticket", args=[ticket.pk])).content.decode()
    assert "walker@" not in page and "+44 20 7946 0018" not in page and "Jo Walker" not in page
    assert "Jo W." in page
    queue = agent.get(reverse("tickets:queue")).content.decode()
    assert "Jo W." in queue and "Jo Walker" not in queue


def test_the_email_panel_names_the_customer_address_only_to_those_who_see_contact_details(
    client, demo, example_source, ticket
):
    """With customer data for managers only, the agent's 'Email and calls' card says the receipt went
    'to the customer', without jo.walker@example.com; the manager's card shows the address."""
    import datetime as dt

    from django.utils import timezone

    from charterdesk.channels.models import OutboundMail
    from charterdesk.library.actions import do_create_draft, do_publish
    from tests.shared import DEMO_SINCE

    text = example_source.replace("customer_data: [agent, lead, manager]", "customer_data: [manager]", 1)
    since = DEMO_SINCE + dt.timedelta(days=1)
    draft = do_create_draft(text.replace('version: "3.2"', 'version: "3.3"', 1), actor=demo["manager"])
    do_publish(draft, actor=demo["manager"], effective_at=since, now=since)
    OutboundMail.objects.create(
        ticket=ticket,
        kind="receipt",
        message_id="<r1@acme.example>",
        to_address=ticket.customer.email,
        created_at=timezone.now(),
    )
    client.force_login(demo["agent"])
    page = client.get(reverse("tickets:ticket", args=[ticket.pk])).content.decode()
    assert "automatic receipt to the customer" in page and "walker@" not in page
    client.force_login(demo["manager"])
    page = client.get(reverse("tickets:ticket", args=[ticket.pk])).content.decode()
    assert "automatic receipt to jo.walker@example.com" in page
