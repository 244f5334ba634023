"""What the API reads and writes. Inputs refuse unknown fields, so a misspelt key is an error."""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from typing import Annotated, Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from ninja import Schema
from pydantic import (
    AfterValidator,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    StrictInt,
    WithJsonSchema,
    field_validator,
)

from charterdesk.protocol.tags import MAX_TAG_LENGTH, normal_tag, tag_problem
from charterdesk.tickets.access import NOT_BY_HAND
from charterdesk.tickets.choices import Priority, Status
from charterdesk.tickets.history import MAX_TAGS

PRIORITIES = tuple(Priority.values)
STATUSES = tuple(Status.values)
# What a person may set by hand: the others are refused whatever the caller's roles (NOT_BY_HAND).
SETTABLE_STATUSES = tuple(s for s in STATUSES if s not in NOT_BY_HAND)
# Time zones by their IANA names, as the tz database this Python reads lists them.
TIME_ZONES = tuple(sorted(zoneinfo.available_timezones()))
# The regular expressions the OpenAPI document gives, each the exact rule the code applies
# (JSON Schema patterns match anywhere unless anchored).
# Whitespace as Python's str.strip() and str.isspace() know it, spelled out: a pattern's \s means
# fewer characters to a JavaScript or JSON Schema reader (not \x1c to \x1f, nor \x85).
SPACE = r"\t-\r\u001c-\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
NOT_BLANK = rf"^[^\u0000]*[^{SPACE}\u0000][^\u0000]*$"
ASSIGNEE_WORD = r"^(me|none|[0-9]+)$"
TAG = rf"^[{SPACE}]*[^{SPACE},\u0000]{{1,{MAX_TAG_LENGTH}}}[{SPACE}]*$"


