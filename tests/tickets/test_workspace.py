"""The agent workspace: queues, the ticket page and what each role of the example protocol may do."""

from __future__ import annotations

import datetime as dt
import json
from unittest.mock import patch

import pytest
from django.urls import reverse
from django.utils import timezone

from charterdesk.accounts.models import Person
from charterdesk.library.models import ProtocolVersion
from charterdesk.tickets.actions import (
    do_assign,
    do_create_ticket,
    do_find_or_create_customer,
    do_reply,
    refresh_sla,
)
from charterdesk.tickets.models import Macro, Message, ProcedureStep, Ticket


@pytest.fixture(autouse=True)
def in_force_since_yesterday(demo):
    # The demo version is published "now"; tickets here start up to a day earlier, so it must
    # already be in force then (actions also drop microseconds, which can fall before it).
    ProtocolVersion.objects.update(effective_at=timezone.now() - dt.timedelta(days=1))


@pytest.fixture
def customer(demo):
    return do_find_or_create_customer(email="jo@example.com", name="Jo Walker")


@pytest.fixture
def make_ticket(demo, customer):
    def make(subject="Tent pole snapped", body="My tent pole broke.", **kwargs):
        kwargs.setdefault("channel", "email")
        return do_create_ticket(
            customer=kwargs.pop("customer", customer), subject=subject, body=body, **kwargs
        )

    return make


def test_the_queue_lists_open_tickets_most_urgent_first_with_counts(signed_in, make_ticket):
    """All open: the urgent ticket (due in 1 business hour) comes first; the sidebar counts."""
    normal = make_ticket(subject="Where is my order", priority="normal")
    urgent = make_ticket(subject="Stove leaks gas", priority="urgent")
    page = signed_in("agent").get(reverse("tickets:queue")).content.decode()
    assert page.index("Stove leaks gas") < page.index("Where is my order")
    assert f'href="/tickets/{urgent.pk}/"' in page and f'href="/tickets/{normal.pk}/"' in page
    # The "All open" view counts both.
    assert 'class="view-open"' in page
    open_link = page[page.index('class="view-open"') :]
    assert '<span class="count">2</span>' in open_link[: open_link.index("</a>")]


def test_mine_shows_only_my_tickets_and_unassigned_only_my_groups(signed_in, demo, make_ticket):
    """The agent's 'Mine' lists tickets assigned to them; 'Unassigned' only tickets of their groups."""
    mine = make_ticket(subject="Mine for sure")  # least_open assigns frontline email tickets to Alex
    assert mine.assignee == demo["agent"]
    loose = make_ticket(subject="Nobody has it", assign=False)
    elsewhere = make_ticket(subject="For the leads", group="escalations", assign=False)
    client = signed_in("agent")
    mine_page = client.get(reverse("tickets:queue") + "?view=mine").content.decode()
    assert "Mine for sure" in mine_page and "Nobody has it" not in mine_page
    unassigned = client.get(reverse("tickets:queue") + "?view=unassigned").content.decode()
    assert loose.subject in unassigned and elsewhere.subject not in unassigned


def test_due_soon_and_breached_views(signed_in, make_ticket):
    """Due soon: an open clock due within 60 minutes, not breached; breached: past its due time."""
    now = timezone.now().replace(microsecond=0)
    vip = make_ticket(
        subject="VIP due soon", priority="urgent", tags=["vip"], at=now - dt.timedelta(minutes=5)
    )
    late = make_ticket(subject="VIP late", priority="urgent", tags=["vip"], at=now - dt.timedelta(hours=2))
    refresh_sla(late, now)
    client = signed_in("agent")
    # The pages are read at ``now``, however long the tickets took to make on a busy machine.
    with patch("django.utils.timezone.now", return_value=now):
        soon = client.get(reverse("tickets:queue") + "?view=due-soon").content.decode()
        breached = client.get(reverse("tickets:queue") + "?view=breached").content.decode()
    assert vip.subject in soon and late.subject not in soon
    assert late.subject in breached and vip.subject not in breached
    assert "breached 1h 30m ago" in breached  # the 30m first response, 1 h 30 min ago (24x7 calendar)


