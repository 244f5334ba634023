"""Fixtures shared by the whole suite."""

from __future__ import annotations

from pathlib import Path

import pytest

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


@pytest.fixture(autouse=True)
def _fresh_cache(request):
    """Rate-limit counters live in the cache; each test starts with none."""
    if "django_db_setup" in request.fixturenames or request.node.get_closest_marker("django_db"):
        from django.core.cache import cache

        cache.clear()
    yield
