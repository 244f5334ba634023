from charterdesk.core.permissions import request_permissions


def desk_permissions(request):
    """`can`: the permission names the signed-in person's roles grant, so pages show only what works."""
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {"can": frozenset()}
    return {"can": request_permissions(request)}