def test_filters_and_text_search(signed_in, make_ticket):
    """Filters by priority and tag; search finds words of messages and the customer's name."""
    other = do_find_or_create_customer(email="kim@example.com", name="Kim Osei")
    make_ticket(subject="Broken zipper", body="The zipper of my jacket tore off", tags=["damaged"])
    make_ticket(subject="Refund please", body="I want my money back", priority="high", customer=other)
    client = signed_in("agent")
    url = reverse("tickets:queue")
    assert "Refund please" in client.get(url + "?priority=high").content.decode()
    assert "Broken zipper" not in client.get(url + "?priority=high").content.decode()
    tagged = client.get(url + "?tag=damaged").content.decode()
    assert "Broken zipper" in tagged and "Refund please" not in tagged
    by_body = client.get(url + "?q=jacket").content.decode()
    assert "Broken zipper" in by_body and "Refund please" not in by_body
    by_customer = client.get(url + "?q=Osei").content.decode()
    assert "Refund please" in by_customer and "Broken zipper" not in by_customer
    # FTS syntax typed by an agent is searched as text, not an error.
    assert client.get(url + '?q=zipper AND "NEAR(').status_code == 200


def test_a_filter_that_is_not_a_choice_is_named_and_not_applied(signed_in, make_ticket):
    """A stale bookmark (a group of an older protocol) shows the view unfiltered and says why."""
    make_ticket(subject="Broken zipper", priority="high")
    client = signed_in("agent")
    page = client.get(reverse("tickets:queue") + "?group=retired-team&priority=high").content.decode()
    assert "Broken zipper" in page
    assert "Group filter &#x27;retired-team&#x27; is not one of the choices here" in page
    assert "Priority filter" not in page  # the valid filter applies quietly
    clean = client.get(reverse("tickets:queue") + "?priority=high").content.decode()
    assert "is not one of the choices here" not in clean


def test_queue_badges_count_business_time_and_show_in_the_viewers_zone(signed_in, demo, make_ticket):
    """A normal email due in 8 office hours shows '… left', with the engine's explanation on hover."""
    ticket = make_ticket()
    Person.objects.filter(pk=demo["agent"].pk).update(timezone="Europe/Berlin")
    page = signed_in("agent").get(reverse("tickets:badges") + f"?ids={ticket.pk}").content.decode()
    assert f'id="sla-{ticket.pk}"' in page and 'hx-swap-oob="true"' in page
    assert "left</span>" in page and "First response" in page
    assert "under policy &#x27;standard&#x27;" in page  # the engine's explanation in the title
    assert "CET" in page or "CEST" in page


def test_ticket_page_shows_conversation_notes_and_events_in_one_timeline(signed_in, demo, make_ticket):
    """Customer message, public reply, internal note and the status change are all on the ticket page."""
    ticket = make_ticket()
    do_reply(ticket, author=demo["agent"], body="Hello Jo, sorry to hear that. Thanks", next_status="pending")
    do_reply(ticket, author=demo["agent"], body="Checked stock: poles arrive Friday", public=False)
    page = signed_in("agent").get(reverse("tickets:ticket", args=[ticket.pk])).content.decode()
    for text in ("My tent pole broke.", "Hello Jo, sorry", "Checked stock", "internal note", "Status →"):
        assert text in page
    assert "paused" in page  # the resolution clock while pending


def test_an_agent_replies_and_sets_pending_on_send(signed_in, make_ticket):
    """Reply with 'then pending': the customer gets the reply and the resolution clock pauses."""
    ticket = make_ticket()
    client = signed_in("agent")
    response = client.post(
        reverse("tickets:reply", args=[ticket.pk]),
        {"kind": "reply", "body": "Hello Jo, can you send a photo? Thanks", "next_status": "pending"},
    )
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.status == "pending"
    assert ticket.messages.filter(kind="reply").count() == 1
    page = client.get(reverse("tickets:ticket", args=[ticket.pk])).content.decode()
    assert "Resolution</span> paused" in page


