"""The second factor: an authenticator app (TOTP) and recovery codes."""

from __future__ import annotations

import datetime as dt
import re
from unittest.mock import patch

import pyotp
import pytest
from django.test import Client

from charterdesk.accounts.twofactor import matching_step
from charterdesk.audit.models import AuditEntry

START = dt.datetime(2026, 3, 2, 9, 0, 0, tzinfo=dt.UTC)  # a whole 30-second step
PASSWORD = "correct-horse-9"


def at(seconds: float):
    return patch("django.utils.timezone.now", return_value=START + dt.timedelta(seconds=seconds))


def code(secret: str, seconds: float) -> str:
    return pyotp.TOTP(secret).at(START + dt.timedelta(seconds=seconds))


@pytest.fixture
def jo(person):
    return person("jo@acme.example", ["agent"], name="Jo Walker")


def enrol(client: Client, when: float = 0) -> tuple[str, list[str]]:
    with at(when):
        page = client.get("/account/two-factor/").content.decode()
        secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', page)[1]
        done = client.post("/account/two-factor/", {"do": "enrol", "code": code(secret, when)})
    assert done.status_code == 200
    return secret, re.findall(r"<code>([a-z0-9]{4}-[a-z0-9]{4})</code>", done.content.decode())


def password_step(email="jo@acme.example", when: float = 0) -> Client:
    client = Client()
    with at(when):
        answer = client.post("/sign-in/", {"email": email, "password": PASSWORD})
    assert answer.status_code == 302
    return client


def test_codes_match_their_step_and_one_step_of_drift():
    """Hand-checked against pyotp's RFC 6238 codes: the current step and one either side match,
    two steps away does not; anything but six digits never matches."""
    secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
    step = pyotp.TOTP(secret).timecode(START)
    assert matching_step(secret, code(secret, 0), START) == step
    assert matching_step(secret, code(secret, -30), START) == step - 1
    assert matching_step(secret, code(secret, 30), START) == step + 1
    assert matching_step(secret, code(secret, 60), START) is None
    assert matching_step(secret, "12 34", START) is None


def test_enrol_then_sign_in_with_a_code(jo):
    """Enrolling gives ten recovery codes; signing in then needs the password and a code: the
    password alone signs nobody in, a wrong code is refused and audited, the right one signs in."""
    client = Client()
    client.force_login(jo)
    secret, recovery = enrol(client)
    assert len(recovery) == 10 and len(set(recovery)) == 10

    browser = password_step(when=60)
    with at(60):
        assert browser.get("/account/").status_code == 302  # not signed in yet
        guess = "000000" if code(secret, 60) != "000000" else "111111"
        wrong = browser.post("/sign-in/code/", {"code": guess})
        assert "not right" in wrong.content.decode()
        assert browser.post("/sign-in/code/", {"code": code(secret, 60)}).status_code == 302
        assert browser.get("/account/").status_code == 200
    assert AuditEntry.objects.filter(action="person.sign_in_failed", target=f"person:{jo.pk}").count() == 1


def test_a_code_works_once(jo):
    """The code used to sign in cannot sign in again (someone who saw it over a shoulder)."""
    client = Client()
    client.force_login(jo)
    secret, _ = enrol(client)
    first = password_step(when=60)
    with at(61):
        assert first.post("/sign-in/code/", {"code": code(secret, 60)}).status_code == 302
    second = password_step(when=62)
    with at(63):
        assert "not right" in second.post("/sign-in/code/", {"code": code(secret, 60)}).content.decode()


def test_a_recovery_code_works_once(jo):
    """A lost phone: each recovery code signs in once, and its use is audited."""
    client = Client()
    client.force_login(jo)
    _, recovery = enrol(client)
    first = password_step(when=60)
    with at(60):
        assert first.post("/sign-in/code/", {"code": recovery[0].upper()}).status_code == 302
    second = password_step(when=120)
    with at(120):
        assert "not right" in second.post("/sign-in/code/", {"code": recovery[0]}).content.decode()
    assert AuditEntry.objects.filter(action="person.second_factor.recovery").count() == 1


def test_guessing_codes_locks_like_guessing_passwords(jo):
    """Wrong codes count as failed sign-ins: the right password never resets the count."""
    client = Client()
    client.force_login(jo)
    enrol(client)
    for n in range(10):
        browser = password_step(when=600 * (n + 1))
        with at(600 * (n + 1)):
            assert browser.post("/sign-in/code/", {"code": "12345x"}).status_code == 200
    assert AuditEntry.objects.filter(action="person.sign_in_locked").count() == 1
    with at(7000):
        again = Client().post("/sign-in/", {"email": "jo@acme.example", "password": PASSWORD})
    assert again.status_code == 429
    jo.refresh_from_db()
    assert jo.sign_in_locked_at is not None


def test_a_manager_requires_a_second_factor_for_a_role(jo, demo):
    """The manager ticks "agent" on the people page (audited); Jo, an agent, is sent to enrol at
    the next sign-in and reaches no desk page until done; then cannot remove it."""
    manager = Client()
    manager.force_login(demo["manager"])
    assert manager.post("/people/two-factor/", {"roles": ["agent"]}).status_code == 302
    assert AuditEntry.objects.filter(action="desk.two_factor_roles").count() == 1

    browser = password_step()
    with at(0):
        assert browser.get("/handbook/").url == "/account/two-factor/"
    secret, _ = enrol(browser, when=30)
    with at(31):
        assert browser.get("/handbook/").status_code == 200
        refused = browser.post("/account/two-factor/", {"do": "remove", "code": code(secret, 60)})
    assert "cannot be removed" in refused.content.decode()


def test_only_people_managers_choose_the_roles(signed_in):
    """An agent may not change which roles need a second factor."""
    assert signed_in("agent").post("/people/two-factor/", {"roles": []}).status_code == 403
