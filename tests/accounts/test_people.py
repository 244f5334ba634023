"""People, roles and permissions: roles from the protocol in force are the only source of rights."""

from __future__ import annotations

import pytest
from django.urls import reverse

from charterdesk.accounts.models import Invitation, Person
from charterdesk.audit.models import AuditEntry
from charterdesk.core.permissions import BOOTSTRAP_PERMISSIONS, permissions_of
from charterdesk.library.versions import protocol_of, version_in_force


def test_permissions_come_from_the_roles_in_the_protocol(demo):
    """In protocol 3.2 an agent may reply and request refunds but not approve them or publish; a lead gets
    every ticket.* permission and refund.approve; only the manager ('*') may publish."""
    protocol = protocol_of(version_in_force())
    agent = permissions_of(demo["agent"], protocol)
    assert "ticket.reply" in agent and "refund.request" in agent
    assert "refund.approve" not in agent and "protocol.publish" not in agent
    lead = permissions_of(demo["lead"], protocol)
    assert {"ticket.view", "ticket.assign", "refund.approve"} <= lead  # ticket.* expands
    assert "protocol.publish" not in lead
    assert "protocol.publish" in permissions_of(demo["manager"], protocol)  # "*"


def test_before_any_protocol_only_role_holders_may_set_up_the_library(db, person):
    """Before any protocol is in force, a person holding a role has the set-up permissions and a person with
    none has no permission."""
    first = person("first@example.com", ["manager"])
    nobody = person("nobody@example.com", [])
    assert permissions_of(first, None) == BOOTSTRAP_PERMISSIONS
    assert permissions_of(nobody, None) == frozenset()


def test_sign_in_is_audited(client, demo):
    """A sign-in is audited, naming the person by id (never by name or address)."""
    response = client.post(
        reverse("accounts:sign-in"), {"email": "ALEX@acme.example", "password": "demo-agent-1"}
    )
    assert response.status_code == 302
    entry = AuditEntry.objects.filter(action="person.sign_in").latest("id")
    assert entry.summary == f"person #{demo['agent'].pk} signed in"
    assert entry.actor_label == f"person #{demo['agent'].pk}"


def test_wrong_password_is_refused_plainly(client, demo):
    """A wrong password is refused with 'do not match an active account' and no sign-in is audited."""
    response = client.post(reverse("accounts:sign-in"), {"email": "alex@acme.example", "password": "nope"})
    assert response.status_code == 200
    assert "do not match an active account" in response.content.decode()
    assert not AuditEntry.objects.filter(action="person.sign_in").exists()


def test_manager_invites_and_the_invitee_joins(signed_in, demo, client, mailoutbox):
    """A manager invites Sam as an agent; the emailed link offers a time-zone list, refuses 'EST-ish' by name,
    and joins Sam with role agent and zone Europe/Berlin; the link then works no more."""
    signed_in("manager")
    response = client.post(
        reverse("accounts:invite"), {"email": "sam@acme.example", "name": "Sam Ortiz", "roles": ["agent"]}
    )
    assert response.status_code == 200
    link = response.context["link"]
    assert link in mailoutbox[0].body
    # The link has a button that copies it, beside the field that shows it.
    assert 'id="invitation-link"' in response.content.decode()
    assert 'data-copy="#invitation-link"' in response.content.decode()
    client.logout()
    path = link.split("testserver")[1]
    form = client.get(path).content.decode()
    assert '<select name="timezone"' in form and '<option value="Europe/Berlin">' in form
    typed = client.post(
        path, {"password": "a-long-password-1", "password_again": "a-long-password-1", "timezone": "EST-ish"}
    )
    assert "&#x27;EST-ish&#x27; is not a time zone; choose one from the list." in typed.content.decode()
    response = client.post(
        path,
        {"password": "a-long-password-1", "password_again": "a-long-password-1", "timezone": "Europe/Berlin"},
    )
    assert response.status_code == 302
    sam = Person.objects.get(email="sam@acme.example")
    assert sam.role_ids == ["agent"] and sam.timezone == "Europe/Berlin"
    assert Invitation.objects.get().accepted_at is not None
    assert client.get(path).status_code == 404  # used once


