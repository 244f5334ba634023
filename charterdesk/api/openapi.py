"""The OpenAPI document, exact about what the code accepts.

django-ninja writes the document from the schemas (schemas.py). Two rules it cannot know are added
here, each time the document is asked for:

- no text the API reads may hold the NUL character (PostgreSQL cannot store it; schemas.Input and
  middleware.ApiErrorsAsJson refuse it on every database), so every string of a request, in its
  query or its body, carries a pattern without it unless it already has a stricter one;
- the ids that only the protocol in force knows: the customer channels a ticket may be opened on,
  and the groups a ticket may be given.

schemathesis checks the document against the API's behaviour in CI (tests/api/test_api_schema.py).
"""

from __future__ import annotations

from typing import Any

NO_NUL = r"^[^\u0000]*$"
# What a string schema may already say that already decides its values.
_DECIDED = ("enum", "const", "pattern", "format")


def exact(document: dict[str, Any], protocol) -> dict[str, Any]:
    """``document`` (changed in place) with the two rules above."""
    components = document.get("components", {}).get("schemas", {})
    seen: set[str] = set()
    for path_item in document.get("paths", {}).values():
        for operation in path_item.values():
            for parameter in operation.get("parameters", ()):
                _refuse_nul(parameter.get("schema", {}), components, seen)
            for content in operation.get("requestBody", {}).get("content", {}).values():
                _refuse_nul(content.get("schema", {}), components, seen)
    if protocol is not None:
        _protocol_ids(components, protocol)
    return document


def _refuse_nul(schema: Any, components: dict, seen: set[str]) -> None:
    if not isinstance(schema, dict):
        return
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
        name = ref.rsplit("/", 1)[-1]
        if name not in seen and name in components:
            seen.add(name)
            _refuse_nul(components[name], components, seen)
        return
    if schema.get("type") == "string" and not any(key in schema for key in _DECIDED):
        schema["pattern"] = NO_NUL
    for key in ("properties", "$defs"):
        for value in schema.get(key, {}).values():
            _refuse_nul(value, components, seen)
    for key in ("anyOf", "oneOf", "allOf"):
        for value in schema.get(key, ()):
            _refuse_nul(value, components, seen)
    _refuse_nul(schema.get("items"), components, seen)


def _protocol_ids(components: dict, protocol) -> None:
    channels = sorted(c.id for c in protocol.channels.customer)
    # Empty, like null, means none (TicketPatch) or the group the protocol routes to (TicketCreate).
    groups = [*sorted(g.id for g in protocol.team.groups), ""]
    create = components.get("TicketCreate", {}).get("properties", {})
    if "channel" in create and channels:
        create["channel"] = {"type": "string", "enum": channels, "description": "a customer channel id"}
    for name in ("TicketCreate", "TicketPatch"):
        properties = components.get(name, {}).get("properties", {})
        if "group" in properties:
            properties["group"] = {
                "anyOf": [{"type": "string", "enum": groups}, {"type": "null"}],
                "description": properties["group"].get("description", "a group id of the protocol"),
            }
