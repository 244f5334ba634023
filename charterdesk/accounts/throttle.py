"""How many wrong passwords sign-in takes, per account and per client address.

Failed sign-ins are counted by the desk's one limiter (``core/ratelimit.py``: atomic across web
workers) in a day's window, and a successful sign-in clears the account's count:

- the first ``CHARTERDESK_SIGNIN_FREE_FAILURES`` (3) failures cost nothing;
- after that each attempt must wait, since the latest failure, twice as long as the one before
  (1 s, 2 s, 4 s ... at most 5 minutes); an attempt that comes sooner is refused without trying the
  password and without counting;
- at ``CHARTERDESK_SIGNIN_LOCKOUT`` (10) failures the account is locked: no password opens it until
  the person follows the unlock link emailed to them (or resets their password);
- one client address may fail ``CHARTERDESK_SIGNIN_FAILURES_PER_IP`` (50) times a day across all
  accounts before every sign-in from it is refused for the rest of the window.

Addresses that belong to nobody are counted and locked the same way (without an email), so the
answers never tell which addresses have an account.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils import timezone

from charterdesk.core.ratelimit import Limit
from charterdesk.core.settings import int_setting

DAY = 86400
LONGEST_DELAY = 300


def free_failures() -> int:
    return int_setting("CHARTERDESK_SIGNIN_FREE_FAILURES", 3)


def lockout_failures() -> int:
    return int_setting("CHARTERDESK_SIGNIN_LOCKOUT", 10)


def account_limit() -> Limit:
    return Limit("signin-account", lockout_failures(), DAY)


def address_limit() -> Limit:
    return Limit("signin-ip", int_setting("CHARTERDESK_SIGNIN_FAILURES_PER_IP", 50), DAY)


@dataclass(frozen=True)
class Refusal:
    """Why this attempt is refused before the password is tried."""

    code: str  # "wait", "locked" or "address"
    message: str


LOCKED_MESSAGE = (
    "This account is locked after too many failed sign-ins. If it is yours, the email we sent you "
    "has a link to unlock it; or choose a new password with “Forgot your password?”."
)


def delay_after(failures: int) -> int:
    """Seconds an attempt must wait after the latest of ``failures`` failures."""
    over = failures - free_failures()
    if over < 0:
        return 0
    return min(LONGEST_DELAY, 2**over)


def refusal(email: str, ip: str, *, locked: bool, now: float | None = None) -> Refusal | None:
    """Whether to refuse this attempt without trying the password; ``locked`` is the person's lock."""
    now = now if now is not None else timezone.now().timestamp()
    if address_limit().exceeded(ip, now):
        return Refusal(
            "address", "Too many failed sign-ins came from your network today. Try again tomorrow."
        )
    usage = account_limit().usage(email, now)
    if locked or usage.used >= lockout_failures():
        return Refusal("locked", LOCKED_MESSAGE)
    wait = delay_after(usage.used) - (now - usage.latest)
    if usage.used and wait > 0:
        seconds = max(1, int(wait + 0.999))
        return Refusal(
            "wait",
            f"That email and password did not match {usage.used} times. "
            f"Wait {seconds} second{'s' if seconds != 1 else ''} and try again.",
        )
    return None


def count_failure(email: str, ip: str, now: float | None = None) -> int:
    """Count one failed attempt (atomically, for the account and the address); returns the
    account's failures so far in the window."""
    now = now if now is not None else timezone.now().timestamp()
    address_limit().take(ip, now)
    return account_limit().take(email, now).used


def clear(email: str, now: float | None = None) -> None:
    """A successful sign-in (or unlock, or reset) forgets the account's failures."""
    account_limit().reset(email, now if now is not None else timezone.now().timestamp())
