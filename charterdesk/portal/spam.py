"""Spam protection without third-party services: a honeypot field, a signed timestamp, and
rate limits counted in Django's cache.

Every limit and the minimum fill time are read from settings at request time, so a deployment
(or a test) can change them without touching code:

- ``CHARTERDESK_PORTAL_MIN_SECONDS`` (3): a form sent faster than this is refused.
- ``CHARTERDESK_PORTAL_MAX_FORM_AGE`` (86400): a form older than this (seconds) is refused.
- ``CHARTERDESK_PORTAL_TICKETS_PER_HOUR`` (5): tickets one IP address may open in an hour.
- ``CHARTERDESK_PORTAL_LINKS_PER_EMAIL`` (3) and ``CHARTERDESK_PORTAL_LINKS_PER_IP`` (10):
  sign-in links that may be asked for, per address and per IP, in an hour.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from django.core import signing

from charterdesk.core.ratelimit import Limit
from charterdesk.core.settings import float_setting, int_setting

HONEYPOT_FIELD = "website"
STAMP_FIELD = "started"
_SALT = "charterdesk.portal.form-started"


def min_seconds() -> float:
    return float_setting("CHARTERDESK_PORTAL_MIN_SECONDS", 3)


def max_form_age() -> float:
    return float_setting("CHARTERDESK_PORTAL_MAX_FORM_AGE", 86400)


def make_stamp(now: float | None = None) -> str:
    """A signed record of when the form was shown; the browser cannot forge an earlier time."""
    return signing.dumps({"t": int(now if now is not None else time.time())}, salt=_SALT, compress=True)


@dataclass(frozen=True)
class StampProblem:
    """Why a form's timestamp refuses it: ``invalid`` (forged or missing), ``expired``, ``too_fast``."""

    code: str
    message: str


def stamp_problem(stamp: str, now: float | None = None) -> StampProblem | None:
    """Why a form with this stamp must be refused, in the customer's words, or None if it may pass."""
    now = now if now is not None else time.time()
    try:
        shown = float(signing.loads(stamp or "", salt=_SALT)["t"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return StampProblem(
            "invalid",
            "This form could not be checked (it was changed or is incomplete). "
            "Reload the page and send it again.",
        )
    if now - shown > max_form_age():
        return StampProblem(
            "expired", "This form was open for more than a day. Check what you wrote and send it again."
        )
    if now - shown < min_seconds():
        return StampProblem(
            "too_fast", "That was sent faster than a person can type. Wait a few seconds and send it again."
        )
    return None


def stamp_to_keep(stamp: str, now: float | None = None) -> str:
    """The stamp to put back in a re-displayed form: the same one while it is good (so a person
    refused for being too fast can simply send again), a fresh one otherwise."""
    problem = stamp_problem(stamp, now)
    if stamp and (problem is None or problem.code == "too_fast"):
        return stamp
    return make_stamp(now)


def ticket_limit() -> Limit:
    return Limit("tickets-per-ip", int_setting("CHARTERDESK_PORTAL_TICKETS_PER_HOUR", 5))


def link_limit_per_email() -> Limit:
    return Limit("links-per-email", int_setting("CHARTERDESK_PORTAL_LINKS_PER_EMAIL", 3))


def link_limit_per_ip() -> Limit:
    return Limit("links-per-ip", int_setting("CHARTERDESK_PORTAL_LINKS_PER_IP", 10))
