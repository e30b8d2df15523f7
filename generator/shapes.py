"""Facts about fields, messages and rpcs that the meanings of rpcs are made of (see
`resources`, `methods` and `actions`): names, key fields, items, mirrored fields."""

from __future__ import annotations

from typing import Mapping

from generator.model import (
    OPERATION,
    Field,
    Kind,
    Message,
    Method,
    Resource,
    Service,
    StandardMethod,
    is_string,
)
from generator.rules import FLOAT_SCALARS, INTEGER_SCALARS

# Scalars that storage can index (all but bytes), as filter and order_by accept them.
INDEXABLE_SCALARS = INTEGER_SCALARS | FLOAT_SCALARS | {"string", "bool"}

VERBS = {
    StandardMethod.GET: "Get",
    StandardMethod.LIST: "List",
    StandardMethod.CREATE: "Create",
    StandardMethod.UPDATE: "Update",
    StandardMethod.DELETE: "Delete",
}


def named(
    method: Method, kind: StandardMethod, service: Service, resource: Resource | None
) -> bool:
    """Whether the rpc's name is the standard method's: the verb, alone or followed by the
    service's name or the resource's (plural for List)."""
    if kind is StandardMethod.LIST_OPERATIONS:
        verb, tail = "List", "Operations"
    else:
        verb, tail = VERBS[kind], ""
    name = method.name
    if not (name.startswith(verb) and name.endswith(tail)):
        return False
    middle = name[len(verb) : len(name) - len(tail)]
    if not middle:
        return True
    nouns = {service.short_name}
    if resource is not None:
        nouns.add(resource.message.rsplit(".", 1)[-1])
    if kind in (StandardMethod.LIST,):
        nouns |= {plural(noun) for noun in nouns}
    return middle in nouns


def plural(noun: str) -> str:
    if noun.endswith("y") and noun[-2:-1] not in "aeiou":
        return noun[:-1] + "ies"
    if noun.endswith(("s", "x", "ch", "sh")):
        return noun + "es"
    return noun + "s"


def short(name: str) -> str:
    return name.rsplit(".", 1)[-1]


def is_resource_like(message: Message) -> bool:
    return (
        not message.full_name.startswith("google.") and message.full_name != OPERATION
    )


def is_key(candidate: Field | None) -> bool:
    """A field that can carry a key's part: a string or an integer."""
    return bool(
        candidate
        and candidate.type.kind is Kind.SCALAR
        and (
            candidate.type.scalar == "string"
            or candidate.type.scalar in INTEGER_SCALARS
        )
        and not candidate.repeated
    )


def same_scalar(item: Field | None, other: Field | None) -> bool:
    """A key part of the resource: a string or integer, as the request's field (if given)."""
    return is_key(item) and (
        other is None or (item.type.scalar == "string") == (other.type.scalar == "string")  # type: ignore[union-attr]
    )


def is_string_or_strings(candidate: Field) -> bool:
    return (
        candidate.type.kind is Kind.SCALAR
        and candidate.type.scalar == "string"
        and not candidate.is_map
    )


def lists_like_the_runtime(request: Message) -> bool:
    """An integer `page_size`, and `filter` and `order_by` strings if the request has them."""
    size = request.field("page_size")
    return bool(
        size is not None
        and size.type.scalar in INTEGER_SCALARS
        and not size.repeated
        and all(
            is_string(request.field(name))
            for name in ("filter", "order_by")
            if request.field(name)
        )
    )


def key_fields(resource: Resource) -> tuple[str, ...]:
    return tuple(part.request_field for part in resource.key)


def key_text(resource: Resource) -> str:
    """The key's request fields in words: `cluster_id, database_name (its name)`."""
    return ", ".join(
        (
            part.request_field
            if part.request_field == part.field
            else (
                f"{part.request_field} (its {part.field})"
                if part.field
                else f"{part.request_field} (kept beside it)"
            )
        )
        for part in resource.key
    )


def missing_key(resource: Resource, request: Message) -> str:
    """Why the request does not name the resource by its key ("" if it does)."""
    missing = [
        p.request_field
        for p in resource.key
        if not is_key(request.field(p.request_field))
    ]
    if missing:
        return f"{request.full_name} lacks {', '.join(missing)}"
    return ""


def items_of(
    messages: Mapping[str, Message], method: Method
) -> tuple[str, str, bool] | None:
    """A List's items: their field and message, and whether it pages."""
    if method.paging:
        return method.paging.items_field, method.paging.item_type, True
    found = unpaged_items_of(messages, method)
    return (found[0], found[1], False) if found else None


def unpaged_items_of(
    messages: Mapping[str, Message], method: Method
) -> tuple[str, str] | None:
    output = messages.get(method.output)
    if output is None or output.field("next_page_token"):
        return None
    items = [f for f in output.fields if f.repeated and f.type.kind is Kind.MESSAGE]
    if len(items) != 1 or len(output.fields) != 1:
        return None
    return items[0].name, items[0].type.name
