"""The desk's own tunables (``CHARTERDESK_*``), read one way everywhere.

Django's settings (the database, mail, secret key, ...) come from the environment once, in
``desk/settings.py``. The desk's tunables are read when they are used, never at import, so a
deployment (or a test) can change them without touching code: a Django setting of that name
when there is one, else the environment variable, else the default. A value that is not of the
expected kind falls back to the default rather than stopping the desk.
"""

from __future__ import annotations

import os

from django.conf import settings


def setting(name: str, default: str) -> str:
    """The tunable as text."""
    value = getattr(settings, name, None)
    if value is None:
        value = os.environ.get(name, default)
    return str(value)


def int_setting(name: str, default: int) -> int:
    try:
        return int(setting(name, str(default)))
    except ValueError:
        return default


def float_setting(name: str, default: float) -> float:
    try:
        return float(setting(name, str(default)))
    except ValueError:
        return default


def bool_setting(name: str, default: bool) -> bool:
    return setting(name, "1" if default else "0").strip().lower() in ("1", "true", "yes", "on")
