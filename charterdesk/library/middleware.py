from .versions import protocol_of, version_in_force


class ProtocolInForceMiddleware:
    """Gives every request `request.protocol_version` and `request.protocol` (None when nothing is in force).

    Looked up on every request (one indexed query; the parsed protocol is cached per process)
    rather than lazily, so that `request.protocol is None` means what it says.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.protocol_version = version_in_force()
        request.protocol = protocol_of(request.protocol_version) if request.protocol_version else None
        return self.get_response(request)
