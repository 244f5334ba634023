"""What a production deployment still lacks, in words an operator can act on."""

from __future__ import annotations

import os

from django.conf import settings


def production_advice() -> list[str]:
    advice = []
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
            "backups, that signs the audit log (see 'Security' in docs/operating.md for rotating it)"
        )
    return advice
