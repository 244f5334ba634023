"""Rate limits for the API: a fixed window per token (and per client address before sign-in).

Counters live in Django's cache (``django.core.cache.caches["default"]``). Each window has its
own key, ``charterdesk:api:rate:<scope>:<who>:<window number>``, created with ``add`` and
counted with ``incr``, which are atomic in Redis and Memcached, so any number of web workers
sharing such a cache share one limit. The desk's default cache is a folder of files (see the
settings), whose ``incr`` is not atomic: there each count holds a file lock in that folder, so
the web workers of one machine share one limit too.

Limits are read from the settings at every request (``getattr(settings, name)``, then the
environment, then the default), so changing them needs no code.
"""

from __future__ import annotations

import fcntl
import math
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.core.cache import cache, caches
from django.core.cache.backends.filebased import FileBasedCache

from charterdesk.core.settings import setting as read_setting

TOKEN_RATE_SETTING = "CHARTERDESK_API_RATE"
TOKEN_RATE_DEFAULT = "120/minute"
ANON_RATE_SETTING = "CHARTERDESK_API_ANON_RATE"
ANON_RATE_DEFAULT = "30/minute"

_UNITS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}
_RATE = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*(second|minute|hour|day)s?\s*$")


@dataclass(frozen=True)
class Rate:
    """``count`` requests per ``period`` seconds; written like ``120/minute`` or ``1000/5minutes``."""

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


def configured_rate(setting: str, default: str) -> Rate:
    """The rate in force now: the Django setting, else the environment variable, else the default."""
    text = read_setting(setting, default) or default
    return parse_rate(text)


@dataclass(frozen=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    retry_after: int  # seconds until the window resets (0 when allowed)
    rate: Rate


def hit(scope: str, who: str, rate: Rate, now: float) -> Decision:
    """Count one request by ``who`` in ``scope`` at ``now`` (POSIX seconds) against ``rate``."""
    window = int(now // rate.period)
    key = f"charterdesk:api:rate:{scope}:{who}:{rate.period}:{window}"
    with _counting():
        # A little longer than the window, so the key outlives it on every backend's clock.
        cache.add(key, 0, timeout=rate.period + 5)
        try:
            used = cache.incr(key)
        except ValueError:  # evicted between add and incr
            cache.set(key, 1, timeout=rate.period + 5)
            used = 1
    resets = (window + 1) * rate.period
    if used > rate.count:
        return Decision(False, rate.count, 0, max(1, math.ceil(resets - now)), rate)
    return Decision(True, rate.count, rate.count - used, 0, rate)


@contextmanager
def _counting() -> Iterator[None]:
    """Around a count: nothing for a cache whose ``add`` and ``incr`` are atomic (Redis, Memcached,
    local memory); for the file cache the desk uses by default, whose ``incr`` reads the file and
    writes it back, a lock on a file beside it, so that two web workers of the machine (or two
    threads) never count the same request number and let more through than the limit."""
    backend = caches["default"]
    if not isinstance(backend, FileBasedCache):
        yield
        return
    os.makedirs(backend._dir, exist_ok=True)
    with open(os.path.join(backend._dir, ".rate-limit.lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # each open() is its own lock holder, threads included
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
