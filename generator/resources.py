"""What each rpc means to the generated server, and the resource each service manages.

Every rpc gets a meaning with its reason (`Method.standard`, `.action`, `.reason`): a standard
method only when all its evidence agrees, else an action, which a served family (access
bindings, Move, Start/Stop/Restart, listing the resources that refer to one) may implement.
The evidence, in the order it is weighed:

- the name: `Get`, `List`, `Create`, `Update`, `Delete`, `ListOperations`, alone or followed by
  the resource's or the service's name (`GetCatalog` in CatalogService); a method named
  otherwise (`Rotate`, `DeleteHosts`, `Restore`) is never a standard method, whatever its shape;
- the `google.api.http` binding, the strongest evidence the schema has: its verb (GET for Get and
  List, POST for Create, PATCH or PUT for Update, DELETE for Delete), no custom `:verb`, and
  whether its path ends in the variables that name the resource (`/kms/v1/keys/{key_id}`);
- the shape: the request names the resource by its key, and the response (or the operation's)
  is the resource, `google.protobuf.Empty`, or another message as the rpc says.

A resource is the message a `Get` returns (else a Create's, Update's or Delete's operation
response, else a List's items), named by a key: the request fields that the Get's path
variables name (else `<resource>_id`, else its identifier fields), each read as a field of
the resource (`key_id` as `id`, `database_name` as `name`, `cluster_id` as itself). A key of one
string `id` is made by the server on Create; a key of a parent and a name (`cluster_id`,
`name`) comes with the Create request.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Iterable, Mapping, Sequence

from generator.http import HttpBinding
from generator.model import (
    EMPTY,
    FIELD_MASK,
    OPERATION,
    Action,
    Enum,
    Field,
    KeyPart,
    Kind,
    Lifecycle,
    Message,
    Method,
    MethodShape,
    Reference,
    Resource,
    ResponseKind,
    Service,
    StandardMethod,
    snake_case,
)
from generator.rules import FLOAT_SCALARS, INTEGER_SCALARS
from generator.runtime.links import Linkable, Links, link, reference_candidates

ACCESS_PACKAGE = "yandex.cloud.access."
TIMESTAMP = "google.protobuf.Timestamp"
# Scalars that storage can index (all but bytes), as filter and order_by accept them.
INDEXABLE_SCALARS = INTEGER_SCALARS | FLOAT_SCALARS | {"string", "bool"}

_VERBS = {
    StandardMethod.GET: "Get",
    StandardMethod.LIST: "List",
    StandardMethod.CREATE: "Create",
    StandardMethod.UPDATE: "Update",
    StandardMethod.DELETE: "Delete",
}
_HTTP_VERBS = {
    StandardMethod.GET: ("GET",),
    StandardMethod.LIST: ("GET",),
    StandardMethod.LIST_OPERATIONS: ("GET",),
    StandardMethod.CREATE: ("POST",),
    StandardMethod.UPDATE: ("PATCH", "PUT"),
    StandardMethod.DELETE: ("DELETE",),
}
# Status values by what they mean, in order of preference (the enum's values stripped of a
# prefix they share, such as `STATUS_`).
_READY = (
    "READY",
    "RUNNING",
    "ACTIVE",
    "AVAILABLE",
    "UP",
    "ENABLED",
    "ISSUED",
    "DEPLOYED",
    "ONLINE",
    "HEALTHY",
    "DONE",
    "COMPLETED",
    "SUCCEEDED",
    "PUBLISHED",
    "UPLOADED",
    "APPROVED",
    "CREATED",
)
_STATUS_ROLES = {
    "creating": ("CREATING", "PROVISIONING", "STARTING", "PREPARING", "PENDING"),
    "updating": ("UPDATING", "RECONCILING", "MODIFYING"),
    "deleting": ("DELETING",),
    "starting": ("STARTING",),
    "stopping": ("STOPPING",),
    "stopped": ("STOPPED",),
    "restarting": ("RESTARTING",),
}
_ACTION_NAMES = {"Start": Action.START, "Stop": Action.STOP, "Restart": Action.RESTART}
_ACCESS_ACTIONS = {
    "ListAccessBindingsRequest": Action.LIST_ACCESS_BINDINGS,
    "SetAccessBindingsRequest": Action.SET_ACCESS_BINDINGS,
    "UpdateAccessBindingsRequest": Action.UPDATE_ACCESS_BINDINGS,
}


def classify_services(
    services: Sequence[Service],
    messages: Mapping[str, Message],
    enums: Mapping[str, Enum],
) -> list[Service]:
    """Every service with its resource and the meaning of each rpc, each from what its own
    file and imports say (a file generated alone means what it means in a whole run)."""
    classifier = _Classifier(messages, enums)
    return [classifier.service(service) for service in services]


def links(services: Iterable[Service]) -> dict[str, Links]:
    """The links between the resources of `services` that a server serving them all finds
    when it starts (`runtime.links`): references, and who refers to whom."""
    return link(
        Linkable(
            kind=r.message,
            label=r.label,
            key=tuple((p.field, p.request_field) for p in r.key),
            generated_id=r.generated_id,
            parent_field=r.parent_field,
            creatable=s.standard_method(StandardMethod.CREATE) is not None,
            indexed_fields=r.indexed_fields,
            references=tuple((f.field, f.target, f.repeated) for f in r.references),
        )
        for s in services
        if not s.is_framework
        for r in (s.resource,)
        if r is not None
    )


class _Classifier:
    def __init__(self, messages: Mapping[str, Message], enums: Mapping[str, Enum]):
        self.messages = messages
        self.enums = enums

    # --- the resource -------------------------------------------------------------------------

    def service(self, service: Service) -> Service:
        if service.is_framework:
            return service
        found = self._resource(service)
        if isinstance(found, str):
            methods = tuple(
                replace(m, reason=f"an action: {found}") for m in service.methods
            )
            return replace(service, methods=methods, resource=None)
        resource = self._with_references(self._with_parent(found, service))
        methods = tuple(self._method(service, resource, m) for m in service.methods)
        return replace(service, methods=methods, resource=resource)

    def _with_references(self, resource: Resource) -> Resource:
        """The fields that may name another resource by id (the server links them)."""
        message = self.messages[resource.message]
        candidates = reference_candidates(
            resource.message,
            [(f.name, f.repeated) for f in message.fields if _is_string_or_strings(f)],
            [(p.field, p.request_field) for p in resource.key],
        )
        return replace(
            resource,
            references=tuple(Reference(*candidate) for candidate in candidates),
        )

    def _resource(self, service: Service) -> Resource | str:
        """The service's resource and its key, or why it has none."""
        message, source = self._resource_message(service)
        if message is None:
            return "the service returns no resource (no Get, and no Create, Update or Delete with a resource in its operation)"
        key = self._key(service, message, source)
        if isinstance(key, str):
            return f"{message.full_name} has no key the server can use: {key}"
        parent = key[0].field if len(key) > 1 else ""
        return Resource(
            message=message.full_name,
            key=key,
            # An id (`id`, `dataset_id`) rather than a name: the server makes it on Create.
            generated_id=key[-1].field == "id" or key[-1].field.endswith("_id"),
            parent_field=parent,
            name_field="name" if _is_string(message.field("name")) else "",
            created_at_field=(
                "created_at" if _is_timestamp(message.field("created_at")) else ""
            ),
            lifecycle=self._lifecycle(message),
            indexed_fields=(),
        )

    def _resource_message(
        self, service: Service
    ) -> tuple[Message | None, Method | None]:
        """The message a Get returns, else the resource in a mutation's operation, else a
        List's items; with the method that names it by its key (a Get, Update or Delete).
        """
        named = {
            kind: [
                m
                for m in service.methods
                if _named(m, kind, service, None) and _unary(m)
            ]
            for kind in _VERBS
        }
        for method in named[StandardMethod.GET]:
            output = self.messages.get(method.output)
            if output and _is_resource_like(output):
                return self._unwrapped(output), method
        # Without a Get, a Delete (else an Update) names the resource by its key.
        keyed = next(
            (
                m
                for k in (StandardMethod.DELETE, StandardMethod.UPDATE)
                for m in named[k]
            ),
            None,
        )
        for kind in (
            StandardMethod.CREATE,
            StandardMethod.UPDATE,
            StandardMethod.DELETE,
        ):
            for method in named[kind]:
                response = method.operation.response if method.operation else ""
                found = self.messages.get(response)
                if found and _is_resource_like(found):
                    return found, keyed
        for method in named[StandardMethod.LIST]:
            if method.paging and method.paging.item_type in self.messages:
                return self.messages[method.paging.item_type], keyed
            items = self._unpaged_items(method)
            if items:
                return self.messages[items[1]], keyed
        return None, None

    def _key(
        self, service: Service, message: Message, source: Method | None
    ) -> tuple[KeyPart, ...] | str:
        """The request fields that name one resource, as fields of the resource."""
        if source is None:
            fields = [f"{snake_case(message.name)}_id"]
            request = None
        else:
            request = self.messages.get(source.input)
            if request is None:
                return f"{source.input} is not in the request"
            fields = _key_request_fields(source, request, message)
        if not fields:
            return f"{source.input if source else ''} names no identifier field"
        if len(fields) > 1 and message.field(
            _resource_field(fields[-1], message) or "-"
        ) == message.field("id"):
            # The last names the resource by its own `id`, unique alone: the fields before
            # it (`cluster_id` of a Catalog that does not record it) only say where it is.
            fields = fields[-1:]
        parts = []
        for name in fields:
            if request is not None and not _is_key(request.field(name)):
                return f"{request.full_name}.{name} is neither a string nor an integer"
            own = _resource_field(name, message)
            if not own:
                return f"{name} is no field of {message.full_name} (nor `id` or `name` of it)"
            if not _same_scalar(
                message.field(own), request.field(name) if request else None
            ):
                return f"{message.full_name}.{own} is not of the type of {name}"
            parts.append(KeyPart(own, name))
        if len({p.field for p in parts}) != len(parts):
            return "two request fields name one field of the resource"
        return tuple(parts)

    def _with_parent(self, resource: Resource, service: Service) -> Resource:
        """A one-part key's parent: a string `*_id` field of the resource that the requests
        of rpcs named List or Create carry too (`folder_id`); and the fields storage indexes
        for Lists."""
        message = self.messages[resource.message]
        lifecycle = resource.lifecycle
        if lifecycle and any(
            self.messages[m.input].field(lifecycle.field)
            for m in service.methods
            if m.input in self.messages
            and any(
                _named(m, kind, service, resource)
                for kind in (StandardMethod.CREATE, StandardMethod.UPDATE)
            )
        ):
            # A status the caller sets (a policy's ENABLED) is the caller's, not a lifecycle.
            resource = replace(resource, lifecycle=None)
        parent = resource.parent_field
        if not parent:
            requests = [
                self.messages[m.input]
                for m in service.methods
                if m.input in self.messages
                and _unary(m)
                and any(
                    _named(m, kind, service, resource)
                    for kind in (StandardMethod.LIST, StandardMethod.CREATE)
                )
            ]
            parent = _parent_field(message, requests, resource.key[-1].field)
        key_fields = {part.field for part in resource.key}
        return replace(
            resource,
            parent_field=parent,
            indexed_fields=tuple(
                item.name
                for item in message.fields
                if item.name not in key_fields | {parent} and _indexable(item)
            ),
        )

    def _lifecycle(self, message: Message) -> Lifecycle | None:
        """The resource's status enum (`status`, else `state`) and the values of its states."""
        for name in ("status", "state"):
            item = message.field(name)
            if item is None or item.type.kind is not Kind.ENUM or item.repeated:
                continue
            enum = self.enums.get(item.type.name)
            if enum is None:
                return None
            stems = _value_stems(enum)

            def first(candidates: Iterable[str]) -> str:
                return next((stems[c] for c in candidates if c in stems), "")

            return Lifecycle(
                field=name,
                enum=enum.full_name,
                ready=first(_READY),
                **{role: first(names) for role, names in _STATUS_ROLES.items()},
            )
        return None

    # --- each rpc -----------------------------------------------------------------------------

    def _method(self, service: Service, resource: Resource, method: Method) -> Method:
        for kind in (*_VERBS, StandardMethod.LIST_OPERATIONS):
            if _named(method, kind, service, resource):
                return self._standard(service, resource, method, kind)
        return self._action(resource, method)

    def _standard(
        self, service: Service, resource: Resource, method: Method, kind: StandardMethod
    ) -> Method:
        def action(why: str) -> Method:
            return replace(
                method, reason=f"an action: named {kind.name.title()}, but {why}"
            )

        if not _unary(method):
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

    def _keyed(self, resource: Resource, request: Message) -> str:
        """Why the request does not name the resource by its key ("" if it does)."""
        missing = [
            p.request_field
            for p in resource.key
            if not _is_key(request.field(p.request_field))
        ]
        if missing:
            return f"{request.full_name} lacks {', '.join(missing)}"
        return ""

    def _get(self, resource: Resource, method: Method, request: Message):  # type: ignore[no-untyped-def]
        if method.output == OPERATION:
            return "it returns an Operation"
        response = self._response(
            resource, method, (ResponseKind.RESOURCE, ResponseKind.WRAPPED)
        )
        if isinstance(response, str):
            return response
        kind, field, _ = response
        missing = self._keyed(resource, request)
        if missing:
            return missing
        return (
            MethodShape(
                key_fields=_key_fields(resource), response=kind, response_field=field
            ),
            f"Get: returns {_short(resource.message)}"
            + (f" in {field}" if field else "")
            + f" named by {_key_text(resource)}",
        )

    def _unwrapped(self, message: Message) -> Message:
        """The resource a Get's response holds in its one message field (`workflow` of a
        GetWorkflowResponse), else the response itself."""
        if len(message.fields) == 1:
            only = message.fields[0]
            inner = self.messages.get(only.type.name)
            if (
                inner is not None
                and not only.repeated
                and only.type.kind is Kind.MESSAGE
                and _is_resource_like(inner)
            ):
                return inner
        return message

    def _list(self, resource: Resource, method: Method, request: Message):  # type: ignore[no-untyped-def]
        items = self._items(method)
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
        if scope and _is_string(request.field(scope)):
            parent = scope
        size = request.field("page_size")
        if paged and (
            size is None or size.type.scalar not in INTEGER_SCALARS or size.repeated
        ):
            return "its request pages without an integer page_size"
        query = {"filter", "order_by"}
        if any(request.field(n) and not _is_string(request.field(n)) for n in query):
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
        why = f"List: pages of {_short(resource.message)}" + (
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
            if _is_key(request.field(p.request_field))
        )
        spec_fields = tuple(
            item.name for item in request.fields if self._is_spec(item, message)
        )
        copied = tuple(
            item.name
            for item in request.fields
            if item.name not in key_given
            and _mirrors(item, message.field(item.name))
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
        why = f"Create: makes {_short(resource.message)}"
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
        missing = self._keyed(resource, request)
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
        why = (
            f"Update: changes {_short(resource.message)} named by {_key_text(resource)}"
        )
        why += f", masked by {mask}" if mask else ", whole (no mask)"
        return (
            MethodShape(
                key_fields=_key_fields(resource),
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
        missing = self._keyed(resource, request)
        if missing:
            return missing
        return (
            MethodShape(
                key_fields=_key_fields(resource),
                response=kind,
                response_field=field,
                synchronous=synchronous,
            ),
            f"Delete: removes {_short(resource.message)} named by {_key_text(resource)}"
            + _response_text(kind, field, synchronous),
        )

    def _list_operations(self, resource: Resource, method: Method, request: Message):  # type: ignore[no-untyped-def]
        if not (method.paging and method.paging.item_type == OPERATION):
            return "it does not page through operations"
        missing = self._keyed(resource, request)
        if missing:
            return missing
        if not _lists_like_the_runtime(request):
            return "its request pages without an integer page_size"
        return (
            MethodShape(
                key_fields=_key_fields(resource),
                items_field=method.paging.items_field,
                paged=True,
            ),
            f"ListOperations: pages of the operations on {_short(resource.message)} named by {_key_text(resource)}",
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
            and all(_mirrors(item, message.field(item.name)) for item in view.fields)
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

    def _items(self, method: Method) -> tuple[str, str, bool] | None:
        """A List's items: their field and message, and whether it pages."""
        if method.paging:
            return method.paging.items_field, method.paging.item_type, True
        found = self._unpaged_items(method)
        return (found[0], found[1], False) if found else None

    def _unpaged_items(self, method: Method) -> tuple[str, str] | None:
        output = self.messages.get(method.output)
        if output is None or output.field("next_page_token"):
            return None
        items = [f for f in output.fields if f.repeated and f.type.kind is Kind.MESSAGE]
        if len(items) != 1 or len(output.fields) != 1:
            return None
        return items[0].name, items[0].type.name

    # --- actions ------------------------------------------------------------------------------

    def _action(self, resource: Resource, method: Method) -> Method:
        request = self.messages.get(method.input)
        if request is None or not _unary(method):
            return replace(method, reason="an action: not named as a standard method")
        access = (
            _ACCESS_ACTIONS.get(method.input.removeprefix(ACCESS_PACKAGE))
            if method.input.startswith(ACCESS_PACKAGE)
            else None
        )
        if access is not None:
            return self._access(resource, method, access)
        if method.name == "Move":
            return self._move(resource, method, request)
        if method.name in _ACTION_NAMES:
            return self._transition(
                resource, method, request, _ACTION_NAMES[method.name]
            )
        referring = self._referring(resource, method, request)
        if referring is not None:
            return referring
        return replace(method, reason="an action: not named as a standard method")

    def _access(self, resource: Resource, method: Method, action: Action) -> Method:
        def plain(why: str) -> Method:
            return replace(method, reason=f"an action: {why}")

        if len(resource.key) != 1:
            return plain(
                f"{_short(resource.message)} has a key of several fields; access bindings name it by one resource_id"
            )
        if action is not Action.LIST_ACCESS_BINDINGS:
            found = self._operation_of(method)
            if isinstance(found, str):
                return plain(found)
        return replace(
            method,
            action=action,
            shape=MethodShape(key_fields=("resource_id",)),
            reason=f"access bindings: {action.value.replace('_', ' ')} of {_short(resource.message)} named by resource_id",
        )

    def _move(self, resource: Resource, method: Method, request: Message) -> Method:
        destination = (
            f"destination_{resource.parent_field}" if resource.parent_field else ""
        )
        missing = self._keyed(resource, request)
        if len(resource.key) != 1 or not resource.parent_field:
            why = "the resource has no parent of its own to move from"
        elif missing:
            why = missing
        elif not _is_string(request.field(destination)):
            why = f"{request.full_name} has no {destination}"
        elif self._operation_of(method, resource) is not None:
            why = str(self._operation_of(method, resource))
        else:
            return replace(
                method,
                action=Action.MOVE,
                shape=MethodShape(
                    key_fields=_key_fields(resource),
                    parent_field=destination,
                    response=ResponseKind.RESOURCE,
                ),
                reason=f"Move: {_short(resource.message)} to the {resource.parent_field} in {destination}",
            )
        return replace(method, reason=f"an action: named Move, but {why}")

    def _transition(
        self, resource: Resource, method: Method, request: Message, action: Action
    ) -> Method:
        lifecycle = resource.lifecycle
        needs = {
            Action.START: ("stopped", "ready"),
            Action.STOP: ("ready", "stopped"),
            Action.RESTART: ("ready",),
        }[action]
        missing = self._keyed(resource, request)
        extra = [f.name for f in request.fields if f.name not in _key_fields(resource)]
        if lifecycle is None:
            why = f"{_short(resource.message)} has no status"
        elif any(not getattr(lifecycle, role) for role in needs):
            why = f"its status has no {' or '.join(r.upper() for r in needs if not getattr(lifecycle, r))} value"
        elif missing:
            why = missing
        elif extra:
            why = f"its request has more than the key: {', '.join(extra)}"
        elif self._operation_of(method, resource) is not None:
            why = str(self._operation_of(method, resource))
        else:
            return replace(
                method,
                action=action,
                shape=MethodShape(
                    key_fields=_key_fields(resource), response=ResponseKind.RESOURCE
                ),
                reason=(
                    f"{method.name}: {_short(resource.message)} from {' to '.join(getattr(lifecycle, r) for r in needs)}"
                    if action is not Action.RESTART
                    else f"Restart: {_short(resource.message)} from {lifecycle.ready} to {lifecycle.ready}"
                ),
            )
        return replace(method, reason=f"an action: named {method.name}, but {why}")

    def _operation_of(
        self, method: Method, resource: Resource | None = None
    ) -> str | None:
        """Why the rpc is not an operation whose response is the resource or Empty (or,
        without `resource`, any operation); None if it is."""
        if method.output != OPERATION or method.operation is None:
            return "it does not return an Operation"
        if resource is not None and method.operation.response not in (
            resource.message,
            EMPTY,
        ):
            return (
                f"its operation's response is {method.operation.response}, "
                f"neither {resource.message} nor {EMPTY}"
            )
        return None

    def _referring(
        self, resource: Resource, method: Method, request: Message
    ) -> Method | None:
        """An action that lists, by the resource's id, the resources of another type that
        name it in a field of that name (`Network.ListSubnets` by `network_id`); None if the
        rpc is not one. The server serves it if it serves them with that field indexed.
        """
        if not method.name.startswith("List") or len(resource.key) != 1:
            return None
        items = self._items(method)
        if items is None:
            return None
        items_field, item_type, paged = items
        key = resource.key[0].request_field
        target = self.messages.get(item_type)
        if (
            target is None
            or item_type == resource.message
            or not _is_resource_like(target)
            or not _is_string(target.field(key))
            or not _is_string(request.field(key))
        ):
            return None
        extra = [
            f.name
            for f in request.fields
            if f.name not in {key, "page_size", "page_token"}
        ]
        if extra or (paged and not _lists_like_the_runtime(request)):
            return None
        return replace(
            method,
            action=Action.LIST_REFERRING,
            shape=MethodShape(
                key_fields=(key,),
                items_field=items_field,
                paged=paged,
                target=item_type,
                target_field=key,
            ),
            reason=f"lists the {_short(item_type)} resources whose {key} is the "
            f"{_short(resource.message)}, where the server serves them",
        )


# --- helpers -----------------------------------------------------------------------------------


def _named(
    method: Method, kind: StandardMethod, service: Service, resource: Resource | None
) -> bool:
    """Whether the rpc's name is the standard method's: the verb, alone or followed by the
    service's name or the resource's (plural for List)."""
    if kind is StandardMethod.LIST_OPERATIONS:
        verb, tail = "List", "Operations"
    else:
        verb, tail = _VERBS[kind], ""
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
        nouns |= {_plural(noun) for noun in nouns}
    return middle in nouns


def _plural(noun: str) -> str:
    if noun.endswith("y") and noun[-2:-1] not in "aeiou":
        return noun[:-1] + "ies"
    if noun.endswith(("s", "x", "ch", "sh")):
        return noun + "es"
    return noun + "s"


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
        return f"google.api.http's path {binding.path.text} names one {_short(resource.message)}"
    return ""


def _key_request_fields(
    method: Method, request: Message, resource: Message
) -> list[str]:
    """The request fields that name one resource: the Get's (or Update's, Delete's) path
    variables, else `<resource>_id`, else its identifier fields."""
    if method.http is not None:
        variables = method.http.binding.path.variables
        if variables and all(len(v.field_path) == 1 for v in variables):
            return [v.field for v in variables]
    own = f"{snake_case(resource.name)}_id"
    if request.field(own):
        return [own]
    return [
        item.name
        for item in request.fields
        if _is_string(item)
        and (item.name in ("id", "name") or item.name.endswith(("_id", "_name")))
    ]


def _resource_field(request_field: str, resource: Message) -> str:
    """The resource's field a key's request field names: its namesake, else `id` for
    `<x>_id` and `name` for `<x>_name`."""
    if resource.field(request_field):
        return request_field
    for suffix, own in (("_id", "id"), ("_name", "name")):
        if request_field.endswith(suffix) and resource.field(own):
            return own
    return ""


def _parent_field(resource: Message, requests: Sequence[Message], own: str) -> str:
    """A string `*_id` field of the resource that List or Create requests also carry."""
    for candidate in resource.fields:
        if (
            candidate.name not in ("id", own)
            and candidate.name.endswith("_id")
            and _is_string(candidate)
            and any(_is_string(request.field(candidate.name)) for request in requests)
        ):
            return candidate.name
    return ""


def _value_stems(enum: Enum) -> dict[str, str]:
    """The enum's value names by their stems: without the prefix all of them share (`STATUS_`
    in `STATUS_APPROVED`), and without the enum's unspecified value."""
    names = [v.name for v in enum.values if v.number != 0]
    prefix = ""
    if len(names) > 1:
        first = names[0]
        while "_" in first[len(prefix) :]:
            candidate = first[: first.index("_", len(prefix)) + 1]
            if all(n.startswith(candidate) and len(n) > len(candidate) for n in names):
                prefix = candidate
            else:
                break
    return {name[len(prefix) :]: name for name in names}


def _shape(resource: Resource) -> MethodShape:
    return MethodShape(key_fields=_key_fields(resource))


def _key_fields(resource: Resource) -> tuple[str, ...]:
    return tuple(part.request_field for part in resource.key)


def _key_text(resource: Resource) -> str:
    return ", ".join(
        (
            part.request_field
            if part.request_field == part.field
            else f"{part.request_field} (its {part.field})"
        )
        for part in resource.key
    )


def _response_text(kind: ResponseKind, field: str, synchronous: bool) -> str:
    answer = {
        ResponseKind.RESOURCE: "the resource",
        ResponseKind.EMPTY: "an empty response",
        ResponseKind.WRAPPED: f"the resource in {field}",
    }[kind]
    return f"; answers {answer}" + (" at once" if synchronous else " in an Operation")


def _short(name: str) -> str:
    return name.rsplit(".", 1)[-1]


def _is_resource_like(message: Message) -> bool:
    return (
        not message.full_name.startswith("google.") and message.full_name != OPERATION
    )


def _is_string(candidate: Field | None) -> bool:
    return bool(
        candidate
        and candidate.type.kind is Kind.SCALAR
        and candidate.type.scalar == "string"
        and not candidate.repeated
    )


def _is_key(candidate: Field | None) -> bool:
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


def _same_scalar(item: Field | None, other: Field | None) -> bool:
    """A key part of the resource: a string or integer, as the request's field (if given)."""
    return _is_key(item) and (
        other is None or (item.type.scalar == "string") == (other.type.scalar == "string")  # type: ignore[union-attr]
    )


def _is_string_or_strings(candidate: Field) -> bool:
    return (
        candidate.type.kind is Kind.SCALAR
        and candidate.type.scalar == "string"
        and not candidate.is_map
    )


def _is_timestamp(candidate: Field | None) -> bool:
    return bool(
        candidate and candidate.type.name == TIMESTAMP and not candidate.repeated
    )


def _unary(method: Method) -> bool:
    return not method.client_streaming and not method.server_streaming


def _mirrors(item: Field, other: Field | None) -> bool:
    """Same name and same type: a request field that mirrors a resource field."""
    return bool(
        other is not None
        and (item.type, item.repeated, item.map_key, item.map_value)
        == (other.type, other.repeated, other.map_key, other.map_value)
    )


def _mirrors_scalar(item: Field, other: Field | None) -> bool:
    """A request field that a List can compare with a resource field for equality."""
    return (
        _mirrors(item, other)
        and not item.repeated
        and not item.is_map
        and (
            item.type.kind is Kind.ENUM
            or (item.type.kind is Kind.SCALAR and item.type.scalar in INDEXABLE_SCALARS)
        )
    )


def _indexable(item: Field) -> bool:
    """Top-level scalar, enum and Timestamp fields: storage indexes them for Lists."""
    if item.repeated or item.is_map:
        return False
    kind = item.type.kind
    return (
        kind is Kind.ENUM
        or (kind is Kind.SCALAR and item.type.scalar in INDEXABLE_SCALARS)
        or (kind is Kind.MESSAGE and item.type.name == TIMESTAMP)
    )


def _lists_like_the_runtime(request: Message) -> bool:
    """An integer `page_size`, and `filter` and `order_by` strings if the request has them."""
    size = request.field("page_size")
    return bool(
        size is not None
        and size.type.scalar in INTEGER_SCALARS
        and not size.repeated
        and all(
            _is_string(request.field(name))
            for name in ("filter", "order_by")
            if request.field(name)
        )
    )
