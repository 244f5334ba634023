from django import template

from ..context import unread_count

register = template.Library()


@register.simple_tag(takes_context=True)
def unread_notifications(context) -> int:
    """The signed-in person's unread notifications (the context processor's value when registered)."""
    if "unread_notifications" in context:
        return context["unread_notifications"]
    request = context.get("request")
    return unread_count(getattr(request, "user", None))
