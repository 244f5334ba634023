"""Sign-in under attack, and a person's own password and sessions."""

from __future__ import annotations

import datetime as dt
import re
from unittest.mock import patch

import pytest
from django.core import mail
from django.core.management import CommandError, call_command
from django.test import Client

from charterdesk.audit.models import AuditEntry

START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
PASSWORD = "correct-horse-9"


def at(**delta):
    return patch("django.utils.timezone.now", return_value=START + dt.timedelta(**delta))


def attempt(client, email, password, *, ip="203.0.113.9"):
    return client.post("/sign-in/", {"email": email, "password": password}, REMOTE_ADDR=ip)


@pytest.fixture
def jo(person):
    return person("jo@acme.example", ["agent"], name="Jo Walker")


def test_two_hundred_wrong_passwords_lock_the_account_after_ten(jo):
    """Guessing is not free: ten wrong passwords (each after its growing wait) lock the account,
    the other 190 are refused without trying the password, each failure is audited by the
    person's id, one unlock link is emailed, and the right password no longer opens it."""
    client = Client()
    codes = []
    for n in range(200):
        with at(minutes=10 * n):
            codes.append(attempt(client, "jo@acme.example", f"guess-{n}").status_code)
    assert codes[:10] == [200] * 10
    assert codes[10:] == [429] * 190
    failed = AuditEntry.objects.filter(action="person.sign_in_failed")
    assert failed.count() == 10
    assert {entry.target for entry in failed} == {f"person:{jo.pk}"}
    assert all("jo@acme.example" not in (entry.summary + str(entry.data)) for entry in failed)
    assert AuditEntry.objects.filter(action="person.sign_in_locked").count() == 1
    with at(minutes=2001):
        refused = attempt(client, "jo@acme.example", PASSWORD)
    assert refused.status_code == 429
    assert "locked" in refused.content.decode()
    (unlock_mail,) = mail.outbox
    assert unlock_mail.to == ["jo@acme.example"]

    link = re.search(r"http://\S+/sign-in/unlock/\S+/", unlock_mail.body)[0]
    path = link.split("testserver", 1)[1]
    with at(minutes=2002):
        assert client.get(path).status_code == 200  # a mail scanner's visit unlocks nothing
        assert attempt(client, "jo@acme.example", PASSWORD).status_code == 429
        assert client.post(path).status_code == 302
        assert client.post(path).status_code == 404  # once
        assert attempt(client, "jo@acme.example", PASSWORD).status_code == 302


def test_after_three_failures_each_attempt_waits_twice_as_long(jo):
    """Three failures are free; the fourth must wait 1 s after the third, the fifth 2 s after the
    fourth. An attempt that comes sooner is refused (even with the right password) and not counted."""
    client = Client()
    with at(seconds=0):
        for n in range(3):
            assert attempt(client, "jo@acme.example", f"guess-{n}").status_code == 200
        too_soon = attempt(client, "jo@acme.example", PASSWORD)
    assert too_soon.status_code == 429
    assert "Wait 1 second and try again" in too_soon.content.decode()
    with at(seconds=1):
        assert attempt(client, "jo@acme.example", "guess-3").status_code == 200
    with at(seconds=2):
        assert "Wait 1 second" in attempt(client, "jo@acme.example", PASSWORD).content.decode()
    with at(seconds=3):
        assert attempt(client, "jo@acme.example", PASSWORD).status_code == 302
    assert AuditEntry.objects.filter(action="person.sign_in_failed").count() == 4


def test_one_address_guessing_many_accounts_is_stopped(jo, settings):
    """Failures from one client address count across accounts: past the address's limit every
    sign-in from it is refused, while other addresses sign in as usual."""
    settings.CHARTERDESK_SIGNIN_FAILURES_PER_IP = 3
    client = Client()
    with at(seconds=0):
        for n in range(3):
            assert attempt(client, f"someone-{n}@acme.example", "guess").status_code == 200
        assert attempt(client, "jo@acme.example", PASSWORD).status_code == 429
        assert attempt(Client(), "jo@acme.example", PASSWORD, ip="198.51.100.1").status_code == 302


def test_unknown_addresses_are_answered_like_known_ones(db):
    """An address with no account fails and locks like a real one (no email is sent), and the
    audit log keeps its hash, not the address."""
    client = Client()
    codes = []
    for n in range(12):
        with at(minutes=10 * n):
            codes.append(attempt(client, "nobody@acme.example", "guess").status_code)
    assert codes == [200] * 10 + [429] * 2
    assert mail.outbox == []
    entry = AuditEntry.objects.filter(action="person.sign_in_failed").first()
    assert "nobody@acme.example" not in entry.summary + str(entry.data)
    assert len(entry.data["email_sha256"]) == 64


