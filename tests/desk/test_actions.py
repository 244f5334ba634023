"""Every `do_*` function is an action: one transaction, and an audit entry (or a stated reason why
there was nothing to record), checked by the ``@action`` decorator in every test of the suite."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import charterdesk
from charterdesk.audit.actions import UnauditedAction, action, nothing_to_record, record
from charterdesk.audit.models import AuditEntry


def all_do_functions():
    """Every module-level function named do_* in the package (migrations and the demo generator's
    bulk loader aside), with the module that defines it."""
    found = []
    for info in pkgutil.walk_packages(charterdesk.__path__, "charterdesk."):
        if ".migrations" in info.name or "._native" in info.name or info.name.endswith("__main__"):
            continue
        module = importlib.import_module(info.name)
        for name, value in vars(module).items():
            if name.startswith("do_") and callable(value) and getattr(value, "__module__", "") == info.name:
                found.append((info.name, name, value))
    return found


def test_every_do_function_is_an_action():
    """A function named do_* is marked @action (atomic, audited); a write that is not an action
    (a step inside one, a log row) is not named do_*."""
    functions = all_do_functions()
    assert len(functions) > 50
    assert [f"{module}.{name}" for module, name, f in functions if not getattr(f, "is_action", False)] == []


def test_an_action_that_records_nothing_fails_in_the_tests(db):
    """An action that writes no audit entry, and does not say why, raises UnauditedAction, and
    what it wrote is rolled back with it."""
    from charterdesk.tickets.models import Customer

    @action
    def do_sneak():
        Customer.objects.create(email="sneak@example.com", name="Sneak")

    with pytest.raises(UnauditedAction, match="do_sneak wrote no audit entry"):
        do_sneak()
    assert not Customer.objects.filter(email="sneak@example.com").exists()


def test_an_action_may_record_or_say_why_it_recorded_nothing(db):
    """record() inside the action, or nothing_to_record(why), both pass; an inner action's entry
    counts for the outer one."""

    @action
    def do_inner():
        record("test.inner", "inner ran")

    @action
    def do_outer():
        do_inner()

    @action
    def do_nothing():
        nothing_to_record("nothing changed")

    do_outer()
    do_nothing()
    assert list(AuditEntry.objects.values_list("action", flat=True)) == ["test.inner"]
