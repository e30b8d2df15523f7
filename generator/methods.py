"""The standard methods of a service's resource: an rpc is one only when its name, its
`google.api.http` binding and its shape all agree; else it is an action (`actions`).

- the name: `Get`, `List`, `Create`, `Update`, `Delete`, `ListOperations`, alone or followed by
  the resource's or the service's name (`GetCatalog` in CatalogService); a method named
  otherwise (`Rotate`, `DeleteHosts`, `Restore`) is never a standard method, whatever its shape;
- the `google.api.http` binding, the strongest evidence the schema has: its verb (GET for Get and
  List, POST for Create, PATCH or PUT for Update, DELETE for Delete), no custom `:verb`, and
  whether its path ends in the variable that names the resource (`/kms/v1/keys/{key_id}`);
- the shape: the request names the resource by its key, and the response (or the operation's)
  is the resource, `google.protobuf.Empty`, or a message with one field that holds it.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Mapping

from generator.actions import Actions
from generator.http import HttpBinding
from generator.model import (
    EMPTY,
    FIELD_MASK,
    OPERATION,
    Field,
    Kind,
    Message,
    Method,
    MethodShape,
    Resource,
    ResponseKind,
    Service,
    StandardMethod,
    is_string,
    same_type,
    snake_case,
    unary,
)
from generator.rules import INTEGER_SCALARS
from generator.shapes import (
    INDEXABLE_SCALARS,
    VERBS,
    is_key,
    items_of,
    key_fields,
    key_text,
    lists_like_the_runtime,
    missing_key,
    named,
    short,
)

_HTTP_VERBS = {
    StandardMethod.GET: ("GET",),
    StandardMethod.LIST: ("GET",),
    StandardMethod.LIST_OPERATIONS: ("GET",),
    StandardMethod.CREATE: ("POST",),
    StandardMethod.UPDATE: ("PATCH", "PUT"),
    StandardMethod.DELETE: ("DELETE",),
}


class StandardMethods:
    """What each rpc of a service with a resource means: a standard method, else an action."""

    def __init__(self, messages: Mapping[str, Message]) -> None:
        self.messages = messages
        self.actions = Actions(messages)

    def meaning(self, service: Service, resource: Resource, method: Method) -> Method:
        kind = _named_kind(service, resource, method)
        if kind is None:
            return self.actions.meaning(resource, method)
        return self._standard(service, resource, method, kind)

    def get(self, service: Service, resource: Resource, method: Method) -> Method:
        """The rpc as `meaning` finds it if it is named a Get, else as it is."""
        if _named_kind(service, resource, method) is not StandardMethod.GET:
            return method
        return self._standard(service, resource, method, StandardMethod.GET)

    def _standard(
        self, service: Service, resource: Resource, method: Method, kind: StandardMethod
    ) -> Method:
        def action(why: str) -> Method:
            return replace(
                method, reason=f"an action: named {kind.name.title()}, but {why}"
            )

        if not unary(method):
            return action("it streams")
        request = self.messages.get(method.input)
        if request is None:
            return action(f"{method.input} is not in the request")
        refused = _http_disagrees(method, kind, resource)
        if refused:
            return action(refused)
        check = {
            StandardMethod.GET: self._get,
            StandardMethod.LIST: self._list,
            StandardMethod.CREATE: self._create,
            StandardMethod.UPDATE: self._update,
            StandardMethod.DELETE: self._delete,
            StandardMethod.LIST_OPERATIONS: self._list_operations,
        }[kind]
        found = check(resource, method, request)
        if isinstance(found, str):
            return action(found)
        shape, why = found
        return replace(method, standard=kind, shape=shape, reason=why)

    def _get(self, resource: Resource, method: Method, request: Message):  # type: ignore[no-untyped-def]
        if method.output == OPERATION:
            return "it returns an Operation"
        response = self._response(
            resource, method, (ResponseKind.RESOURCE, ResponseKind.WRAPPED)
        )
        if isinstance(response, str):
            return response
        kind, field, _ = response
        missing = missing_key(resource, request)
        if missing:
            return missing
        return (
            MethodShape(
                key_fields=key_fields(resource), response=kind, response_field=field
            ),
            f"Get: returns {short(resource.message)}"
            + (f" in {field}" if field else "")
            + f" named by {key_text(resource)}",
        )

    def _list(self, resource: Resource, method: Method, request: Message):  # type: ignore[no-untyped-def]
        items = items_of(self.messages, method)
        if items is None:
            return "its response holds no one repeated field of the resource"
        items_field, item_type, paged = items
        if item_type != resource.message and not self._is_view(item_type, resource):
            return f"it lists {item_type}, not {resource.message} or a view of it"
        parent = ""
        scope = (
            resource.key[0].request_field
            if len(resource.key) > 1
            else resource.parent_field
        )
        if scope and is_string(request.field(scope)):
            parent = scope
        size = request.field("page_size")
        if paged and (
            size is None or size.type.scalar not in INTEGER_SCALARS or size.repeated
        ):
            return "its request pages without an integer page_size"
        query = {"filter", "order_by"}
        if any(request.field(n) and not is_string(request.field(n)) for n in query):
            return "its filter or order_by is not a string"
        message = self.messages[resource.message]
        handled = {"page_size", "page_token", parent} | query
        equal = tuple(
            item.name
            for item in request.fields
            if item.name not in handled
            and _mirrors_scalar(item, message.field(item.name))
        )
        rest = [
            item
            for item in request.fields
            if item.name not in handled and item.name not in equal
        ]
        # A required field the resource does not record (a scope such as `folder_id`) comes
        # with every call: it is accepted and not applied. Others are refused when set.
        ignored = tuple(item.name for item in rest if item.rules.required)
        unsupported = tuple(item.name for item in rest if not item.rules.required)
        why = f"List: pages of {short(resource.message)}" + (
            f" under {parent}" if parent else ""
        )
        if equal:
            why += f", filtered by {', '.join(equal)}"
        if ignored:
            why += f"; ignores {', '.join(ignored)}, which it does not record"
        if unsupported:
            why += f"; UNIMPLEMENTED when {', '.join(unsupported)} is set"
        return (
            MethodShape(
                items_field=items_field,
                paged=paged,
                parent_field=parent,
                filter_fields=equal,
                unsupported_fields=unsupported,
            ),
            why,
        )

    def _create(self, resource: Resource, method: Method, request: Message):  # type: ignore[no-untyped-def]
        response = self._response(
            resource, method, (ResponseKind.RESOURCE, ResponseKind.WRAPPED)
        )
        if isinstance(response, str):
            return response
        kind, field, synchronous = response
        message = self.messages[resource.message]
        own = resource.key[-1]
        given = request.field(own.request_field)
        if resource.generated_id and given is not None and not given.oneof:
            return f"its request names the resource by {own.request_field}, as a Create's does not"
        key_given = tuple(
            p.request_field
            for p in resource.key
            if is_key(request.field(p.request_field))
        )
        spec_fields = tuple(
            item.name for item in request.fields if self._is_spec(item, message)
        )
        copied = tuple(
            item.name
            for item in request.fields
            if item.name not in key_given
            and same_type(item, message.field(item.name))
            and item.name != "id"
        )
        if not resource.generated_id:
            names = (
                own.request_field in key_given
                or any(
                    self.messages[request.field(s).type.name].field(own.field) for s in spec_fields  # type: ignore[union-attr]
                )
                or own.field in copied
            )
            if not names:
                return f"its request gives no {own.field} for the new resource"
        for part in resource.key[:-1]:
            if part.request_field not in key_given:
                return f"its request lacks {part.request_field}"
        why = f"Create: makes {short(resource.message)}"
        if resource.generated_id:
            why += f" with a new {own.field}"
        return (
            MethodShape(
                key_fields=key_given,
                copy_fields=copied,
                spec_fields=spec_fields,
                response=kind,
                response_field=field,
                synchronous=synchronous,
            ),
            why + _response_text(kind, field, synchronous),
        )

    def _update(self, resource: Resource, method: Method, request: Message):  # type: ignore[no-untyped-def]
        response = self._response(
            resource,
            method,
            (ResponseKind.RESOURCE, ResponseKind.WRAPPED, ResponseKind.EMPTY),
        )
        if isinstance(response, str):
            return response
        kind, field, synchronous = response
        missing = missing_key(resource, request)
        if missing:
            return missing
        masks = [
            item.name
            for item in request.fields
            if item.type.name == FIELD_MASK and not item.repeated
        ]
        if len(masks) > 1:
            return f"its request has {len(masks)} field masks"
        mask = masks[0] if masks else ""
        why = f"Update: changes {short(resource.message)} named by {key_text(resource)}"
        why += f", masked by {mask}" if mask else ", whole (no mask)"
        return (
            MethodShape(
                key_fields=key_fields(resource),
                mask_field=mask,
                response=kind,
                response_field=field,
                synchronous=synchronous,
            ),
            why + _response_text(kind, field, synchronous),
        )

    def _delete(self, resource: Resource, method: Method, request: Message):  # type: ignore[no-untyped-def]
        response = self._response(
            resource,
            method,
            (ResponseKind.EMPTY, ResponseKind.RESOURCE, ResponseKind.WRAPPED),
        )
        if isinstance(response, str):
            return response
        kind, field, synchronous = response
        missing = missing_key(resource, request)
        if missing:
            return missing
        return (
            MethodShape(
                key_fields=key_fields(resource),
                response=kind,
                response_field=field,
                synchronous=synchronous,
            ),
            f"Delete: removes {short(resource.message)} named by {key_text(resource)}"
            + _response_text(kind, field, synchronous),
        )

    def _list_operations(self, resource: Resource, method: Method, request: Message):  # type: ignore[no-untyped-def]
        if not (method.paging and method.paging.item_type == OPERATION):
            return "it does not page through operations"
        missing = missing_key(resource, request)
        if missing:
            return missing
        if not lists_like_the_runtime(request):
            return "its request pages without an integer page_size"
        return (
            MethodShape(
                key_fields=key_fields(resource),
                items_field=method.paging.items_field,
                paged=True,
            ),
            f"ListOperations: pages of the operations on {short(resource.message)} named by {key_text(resource)}",
        )

    def _response(self, resource: Resource, method: Method, allowed: tuple[ResponseKind, ...]):  # type: ignore[no-untyped-def]
        """What the rpc answers (or its operation's response holds): the resource, nothing
        (Empty or a message without fields... any message, for a Delete), or a message with
        one field of the resource; and whether it answers at once (no Operation)."""
        if method.output == OPERATION:
            if method.operation is None:
                return "its Operation has no (yandex.cloud.api.operation) option"
            response, synchronous = method.operation.response, False
        else:
            response, synchronous = method.output, True
        if response == resource.message and ResponseKind.RESOURCE in allowed:
            return ResponseKind.RESOURCE, "", synchronous
        message = self.messages.get(response)
        if ResponseKind.WRAPPED in allowed and message is not None:
            holders = [
                item.name
                for item in message.fields
                if item.type.name == resource.message
                and not item.repeated
                and not item.is_map
            ]
            if len(holders) == 1:
                return ResponseKind.WRAPPED, holders[0], synchronous
        if ResponseKind.EMPTY in allowed and (response == EMPTY or message is not None):
            return ResponseKind.EMPTY, "", synchronous
        return f"it answers {response}, not {resource.message}"

    def _is_view(self, name: str, resource: Resource) -> bool:
        """A message whose every field is a field of the resource, of the same type: what a
        List may show of each resource (`WorkflowPreview` of a `Workflow`)."""
        view = self.messages.get(name)
        message = self.messages[resource.message]
        return bool(
            view
            and view.fields
            and all(same_type(item, message.field(item.name)) for item in view.fields)
        )

    def _is_spec(self, item: Field, resource: Message) -> bool:
        """A request field of a message that describes the new resource: of the resource's
        own type, or `<resource>_spec` (`database_spec` for a Database)."""
        if item.repeated or item.type.kind is not Kind.MESSAGE:
            return False
        if item.type.name == resource.full_name:
            return True
        stem = item.name.removesuffix("_spec")
        return (
            item.name.endswith("_spec")
            and snake_case(resource.name).endswith(stem)
            and item.type.name in self.messages
        )


def _named_kind(
    service: Service, resource: Resource, method: Method
) -> StandardMethod | None:
    """The standard method the rpc's name is, if any (the first that `named` finds)."""
    for kind in (*VERBS, StandardMethod.LIST_OPERATIONS):
        if named(method, kind, service, resource):
            return kind
    return None


def _http_disagrees(method: Method, kind: StandardMethod, resource: Resource) -> str:
    """Why the rpc's HTTP binding says otherwise ("" if it agrees or there is none)."""
    if method.http is None:
        return ""
    binding: HttpBinding = method.http.binding
    if binding.method not in _HTTP_VERBS[kind]:
        return f"google.api.http binds it to {binding.method} {binding.path.text}"
    if binding.path.verb:
        return f"google.api.http binds it to the custom verb :{binding.path.verb} ({binding.path.text})"
    variables = [v.dotted for v in binding.path.variables]
    own = resource.key[-1].request_field
    names_one = (
        bool(variables) and variables[-1] == own and binding.path.ends_with_variable
    )
    # A path without variables leaves the key to the body (`PATCH /v1/clusters`, body "*").
    body_keyed = not variables and binding.body == "*"
    if (
        kind in (StandardMethod.GET, StandardMethod.UPDATE, StandardMethod.DELETE)
        and not names_one
        and not body_keyed
    ):
        return f"google.api.http's path {binding.path.text} does not end with {{{own}}}"
    if (
        kind in (StandardMethod.LIST, StandardMethod.CREATE)
        and own in variables
        and resource.generated_id
    ):
        return f"google.api.http's path {binding.path.text} names one {short(resource.message)}"
    return ""


def _shape(resource: Resource) -> MethodShape:
    return MethodShape(key_fields=key_fields(resource))


def _response_text(kind: ResponseKind, field: str, synchronous: bool) -> str:
    answer = {
        ResponseKind.RESOURCE: "the resource",
        ResponseKind.EMPTY: "an empty response",
        ResponseKind.WRAPPED: f"the resource in {field}",
    }[kind]
    return f"; answers {answer}" + (" at once" if synchronous else " in an Operation")


def _mirrors_scalar(item: Field, other: Field | None) -> bool:
    """A request field that a List can compare with a resource field for equality."""
    return (
        same_type(item, other)
        and not item.repeated
        and not item.is_map
        and (
            item.type.kind is Kind.ENUM
            or (item.type.kind is Kind.SCALAR and item.type.scalar in INDEXABLE_SCALARS)
        )
    )
