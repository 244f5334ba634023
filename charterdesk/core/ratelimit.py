"""Hourly limits counted in Django's cache: how many attempts one key (a client address, an
email address) may make in a clock hour. The portal's web form and sign-in links and the
embeddable contact form use them; the API has its own per-minute limits (``api/ratelimit.py``).
"""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass

from django.core.cache import cache

WINDOW = 3600  # limits count per clock hour


@dataclass(frozen=True)
class Limit:
    """A number of attempts allowed per hour for one key (an IP address, an email address)."""

    scope: str
    per_hour: int

    def _key(self, who: str, now: float) -> str:
        digest = hashlib.sha256(who.strip().lower().encode()).hexdigest()[:32]
        return f"charterdesk:portal:{self.scope}:{digest}:{int(now // WINDOW)}"

    def exceeded(self, who: str, now: float | None = None) -> bool:
        now = now if now is not None else time.time()
        return (cache.get(self._key(who, now)) or 0) >= self.per_hour

    def count(self, who: str, now: float | None = None) -> None:
        now = now if now is not None else time.time()
        key = self._key(who, now)
        cache.add(key, 0, timeout=WINDOW + 60)
        try:
            cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, 1, timeout=WINDOW + 60)

    def __repr__(self) -> str:
        return f"Limit({self.scope}: {self.per_hour} an hour)"


def minutes_to_next_window(now: float | None = None) -> int:
    now = now if now is not None else time.time()
    return max(1, math.ceil((WINDOW - now % WINDOW) / 60))