def test_a_forgotten_password_is_reset_once_by_the_emailed_link(jo):
    """ "Forgot your password?" emails a link; it sets a new password once, the old one stops
    working, and the page says the same for an address that has no account."""
    client = Client()
    with at(seconds=0):
        answer = client.post("/sign-in/forgot/", {"email": "jo@acme.example"})
        same = client.post("/sign-in/forgot/", {"email": "nobody@acme.example"})
    assert answer.content.decode().count("If that address has an account") == 1
    assert "If that address has an account" in same.content.decode()
    (message,) = mail.outbox
    path = re.search(r"http://testserver(/sign-in/reset/\S+/)", message.body)[1]
    new = {"new_password1": "a-new-password-77", "new_password2": "a-new-password-77"}
    with at(seconds=5):
        assert client.post(path, new).status_code == 302
        assert client.get(path).status_code == 404
        assert attempt(client, "jo@acme.example", PASSWORD).status_code == 200
    with at(seconds=10):
        assert attempt(client, "jo@acme.example", "a-new-password-77").status_code == 302
    assert AuditEntry.objects.filter(action="person.password", target=f"person:{jo.pk}").exists()


def test_a_reset_link_expires(jo, settings):
    """A reset link older than CHARTERDESK_LINK_SECONDS (an hour) is refused."""
    from charterdesk.accounts.tokens import ResetTokens, person_id, reset_tokens

    token = reset_tokens.make_token(jo)
    later = dt.datetime.now() + dt.timedelta(seconds=settings.PASSWORD_RESET_TIMEOUT + 60)
    with patch.object(ResetTokens, "_now", return_value=later):
        assert Client().get(f"/sign-in/reset/{person_id(jo)}/{token}/").status_code == 404
    assert Client().get(f"/sign-in/reset/{person_id(jo)}/{token}/").status_code == 200


def _signed_in_client(ip="203.0.113.9"):
    client = Client()
    assert attempt(client, "jo@acme.example", PASSWORD, ip=ip).status_code == 302
    return client


def test_changing_the_password_signs_out_the_other_sessions(jo):
    """A changed password keeps this session and ends every other one."""
    with at(seconds=0):
        here, elsewhere = _signed_in_client(), _signed_in_client("198.51.100.1")
        changed = here.post(
            "/account/",
            {
                "old_password": PASSWORD,
                "new_password1": "another-pass-88",
                "new_password2": "another-pass-88",
            },
        )
        assert changed.status_code == 302
        assert here.get("/account/").status_code == 200
        assert elsewhere.get("/account/").status_code == 302


def test_sign_out_my_other_sessions(jo):
    """ "Sign out my other sessions" ends the others, keeps this one, and is audited."""
    with at(seconds=0):
        here, elsewhere = _signed_in_client(), _signed_in_client("198.51.100.1")
        assert here.post("/account/sign-out-others/").status_code == 302
        assert here.get("/account/").status_code == 200
        assert elsewhere.get("/account/").status_code == 302
    assert AuditEntry.objects.filter(action="person.sign_out_others").count() == 1


def test_an_idle_session_ends_after_twelve_hours(jo):
    """A session used every 11 hours stays; one left alone for more than 12 hours ends."""
    with at(hours=0):
        client = _signed_in_client()
    with at(hours=11):
        assert client.get("/account/").status_code == 200
    with at(hours=22):
        assert client.get("/account/").status_code == 200
    with at(hours=34, minutes=5):
        assert client.get("/account/").status_code == 302


def test_a_session_ends_at_its_absolute_age_however_busy(jo, settings):
    """Busy or not, a session ends SESSION_COOKIE_AGE after sign-in."""
    settings.SESSION_COOKIE_AGE = 24 * 3600
    with at(hours=0):
        client = _signed_in_client()
    for hours in (6, 12, 18, 23):
        with at(hours=hours):
            assert client.get("/account/").status_code == 200
    with at(hours=24, minutes=1):
        assert client.get("/account/").status_code == 302


def test_serve_refuses_the_development_key_off_this_machine(settings):
    """`charterdesk serve --host 0.0.0.0` with the built-in key stops with a reason; on
    127.0.0.1 (the demo) it starts as before."""
    from charterdesk.desk.management.commands.serve import loopback

    settings.SECRET_KEY = settings.DEVELOPMENT_SECRET_KEY
    with pytest.raises(CommandError, match="development key"):
        call_command("serve", "--host", "0.0.0.0")
    with patch("os.execve") as execve:
        call_command("serve", "--host", "127.0.0.1")
    assert execve.called
    assert [
        loopback(h) for h in ("127.0.0.1", "::1", "[::1]", "localhost", "0.0.0.0", "10.0.0.5", "desk.example")
    ] == [
        True,
        True,
        True,
        True,
        False,
        False,
        False,
    ]
