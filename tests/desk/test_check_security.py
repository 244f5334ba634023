"""`charterdesk check` says how the desk's web security stands: the Content-Security-Policy, HSTS
when the desk is served to other machines, the proxy's HTTPS header, and the secret key."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

# The check reads the version in force from the database.
pytestmark = pytest.mark.django_db

STRONG_KEY = "k" * 50


def _check(capsys) -> tuple[list[str], list[str]]:
    """The report's security lines and the advice lines, as the operator reads them."""
    with pytest.raises(CommandError):  # the test settings (SQLite, console mail) always lack something
        call_command("desk_check")
    out = capsys.readouterr().out.splitlines()
    security = out[out.index("Security:") + 1 : out.index("For production, this desk still lacks:")]
    advice = out[out.index("For production, this desk still lacks:") + 1 :]
    return [line.strip() for line in security], [line.strip("- ").strip() for line in advice]


def _advice_about(advice: list[str], name: str) -> list[str]:
    return [line for line in advice if line.startswith(name)]


def test_the_check_reports_the_content_security_policy_and_its_absence(capsys, settings):
    """The check says the policy is on every page, and when someone took its middleware out it says
    it is off and asks for it back."""
    security, advice = _check(capsys)
    assert security[0].startswith("Content-Security-Policy: on every page (default-src 'self'; ")
    assert not _advice_about(advice, "MIDDLEWARE")
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if not m.endswith("ContentSecurityPolicy")]
    security, advice = _check(capsys)
    assert security[0] == (
        "Content-Security-Policy: off (charterdesk.core.security.ContentSecurityPolicy is not in MIDDLEWARE)"
    )
    assert _advice_about(advice, "MIDDLEWARE") == [
        "MIDDLEWARE: put charterdesk.core.security.ContentSecurityPolicy back, after SecurityMiddleware"
    ]


def test_hsts_off_is_advice_only_when_the_desk_is_served_to_other_machines(capsys, settings, monkeypatch):
    """On 127.0.0.1 HSTS off is just reported; bound to 0.0.0.0 (or with a public SITE_URL) the check
    asks for CHARTERDESK_HSTS_SECONDS; with it set, it reports the seconds and asks nothing."""
    monkeypatch.setenv("CHARTERDESK_HOST", "127.0.0.1")
    settings.SITE_URL = "http://127.0.0.1:8000"
    settings.SECURE_HSTS_SECONDS = 0
    security, advice = _check(capsys)
    assert "HSTS: off (served on this machine only)" in security
    assert not _advice_about(advice, "CHARTERDESK_HSTS_SECONDS")
    monkeypatch.setenv("CHARTERDESK_HOST", "0.0.0.0")
    security, advice = _check(capsys)
    assert "HSTS: off (served to other machines)" in security
    assert _advice_about(advice, "CHARTERDESK_HSTS_SECONDS: once the desk is only ever served over HTTPS")
    monkeypatch.setenv("CHARTERDESK_HOST", "127.0.0.1")
    settings.SITE_URL = "https://help.example.com"
    assert _advice_about(_check(capsys)[1], "CHARTERDESK_HSTS_SECONDS")
    settings.SECURE_HSTS_SECONDS = 31536000
    security, advice = _check(capsys)
    assert "HSTS: on, 31536000 seconds, on HTTPS responses (served to other machines)" in security
    assert not _advice_about(advice, "CHARTERDESK_HSTS_SECONDS")


def test_the_check_reports_whose_https_header_is_believed(capsys, settings):
    """Without the proxy setting the header is not believed; with it and no trusted proxy listed the
    check asks for CHARTERDESK_TRUSTED_PROXIES; with the proxy listed it names it; behind listed
    proxies on an https SITE_URL without the setting, it suggests CHARTERDESK_TRUST_PROXY_HTTPS=1."""
    settings.SECURE_PROXY_SSL_HEADER = None
    settings.CHARTERDESK_TRUSTED_PROXIES = []
    security, advice = _check(capsys)
    assert security[2].startswith("Proxy: X-Forwarded-Proto is not believed;")
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    security, advice = _check(capsys)
    assert security[2] == (
        "Proxy: X-Forwarded-Proto: https would be believed from the trusted proxies, but none is listed"
    )
    assert _advice_about(advice, "CHARTERDESK_TRUSTED_PROXIES: list the address of the proxy")
    settings.CHARTERDESK_TRUSTED_PROXIES = ["10.0.0.2"]
    security, advice = _check(capsys)
    assert security[2] == "Proxy: X-Forwarded-Proto: https is believed from the trusted proxies (10.0.0.2)"
    assert not _advice_about(advice, "CHARTERDESK_TRUSTED_PROXIES")
    settings.SECURE_PROXY_SSL_HEADER = None
    settings.SITE_URL = "https://help.example.com"
    assert _advice_about(_check(capsys)[1], "CHARTERDESK_TRUST_PROXY_HTTPS=1: the desk is on HTTPS")


def test_the_check_reports_the_secret_key(capsys, settings):
    """The built-in development key is named as readable by anyone (and set as advice), a short key
    as short, a long random one as set."""
    settings.SECRET_KEY = settings.DEVELOPMENT_SECRET_KEY
    security, advice = _check(capsys)
    assert "SECRET_KEY: the built-in development key, which anyone can read" in security
    assert _advice_about(advice, "SECRET_KEY: set a long random value")
    settings.SECRET_KEY = "short-key"
    assert "SECRET_KEY: set, but short (9 characters)" in _check(capsys)[0]
    settings.SECRET_KEY = STRONG_KEY
    security, advice = _check(capsys)
    assert "SECRET_KEY: set" in security and not _advice_about(advice, "SECRET_KEY")


def test_the_check_names_a_version_in_force_that_no_longer_loads(capsys, demo):
    """A version published before one-line fields were checked, with "Acme\\nGear" as its company,
    no longer loads: the check says so with the problem's line and asks for a corrected version."""
    from charterdesk.library.models import ProtocolVersion
    from charterdesk.library.versions import version_in_force

    assert not _advice_about(_check(capsys)[1], "Protocol:")
    version = version_in_force()
    broken = version.source.replace("company: Acme Outdoor Gear", 'company: "Acme\\nGear"', 1)
    ProtocolVersion.objects.filter(pk=version.pk).update(source=broken)
    assert _advice_about(_check(capsys)[1], "Protocol:") == [
        f"Protocol: the protocol in force (version 3.2) does not load under this release's rules "
        f"(version-{version.pk}.yaml:2:10: company: 'Acme\\nGear' must be on one line, but it holds a "
        "line break after 'Acme'; write it without); publish a corrected version from the protocol library"
    ]
