"""One tag rule for every path that writes tags: pages, the API, email, escalation actions and the
protocol; tags stored before the rule held are repaired by a migration."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps

from charterdesk.protocol.load import load_protocol
from charterdesk.protocol.tags import repaired_tag, tag_problem
from charterdesk.tickets.actions import (
    do_change_tags,
    do_create_ticket,
    do_find_or_create_customer,
    do_set_properties,
)
from charterdesk.tickets.history import TicketError
from charterdesk.tickets.models import Ticket, TicketEvent, TicketTag


@pytest.fixture
def ticket(demo):
    customer = do_find_or_create_customer(email="jo@example.com", name="Jo Walker")
    return do_create_ticket(customer=customer, subject="Tent", body="Broken pole", channel="email")


@pytest.mark.parametrize("tag", ["bad tag", "a,b", "x" * 65, "tab\there"])
def test_no_path_stores_a_tag_that_breaks_the_rule(demo, ticket, tag):
    """Adding, setting or opening with a tag that has a space or comma, or is too long, is refused
    with the tag named, and nothing changes (the priority typed with it included)."""
    with pytest.raises(TicketError, match="is not a tag"):
        do_change_tags(ticket, add=[tag], actor=demo["lead"])
    with pytest.raises(TicketError, match=r"^tags: .* is not a tag"):
        do_set_properties(ticket, actor=demo["lead"], priority="urgent", add_tags=[tag])
    with pytest.raises(TicketError, match="is not a tag"):
        do_create_ticket(customer=ticket.customer, subject="x", body="y", channel="email", tags=[tag])
    ticket.refresh_from_db()
    assert (ticket.priority, ticket.tags) == ("normal", [])
    assert Ticket.objects.count() == 1


def test_a_tag_is_stored_trimmed_and_in_lower_case(demo, ticket):
    """' VIP ' is the tag 'vip'; removing a tag is never refused (that is how a bad one comes off)."""
    do_change_tags(ticket, add=[" VIP "], actor=demo["lead"])
    ticket.refresh_from_db()
    assert ticket.tags == ["vip"]
    do_change_tags(ticket, remove=["VIP", "never had"], actor=demo["lead"])
    ticket.refresh_from_db()
    assert ticket.tags == []


def test_a_protocol_add_tag_follows_the_same_rule(example_source):
    """A rule that would add 'needs review' is a protocol error at its line, not a desk failure later."""
    bad = example_source.replace("add_tag: ", "add_tag: needs review ", 1)
    assert bad != example_source
    result = load_protocol(bad, "p.yaml")
    assert result.protocol is None
    assert any("'needs review" in p.message and "is not a tag" in p.message for p in result.errors)


def test_the_rule_by_hand():
    """Hand-checked: what is a tag and what a stored bad tag becomes."""
    assert tag_problem("vip") is None
    assert tag_problem("x" * 64) is None
    assert tag_problem("x" * 65) and tag_problem("two words") and tag_problem("a,b")
    assert repaired_tag("Bad  Tag") == "bad-tag"
    assert repaired_tag("a,b") == "a-b"
    assert repaired_tag("   ") == ""
    assert len(repaired_tag("y" * 80)) == 64


def test_the_migration_repairs_tags_stored_before_the_rule(signed_in, demo, ticket):
    """A ticket the API once tagged 'bad tag' had a page that refused every later change; after the
    migration its tag is 'bad-tag' everywhere (rows, ticket, SLA history) and the page saves again."""
    Ticket.objects.filter(pk=ticket.pk).update(tags=["bad tag", "vip"])
    TicketTag.objects.bulk_create(
        [TicketTag(ticket=ticket, tag="bad tag"), TicketTag(ticket=ticket, tag="vip")]
    )
    TicketEvent.objects.create(
        ticket=ticket, at=ticket.created_at, kind="tags", data={"add": ["bad tag"], "remove": []}
    )
    migration = importlib.import_module("charterdesk.tickets.migrations.0009_tags_follow_the_rule")
    migration.repair_tags(apps, None)
    ticket.refresh_from_db()
    assert ticket.tags == ["bad-tag", "vip"]
    assert sorted(TicketTag.objects.filter(ticket=ticket).values_list("tag", flat=True)) == ["bad-tag", "vip"]
    assert TicketEvent.objects.filter(ticket=ticket, kind="tags", data__add=["bad-tag"]).exists()
    client = signed_in("manager")
    client.post(
        f"/tickets/{ticket.pk}/properties/",
        {"priority": "urgent", "group": "frontline", "tags": ", ".join(ticket.tags)},
    )
    ticket.refresh_from_db()
    assert ticket.priority == "urgent"
