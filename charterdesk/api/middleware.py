"""Errors under /api/v1/ that never reach the API's own handlers still answer in its one JSON shape.

django-ninja answers for the endpoints it knows; an address it does not know (404), a method an
endpoint does not take (405), a body over ``DATA_UPLOAD_MAX_MEMORY_SIZE`` (413) and an unexpected
failure (500) would otherwise come back as Django's HTML pages, which a client cannot read.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import JsonResponse

PREFIX = "/api/v1/"


def _error(status: int, message: str, field: str | None = None, **headers) -> JsonResponse:
    response = JsonResponse({"errors": [{"field": field, "message": message}]}, status=status)
    for name, value in headers.items():
        response[name] = value
    return response


class ApiErrorsAsJson:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path.startswith(PREFIX):
            return self.get_response(request)
        for name, values in request.GET.lists():
            if any("\x00" in value for value in values):
                # PostgreSQL text cannot hold NUL, and no parameter of the API needs one.
                return _error(422, "must not contain the NUL character (%00)", field=name)
        response = self.get_response(request)
        if response.status_code < 400 or response.get("Content-Type", "").startswith("application/json"):
            return response
        return self._as_json(request, response)

    def _as_json(self, request, response):
        status = response.status_code
        if status == 404:
            return _error(404, f"there is no endpoint {request.path}; the endpoints are listed at /api/docs")
        if status == 405:
            allowed = response.get("Allow", "")
            return _error(
                405, f"{request.method} is not allowed here; this endpoint takes {allowed}", Allow=allowed
            )
        if status == 413:
            return _error(413, self._too_big())
        if status >= 500:
            return _error(status, "the desk failed to answer this request; the error is in its log")
        return _error(status, response.reason_phrase or "bad request")

    def process_exception(self, request, exception):
        if request.path.startswith(PREFIX) and isinstance(exception, RequestDataTooBig):
            return _error(413, self._too_big())
        return None

    @staticmethod
    def _too_big() -> str:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        return f"the request body is larger than the {limit:,} bytes the API accepts"
