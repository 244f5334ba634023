"""Django-aware helpers that every app may use and that know nothing of any app: the address a
request came from, hourly rate limits, the time zones a person can pick.

``core`` stands on the second floor with ``audit``, ``accounts``, ``library`` and
``notifications`` (docs/architecture.md, "Floors"), so every app above can import it; it has no
models and imports no app.
"""