def test_an_empty_reply_names_the_field_and_keeps_nothing(signed_in, make_ticket):
    """Sending an empty reply gives 400 with 'Message: This field is required.' and adds no message."""
    ticket = make_ticket()
    response = signed_in("agent").post(
        reverse("tickets:reply", args=[ticket.pk]), {"kind": "reply", "body": ""}
    )
    assert response.status_code == 400
    assert "Message: This field is required." in response.content.decode()  # by its label
    assert ticket.messages.count() == 1


def test_a_status_or_kind_that_does_not_exist_is_named_and_changes_nothing(signed_in, make_ticket):
    """Bad input is not a missing permission: the page says which field is wrong, and nothing is
    sent or changed."""
    ticket = make_ticket()
    client = signed_in("agent")
    for data, field in (
        ({"kind": "reply", "body": "Hello", "next_status": "bogus"}, "next_status: &#x27;bogus&#x27;"),
        ({"kind": "bogus", "body": "Hello"}, "kind: &#x27;bogus&#x27;"),
    ):
        response = client.post(reverse("tickets:reply", args=[ticket.pk]), data)
        assert response.status_code == 400 and field in response.content.decode()
    response = client.post(reverse("tickets:status", args=[ticket.pk]), {"status": "closed"}, follow=True)
    assert "status: &#x27;closed&#x27; is not a status set by hand" in response.content.decode()
    ticket.refresh_from_db()
    assert ticket.status == "new" and ticket.messages.count() == 1


def test_a_required_procedure_blocks_solving_until_its_steps_are_ticked(signed_in, make_ticket):
    """Solving a 'damaged' ticket names the unticked steps; ticking them (htmx) lets it solve."""
    ticket = make_ticket(tags=["damaged"])
    client = signed_in("agent")
    page = client.get(reverse("tickets:ticket", args=[ticket.pk])).content.decode()
    assert (
        "Item arrived damaged" in page
        and "Solving needs every step ticked: steps 1, 2, 3 and 4 are not ticked yet." in page
    )
    response = client.post(reverse("tickets:status", args=[ticket.pk]), {"status": "solved"}, follow=True)
    text = response.content.decode()
    assert "cannot solve yet: tick the required steps 1, 2, 3 and 4 of “Item arrived damaged” (" in text
    assert "Apologise and ask for one photo" in text and ".;" not in text and " | " not in text
    ticket.refresh_from_db()
    assert ticket.status != "solved"
    for step in range(4):
        card = client.post(
            reverse("tickets:tick", args=[ticket.pk, "damaged-item", step]),
            {"ticked": "on"},
            HTTP_HX_REQUEST="true",
        )
        assert card.status_code == 200 and 'id="procedure-damaged-item"' in card.content.decode()
    assert ProcedureStep.objects.filter(ticket=ticket).count() == 4
    client.post(reverse("tickets:status", args=[ticket.pk]), {"status": "solved"})
    ticket.refresh_from_db()
    assert ticket.status == "solved"


def test_a_solve_on_send_that_is_refused_keeps_the_reply_text(signed_in, make_ticket):
    """Reply + solved on a ticket with unticked required steps: nothing is sent, the text stays in the box."""
    ticket = make_ticket(tags=["damaged"])
    response = signed_in("agent").post(
        reverse("tickets:reply", args=[ticket.pk]),
        {"kind": "reply", "body": "Hello Jo, all sorted. Thanks", "next_status": "solved"},
    )
    assert response.status_code == 400
    text = response.content.decode()
    assert "Not sent: cannot solve yet" in text and "Hello Jo, all sorted. Thanks</textarea>" in text
    assert not ticket.messages.filter(kind="reply").exists()


def test_troubleshooting_walk_is_recorded_as_a_note(signed_in, make_ticket):
    """Walking the app-wont-sync tree shows each question and the advice at the end; recording it adds a note
    with that advice; a path that does not exist is 404."""
    ticket = make_ticket()
    client = signed_in("agent")
    url = reverse("tickets:troubleshooting", args=[ticket.pk, "app-wont-sync"])
    step = client.get(url + "?path=1", HTTP_HX_REQUEST="true").content.decode()
    assert "Is the phone&#x27;s software up to date?" in step
    end = client.get(url + "?path=1,0", HTTP_HX_REQUEST="true").content.decode()
    assert "Ask the customer to update the phone first." in end and "Record on the ticket" in end
    client.post(url, {"path": "1,0"})
    note = ticket.messages.get(kind="note")
    assert "update the phone first" in note.body_text
    assert client.get(url + "?path=9").status_code == 404


