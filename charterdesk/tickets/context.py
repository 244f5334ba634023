from .lifecycle import all_answers, hooks


def family_navigation(request):
    """`family_nav`: the families' links for the top navigation (``navigation`` hook) that the
    signed-in person may follow, in their order."""
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {"family_nav": []}
    from charterdesk.core.permissions import request_permissions

    held = request_permissions(request)
    items = [
        i for i in all_answers(hooks.navigation(request=request)) if not i.any_of or held & set(i.any_of)
    ]
    return {"family_nav": sorted(items, key=lambda i: i.order)}