def iso_utc(moment: dt.datetime) -> str:
    """ISO 8601 in UTC to the second, as the replay format writes times: 2026-12-07T14:00:00Z."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def one_of(values: tuple[str, ...]):
    def check(value: str) -> str:
        if value not in values:
            raise ValueError(f"'{value}' is not one of {', '.join(values)}")
        return value

    return check


def _email(value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    value = value.strip().lower()
    if len(value) > 254:  # the customer's EmailField
        raise ValueError("an email address has at most 254 characters")
    try:
        validate_email(value)
    except DjangoValidationError:
        raise ValueError(f"'{value}' is not an email address") from None
    return value


def _timezone(value: str) -> str:
    # The listed names only: zoneinfo would also open other files of the tz folder ("posixrules").
    if value not in TIME_ZONES:
        raise ValueError(f"'{value}' is not a time zone; use an IANA name such as Europe/Berlin")
    return value


def _not_null(value):
    # A field that may be left out, but not set to null: leaving it out keeps what is there.
    if value is None:
        raise ValueError("cannot be null")
    return value


def _tag(value: str) -> str:
    problem = tag_problem(normal_tag(value))
    if problem:
        raise ValueError(problem)
    return value


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    return value


NotBlank = AfterValidator(_not_blank)


def _at_most_max_tags(tags: list[str]) -> list[str]:
    if len(tags) > MAX_TAGS:
        raise ValueError(f"a ticket carries at most {MAX_TAGS} tags, not {len(tags)}")
    return tags


def _not_a_boolean(value):
    if isinstance(value, bool):  # JSON true would otherwise be read as person 1
        raise ValueError(f"'{str(value).lower()}' is not a person id, 'me' or null")
    return value


def _assignee(value):
    if value == "none":  # as the list's filter writes nobody
        return None
    if value is None or isinstance(value, int) or value == "me":
        return value
    if isinstance(value, str) and re.fullmatch(ASSIGNEE_WORD, value):
        return int(value)
    raise ValueError(f"'{value}' is not a person id, 'me' or null")


def text(**schema) -> Any:
    """A string whose JSON schema (in the OpenAPI document) says more, such as a pattern or the values it
    may take, while the endpoint checks it in its own words (naming the parameter)."""
    return Annotated[str, WithJsonSchema({"type": "string", **schema})]


UtcTime = Annotated[dt.datetime, PlainSerializer(iso_utc, return_type=str)]
PriorityValue = Annotated[
    str, AfterValidator(one_of(PRIORITIES)), WithJsonSchema({"type": "string", "enum": list(PRIORITIES)})
]
# A status to set: new and closed are refused (NOT_BY_HAND, with their reasons), so not offered.
SettableStatus = Annotated[
    str,
    AfterValidator(one_of(STATUSES)),
    WithJsonSchema({"type": "string", "enum": list(SETTABLE_STATUSES)}),
]
# Stored in an EmailField of 254 characters; blank means none.
Email = Annotated[
    str | None,
    AfterValidator(_email),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "format": "email", "maxLength": 254},
                {"type": "string", "pattern": rf"^[{SPACE}]*$"},
                {"type": "null"},
            ],
            "description": "an email address; blank or null for none",
        }
    ),
]
TimeZone = Annotated[
    str, AfterValidator(_timezone), WithJsonSchema({"type": "string", "enum": list(TIME_ZONES)})
]
# A tag to add: one word (protocol.tags); surrounding spaces go, and it is stored in lower case.
Tag = Annotated[str, AfterValidator(_tag), WithJsonSchema({"type": "string", "pattern": TAG})]
TagList = Annotated[
    list[Tag], AfterValidator(_at_most_max_tags), Field(json_schema_extra={"maxItems": MAX_TAGS})
]
# A tag to remove: never refused, so that a tag stored before the rule held can be taken off.
AnyTag = Annotated[str, Field(min_length=1)]
NotNull = BeforeValidator(_not_null)


class Input(Schema):
    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value):
        # PostgreSQL text cannot hold NUL (SQLite would keep it): refuse it on both, naming the field.
        texts = value if isinstance(value, list) else [value]
        if any(isinstance(text, str) and "\x00" in text for text in texts):
            raise ValueError("must not contain the NUL character (\\u0000)")
        return value


# --------------------------------------------------------------------------- errors


class ErrorItem(Schema):
    field: str | None = Field(description="the field at fault, null when none is")
    message: str
    permission: str | None = Field(None, description="on 403: the permission the caller's roles lack")


class ErrorOut(Schema):
    errors: list[ErrorItem]


# Every status an operation can answer with is declared, each with the one error shape.
ERRORS = {401: ErrorOut, 403: ErrorOut, 422: ErrorOut, 429: ErrorOut}
ERRORS_WITH_404 = {**ERRORS, 404: ErrorOut}
# Operations that read a JSON body: 400 for a body that is not JSON, 413 for one over the size limit,
# 409 for a change the desk refuses in the state things are in (a closed ticket, a step unticked).
BODY_ERRORS = {**ERRORS, 400: ErrorOut, 409: ErrorOut, 413: ErrorOut}
BODY_ERRORS_WITH_404 = {**BODY_ERRORS, 404: ErrorOut}


# --------------------------------------------------------------------------- people and groups


class PersonRef(Schema):
    id: int
    name: str


class PersonOut(Schema):
    id: int
    name: str
    email: str
    roles: list[str]
    away: bool
    active: bool
    timezone: str


class GroupOut(Schema):
    id: str
    name: str
    roles: list[str]
    channels: list[str]
    members: list[PersonRef] = Field(description="active people holding one of the group's roles")


class TokenInfo(Schema):
    name: str
    prefix: str
    created_at: UtcTime


class MeOut(Schema):
    id: int
    name: str
    email: str
    timezone: str
    roles: list[str]
    permissions: list[str]
    protocol_version: str | None
    token: TokenInfo


# --------------------------------------------------------------------------- customers


class CustomerRef(Schema):
    id: int
    name: str
    email: str | None
    contact_hidden: bool = Field(
        description="true when the caller's roles do not give access to customer data: the name is "
        "masked ('Jo W.') and email and phone are null"
    )


class CustomerIn(Input):
    email: Email = None
    name: Annotated[str, NotBlank] = Field(max_length=200, json_schema_extra={"pattern": NOT_BLANK})
    phone: str = Field("", max_length=40)
    organization: str = Field("", max_length=200)
    timezone: TimeZone = "UTC"
    language: str = Field("en", max_length=16)


class TicketCustomerIn(Input):
    """The customer of a new ticket: found by email, or created; email or phone is needed."""

    model_config = ConfigDict(
        json_schema_extra={
            "anyOf": [
                {
                    "required": ["email"],
                    "properties": {"email": {"type": "string", "pattern": rf"[^{SPACE}]"}},
                },
                {"required": ["phone"], "properties": {"phone": {"type": "string", "minLength": 1}}},
            ]
        }
    )

    email: Email = None
    name: str = Field("", max_length=200)
    phone: str = Field("", max_length=40)
    organization: str = Field("", max_length=200)
    timezone: TimeZone = "UTC"
    language: str = Field("en", max_length=16)


class CustomerPatch(Input):
    """Leave a field out to keep it; only email may be null (no email)."""

    email: Email = None
    name: Annotated[str, NotNull] = Field(None, min_length=1, max_length=200)
    phone: Annotated[str, NotNull] = Field(None, max_length=40)
    organization: Annotated[str, NotNull] = Field(None, max_length=200)
    timezone: Annotated[TimeZone, NotNull] = None
    language: Annotated[str, NotNull] = Field(None, min_length=1, max_length=16)


class CustomerTicket(Schema):
    id: int
    subject: str
    status: str
    created_at: UtcTime


class CustomerOut(Schema):
    id: int
    name: str
    email: str | None
    phone: str | None
    contact_hidden: bool = Field(
        description="true when the caller's roles do not give access to customer data: the name is "
        "masked ('Jo W.') and email and phone are null"
    )
    organization: str
    timezone: str
    language: str
    created_at: UtcTime


class CustomerDetail(CustomerOut):
    tickets: list[CustomerTicket] | None = Field(
        description="the customer's latest 20 tickets; null unless the caller holds ticket.view"
    )


class CustomerPage(Schema):
    items: list[CustomerOut]
    next: str | None
    next_cursor: str | None


# --------------------------------------------------------------------------- tickets


class TicketCreate(Input):
    """Give the customer either by `customer` or by `customer_id`. `channel` and `group` are ids of
    the protocol in force, listed here as it stands when this document is read."""

    model_config = ConfigDict(
        json_schema_extra={
            "oneOf": [
                {"required": ["customer"], "properties": {"customer": {"type": "object"}}},
                {"required": ["customer_id"], "properties": {"customer_id": {"type": "integer"}}},
            ]
        }
    )

    customer: TicketCustomerIn | None = Field(None, description="found by email, or created")
    customer_id: StrictInt | None = None
    subject: Annotated[str, NotBlank] = Field(
        min_length=1, max_length=300, json_schema_extra={"pattern": NOT_BLANK}
    )
    body: Annotated[str, NotBlank] = Field(min_length=1, json_schema_extra={"pattern": NOT_BLANK})
    channel: str
    priority: PriorityValue = "normal"
    tags: TagList = []
    group: str | None = Field(
        None, description="a group id of the protocol; null (or empty) for the routing's"
    )
    override_reason: str = Field(
        "",
        max_length=500,
        description="open it despite objections to the first message (it is a public reply, "
        "checked as any reply is), with this reason; only for people whose roles grant every "
        "objection's override permission (etiquette.override)",
    )


class TagChange(Input):
    add: TagList = []
    remove: list[AnyTag] = []


class TicketPatch(Input):
    """Leave a field out to keep it; group and assignee may be null (none)."""

    status: Annotated[SettableStatus, NotNull] = None
    priority: Annotated[PriorityValue, NotNull] = None
    tags: Annotated[TagChange, NotNull] = None
    group: str | None = Field(None, description="a group id of the protocol; null (or empty) for no group")
    assignee: Annotated[
        int | str | None,
        BeforeValidator(_not_a_boolean),
        AfterValidator(_assignee),
        WithJsonSchema(
            {
                "anyOf": [
                    {"type": "integer"},
                    {"type": "string", "pattern": ASSIGNEE_WORD},
                    {"type": "null"},
                ],
                "description": "a person id, 'me', or null (or 'none') for nobody",
            }
        ),
    ] = None


class ReplyIn(Input):
    body: Annotated[str, NotBlank] = Field(min_length=1, json_schema_extra={"pattern": NOT_BLANK})
    next_status: SettableStatus | None = None
    override_reason: str = Field(
        "",
        max_length=500,
        description="send despite the objections (etiquette problems) with this reason; only for "
        "people whose roles grant every objection's override permission (etiquette.override)",
    )


class NoteIn(Input):
    body: Annotated[str, NotBlank] = Field(min_length=1, json_schema_extra={"pattern": NOT_BLANK})


class TicketSummary(Schema):
    id: int
    reference: str
    subject: str
    status: str
    priority: str
    channel: str
    group: str | None
    tags: list[str]
    customer: CustomerRef
    assignee: PersonRef | None
    created_at: UtcTime
    updated_at: UtcTime
    solved_at: UtcTime | None
    next_due_at: UtcTime | None
    breached: bool
    sla_policy: str | None
    extensions: dict[str, Any] = Field(
        description="fields the desk's families add to a ticket (refunds, surveys...), by name; {} when none"
    )


class TicketPage(Schema):
    items: list[TicketSummary]
    next: str | None = Field(description="the URL of the next page; null on the last page")
    next_cursor: str | None


class AttachmentOut(Schema):
    id: int
    filename: str
    content_type: str
    size: int = Field(description="in bytes")
    download_url: str = Field(
        "", description="GET it with the same token: the file itself (Content-Disposition: attachment)"
    )

    @staticmethod
    def resolve_download_url(obj, context) -> str:
        from django.urls import reverse

        path = reverse("api-v1:download_attachment", kwargs={"attachment_id": _get(obj, "id")})
        request = (context or {}).get("request")
        return request.build_absolute_uri(path) if request is not None else path


def _get(obj, name: str):
    return obj[name] if isinstance(obj, dict) else getattr(obj, name)


class AuthorOut(Schema):
    type: str = Field(description="person, customer or system")
    id: int | None
    name: str


class MessageOut(Schema):
    id: int
    kind: str = Field(description="customer, reply (public) or note (internal)")
    public: bool
    author: AuthorOut
    body: str
    body_html: str
    channel: str
    created_at: UtcTime
    unverified_sender: str | None = Field(
        description="why the sender could not be verified, when the message used the address of a "
        "customer with earlier tickets without proof (no aligned DKIM/SPF pass, a web form not signed "
        "in as them); null when there was nothing to verify or it was verified"
    )
    sender_confirmed_at: UtcTime | None = Field(
        description="when the customer confirmed they sent a message with an unverified sender"
    )
    attachments: list[AttachmentOut]


class TicketDetail(TicketSummary):
    protocol_version: str
    created_by_agent: bool
    merged_into: int | None
    messages: list[MessageOut]


# --------------------------------------------------------------------------- SLA


class CycleOut(Schema):
    target: str | None
    start: UtcTime
    due: UtcTime | None
    fulfilled: UtcTime | None
    breached: bool
    paused: bool
    policy: str | None
    calendar: str | None
    explain: str


class EscalationOut(Schema):
    rule: str
    metric: str
    at: UtcTime
    carried_out: bool


class UpcomingEscalation(Schema):
    rule: str
    metric: str
    at: UtcTime


class SlaOut(Schema):
    ticket: int
    evaluated_at: UtcTime
    priority: str | None
    policy: str | None
    breached: bool
    next_due_at: UtcTime | None
    metrics: dict[str, list[CycleOut]]
    escalations: list[EscalationOut]
    next_escalation: UpcomingEscalation | None


# --------------------------------------------------------------------------- search


class SearchOut(Schema):
    q: str
    tickets: list[TicketSummary] | None = Field(description="null unless the caller holds ticket.view")
    customers: list[CustomerOut] | None = Field(description="null unless the caller holds customer.view")
