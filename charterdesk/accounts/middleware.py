"""Sessions end after ``CHARTERDESK_SESSION_IDLE_HOURS`` (12) without a request, and
``SESSION_COOKIE_AGE`` (``CHARTERDESK_SESSION_MAX_HOURS``, two weeks) after sign-in, whatever
happens in between. Django alone renews the cookie's age on every change to the session, so the
absolute limit is kept here from the time of sign-in."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import logout
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone

from charterdesk.core.settings import float_setting

# Set at sign-in when the person's role needs a second factor they have not set up yet.
MUST_ENROL = "charterdesk.two_factor.must_enrol"
# What such a person may still reach: the enrolment page, signing out, static files.
ENROL_ALLOWED = ("/account/two-factor/", "/sign-out/", "/static/")

# "Seen" is written back at most this often, so that reading pages does not write the session each time.
SEEN_RESOLUTION = 60


def idle_seconds() -> float:
    return float_setting("CHARTERDESK_SESSION_IDLE_HOURS", 12.0) * 3600


class SessionTimeouts:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and hasattr(request, "session"):
            now = int(timezone.now().timestamp())
            session = request.session
            signed_in = session.get("signed_in_at", now)
            seen = session.get("seen_at", now)
            if now - seen > idle_seconds() or now - signed_in > settings.SESSION_COOKIE_AGE:
                logout(request)
            else:
                session.setdefault("signed_in_at", signed_in)
                if now - seen >= SEEN_RESOLUTION or "seen_at" not in session:
                    session["seen_at"] = now
                if session.get(MUST_ENROL) and not request.path.startswith(ENROL_ALLOWED):
                    return redirect(reverse("accounts:two-factor"))
        return self.get_response(request)
