from django.utils.functional import SimpleLazyObject

from .library import protocol_of, version_in_force


class ProtocolInForceMiddleware:
    """Gives every request `request.protocol_version` and `request.protocol` (looked up lazily)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.protocol_version = SimpleLazyObject(lambda: version_in_force())
        request.protocol = SimpleLazyObject(
            lambda: protocol_of(request.protocol_version) if request.protocol_version else None
        )
        return self.get_response(request)
