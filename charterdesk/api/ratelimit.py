"""Rate limits for the API: a fixed window per token (and per client address before sign-in),
counted by the desk's one limiter (``charterdesk.core.ratelimit``: atomic in the database, or in
Redis when ``REDIS_URL`` is set), so any number of web workers share one exact limit.

Limits are read from the settings at every request (``getattr(settings, name)``, then the
environment, then the default), so changing them needs no code.
"""

from __future__ import annotations

from charterdesk.core.ratelimit import Decision, Limit, Rate, configured_rate, parse_rate

TOKEN_RATE_SETTING = "CHARTERDESK_API_RATE"
TOKEN_RATE_DEFAULT = "120/minute"
ANON_RATE_SETTING = "CHARTERDESK_API_ANON_RATE"
ANON_RATE_DEFAULT = "30/minute"

__all__ = ["Decision", "Rate", "configured_rate", "hit", "parse_rate"]


def hit(scope: str, who: str, rate: Rate, now: float) -> Decision:
    """Count one request by ``who`` in ``scope`` at ``now`` (POSIX seconds) against ``rate``."""
    return Limit(f"api-{scope}", rate.count, rate.period).take(who, now)