def test_saved_replies_fill_placeholders_and_flag_unknown_ones(signed_in, demo, make_ticket):
    """Known placeholders are filled in; an unknown one such as {order.number} stays as written, flagged."""
    ticket = make_ticket()
    client = signed_in("agent")
    client.post(
        reverse("tickets:macros"),
        {
            "title": "Photo please",
            "body": "Hi {customer.first_name}, about {ticket.reference} ({order.number}). {agent.first_name}",
        },
    )
    macro = Macro.objects.get(title="Photo please")
    assert macro.owner == demo["agent"]
    data = json.loads(client.get(reverse("tickets:insert-macro", args=[ticket.pk, macro.pk])).content)
    assert data["text"] == f"Hi Jo, about #{ticket.pk} ({{order.number}}). Alex"
    assert data["unknown"] == ["{order.number}"]
    listing = client.get(reverse("tickets:macros")).content.decode()
    assert "Unknown placeholders, left as written: {order.number}" in listing


def test_shared_saved_replies_need_ticket_edit(signed_in, demo):
    """An agent cannot make or change shared replies; a lead can. Others' personal replies are invisible."""
    lead_macro = Macro.objects.create(title="Lead's own", body="x", owner=demo["lead"])
    shared = Macro.objects.create(title="Shared", body="y")
    agent = signed_in("agent")
    assert (
        agent.post(
            reverse("tickets:macro-edit", args=[shared.pk]), {"title": "Changed", "body": "z"}
        ).status_code
        == 403
    )
    assert agent.get(reverse("tickets:macro-edit", args=[lead_macro.pk])).status_code == 404
    assert "Lead&#x27;s own" not in agent.get(reverse("tickets:macros")).content.decode()
    lead = signed_in("lead")
    lead.post(
        reverse("tickets:macro-edit", args=[shared.pk]), {"title": "Changed", "body": "z", "shared": "on"}
    )
    shared.refresh_from_db()
    assert shared.title == "Changed" and shared.owner is None


@pytest.mark.parametrize(
    ("role", "allowed"),
    [("agent", False), ("lead", True), ("manager", True)],
)
def test_editing_assigning_merging_and_creating_by_role(
    signed_in, demo, make_ticket, customer, role, allowed
):
    """The example agent lacks ticket.edit/assign/merge/create: hidden and 403; lead and manager may."""
    ticket = make_ticket()
    other = make_ticket(subject="Same customer again")
    client = signed_in(role)
    page = client.get(reverse("tickets:ticket", args=[ticket.pk])).content.decode()
    queue = client.get(reverse("tickets:queue")).content.decode()
    for marker in (
        f"/tickets/{ticket.pk}/properties/",
        f"/tickets/{ticket.pk}/assignee/",
        f"/tickets/{ticket.pk}/merge/",
    ):
        assert (marker in page) is allowed
    assert ("New ticket" in queue) is allowed
    assert (client.get(reverse("tickets:new")).status_code == 200) is allowed
    posts = [
        ("tickets:properties", {"priority": "high", "group": "frontline", "tags": "vip"}),
        ("tickets:assignee", {"assignee": demo["lead"].pk}),
        (
            "tickets:customer",
            {"name": "Jo W.", "email": "jo@example.com", "timezone": "UTC", "language": "en"},
        ),
        ("tickets:link", {"other": f"#{other.pk}"}),
    ]
    for name, data in posts:
        response = client.post(reverse(name, args=[ticket.pk]), data)
        assert response.status_code == (302 if allowed else 403), name
    ticket.refresh_from_db()
    assert (
        ticket.priority == "high" and ticket.tags == ["vip"] and ticket.assignee == demo["lead"]
    ) is allowed
    customer.refresh_from_db()
    assert (customer.name == "Jo W.") is allowed
    merge = client.post(reverse("tickets:merge", args=[other.pk]), {"other": f"#{ticket.pk}"})
    assert merge.status_code == (302 if allowed else 403)


