"""/tokens/people/: everyone's API tokens for those who may manage people, who may revoke any of
them (audited by ids, the owner notified); every other person keeps seeing only their own."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from charterdesk.api.actions import do_create_token
from charterdesk.api.models import ApiToken
from charterdesk.audit.actions import verify_chain
from charterdesk.audit.models import AuditEntry
from charterdesk.core.permissions import permissions_of
from charterdesk.library.versions import protocol_of, version_in_force
from charterdesk.notifications.models import Notification

ROLES = ("agent", "lead", "manager")


@pytest.fixture(autouse=True)
def fresh_rate_limits():
    """Rate-limit counters live in the cache, which outlives each test's database."""
    cache.clear()
    yield
    cache.clear()


def _manages_people(person) -> bool:
    return "people.manage" in permissions_of(person, protocol_of(version_in_force()))


def _owner(person):
    """Someone whose token is at stake: not any of the demo people, with a name and address
    nobody else has, so the page and the log can be searched for them."""
    return person("quillon.vantrebb@example.org", ["agent"], name="Quillon Vantrebb")


@pytest.mark.parametrize("role", ROLES)
def test_who_sees_everyones_tokens_and_who_may_revoke_them(client, demo, person, role):
    """Each role of the example protocol: those whose roles grant people.manage see every
    person's tokens (name, owner, created, last used; never the secret) and revoke another
    person's token, coming back to the list; everyone else is refused the page (403) and finds
    no such token to revoke (404), and the token keeps working."""
    owner = _owner(person)
    token, secret = do_create_token(owner, "warehouse sync", actor=owner)
    bearer = Client(headers={"Authorization": f"Bearer {secret}"})
    assert bearer.get("/api/v1/me").status_code == 200  # stamps "last used"
    client.force_login(demo[role])
    page = client.get(reverse("api:people-tokens"))
    revoke = client.post(reverse("api:revoke", args=[token.pk]))
    token.refresh_from_db()
    if _manages_people(demo[role]):
        html = page.content.decode()
        assert page.status_code == 200
        assert "warehouse sync" in html and "Quillon Vantrebb" in html
        assert secret not in html and token.token_hash not in html
        assert revoke.status_code == 302 and revoke["Location"] == reverse("api:people-tokens")
        assert token.revoked_at is not None
        assert bearer.get("/api/v1/me").status_code == 401
    else:
        assert page.status_code == 403
        assert revoke.status_code == 404
        assert token.revoked_at is None
        assert bearer.get("/api/v1/me").status_code == 200


def test_the_matrix_is_not_trivial(demo):
    """With the example protocol the manager may manage people and the agent and lead may not,
    so the test above sees both sides."""
    assert [r for r in ROLES if _manages_people(demo[r])] == ["manager"]


def test_a_managers_revocation_is_audited_by_ids_and_the_owner_is_told(client, demo, person):
    """Revoking another person's token writes one audit entry naming the token, its owner and who
    revoked it by id only (no name, address or token name in it, and the chain still verifies),
    and puts a notification in the owner's list saying who revoked which token."""
    owner = _owner(person)
    token, _ = do_create_token(owner, "warehouse sync", actor=owner)
    manager = demo["manager"]
    client.force_login(manager)
    page = client.post(reverse("api:revoke", args=[token.pk]), follow=True)
    assert "is revoked" in page.content.decode()
    entry = AuditEntry.objects.get(action="api_token.revoke")
    assert entry.data == {"token": token.pk, "owner": owner.pk, "actor": manager.pk, "prefix": token.prefix}
    assert entry.target == f"person:{owner.pk}" and entry.actor_id == manager.pk
    stored = " ".join([entry.summary, entry.actor_label, entry.target, str(entry.data)])
    personal = ("Quillon", "Vantrebb", "quillon.vantrebb", manager.name, manager.email, "warehouse sync")
    assert not [p for p in personal if p in stored]
    assert verify_chain().ok
    note = Notification.objects.get(person=owner)
    assert manager.name in note.text and "warehouse sync" in note.text and "revoked" in note.text


def test_revoking_twice_changes_nothing_and_tells_the_owner_once(client, demo, person):
    """A second press on an already revoked token (two managers at once, a double click) writes
    no second audit entry and no second notification."""
    owner = _owner(person)
    token, _ = do_create_token(owner, "warehouse sync", actor=owner)
    client.force_login(demo["manager"])
    for _ in range(2):
        assert client.post(reverse("api:revoke", args=[token.pk])).status_code == 302
    assert AuditEntry.objects.filter(action="api_token.revoke").count() == 1
    assert Notification.objects.filter(person=owner).count() == 1


def test_revoking_ones_own_token_tells_nobody(client, demo):
    """A person revoking their own token is not notified about it (they did it), and comes back
    to their own tokens page, manager or not."""
    manager = demo["manager"]
    token, _ = do_create_token(manager, "own", actor=manager)
    client.force_login(manager)
    response = client.post(reverse("api:revoke", args=[token.pk]))
    assert response["Location"] == reverse("api:tokens")
    assert ApiToken.objects.get(pk=token.pk).revoked_at is not None
    assert not Notification.objects.filter(person=manager).exists()


def test_the_people_page_links_to_everyones_tokens(client, demo):
    """The People page, which only people managers reach, links to everyone's API tokens."""
    client.force_login(demo["manager"])
    assert reverse("api:people-tokens") in client.get(reverse("accounts:people")).content.decode()
