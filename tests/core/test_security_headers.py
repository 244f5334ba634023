"""What every page carries for the browser's protection: a strict Content-Security-Policy with a
fresh nonce, HSTS when set, and HTTPS believed only from the trusted proxies."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.urls import reverse

REPO = Path(__file__).resolve().parents[2]
TEMPLATES = sorted((REPO / "charterdesk").glob("**/templates/**/*.html"))
# E-mail bodies: never shown under the desk's policy (the mailed report's preview gets a nonce).
MAIL_TEMPLATES = {"charterdesk/reports/templates/reports/mail.html"}


def _policy(response) -> dict[str, str]:
    header = response["Content-Security-Policy"]
    return {part.split(" ", 1)[0]: part.split(" ", 1)[1] for part in header.split("; ")}


@pytest.mark.django_db
def test_every_page_carries_a_strict_policy_with_a_fresh_nonce(client):
    """The sign-in page says default-src 'self', scripts and styles only from the desk or with this
    request's nonce (no 'unsafe-inline', no 'unsafe-eval'), no plugins, no <base>, forms only to the
    desk, never framed; a second request gets another nonce; a 404 carries the policy too."""
    first = client.get(reverse("accounts:sign-in"))
    policy = _policy(first)
    nonce = re.fullmatch(r"'self' 'nonce-([\w-]+)'", policy["script-src"]).group(1)
    assert policy["default-src"] == "'self'"
    assert policy["style-src"] == f"'self' 'nonce-{nonce}'"
    assert policy["object-src"] == "'none'"
    assert policy["base-uri"] == "'none'"
    assert policy["form-action"] == "'self'"
    assert policy["frame-ancestors"] == "'none'"
    assert "unsafe" not in first["Content-Security-Policy"]
    second = client.get(reverse("accounts:sign-in"))
    assert _policy(second)["script-src"] != policy["script-src"]
    assert "frame-ancestors 'none'" in client.get("/no-such-page/")["Content-Security-Policy"]


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: str(p.relative_to(REPO)))
def test_no_template_holds_what_the_policy_would_block(template):
    """No page template has an inline <script> without the nonce, an onclick-style handler, a
    javascript: link, a style attribute or an htmx feature that needs eval (hx-on, js: values,
    hx-vars, trigger filters): the policy would silently switch each of them off."""
    name = str(template.relative_to(REPO))
    if name in MAIL_TEMPLATES:
        return
    text = template.read_text(encoding="utf-8")
    assert not re.search(r"<script(?![^>]*\bsrc=)(?![^>]*nonce=)(?![^>]*application/json)[^>]*>", text), name
    assert not re.search(r"\son[a-z]+\s*=", text), name
    assert "javascript:" not in text.lower(), name
    assert not re.search(r"\sstyle\s*=", text), name
    assert "<style" not in text or "nonce=" in text, name
    # htmx evaluates these with eval, which the policy (and htmx's allowEval: false) refuses.
    assert "hx-on" not in text and "js:" not in text and "hx-vars" not in text, name
    assert not re.search(r'hx-trigger="[^"]*\[', text), name  # an event filter such as keyup[key=='Enter']


def _request_meta(rf, remote: str, proto: str | None):
    extra = {"HTTP_X_FORWARDED_PROTO": proto} if proto else {}
    return rf.get("/", REMOTE_ADDR=remote, **extra)


def test_https_is_believed_only_from_the_trusted_proxies(rf, settings):
    """With CHARTERDESK_TRUST_PROXY_HTTPS, X-Forwarded-Proto: https from the listed proxy makes the
    request HTTPS (and gets HSTS); the same header from any other address is dropped."""
    from django.http import HttpResponse
    from django.middleware.security import SecurityMiddleware

    from charterdesk.core.security import ProxyHttpsHeader

    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.CHARTERDESK_TRUSTED_PROXIES = ["10.0.0.2"]
    seen = {}

    def view(request):
        seen["secure"] = request.is_secure()
        return HttpResponse("ok")

    chain = ProxyHttpsHeader(SecurityMiddleware(view))
    from_proxy = chain(_request_meta(rf, "10.0.0.2", "https"))
    assert seen["secure"] is True
    assert from_proxy["Strict-Transport-Security"] == "max-age=31536000"
    from_anyone = chain(_request_meta(rf, "203.0.113.7", "https"))
    assert seen["secure"] is False
    assert "Strict-Transport-Security" not in from_anyone
    settings.CHARTERDESK_TRUSTED_PROXIES = []
    chain(_request_meta(rf, "10.0.0.2", "https"))
    assert seen["secure"] is False


def _settings_from(env: dict[str, str]) -> dict[str, str]:
    """The desk's settings as a fresh process reads them from ``env``."""
    code = (
        "from charterdesk.desk import settings as s; "
        "print(s.SECURE_HSTS_SECONDS, s.SECURE_HSTS_INCLUDE_SUBDOMAINS, "
        "getattr(s, 'SECURE_PROXY_SSL_HEADER', None), s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE)"
    )
    clean = {
        k: v for k, v in os.environ.items() if not k.startswith(("CHARTERDESK_HSTS", "CHARTERDESK_TRUST"))
    }
    clean.pop("SECURE_COOKIES", None)
    clean.pop("SITE_URL", None)
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={**clean, **env},
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
    )
    return out.stdout.split(" ", 2)


