"""The desk's one rate limiter: how many attempts one key (a client address, an email address, an
API token) may make in a fixed window. Sign-in, the portal's web form and sign-in links, the
embeddable contact form and the API all count here.

Counting is atomic, so web workers (processes, threads, machines) sharing the store share one
exact limit: "16 requests at once" let exactly the limit through, never one more.

- By default the counters are rows of ``core.RateCounter``, counted with one statement,
  ``INSERT ... ON CONFLICT (key) DO UPDATE SET count = count + 1 ... RETURNING count``, which
  PostgreSQL and SQLite (3.35 and newer) both run atomically.
- When the default cache is Redis (``REDIS_URL``), the cache's own ``incr`` counts instead
  (atomic in Redis), sparing the database a write per request.

An attempt is counted *before* it is allowed (``take``): checking first and counting afterwards
would let every request that arrives between the two through. An attempt that turns out not to
count (the form was invalid, the ticket could not be stored) is handed back with ``give_back``.
"""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass

from django.core.cache import caches
from django.db import connection, transaction
from django.utils import timezone

from charterdesk.core.settings import setting


def _now() -> float:
    # Django's clock, which tests move by patching django.utils.timezone.now.
    return timezone.now().timestamp()


WINDOW = 3600  # the portal's and the contact form's limits count per clock hour

_UNITS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}
_RATE = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*(second|minute|hour|day)s?\s*$")


@dataclass(frozen=True)
class Rate:
    """``count`` attempts per ``period`` seconds; written like ``120/minute`` or ``1000/5minutes``."""

    count: int
    period: int
    text: str

    def __str__(self) -> str:
        return self.text


def parse_rate(text: str) -> Rate:
    match = _RATE.match(text or "")
    if not match:
        raise ValueError(f"'{text}' is not a rate; write it like 120/minute, 1000/hour or 50/10seconds")
    count, multiple, unit = int(match[1]), int(match[2] or 1), match[3]
    if count < 1 or multiple < 1:
        raise ValueError(f"'{text}' is not a rate; both numbers must be at least 1")
    return Rate(count, multiple * _UNITS[unit], text.strip())


def configured_rate(name: str, default: str) -> Rate:
    """The rate in force now: the Django setting, else the environment variable, else the default."""
    return parse_rate(setting(name, default) or default)


@dataclass(frozen=True)
class Decision:
    """The answer to one counted attempt."""

    allowed: bool
    limit: int
    used: int  # attempts counted in this window, this one included
    retry_after: int  # seconds until the window ends (0 when allowed)

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.used)


@dataclass(frozen=True)
class Usage:
    """What a key has used in the current window, read without counting."""

    used: int
    latest: float  # POSIX seconds of the latest counted attempt (0 when none)