def test_every_role_may_view_reply_note_and_solve(signed_in, make_ticket):
    """The example protocol gives agent, lead and manager ticket.view, reply, note and solve."""
    ticket = make_ticket()
    for role in ("agent", "lead", "manager"):
        page = signed_in(role).get(reverse("tickets:ticket", args=[ticket.pk])).content.decode()
        assert 'value="reply"' in page and 'value="note"' in page and "Set solved" in page


def test_people_without_ticket_view_get_403(client, person, demo, make_ticket):
    """A role the protocol does not know grants nothing: the queue and a ticket answer 403."""
    ticket = make_ticket()
    outsider = person("temp@acme.example", ["contractor"])
    client.force_login(outsider)
    assert client.get(reverse("tickets:queue")).status_code == 403
    assert client.get(reverse("tickets:ticket", args=[ticket.pk])).status_code == 403
    assert (
        client.post(reverse("tickets:reply", args=[ticket.pk]), {"kind": "note", "body": "x"}).status_code
        == 403
    )
    # The navigation offers only what the roles grant: no Tickets link for this person.
    assert (
        f'href="{reverse("tickets:queue")}"' not in client.get(reverse("notifications:list")).content.decode()
    )


def test_bulk_changes_report_each_refusal(signed_in, make_ticket):
    """Bulk 'solved' solves the plain ticket and reports the one a required procedure blocks."""
    plain = make_ticket(subject="Plain")
    damaged = make_ticket(subject="Dented stove", tags=["damaged"])
    client = signed_in("agent")
    response = client.post(
        reverse("tickets:bulk"),
        {"ids": [plain.pk, damaged.pk], "action": "status", "status": "solved"},
        follow=True,
    )
    text = response.content.decode()
    assert f"1 ticket set to solved: #{plain.pk}" in text
    assert f"Not changed: #{damaged.pk}: cannot solve yet" in text
    plain.refresh_from_db()
    damaged.refresh_from_db()
    assert plain.status == "solved" and damaged.status != "solved"
    # The agent may not bulk-assign or tag.
    assert (
        client.post(reverse("tickets:bulk"), {"ids": [plain.pk], "action": "tag", "tag": "x"}).status_code
        == 403
    )
    lead = signed_in("lead")
    lead.post(reverse("tickets:bulk"), {"ids": [damaged.pk], "action": "tag", "tag": "Carrier"})
    damaged.refresh_from_db()
    assert "carrier" in damaged.tags


def test_a_lead_opens_a_ticket_on_a_customers_behalf(signed_in, demo):
    """New ticket creates the customer and a ticket whose first message is the lead's public reply."""
    client = signed_in("lead")
    response = client.post(
        reverse("tickets:new"),
        {
            "email": "Sam@Example.com",
            "name": "Sam Lee",
            "subject": "Callback about your order",
            "body": "Hi Sam, as discussed on the phone ... Regards",
            "channel": "phone",
            "priority": "normal",
            "tags": "callback",
        },
    )
    ticket = Ticket.objects.get(subject="Callback about your order")
    assert response.status_code == 302 and response["Location"] == f"/tickets/{ticket.pk}/"
    assert (
        ticket.created_by_agent and ticket.customer.email == "sam@example.com" and ticket.tags == ["callback"]
    )
    first = Message.objects.get(ticket=ticket)
    assert first.kind == "reply" and first.author_person == demo["lead"]
    assert (
        "first_response" not in ticket.sla_state["metrics"]
        or not ticket.sla_state["metrics"]["first_response"]
    )


