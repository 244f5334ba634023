from .versions import next_scheduled


def protocol_in_force(request):
    """Template variables every page may use: the version in force and a scheduled successor."""
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    return {
        "version_in_force": request.protocol_version or None,
        "scheduled_version": next_scheduled(),
    }
