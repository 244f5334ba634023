"""Django settings, all from the environment with defaults that run on one machine.

`charterdesk check` (charterdesk/desk/production.py) tells what a production
deployment still lacks. Nothing here reads the clock or the network at import.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent


def _default_data_dir() -> Path:
    # In a source checkout: its var/ folder, whatever the current directory is. Installed
    # elsewhere: the user's data folder.
    checkout = BASE_DIR.parent
    if (checkout / "pyproject.toml").exists() and (checkout / "dev.py").exists():
        return checkout / "var"
    return Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share")) / "charterdesk"


# Where the SQLite database, uploaded files and other state live by default.
DATA_DIR = Path(os.environ.get("CHARTERDESK_DATA_DIR") or _default_data_dir()).resolve()

DEVELOPMENT_SECRET_KEY = "charterdesk-development-key-not-for-production"
SECRET_KEY = os.environ.get("SECRET_KEY", DEVELOPMENT_SECRET_KEY)
DEBUG = os.environ.get("DEBUG", "0").lower() in ("1", "true", "yes")
ALLOWED_HOSTS = [
    h.strip() for h in os.environ.get("ALLOWED_HOSTS", "127.0.0.1,localhost").split(",") if h.strip()
]
CSRF_TRUSTED_ORIGINS = [o.strip() for o in os.environ.get("CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()]
# The desk's own address, for links in emails.
SITE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "ninja",  # serves the API docs' assets locally (no CDN)
    "django_tasks",
    "django_tasks_db",
    "charterdesk.core",
    "charterdesk.audit",
    "charterdesk.accounts",
    "charterdesk.library",
    "charterdesk.handbook",
    "charterdesk.notifications",
    "charterdesk.tickets",
    "charterdesk.api",
    "charterdesk.portal",
    "charterdesk.channels",
    "charterdesk.whatif",
    "charterdesk.surveys",
    "charterdesk.checks",
    "charterdesk.reports",
    "charterdesk.demo",
    "charterdesk.worker",
    "charterdesk.desk",
]

MIDDLEWARE = [
    # First: drops an X-Forwarded-Proto that no trusted proxy wrote, before anything reads it.
    "charterdesk.core.security.ProxyHttpsHeader",
    "django.middleware.security.SecurityMiddleware",
    "charterdesk.core.security.ContentSecurityPolicy",
    "charterdesk.api.middleware.ApiErrorsAsJson",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "charterdesk.accounts.middleware.SessionTimeouts",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "charterdesk.library.middleware.ProtocolInForceMiddleware",
]

ROOT_URLCONF = "charterdesk.desk.urls"
WSGI_APPLICATION = "charterdesk.desk.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "charterdesk.library.context.protocol_in_force",
                "charterdesk.notifications.context.unread_notifications",
                "charterdesk.accounts.context.desk_permissions",
                "charterdesk.tickets.context.family_navigation",
                "charterdesk.core.limits.post_limits",
                "charterdesk.core.security.csp_nonce",
            ],
        },
    }
]


def _database() -> dict:
    url = os.environ.get("DATABASE_URL")
    if url:
        config = dj_database_url.parse(url, conn_max_age=60, conn_health_checks=True)
    else:
        DATA_DIR.mkdir(parents=True, exist_ok=True)
        config = dj_database_url.parse(f"sqlite:///{DATA_DIR / 'charterdesk.sqlite3'}")
    if config["ENGINE"] == "django.db.backends.postgresql":
        # The tests' database, one per checkout: two test runs against one server (a clone's CI and
        # a working copy's) must never create and drop the same database under each other.
        checkout = hashlib.sha256(str(BASE_DIR).encode()).hexdigest()[:8]
        config["TEST"] = {"NAME": f"test_{config['NAME']}_{checkout}"[:63]}
    if config["ENGINE"] == "django.db.backends.sqlite3":
        # WAL lets the web server read while the worker writes; IMMEDIATE avoids
        # "database is locked" upgrades from read to write inside a transaction.
        config["OPTIONS"] = {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    return config


DATABASES = {"default": _database()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.Person"
LOGIN_URL = "accounts:sign-in"
LOGIN_REDIRECT_URL = "handbook:index"
LOGOUT_REDIRECT_URL = "accounts:sign-in"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
if os.environ.get("CHARTERDESK_FAST_HASHER") == "1":  # tests only: hashing dominates otherwise
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

SESSION_COOKIE_HTTPONLY = True
# A session ends CHARTERDESK_SESSION_MAX_HOURS after sign-in (absolute) and after
# CHARTERDESK_SESSION_IDLE_HOURS without a request (idle); charterdesk.accounts.middleware.
SESSION_COOKIE_AGE = int(float(os.environ.get("CHARTERDESK_SESSION_MAX_HOURS", "336")) * 3600)
# Emailed password-reset and unlock links work for this long (and once).
PASSWORD_RESET_TIMEOUT = int(os.environ.get("CHARTERDESK_LINK_SECONDS", "3600"))

# HTTPS (docs/operating.md, "Security"). Behind a proxy that ends TLS, the desk hears plain HTTP:
# CHARTERDESK_TRUST_PROXY_HTTPS=1 believes the proxy's X-Forwarded-Proto: https, and only from the
# addresses in CHARTERDESK_TRUSTED_PROXIES (charterdesk.core.security.ProxyHttpsHeader).
CHARTERDESK_TRUST_PROXY_HTTPS = os.environ.get("CHARTERDESK_TRUST_PROXY_HTTPS", "0").lower() in (
    "1",
    "true",
    "yes",
)
if CHARTERDESK_TRUST_PROXY_HTTPS:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Strict-Transport-Security on HTTPS responses: off (0) until the operator is sure the desk stays on
# HTTPS, since browsers then refuse plain HTTP for this long.
SECURE_HSTS_SECONDS = int(os.environ.get("CHARTERDESK_HSTS_SECONDS", "0") or "0")
SECURE_HSTS_INCLUDE_SUBDOMAINS = os.environ.get("CHARTERDESK_HSTS_INCLUDE_SUBDOMAINS", "0") == "1"
# Cookies over HTTPS only: SECURE_COOKIES=1 or 0 says so; unset, they are when the desk is on HTTPS
# (an https:// SITE_URL, HSTS, or a trusted proxy's word).
_ON_HTTPS = SITE_URL.startswith("https://") or SECURE_HSTS_SECONDS > 0 or CHARTERDESK_TRUST_PROXY_HTTPS
SESSION_COOKIE_SECURE = os.environ.get("SECURE_COOKIES", "1" if _ON_HTTPS else "0") == "1"
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE

LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
# WhiteNoise serves from the app folders (finders) and warns when STATIC_ROOT is missing.
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", DATA_DIR / "media"))
MEDIA_URL = "/media/"
# Serve static files from the app folders without collectstatic in the one-machine set-up.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = os.environ.get("EMAIL_USE_TLS", "0") == "1"
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Charterdesk <desk@localhost>")

# Reverse proxies whose X-Forwarded-For is believed (addresses or networks, comma-separated):
# without them every visitor behind the proxy would share one rate limit (charterdesk.core.client).
CHARTERDESK_TRUSTED_PROXIES = [
    item.strip() for item in os.environ.get("CHARTERDESK_TRUSTED_PROXIES", "").split(",") if item.strip()
]

# Rate limits and short-lived counters. The file cache is shared by every process on one
# machine (gunicorn workers, the worker); several machines need a shared cache such as Redis
# (REDIS_URL, with the `redis` package installed).
if os.environ.get("REDIS_URL"):
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": os.environ["REDIS_URL"],
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(DATA_DIR / "cache"),
            "OPTIONS": {"MAX_ENTRIES": 100_000},
        }
    }

# The largest file kept on a ticket, from the composer or any channel.
CHARTERDESK_MAX_ATTACHMENT_BYTES = int(os.environ.get("CHARTERDESK_MAX_ATTACHMENT_BYTES", 15 * 1024 * 1024))

TASKS = {"default": {"BACKEND": os.environ.get("TASKS_BACKEND", "django_tasks_db.DatabaseBackend")}}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # 403s and 404s are answers, not faults: no tracebacks in the log for them.
        "django.request": {"level": "ERROR"},
        "weasyprint": {"level": "WARNING"},
        "fontTools": {"level": "WARNING"},
    },
}
