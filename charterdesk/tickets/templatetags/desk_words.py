"""Words the workspace's templates show for stored values."""

from __future__ import annotations

from django import template
from django.utils.html import escape
from django.utils.safestring import mark_safe

from charterdesk.core.permissions import masked_name
from charterdesk.protocol.vocabulary import STATUS_SHORT

register = template.Library()


@register.filter
def status_words(value: str) -> str:
    """'on_hold' -> 'On hold': a status as people say it, never the stored name."""
    return STATUS_SHORT.get(value, str(value).replace("_", " ").capitalize())


@register.filter
def email_breaks(value: str | None) -> str:
    """An email address that may break only after its @ and before its dots, never mid-word
    (``jo.walker@example.com`` wraps as ``jo.walker@`` / ``example.com`` in a narrow sidebar)."""
    if not value:
        return ""
    text = escape(value).replace("@", "@<wbr>").replace(".", "<wbr>.")
    return mark_safe(f'<span class="email">{text}</span>')


@register.filter
def customer_name(name: str, contact: bool) -> str:
    """A customer's name as the reader may see it: whole with access to customer data, else masked."""
    return name if contact else masked_name(name)
