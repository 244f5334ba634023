"""The address a request came from, for rate limits and the audit log.

``REMOTE_ADDR`` is the machine that connected. Behind a reverse proxy (nginx, a load balancer)
that is the proxy, for every visitor alike, so the limits would count a whole website as one
visitor. The proxy's own address can be listed in ``CHARTERDESK_TRUSTED_PROXIES``: a request
that comes from one of them is counted by the address the proxies wrote in ``X-Forwarded-For``.
From anyone else the header is ignored, because any client can write it. The same proxies, and
only they, may say that a request came over HTTPS (``X-Forwarded-Proto``, ``security.py``).
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from django.conf import settings


@lru_cache(maxsize=8)
def _networks(spec: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(item, strict=False) for item in spec)


def _trusted(address: str, networks) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


def from_trusted_proxy(request) -> bool:
    """Whether the request came from one of ``CHARTERDESK_TRUSTED_PROXIES`` (none listed: never)."""
    networks = _networks(tuple(getattr(settings, "CHARTERDESK_TRUSTED_PROXIES", ())))
    return bool(networks) and _trusted(request.META.get("REMOTE_ADDR", ""), networks)


def client_ip(request) -> str:
    remote = request.META.get("REMOTE_ADDR", "") or "unknown"
    networks = _networks(tuple(getattr(settings, "CHARTERDESK_TRUSTED_PROXIES", ())))
    if not networks or not _trusted(remote, networks):
        return remote
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    # Each proxy appends the address it saw: read from the right, past our own proxies; what is
    # left of the first address no trusted proxy wrote is the client's own word, and not used.
    for hop in reversed([part.strip() for part in forwarded.split(",") if part.strip()]):
        if not _trusted(hop, networks):
            return hop
    return remote
