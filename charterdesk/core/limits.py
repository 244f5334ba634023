"""How much a form may send at once (Django's DATA_UPLOAD_MAX_MEMORY_SIZE), in words a person reads.

Every desk and portal page carries the limit (``data-post-limit`` on the body), so the browser
refuses a text over it before sending, with the text still in its box; a request over it that still
arrives gets the desk's own page naming the limit (``charterdesk.desk.errors.bad_request``)."""

from __future__ import annotations

from django.conf import settings


def post_limit() -> int:
    return int(settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 0)


def in_words(size: int) -> str:
    """2621440 -> '2.5 MB'; 500000 -> '488 KB'."""
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.1f}".removesuffix(".0") + " MB"
    return f"{max(1, round(size / 1024))} KB"


def post_limits(request) -> dict:
    """Context processor: the limit for the pages' forms."""
    limit = post_limit()
    return {"post_limit": limit, "post_limit_words": in_words(limit) if limit else ""}
