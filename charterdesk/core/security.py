"""The Content-Security-Policy every response carries, and which proxy may say a request was HTTPS.

The policy lets a page run only the scripts and styles the desk serves itself (``'self'``), or an
inline ``<script>``/``<style>`` carrying this request's nonce (``request.csp_nonce``, in templates
``{{ csp_nonce }}``): a script an attacker manages to inject into a page (a customer's message, a
protocol's text) does not run, and no style attribute applies. Pages are never framed
(``frame-ancestors 'none'``; the contact form for customers' websites is a script, not a frame,
see ``channels/embed.py``), forms post only to the desk, and ``<base>`` and plugins are refused.

htmx needs nothing more: the desk uses no ``hx-on`` handlers, ``js:`` values or trigger filters,
and ``base.html`` turns htmx's ``eval`` off (``allowEval: false``) and its inline indicator
styles off, so ``'unsafe-eval'`` and ``'unsafe-inline'`` are never needed.
"""

from __future__ import annotations

import secrets

from .client import from_trusted_proxy

HEADER = "Content-Security-Policy"


def content_security_policy(nonce: str) -> str:
    """The policy for one response whose inline scripts and styles carry ``nonce``."""
    directives = [
        "default-src 'self'",
        f"script-src 'self' 'nonce-{nonce}'",
        f"style-src 'self' 'nonce-{nonce}'",
        # data: for the small icons stylesheets embed (the API's documentation page).
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
    return "; ".join(directives)


class ContentSecurityPolicy:
    """Gives each request a fresh nonce and each response the policy (unless a view set its own)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.csp_nonce = secrets.token_urlsafe(18)
        response = self.get_response(request)
        if HEADER not in response:
            response[HEADER] = content_security_policy(request.csp_nonce)
        return response


def csp_nonce(request) -> dict:
    """Context processor: ``{{ csp_nonce }}`` for an inline ``<script nonce>`` or ``<style nonce>``."""
    return {"csp_nonce": getattr(request, "csp_nonce", "")}


PROTO_HEADER = "HTTP_X_FORWARDED_PROTO"


class ProxyHttpsHeader:
    """Believes ``X-Forwarded-Proto`` only from the proxies in ``CHARTERDESK_TRUSTED_PROXIES``.

    With ``CHARTERDESK_TRUST_PROXY_HTTPS=1`` Django reads the header (``SECURE_PROXY_SSL_HEADER``)
    to tell HTTPS requests (secure cookies, HSTS, CSRF's origin checks). Any client that reaches
    the desk directly could write it too, so it is dropped from every request that does not come
    from a listed proxy: the same proxies whose ``X-Forwarded-For`` gives the client's address
    (``client.py``).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if PROTO_HEADER in request.META and not from_trusted_proxy(request):
            del request.META[PROTO_HEADER]
        return self.get_response(request)