def test_agent_cannot_manage_people(signed_in, demo):
    """An agent gets 403 on the people page and on changing roles, and cannot make themself a manager."""
    client = signed_in("agent")
    assert client.get(reverse("accounts:people")).status_code == 403
    assert (
        client.post(reverse("accounts:roles", args=[demo["agent"].pk]), {"roles": ["manager"]}).status_code
        == 403
    )
    assert Person.objects.get(pk=demo["agent"].pk).role_ids == ["agent"]


def test_role_change_is_audited_with_the_protocol_version(signed_in, demo):
    """Giving Alex Kim the lead role is audited as "Alex Kim's roles: agent -> agent, lead" under protocol
    3.2, clause team.roles."""
    client = signed_in("manager")
    client.post(
        reverse("accounts:roles", args=[demo["agent"].pk]), {"roles": ["agent", "lead"], "active": "1"}
    )
    entry = AuditEntry.objects.get(action="person.roles")
    assert entry.summary == f"person #{demo['agent'].pk}'s roles: agent -> agent, lead"
    assert entry.protocol_version == "3.2"
    assert entry.clause == "team.roles"


def test_the_last_manager_cannot_take_people_manage_away_from_themselves(signed_in, demo):
    """Dana is the only manager: dropping her manager role (or deactivating her) is refused with
    the reason and changes nothing; once Ravi is also a manager, she may."""
    client = signed_in("manager")
    url = reverse("accounts:roles", args=[demo["manager"].pk])
    for data in ({"roles": ["agent"], "active": "1"}, {"roles": ["manager"], "active": "0"}):
        response = client.post(url, data)
        assert response.status_code == 200
        assert "the only active person whose roles grant people.manage" in response.content.decode()
    dana = Person.objects.get(pk=demo["manager"].pk)
    assert dana.role_ids == ["manager"] and dana.is_active
    client.post(
        reverse("accounts:roles", args=[demo["lead"].pk]), {"roles": ["lead", "manager"], "active": "1"}
    )
    assert client.post(url, {"roles": ["agent"], "active": "1"}).status_code == 302
    assert Person.objects.get(pk=demo["manager"].pk).role_ids == ["agent"]


def test_invitation_offers_only_roles_of_the_protocol(signed_in, demo, client):
    """Inviting someone as 'emperor' is refused, naming the bad choice, and no invitation is made."""
    signed_in("manager")
    response = client.post(
        reverse("accounts:invite"), {"email": "x@acme.example", "name": "X", "roles": ["emperor"]}
    )
    assert "emperor" in response.content.decode()  # the error names the bad choice
    assert not Invitation.objects.exists()


def test_a_second_invitation_to_the_same_address_is_refused_until_revoked(demo):
    """A second invitation to sam@acme.example is refused as already invited; once the first is revoked (and
    audited) a new one can be sent, leaving one invitation."""
    from charterdesk.accounts.actions import AccountError, do_invite, do_revoke_invitation

    manager = demo["manager"]
    first, _ = do_invite("sam@acme.example", "Sam", ["agent"], actor=manager)
    with pytest.raises(AccountError, match="already invited"):
        do_invite("sam@acme.example", "Sam", ["agent"], actor=manager)
    do_revoke_invitation(first, actor=manager)
    do_invite("sam@acme.example", "Sam", ["agent"], actor=manager)
    assert Invitation.objects.count() == 1
    assert AuditEntry.objects.filter(action="person.invite.revoke").count() == 1


def test_people_add_refuses_a_role_the_protocol_lacks(demo):
    """people add --role nonsense is refused as 'not a role of the protocol in force' and adds nobody."""
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError, match="nonsense: not a role of the protocol in force"):
        call_command("people", "add", "z@acme.example", "--role", "nonsense", "--password", "long-enough-1")
    assert not Person.objects.filter(email="z@acme.example").exists()


@pytest.mark.parametrize("email", ["notanemail", "", "two@@acme.example"])
def test_people_add_refuses_what_is_not_an_email_address(demo, email):
    """people add with 'notanemail', '' or 'two@@acme.example' is refused as not an email address and adds
    nobody."""
    from django.core.management import CommandError, call_command

    count = Person.objects.count()
    with pytest.raises(CommandError, match="is not an email address"):
        call_command("people", "add", email, "--role", "agent", "--password", "long-enough-1")
    assert Person.objects.count() == count