def test_new_ticket_errors_name_the_field(signed_in):
    """The new-ticket form asks for the customer's email when missing, names an invalid email once, refuses
    the tag 'bad tag!' with the tag rule, and opens no ticket."""
    response = signed_in("lead").post(
        reverse("tickets:new"), {"subject": "x", "body": "y", "channel": "email"}
    )
    assert response.status_code == 200
    assert "Give the customer&#x27;s email" in response.content.decode()
    # An email that is not one is named once, without also asking for an email.
    response = signed_in("lead").post(
        reverse("tickets:new"), {"subject": "x", "body": "y", "channel": "email", "email": "not-an-email"}
    )
    page = response.content.decode()
    assert "Enter a valid email address." in page and "Give the customer&#x27;s email" not in page
    # Tags follow the same rule as on the ticket page: no spaces, at most 64 characters.
    response = signed_in("lead").post(
        reverse("tickets:new"),
        {
            "subject": "x",
            "body": "y",
            "channel": "email",
            "email": "jo@example.com",
            "tags": "good, bad tag!",
        },
    )
    assert (
        "&#x27;bad tag!&#x27; is not a tag: a tag is one word of at most 64 characters, "
        "without spaces or commas" in response.content.decode()
    )
    assert not Ticket.objects.exists()


def test_escalations_show_on_the_timeline_with_clause_and_version(signed_in, demo, make_ticket):
    """A breached VIP ticket: the timeline names rule lead-on-breach, its clause and protocol 3.2."""
    now = timezone.now().replace(microsecond=0)
    ticket = make_ticket(priority="urgent", tags=["vip"], at=now - dt.timedelta(hours=1))
    refresh_sla(ticket, now)
    page = signed_in("lead").get(reverse("tickets:ticket", args=[ticket.pk])).content.decode()
    assert "rule <code>lead-on-breach</code> fired on first response" in page
    assert "clause <code>escalation.lead-on-breach</code>" in page
    assert "protocol version 3.2" in page
    assert "breached under policy" in page


def test_assigning_in_the_ticket_page_notifies_the_assignee(signed_in, demo, make_ticket):
    """A lead assigning a ticket to the agent on its page gives the agent an assignment notification."""
    ticket = make_ticket(assign=False)
    signed_in("lead").post(reverse("tickets:assignee", args=[ticket.pk]), {"assignee": demo["agent"].pk})
    assert demo["agent"].notifications.filter(ticket=ticket, reason="assignment").exists()


def test_merging_needs_a_real_ticket_number(signed_in, make_ticket):
    """Merging into 'abc' is refused with "other: 'abc' is not a ticket number"."""
    ticket = make_ticket()
    response = signed_in("lead").post(
        reverse("tickets:merge", args=[ticket.pk]), {"other": "abc"}, follow=True
    )
    assert "other: &#x27;abc&#x27; is not a ticket number" in response.content.decode()
    do_assign(ticket, None, actor=None)


def test_not_found_pages_speak_to_people_and_lead_back(signed_in, demo, client):
    """A mistyped address says there is nothing there (not Django's internals); the desk's own
    messages stay; a customer on the portal is led back to the portal, not to the staff sign-in."""
    lead = signed_in("manager")
    for address in ("/tickets/abc/", "/nonexistent/", "/people/999/roles/"):
        response = lead.get(address)
        page = response.content.decode()
        assert response.status_code == 404
        assert "There is nothing at this address." in page, address
        assert "Resolver404" not in page and "matches the given query" not in page
    assert "There is no ticket #999999" in lead.get("/tickets/999999/").content.decode()
    portal = client.get("/portal/tickets/abc/")
    assert portal.status_code == 404
    assert 'href="/portal/"' in portal.content.decode() and "Resolver404" not in portal.content.decode()


def test_the_ticket_form_saves_priority_group_and_tags_together_or_not_at_all(signed_in, demo):
    """One save of the ticket's properties is one action: when the tags are refused (more than
    50), the priority and group typed with them are not saved either (before, they were, and the
    page said the save failed)."""
    from charterdesk.tickets.actions import do_create_ticket, do_find_or_create_customer

    customer = do_find_or_create_customer(email="jo@example.com", name="Jo Walker")
    ticket = do_create_ticket(customer=customer, subject="Tent", body="Broken pole", channel="email")
    too_many = ", ".join(f"t{n}" for n in range(51))
    client = signed_in("manager")
    response = client.post(
        f"/tickets/{ticket.pk}/properties/",
        {"priority": "urgent", "group": "escalations", "tags": too_many},
        follow=True,
    )
    assert "at most 50 tags" in response.content.decode()
    ticket.refresh_from_db()
    assert (ticket.priority, ticket.group, ticket.tags) == ("normal", "frontline", [])
    client.post(
        f"/tickets/{ticket.pk}/properties/", {"priority": "urgent", "group": "escalations", "tags": "vip"}
    )
    ticket.refresh_from_db()
    assert (ticket.priority, ticket.group, ticket.tags) == ("urgent", "escalations", ["vip"])


