"""A person sets up an authenticator app, then signs in with its codes and a recovery code."""

from __future__ import annotations

import datetime as dt

import pyotp
import pytest

from tests.browser.conftest import sign_in

pytestmark = pytest.mark.browser


def fresh_code(secret: str, after_step: int) -> tuple[str, int]:
    """A code the desk accepts now and has not seen: the current step's, or the next step's while
    the current one is the step already used (the desk allows one step of drift)."""
    totp = pyotp.TOTP(secret)
    step = max(totp.timecode(dt.datetime.now(dt.UTC)), after_step + 1)
    return totp.generate_otp(step), step


def wrong_code(secret: str) -> str:
    totp = pyotp.TOTP(secret)
    here = totp.timecode(dt.datetime.now(dt.UTC))
    near = {totp.generate_otp(step) for step in range(here - 2, here + 3)}
    return next(c for c in (f"{n:06d}" for n in range(0, 1_000_000, 7919)) if c not in near)


def password(page, base: str) -> None:
    page.goto(f"{base}/sign-in/")
    page.fill("#id_email", "alex@acme.example")
    page.fill("#id_password", "demo-agent-1")
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/sign-in/code/")


def test_enrol_sign_in_with_a_code_and_a_recovery_code(demo_live, page, browser):
    """Alex sets up an app from the account page; the next sign-in asks for a code: a wrong one is
    refused, the right one signs in; a recovery code signs in once and not twice."""
    base = demo_live
    sign_in(page, base, "alex@acme.example", "demo-agent-1")
    page.goto(f"{base}/account/")
    page.click("text=Your authenticator app and recovery codes")
    secret = page.inner_text("#totp-secret").strip()
    code, used = fresh_code(secret, 0)
    page.fill("#id_code", code)
    page.click("text=Set it up")
    page.wait_for_selector("text=Your recovery codes")
    recovery = [c.strip() for c in page.locator(".recovery-codes code").all_inner_texts()]
    assert len(recovery) == 10
    page.context.clear_cookies()

    password(page, base)
    page.fill("#id_code", wrong_code(secret))
    page.click("button[type=submit]")
    page.wait_for_selector("text=That code is not right")
    code, used = fresh_code(secret, used)
    page.fill("#id_code", code)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/handbook/")
    page.context.clear_cookies()

    password(page, base)
    page.fill("#id_code", recovery[0])
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/handbook/")
    page.context.clear_cookies()

    password(page, base)
    page.fill("#id_code", recovery[0])
    page.click("button[type=submit]")
    page.wait_for_selector("text=That code is not right")
