"""Fixtures shared by the whole suite."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

# Property tests are about results, never speed: Hypothesis's default 200 ms per example and its
# "too slow" health check fail a correct test on a loaded machine.
hypothesis_settings.register_profile(
    "charterdesk", deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
hypothesis_settings.load_profile("charterdesk")

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "charterdesk" / "demo" / "acme-outdoor.protocol.yaml"


@pytest.fixture(scope="session")
def example_source() -> str:
    return EXAMPLE.read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def example_protocol(example_source):
    from charterdesk.protocol.load import load_protocol_or_raise

    return load_protocol_or_raise(example_source, "acme-outdoor.protocol.yaml")


@pytest.fixture(autouse=True, scope="session")
def _strict_actions():
    """Every `do_*` action must write an audit entry or say why it had nothing to record
    (charterdesk.audit.actions.action): in the tests, one that does neither fails."""
    from django.conf import settings

    settings.CHARTERDESK_STRICT_ACTIONS = True
    yield


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix, tmp_path_factory):
    """The SQLite test database is a file in WAL mode with the desk's busy timeout, as in production.

    Django's default for tests is an in-memory database in shared-cache mode, whose locking is not
    SQLite's usual kind: a connection that reads a table another connection is writing is refused at
    once ("database table is locked"), where a WAL file lets it read the last committed state and
    makes a second writer wait its turn. Tests with several connections (two workers, a listener's
    thread, the live server) would then pass or fail by how their threads happen to interleave.
    A new folder per run: two runs never share the file, and no stale write-ahead log is ever
    replayed into a new database.
    """
    from django.conf import settings

    database = settings.DATABASES["default"]
    if database["ENGINE"] == "django.db.backends.sqlite3":
        folder = tmp_path_factory.mktemp("database")
        database.setdefault("TEST", {})["NAME"] = str(folder / "test-charterdesk.sqlite3")


@pytest.fixture(autouse=True)
def _fresh_cache(request):
    """Rate-limit counters live in the cache; each test starts with none."""
    if "django_db_setup" in request.fixturenames or request.node.get_closest_marker("django_db"):
        from django.core.cache import cache

        cache.clear()
    yield


@pytest.fixture(autouse=True)
def _message_checks(request):
    """The message-checks family (etiquette, contingencies, redaction) takes part only in tests
    marked ``message_checks``: the rest of the suite sends replies such as "Thanks" that are about
    something else, and would be refused by the demo protocol's etiquette."""
    if request.node.get_closest_marker("message_checks"):
        yield
        return
    from charterdesk.checks import hooks
    from charterdesk.tickets.lifecycle import register, unregister

    unregister(hooks)
    yield
    register(hooks)


@pytest.fixture(autouse=True)
def _no_dns():
    """The sender check (channels/senders.py) never asks the network in tests: DNS answers nothing,
    and SPF has no record. Tests of the check put their own fakes (generated keys) in its place."""
    from charterdesk.channels import senders

    senders.DNS_TXT = lambda name, timeout=5: None
    senders.SPF_CHECK = lambda ip, mail_from, helo, timeout: ("none", "no SPF record (tests)")
    yield
    senders.DNS_TXT = senders.SPF_CHECK = None


# --------------------------------------------------------------------------- the desk (Django)


@pytest.fixture
def demo(db):
    """The example protocol in force and Dana (manager), Ravi (lead), Alex (agent)."""
    from charterdesk.demo.loader import load_demo
    from tests.shared import DEMO_SINCE

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
    from charterdesk.accounts.actions import do_add_person

    def make(email: str, roles: list[str], name: str = "Someone"):
        return do_add_person(email, name, roles, password="correct-horse-9")

    return make