def test_the_unticked_steps_read_as_one_sentence():
    """Hand-checked: step numbers, the procedure's title and its steps without doubled stops."""
    from charterdesk.tickets.actions import unticked_words

    assert unticked_words([("Damaged", [(2, "Ask for a photo.")])]) == (
        "tick the required step 2 of “Damaged” (Ask for a photo) first"
    )
    assert unticked_words([("A", [(1, "x."), (3, "y")]), ("B", [(2, "z")])]) == (
        "tick the required steps 1 and 3 of “A” (x; y) and step 2 of “B” (z) first"
    )


def test_the_customer_card_says_statuses_in_words_and_breaks_addresses_only_at_their_parts(
    signed_in, demo, make_ticket
):
    """The customer's other tickets show "On hold", not the stored on_hold; the address may break
    after its @ and before its dots, never in the middle of a word."""
    from charterdesk.tickets.actions import do_set_status

    ticket = make_ticket()
    other = make_ticket(subject="Same customer again")
    do_set_status(other, "on_hold", actor=demo["lead"])
    page = signed_in("lead").get(reverse("tickets:ticket", args=[ticket.pk])).content.decode()
    assert "on_hold" not in page.split("<h3>Other tickets</h3>")[1].split("</ul>")[0]
    assert "On hold" in page
    email = ticket.customer.email
    local, domain = email.split("@")
    assert (
        f'<span class="email">{local.replace(".", "<wbr>.")}@<wbr>{domain.replace(".", "<wbr>.")}</span>'
        in page
    )


def test_the_queue_density_is_each_persons_own_and_kept(signed_in, demo, make_ticket):
    """Choosing Compact draws the queue compact for that person on every later visit (and device),
    and not for anyone else; an unknown density is refused."""
    make_ticket()
    lead = signed_in("lead")
    assert 'class="ws-queue density-comfortable"' in lead.get(reverse("tickets:queue")).content.decode()
    response = lead.post(reverse("tickets:density"), {"density": "compact", "next": "/tickets/?view=open"})
    assert response.status_code == 302 and response.url == "/tickets/?view=open"
    assert 'class="ws-queue density-compact"' in lead.get(reverse("tickets:queue")).content.decode()
    assert lead.post(reverse("tickets:density"), {"density": "tiny"}).status_code == 400
    outside = lead.post(reverse("tickets:density"), {"density": "compact", "next": "//elsewhere.example/"})
    assert outside.url == reverse("tickets:queue")
    manager = signed_in("manager")
    assert "density-comfortable" in manager.get(reverse("tickets:queue")).content.decode()


def test_a_troubleshooting_tree_shows_where_it_fits_and_is_offered_from_a_menu_elsewhere(
    signed_in, make_ticket
):
    """The app tree (no match; its id app-wont-sync has the word app) is on a ticket tagged app; on
    a tent ticket it is not shown, only offered in the menu, and can still be walked from there."""
    tent = make_ticket()
    app = make_ticket(subject="App will not sync", tags=["app"])
    client = signed_in("agent")
    on_app = client.get(reverse("tickets:ticket", args=[app.pk])).content.decode()
    assert "Does the Acme app show an error code?" in on_app and "data-tree-menu" not in on_app
    on_tent = client.get(reverse("tickets:ticket", args=[tent.pk])).content.decode()
    assert "Does the Acme app show an error code?" not in on_tent.split("data-tree-menu")[0]
    assert "Open a troubleshooting guide (1)" in on_tent
    url = reverse("tickets:troubleshooting", args=[tent.pk, "app-wont-sync"])
    assert client.get(url + "?path=1", HTTP_HX_REQUEST="true").status_code == 200
