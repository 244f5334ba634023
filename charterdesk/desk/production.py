"""What a production deployment still lacks, in words an operator can act on."""

from __future__ import annotations

import os
from urllib.parse import urlsplit

from django.conf import settings

from charterdesk.core.security import HEADER, content_security_policy

CSP_MIDDLEWARE = "charterdesk.core.security.ContentSecurityPolicy"
PROXY_MIDDLEWARE = "charterdesk.core.security.ProxyHttpsHeader"


def _loopback(host: str) -> bool:
    from charterdesk.desk.management.commands.serve import loopback

    return loopback(host)


def served_publicly() -> bool:
    """Whether people reach the desk from other machines: `serve` binds a non-loopback address
    (CHARTERDESK_HOST), or the desk's public address (SITE_URL) is not this machine."""
    bind = os.environ.get("CHARTERDESK_HOST", "127.0.0.1")
    site = urlsplit(settings.SITE_URL).hostname or "127.0.0.1"
    return not _loopback(bind) or not _loopback(site)


def _trusts_proxy_https() -> bool:
    return getattr(settings, "SECURE_PROXY_SSL_HEADER", None) is not None


def security_report() -> list[str]:
    """How the desk's web security stands, one line per protection, whatever is missing."""
    lines = []
    if CSP_MIDDLEWARE in settings.MIDDLEWARE:
        lines.append(f"{HEADER}: on every page ({content_security_policy('…')})")
    else:
        lines.append(f"{HEADER}: off ({CSP_MIDDLEWARE} is not in MIDDLEWARE)")
    seconds = int(getattr(settings, "SECURE_HSTS_SECONDS", 0) or 0)
    where = "served to other machines" if served_publicly() else "served on this machine only"
    if seconds:
        lines.append(f"HSTS: on, {seconds} seconds, on HTTPS responses ({where})")
    else:
        lines.append(f"HSTS: off ({where})")
    proxies = ", ".join(settings.CHARTERDESK_TRUSTED_PROXIES) or "none listed"
    if _trusts_proxy_https() and settings.CHARTERDESK_TRUSTED_PROXIES:
        lines.append(f"Proxy: X-Forwarded-Proto: https is believed from the trusted proxies ({proxies})")
    elif _trusts_proxy_https():
        lines.append(
            "Proxy: X-Forwarded-Proto: https would be believed from the trusted proxies, but none is listed"
        )
    else:
        lines.append(
            "Proxy: X-Forwarded-Proto is not believed; a request is HTTPS only when it reaches the desk "
            f"over TLS (trusted proxies for the client's address: {proxies})"
        )
    if settings.SECRET_KEY == settings.DEVELOPMENT_SECRET_KEY:
        lines.append("SECRET_KEY: the built-in development key, which anyone can read")
    elif len(settings.SECRET_KEY) < 40:
        lines.append(f"SECRET_KEY: set, but short ({len(settings.SECRET_KEY)} characters)")
    else:
        lines.append("SECRET_KEY: set")
    lines.append(
        "Cookies: sent over HTTPS only" if settings.SESSION_COOKIE_SECURE else "Cookies: sent over HTTP too"
    )
    return lines


def protocol_in_force_problem() -> str | None:
    """Why the published version in force does not load, or None (it loads, or none is in force).

    A version published under an older release can break a rule added since (a line break in its
    `company`, say): the desk then runs as if nothing were in force until a corrected version is
    published.
    """
    from django.db import DatabaseError

    from charterdesk.library.versions import load_version, version_in_force

    try:
        version = version_in_force()
    except DatabaseError:  # not migrated yet: `charterdesk migrate` says so
        return None
    if version is None:
        return None
    result = load_version(version)
    if result.protocol is not None:
        return None
    first = result.errors[0] if result.errors else None
    return (
        f"the protocol in force (version {version.version}) does not load under this release's rules"
        + (f" ({first})" if first else "")
        + "; publish a corrected version from the protocol library"
    )


def production_advice() -> list[str]:
    advice = []
    problem = protocol_in_force_problem()
    if problem:
        advice.append(f"Protocol: {problem}")
    if settings.SECRET_KEY == settings.DEVELOPMENT_SECRET_KEY or len(settings.SECRET_KEY) < 40:
        advice.append(
            "SECRET_KEY: set a long random value"
            " (python3 -c 'import secrets; print(secrets.token_urlsafe(50))')"
        )
    if settings.DEBUG:
        advice.append("DEBUG: turn it off (unset DEBUG or set DEBUG=0)")
    if settings.DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
        advice.append("DATABASE_URL: point it at PostgreSQL (postgres://user:password@host:5432/charterdesk)")
    if set(settings.ALLOWED_HOSTS) <= {"127.0.0.1", "localhost"}:
        advice.append("ALLOWED_HOSTS: list the host names the desk is served under")
    if CSP_MIDDLEWARE not in settings.MIDDLEWARE:
        advice.append(f"MIDDLEWARE: put {CSP_MIDDLEWARE} back, after SecurityMiddleware")
    if served_publicly() and not getattr(settings, "SECURE_HSTS_SECONDS", 0):
        advice.append(
            "CHARTERDESK_HSTS_SECONDS: once the desk is only ever served over HTTPS, set 31536000 (a "
            "year) so that browsers never reach it over plain HTTP"
        )
    if _trusts_proxy_https() and PROXY_MIDDLEWARE not in settings.MIDDLEWARE:
        advice.append(f"MIDDLEWARE: put {PROXY_MIDDLEWARE} back first, or any client can claim HTTPS")
    if _trusts_proxy_https() and not settings.CHARTERDESK_TRUSTED_PROXIES:
        advice.append(
            "CHARTERDESK_TRUSTED_PROXIES: list the address of the proxy that ends HTTPS; until then "
            "CHARTERDESK_TRUST_PROXY_HTTPS=1 believes no request's X-Forwarded-Proto"
        )
    if (
        not _trusts_proxy_https()
        and settings.CHARTERDESK_TRUSTED_PROXIES
        and settings.SITE_URL.startswith("https://")
    ):
        advice.append(
            "CHARTERDESK_TRUST_PROXY_HTTPS=1: the desk is on HTTPS behind trusted proxies; let them say "
            "a request came over HTTPS (for HSTS and secure cookies)"
        )
    if not settings.SESSION_COOKIE_SECURE:
        advice.append("SECURE_COOKIES=1: send sign-in cookies over HTTPS only")
    if settings.EMAIL_BACKEND.endswith("console.EmailBackend"):
        advice.append(
            "EMAIL_BACKEND / EMAIL_HOST: configure SMTP so invitations and notifications are delivered"
        )
    if settings.SITE_URL.startswith("http://127.0.0.1") or settings.SITE_URL.startswith("http://localhost"):
        advice.append("SITE_URL: the public address of the desk, for links in emails")
    if not os.environ.get("MEDIA_ROOT"):
        advice.append("MEDIA_ROOT: a durable folder for uploaded files (backed up with the database)")
    if not (getattr(settings, "CHARTERDESK_AUDIT_KEY", None) or os.environ.get("CHARTERDESK_AUDIT_KEY")):
        advice.append(
            "CHARTERDESK_AUDIT_KEY: a long random value of its own, kept outside the database and its "
            "backups, that signs the audit log (see 'The audit log' in docs/operating.md for rotating it)"
        )
    return advice