@dataclass(frozen=True)
class Limit:
    """``count`` attempts per ``period`` seconds (a fixed window) for each key of ``scope``."""

    scope: str
    count: int
    period: int = WINDOW

    @property
    def per_hour(self) -> int:
        return self.count

    def _key(self, who: str, now: float) -> str:
        # Hashed: the table and the cache hold no email or client address in the clear.
        digest = hashlib.sha256(who.strip().lower().encode()).hexdigest()[:32]
        return f"{self.scope}:{self.period}:{digest}:{int(now // self.period)}"

    def _ends(self, now: float) -> float:
        return (int(now // self.period) + 1) * self.period

    def take(self, who: str, now: float | None = None) -> Decision:
        """Count one attempt by ``who`` and say whether it is within the limit."""
        now = now if now is not None else _now()
        used = _increment(self._key(who, now), self._ends(now), now, by=1)
        if used > self.count:
            return Decision(False, self.count, used, max(1, math.ceil(self._ends(now) - now)))
        return Decision(True, self.count, used, 0)

    def give_back(self, who: str, now: float | None = None) -> None:
        """Un-count an attempt taken in this window that turned out not to count."""
        now = now if now is not None else _now()
        _increment(self._key(who, now), self._ends(now), now, by=-1)

    def usage(self, who: str, now: float | None = None) -> Usage:
        now = now if now is not None else _now()
        return _read(self._key(who, now))

    def exceeded(self, who: str, now: float | None = None) -> bool:
        """Whether the window is used up; a cheap early refusal, not a substitute for ``take``."""
        return self.usage(who, now).used >= self.count

    def reset(self, who: str, now: float | None = None) -> None:
        """Forget ``who``'s attempts in this window (a successful sign-in clears its failures)."""
        now = now if now is not None else _now()
        _forget(self._key(who, now))

    def __repr__(self) -> str:
        return f"Limit({self.scope}: {self.count} per {self.period} s)"


@dataclass(frozen=True)
class Once:
    """Keys of ``scope`` that may each be claimed once in ``period`` seconds: a form's idempotency
    key, so that a resubmitted form (a double click, the browser's "resend") acts only once.

    Claimed with the same atomic count as the limits (one upsert, or Redis's atomic ``add``), so
    two web workers given the same key at the same instant cannot both win it."""

    scope: str
    period: int

    def _key(self, who: str) -> str:
        digest = hashlib.sha256(who.encode()).hexdigest()[:32]
        return f"{self.scope}:once:{digest}"

    def claim(self, who: str, now: float | None = None) -> bool:
        """Whether this is the first claim of ``who`` (True exactly once, however many race)."""
        now = now if now is not None else _now()
        if uses_cache():
            return bool(caches["default"].add(self._key(who), 1, timeout=self.period))
        return _increment(self._key(who), now + self.period, now, by=1) == 1

    def release(self, who: str) -> None:
        """Hand the key back: what it guarded did not happen, so the same form may try again."""
        _forget(self._key(who))

    def __repr__(self) -> str:
        return f"Once({self.scope}: {self.period} s)"


def minutes_to_next_window(now: float | None = None, period: int = WINDOW) -> int:
    now = now if now is not None else _now()
    return max(1, math.ceil((period - now % period) / 60))


# --------------------------------------------------------------------------- the stores


def uses_cache() -> bool:
    """Whether the counters live in the cache: only when its ``incr`` is atomic (Redis)."""
    return "redis" in type(caches["default"]).__module__.lower()


_UPSERT = (
    "INSERT INTO core_ratecounter (key, count, expires, latest) VALUES (%s, %s, %s, %s) "
    "ON CONFLICT (key) DO UPDATE SET count = core_ratecounter.count + excluded.count, "
    "latest = excluded.latest RETURNING count"
)


def _increment(key: str, expires: float, now: float, *, by: int) -> int:
    if uses_cache():
        cache = caches["default"]
        timeout = max(1, math.ceil(expires - now) + 5)
        cache.add(key, 0, timeout=timeout)
        try:
            used = cache.incr(key, by)
        except ValueError:  # expired between add and incr
            cache.set(key, max(0, by), timeout=timeout)
            used = max(0, by)
        if by > 0:
            cache.set(f"{key}:latest", now, timeout=timeout)
        return int(used)
    # One statement; the desk counts outside its actions' transactions, so on PostgreSQL the
    # row's lock is held for this statement only.
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_UPSERT, [key, by, expires, now])
        used = int(cursor.fetchone()[0])
        if used == by and by > 0:
            # A new window started: sweep rows whose windows are over (one indexed delete).
            cursor.execute("DELETE FROM core_ratecounter WHERE expires < %s", [now])
    return used


def _read(key: str) -> Usage:
    if uses_cache():
        cache = caches["default"]
        return Usage(int(cache.get(key) or 0), float(cache.get(f"{key}:latest") or 0))
    from .models import RateCounter

    row = RateCounter.objects.filter(key=key).values_list("count", "latest").first()
    return Usage(row[0], row[1]) if row else Usage(0, 0.0)


def _forget(key: str) -> None:
    if uses_cache():
        caches["default"].delete_many([key, f"{key}:latest"])
        return
    from .models import RateCounter

    RateCounter.objects.filter(key=key).delete()
