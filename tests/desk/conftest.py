from __future__ import annotations

import pytest

from charterdesk.accounts.actions import do_add_person
from charterdesk.demo.loader import load_demo
from tests.desk import DEMO_SINCE


@pytest.fixture
def demo(db):
    """The example protocol in force and Dana (manager), Ravi (lead), Alex (agent)."""
    load_demo(now=DEMO_SINCE)
    from charterdesk.accounts.models import Person

    return {p.role_ids[0]: p for p in Person.objects.all()}


@pytest.fixture
def signed_in(client, demo):
    """A function that signs the test client in as the demo person holding ``role``."""

    def sign_in(role: str):
        client.force_login(demo[role])
        return client

    return sign_in


@pytest.fixture
def person(db):
    def make(email: str, roles: list[str], name: str = "Someone"):
        return do_add_person(email, name, roles, password="correct-horse-9")

    return make