def test_hsts_and_the_proxy_setting_come_from_the_environment():
    """HSTS is off and no proxy header is read by default; CHARTERDESK_HSTS_SECONDS=31536000 and
    CHARTERDESK_TRUST_PROXY_HTTPS=1 turn them on, and cookies then go over HTTPS only."""
    assert _settings_from({}) == ["0", "False", "None False False\n"]
    assert _settings_from(
        {"CHARTERDESK_HSTS_SECONDS": "31536000", "CHARTERDESK_HSTS_INCLUDE_SUBDOMAINS": "1"}
    ) == [
        "31536000",
        "True",
        "None True True\n",
    ]
    assert (
        _settings_from({"CHARTERDESK_TRUST_PROXY_HTTPS": "1"})[2]
        == "('HTTP_X_FORWARDED_PROTO', 'https') True True\n"
    )
    assert _settings_from({"SITE_URL": "https://help.example.com"})[2] == "None True True\n"
    assert (
        _settings_from({"SITE_URL": "https://help.example.com", "SECURE_COOKIES": "0"})[2]
        == "None False False\n"
    )


@pytest.mark.django_db
def test_a_form_sent_over_https_through_the_trusted_proxy_passes_the_csrf_origin_check(settings):
    """Behind the trusted proxy, signing in from https://desk.example.com is not refused as a
    cross-site request (no CSRF_TRUSTED_ORIGINS needed); the same request from another address,
    whose HTTPS header is not believed, is refused with 403."""
    from django.test import Client

    settings.ALLOWED_HOSTS = ["desk.example.com"]
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.CHARTERDESK_TRUSTED_PROXIES = ["10.0.0.2"]

    def sign_in_from(remote: str) -> int:
        client = Client(
            enforce_csrf_checks=True,
            REMOTE_ADDR=remote,
            HTTP_HOST="desk.example.com",
            HTTP_X_FORWARDED_PROTO="https",
        )
        client.get(reverse("accounts:sign-in"))
        token = client.cookies["csrftoken"].value
        response = client.post(
            reverse("accounts:sign-in"),
            {"csrfmiddlewaretoken": token, "email": "jo@example.com", "password": "wrong-password"},
            HTTP_ORIGIN="https://desk.example.com",
            HTTP_REFERER="https://desk.example.com/sign-in/",
        )
        return response.status_code

    assert sign_in_from("10.0.0.2") == 200  # the form again, saying the password is wrong
    assert sign_in_from("203.0.113.7") == 403
