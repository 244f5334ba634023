"""What the API reads and writes. Inputs refuse unknown fields, so a misspelt key is an error."""

from __future__ import annotations

import datetime as dt
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

from charterdesk.accounts.models import validate_timezone
from charterdesk.tickets.choices import Priority, Status

PRIORITIES = tuple(Priority.values)
STATUSES = tuple(Status.values)


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
    try:
        validate_email(value)
    except DjangoValidationError:
        raise ValueError(f"'{value}' is not an email address") from None
    return value


def _timezone(value: str) -> str:
    try:
        validate_timezone(value)
    except DjangoValidationError as exc:
        raise ValueError(exc.messages[0]) from None
    return value


def _not_a_boolean(value):
    if isinstance(value, bool):  # JSON true would otherwise be read as person 1
        raise ValueError(f"'{str(value).lower()}' is not a person id, 'me' or null")
    return value


def _assignee(value):
    if value == "none":  # as the list's filter writes nobody
        return None
    if value is None or isinstance(value, int) or value == "me":
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    raise ValueError(f"'{value}' is not a person id, 'me' or null")


UtcTime = Annotated[dt.datetime, PlainSerializer(iso_utc, return_type=str)]
PriorityValue = Annotated[
    str, AfterValidator(one_of(PRIORITIES)), WithJsonSchema({"type": "string", "enum": list(PRIORITIES)})
]
StatusValue = Annotated[
    str, AfterValidator(one_of(STATUSES)), WithJsonSchema({"type": "string", "enum": list(STATUSES)})
]
Email = Annotated[str | None, AfterValidator(_email)]
TimeZone = Annotated[str, AfterValidator(_timezone)]
Tag = Annotated[str, Field(min_length=1, max_length=64)]


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


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    return value


NotBlank = AfterValidator(_not_blank)


# --------------------------------------------------------------------------- errors


class ErrorItem(Schema):
    field: str | None = Field(description="the field at fault, null when none is")
    message: str
    permission: str | None = Field(None, description="on 403: the permission the caller's roles lack")


class ErrorOut(Schema):
    errors: list[ErrorItem]


ERRORS = {401: ErrorOut, 403: ErrorOut, 422: ErrorOut, 429: ErrorOut}
ERRORS_WITH_404 = {**ERRORS, 404: ErrorOut}


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
    name: str = Field("", max_length=200)
    phone: str = Field("", max_length=40)
    organization: str = Field("", max_length=200)
    timezone: TimeZone = "UTC"
    language: str = Field("en", max_length=16)


class CustomerPatch(Input):
    email: Email = None
    name: str | None = Field(None, min_length=1, max_length=200)
    phone: str | None = Field(None, max_length=40)
    organization: str | None = Field(None, max_length=200)
    timezone: TimeZone | None = None
    language: str | None = Field(None, min_length=1, max_length=16)


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
    customer: CustomerIn | None = Field(None, description="found by email, or created")
    customer_id: StrictInt | None = None
    subject: Annotated[str, NotBlank] = Field(min_length=1, max_length=300)
    body: Annotated[str, NotBlank] = Field(min_length=1)
    channel: str
    priority: PriorityValue = "normal"
    tags: list[Tag] = []
    group: str | None = None
    override_reason: str = Field(
        "",
        max_length=500,
        description="open it despite objections to the first message (it is a public reply, "
        "checked as any reply is), with this reason; only for people whose roles grant every "
        "objection's override permission (etiquette.override)",
    )


class TagChange(Input):
    add: list[Tag] = []
    remove: list[Tag] = []


class TicketPatch(Input):
    status: StatusValue | None = None
    priority: PriorityValue | None = None
    tags: TagChange | None = None
    group: str | None = Field(None, description="a group id of the protocol; null for no group")
    assignee: Annotated[int | str | None, BeforeValidator(_not_a_boolean), AfterValidator(_assignee)] = Field(
        None, description="a person id, 'me', or null (or 'none') for nobody"
    )


class ReplyIn(Input):
    body: str = Field(min_length=1)
    next_status: StatusValue | None = None
    override_reason: str = Field(
        "",
        max_length=500,
        description="send despite the objections (etiquette problems) with this reason; only for "
        "people whose roles grant every objection's override permission (etiquette.override)",
    )


class NoteIn(Input):
    body: str = Field(min_length=1)


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
