"""The resource each service manages, and the classification of its rpcs.

A resource is the message a `Get` returns (or holds in its one field), else a Create's,
Update's or Delete's operation response, else a List's items. It is named by a key: the request
fields that the Get's path variables name (else `<resource>_id`, else its identifier fields),
each read as a field of the resource (`key_id` as `id`, `database_name` as `name`,
`cluster_id` as itself). A key of one `id` is made by the server on Create; a key of a parent
and a name (`cluster_id`, `name`) comes with the Create request. Its lifecycle is its status
enum's values by what they mean; its references are the fields that may name another resource
(the server links them: `runtime/links.py`).

What each rpc means, with its reason, is `methods` (the standard methods) and `actions`. Every
fact comes from the service's own file and imports: a file generated alone means what it means
in a whole run.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Iterable, Mapping, Sequence

from generator.methods import StandardMethods
from generator.model import (
    Enum,
    Field,
    KeyPart,
    Kind,
    Lifecycle,
    Message,
    Method,
    Reference,
    Resource,
    Service,
    StandardMethod,
    is_string,
    snake_case,
    unary,
)
from generator.runtime.links import Linkable, Links, link, reference_candidates
from generator.shapes import (
    INDEXABLE_SCALARS,
    VERBS,
    is_key,
    is_resource_like,
    is_string_or_strings,
    named,
    same_scalar,
    unpaged_items_of,
)

TIMESTAMP = "google.protobuf.Timestamp"
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


def classify_services(
    services: Sequence[Service],
    messages: Mapping[str, Message],
    enums: Mapping[str, Enum],
) -> list[Service]:
    """Every service with its resource and the meaning of each rpc, each from what its own
    file and imports say (a file generated alone means what it means in a whole run)."""
    classifier = _Classifier(messages, enums)
    return [classifier.service(service) for service in services]


class ResourceGets:
    """Which rpcs of a service are its resource's Gets, as `classify_services` finds them:
    all the docs read of the rpcs' meanings (they rank links by it), worked out for the few
    services their links look at, when asked."""

    def __init__(self, messages: Mapping[str, Message], enums: Mapping[str, Enum]):
        self._classifier = _Classifier(messages, enums)
        self._found: dict[str, tuple[str, frozenset[str]]] = {}

    def of(self, service: Service) -> tuple[str, frozenset[str]]:
        """The service's resource message ("" for none) and the names of its Gets."""
        found = self._found.get(service.full_name)
        if found is None:
            classified = self._classifier.gets(service)
            found = self._found[service.full_name] = (
                classified.resource.message if classified.resource else "",
                frozenset(
                    method.name
                    for method in classified.methods
                    if method.standard is StandardMethod.GET
                ),
            )
        return found


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
        self.methods = StandardMethods(messages)

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
        methods = tuple(
            self.methods.meaning(service, resource, m) for m in service.methods
        )
        return replace(service, methods=methods, resource=resource)

    def gets(self, service: Service) -> Service:
        """The service with its resource and its rpcs that are the resource's Gets."""
        if service.is_framework:
            return service
        found = self._resource(service)
        if isinstance(found, str):
            return service
        methods = tuple(self.methods.get(service, found, m) for m in service.methods)
        return replace(service, methods=methods, resource=found)

    def _with_references(self, resource: Resource) -> Resource:
        """The fields that may name another resource by id (the server links them)."""
        message = self.messages[resource.message]
        candidates = reference_candidates(
            resource.message,
            [(f.name, f.repeated) for f in message.fields if is_string_or_strings(f)],
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
            name_field="name" if is_string(message.field("name")) else "",
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
        by_name = {
            kind: [
                m for m in service.methods if named(m, kind, service, None) and unary(m)
            ]
            for kind in VERBS
        }
        for method in by_name[StandardMethod.GET]:
            output = self.messages.get(method.output)
            if output and is_resource_like(output):
                return self._unwrapped(output), method
        # Without a Get, a Delete (else an Update) names the resource by its key.
        keyed = next(
            (
                m
                for k in (StandardMethod.DELETE, StandardMethod.UPDATE)
                for m in by_name[k]
            ),
            None,
        )
        for kind in (
            StandardMethod.CREATE,
            StandardMethod.UPDATE,
            StandardMethod.DELETE,
        ):
            for method in by_name[kind]:
                response = method.operation.response if method.operation else ""
                found = self.messages.get(response)
                if found and is_resource_like(found):
                    return found, keyed
        for method in by_name[StandardMethod.LIST]:
            if method.paging and method.paging.item_type in self.messages:
                return self.messages[method.paging.item_type], keyed
            items = unpaged_items_of(self.messages, method)
            if items:
                return self.messages[items[1]], keyed
        return None, None

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
                and is_resource_like(inner)
            ):
                return inner
        return message

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
        for position, name in enumerate(fields):
            if request is not None and not is_key(request.field(name)):
                return f"{request.full_name}.{name} is neither a string nor an integer"
            if position < len(fields) - 1 and not message.field(name):
                # A parent the resource does not record (the `http_router_id` of a
                # VirtualHost): the server keeps it beside the resource.
                if request is not None and not is_string(request.field(name)):
                    return f"{request.full_name}.{name} is not a string"
                parts.append(KeyPart("", name))
                continue
            own = _resource_field(name, message)
            if not own:
                return f"{name} is no field of {message.full_name} (nor `id` or `name` of it)"
            if not same_scalar(
                message.field(own), request.field(name) if request else None
            ):
                return f"{message.full_name}.{own} is not of the type of {name}"
            parts.append(KeyPart(own, name))
        if len({p.field or p.request_field for p in parts}) != len(parts):
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
                named(m, kind, service, resource)
                for kind in (StandardMethod.CREATE, StandardMethod.UPDATE)
            )
        ):
            # A status the caller sets (a policy's ENABLED) is the caller's, not a lifecycle.
            resource = replace(resource, lifecycle=None)
        parent = resource.parent_field
        if len(resource.key) == 1:
            requests = [
                self.messages[m.input]
                for m in service.methods
                if m.input in self.messages
                and unary(m)
                and any(
                    named(m, kind, service, resource)
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
        if is_string(item)
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
            and is_string(candidate)
            and any(is_string(request.field(candidate.name)) for request in requests)
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


def _is_timestamp(candidate: Field | None) -> bool:
    return bool(
        candidate and candidate.type.name == TIMESTAMP and not candidate.repeated
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
