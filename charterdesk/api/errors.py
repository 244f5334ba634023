"""Every API error is JSON of one shape, naming the field at fault:

    {"errors": [{"field": "priority", "message": "'soon' is not one of low, normal, high, urgent"}]}

``field`` is null when no single field is at fault (a missing token, a closed ticket).
"""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError

from charterdesk.tickets.actions import TicketError

from .actions import TokenError


class ApiError(Exception):
    """An error response: status, the errors, and any headers (``Retry-After``, ...)."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        field: str | None = None,
        errors: list[dict] | None = None,
        headers: dict[str, str] | None = None,
        **extra,
    ) -> None:
        super().__init__(message)
        self.status = status
        first = {"field": field, "message": message, **extra}
        self.errors = errors if errors is not None else [first]
        self.headers = headers or {}


def unauthorized(message: str) -> ApiError:
    return ApiError(401, message, headers={"WWW-Authenticate": 'Bearer realm="charterdesk"'})


def forbidden(permission: str) -> ApiError:
    return ApiError(403, f"Your roles do not grant {permission}.", permission=permission)


def not_found(field: str, message: str) -> ApiError:
    return ApiError(404, message, field=field)


def invalid(field: str | None, message: str) -> ApiError:
    return ApiError(422, message, field=field)


def conflict(field: str | None, message: str) -> ApiError:
    """409: well-formed, but the desk refuses it in the state things are in (a closed ticket, a
    required step unticked, an email another customer has)."""
    return ApiError(409, message, field=field)


# "priority: 'soon' is not low, normal, high or urgent" -> ("priority", "'soon' is not ...")
_FIELD_FIRST = re.compile(r"^([a-z_][a-z0-9_.]*): (.+)$", re.DOTALL)


def split_field(message: str, default: str | None = None) -> tuple[str | None, str]:
    """The field a ``TicketError``-style message names first, and the rest of the message."""
    match = _FIELD_FIRST.match(message)
    if match:
        return match[1], match[2]
    return default, message


def from_ticket_error(exc: Exception, default_field: str | None = None) -> ApiError:
    """A refusal of one of the desk's actions. The API checks its input before it acts, so what an
    action still refuses comes from the state of the ticket or of the desk: a conflict (409)."""
    field, message = split_field(str(exc), default_field)
    return conflict(field, message)


def from_django_validation(exc: DjangoValidationError, fields: dict[str, str] | None = None) -> ApiError:
    """A model's ``full_clean`` errors, one entry per field (``fields`` renames model fields)."""
    fields = fields or {}
    errors = []
    if hasattr(exc, "error_dict"):
        for name, problems in exc.message_dict.items():
            for problem in problems:
                field = None if name == "__all__" else fields.get(name, name)
                errors.append({"field": field, "message": problem})
    else:
        errors = [{"field": None, "message": m} for m in exc.messages]
    return ApiError(422, errors[0]["message"], errors=errors)


def _location(loc: tuple | list) -> str | None:
    parts = list(loc)
    if parts and parts[0] in ("query", "path", "header", "cookie", "form", "file"):
        parts = parts[1:]
    elif parts and parts[0] == "body":
        parts = parts[2:] if len(parts) > 1 and parts[1] == "payload" else parts[1:]
    return ".".join(str(p) for p in parts) or None


def _message(error: dict) -> str:
    kind = error.get("type", "")
    if kind == "missing":
        return "this field is required"
    if kind == "extra_forbidden":
        return "is not a field of this request"
    if kind == "value_error":
        return str(error.get("ctx", {}).get("error", error.get("msg", ""))).removeprefix("Value error, ")
    return str(error.get("msg", "is not valid"))


def validation_errors(raw: list[dict]) -> list[dict]:
    errors = []
    for error in raw:
        field = _location(error.get("loc", ()))
        if field is None and error.get("type") == "missing":
            # The whole body is missing.
            errors.append({"field": None, "message": "send a JSON object as the request body"})
            continue
        errors.append({"field": field, "message": _message(error)})
    return errors


def install(api) -> None:
    """Replace django-ninja's error responses with the API's one error shape."""

    def respond(request, status: int, errors: list[dict], headers: dict | None = None):
        response = api.create_response(request, {"errors": errors}, status=status)
        for name, value in (headers or {}).items():
            response[name] = value
        return response

    @api.exception_handler(ApiError)
    def api_error(request, exc: ApiError):
        return respond(request, exc.status, exc.errors, exc.headers)

    @api.exception_handler(NinjaValidationError)
    def validation_error(request, exc: NinjaValidationError):
        return respond(request, 422, validation_errors(exc.errors))

    @api.exception_handler(AuthenticationError)
    def authentication_error(request, exc: AuthenticationError):
        err = unauthorized("send a personal API token as 'Authorization: Bearer <token>'")
        return respond(request, 401, err.errors, err.headers)

    @api.exception_handler(HttpError)
    def http_error(request, exc: HttpError):
        message = str(exc)
        if exc.status_code == 400 and message.startswith("Cannot parse request body"):
            message = "the request body is not valid JSON"
        return respond(request, exc.status_code, [{"field": None, "message": message}])

    @api.exception_handler(Http404)
    def missing(request, exc: Http404):
        return respond(request, 404, [{"field": None, "message": str(exc) or "not found"}])

    @api.exception_handler(TicketError)
    def ticket_error(request, exc: TicketError):
        return respond(request, 409, from_ticket_error(exc).errors)

    @api.exception_handler(TokenError)
    def token_error(request, exc: TokenError):
        return respond(request, 422, invalid(*split_field(str(exc))).errors)

    @api.exception_handler(DjangoValidationError)
    def model_validation(request, exc: DjangoValidationError):
        return respond(request, 422, from_django_validation(exc).errors)
