"""Standard methods of any generated API, called over real gRPC in their natural order:
Create → Get → Update (with a mask) → List → ListOperations → Delete → Get (NOT_FOUND).

Requests are built from the descriptors (examples.RequestBuilder) so that they pass the
service's own validation; messages are classes of a private descriptor pool, so the API's
modules never enter the test process (where other generated trees are imported). Each step
checks its result: Get returns what Create made, Update changed the masked field and nothing
else, List finds the resource, Delete removes it.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from typing import Any, Iterable

import grpc
from google.protobuf import (
    any_pb2,
    descriptor_pool,
    duration_pb2,
    empty_pb2,
    message_factory,
    struct_pb2,
    timestamp_pb2,
    wrappers_pb2,
)
from google.protobuf.descriptor_pb2 import FileDescriptorProto
from google.protobuf.message import Message
from google.rpc import error_details_pb2, status_pb2

from examples import NoExample, RequestBuilder, admits
from generator.model import (
    Api,
    Field,
    Kind,
    Method,
    ResponseKind,
    Service,
    StandardMethod,
)

STEPS = (
    StandardMethod.CREATE,
    StandardMethod.GET,
    StandardMethod.UPDATE,
    StandardMethod.LIST,
    StandardMethod.LIST_OPERATIONS,
    StandardMethod.DELETE,
)
_MAX_PAGES = 50
_WELL_KNOWN = (
    any_pb2,
    duration_pb2,
    empty_pb2,
    struct_pb2,
    timestamp_pb2,
    wrappers_pb2,
)
# An id as the server makes them (generator/runtime/ids.py): 20 characters, [a-z][a-z0-9]*.
SERVER_ID = "a1b2c3d4e5f6g7h8i9j0"


class CannotBuild(Exception):
    """No valid request could be built from the descriptors: rules that no value satisfies,
    or a limit of the example builder to lift. The round trip fails with it."""


class StepFailed(AssertionError):
    """A step answered with an error, or with something other than expected."""


@dataclass
class Outcome:
    service: str
    steps: list[str] = field(default_factory=list)  # the steps that passed
    # Steps the service's shape rules out, with why (see RoundTrip.run).
    skipped: dict[str, str] = field(default_factory=dict)
    at: str = "create"  # the step running (or where it stopped)
    updated: str = ""  # the kind of field Update changed: string, number, map...
    error: str = ""  # why it failed, if it did

    @property
    def round_tripped(self) -> bool:
        """Every recognised standard method passed its step."""
        return not self.error and not self.skipped


class Messages:
    """Message classes of a private descriptor pool holding the API's files."""

    def __init__(self, files: Iterable[FileDescriptorProto]) -> None:
        self.pool = descriptor_pool.DescriptorPool()
        added = set()
        for item in files:
            self.pool.Add(item)
            added.add(item.name)
        # Operation options may name well-known types that no file imports (Empty).
        for module in _WELL_KNOWN:
            if module.DESCRIPTOR.name not in added:
                self.pool.AddSerializedFile(module.DESCRIPTOR.serialized_pb)
        self._classes: dict[str, type[Message]] = {}

    def new(self, full_name: str) -> Message:
        found = self._classes.get(full_name)
        if found is None:
            descriptor = self.pool.FindMessageTypeByName(full_name)
            found = self._classes[full_name] = message_factory.GetMessageClass(
                descriptor
            )
        return found()


def describe_error(error: grpc.RpcError) -> str:
    """`CODE: message`, with the field violations of a BadRequest."""
    code, details = error.code(), error.details()  # type: ignore[attr-defined]
    text = f"{code.name}: {details}"
    for key, value in error.trailing_metadata() or ():  # type: ignore[attr-defined]
        if key == "grpc-status-details-bin":
            status = status_pb2.Status.FromString(value)
            for detail in status.details:
                if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
                    bad = error_details_pb2.BadRequest()
                    detail.Unpack(bad)
                    text += "".join(
                        f"\n    {v.field}: {v.description}"
                        for v in bad.field_violations
                    )
    return text


class RoundTrip:
    def __init__(self, api: Api, messages: Messages, channel: grpc.Channel) -> None:
        self.api = api
        self.messages = messages
        self.channel = channel
        self.builder = RequestBuilder(api)

    # --- plumbing ------------------------------------------------------------------------------

    def _call(self, service: Service, method: Method, request: Message) -> Any:
        call = self.channel.unary_unary(
            f"/{service.full_name}/{method.name}",
            request_serializer=lambda message: message.SerializeToString(),
            response_deserializer=lambda data: self._parse(method.output, data),
        )
        return call(request, timeout=30)

    def _parse(self, name: str, data: bytes) -> Message:
        message = self.messages.new(name)
        message.ParseFromString(data)
        return message

    def _request(
        self,
        method: Method,
        include: Iterable[str] = (),
        skip: Iterable[str] = (),
        **values: Any,
    ) -> Message:
        request = self.messages.new(method.input)
        try:
            self.builder.fill(request, include, skip=set(skip) | set(values))
        except NoExample as error:
            raise CannotBuild(f"{method.name} request: {error}") from None
        for name, value in values.items():
            setattr(request, name, value)
        return request

    def _result(self, operation: Any, response_type: str) -> Message:
        if not operation.done:
            raise StepFailed(f"operation {operation.id} is not done")
        if operation.HasField("error"):
            raise StepFailed(f"operation failed: {operation.error}")
        result = self.messages.new(response_type)
        if not operation.response.Unpack(result):
            raise StepFailed(
                f"operation response is {operation.response.type_url!r}, "
                f"not {response_type}"
            )
        return result

    def _answer(
        self, service: Service, method: Method, request: Message
    ) -> Message | None:
        """Calls a mutation and returns the resource it answers (at once or in its
        operation's response; itself or in a field), or None if it answers nothing."""
        shape = method.shape
        assert shape is not None and service.resource is not None
        answer = self._call(service, method, request)
        if not shape.synchronous:
            assert method.operation is not None
            answer = self._result(answer, method.operation.response)
        if shape.response is ResponseKind.EMPTY:
            return None
        if shape.response is ResponseKind.WRAPPED:
            return getattr(answer, shape.response_field)
        return answer

    # --- the round trip ------------------------------------------------------------------------

    def run(self, service: Service) -> Outcome:
        """The round trip of a service with a resource and a recognised Create. A step is
        skipped, with the reason, only where the service's shape rules it out: ids the server
        makes fail the service's own id rules, an Update whose request mirrors no resource
        field (or none that can take another valid value), a List that requires a parent
        which Create's request cannot give. Everything else that goes wrong is an error.
        """
        outcome = Outcome(service.full_name)
        try:
            self._run(service, outcome)
        except CannotBuild as error:
            outcome.error = f"{outcome.at}: cannot build a valid request: {error}"
        except grpc.RpcError as error:
            outcome.error = f"{outcome.at}: {describe_error(error)}"
        except StepFailed as error:
            outcome.error = f"{outcome.at}: {error}"
        return outcome

    def _run(self, service: Service, outcome: Outcome) -> None:
        resource = service.resource
        assert resource is not None
        methods = {kind: service.standard_method(kind) for kind in STEPS}
        get = methods[StandardMethod.GET]
        refused = self._id_refused(service)
        if refused:
            outcome.skipped["create"] = refused
            return

        create = methods[StandardMethod.CREATE]
        assert create is not None
        copied = self._plain_mirrored(create.input, resource.message)
        request = self._request(create, include=copied)
        if not resource.generated_id:
            self._name(request, resource, create)
        created = self._answer(service, create, request)
        if created is None:  # a Create that answers nothing: the key is the request's
            if get is None or resource.generated_id:
                outcome.skipped["create"] = (
                    "Create answers nothing to find the resource by"
                )
                return
            key = {
                p.request_field: getattr(request, p.request_field) for p in resource.key
            }
            created = self._get(service, get, key)
        key = self._key(resource, created, request)
        if not key[resource.request_id_field]:
            raise StepFailed("the created resource has no id")
        resource_id = key[resource.request_id_field]
        for name in copied:
            if _value(created, name) != _value(request, name):
                raise StepFailed(f"Create did not copy {name} into the resource")
        outcome.steps.append("create")

        def fetch() -> Message:
            assert get is not None
            return self._get(service, get, key)

        if get is not None:
            outcome.at = "get"
            fetched = fetch()
            if fetched != created:
                raise StepFailed(
                    f"Get returned\n{fetched}\nnot what Create made\n{created}"
                )
            outcome.steps.append("get")

        current = created
        update = methods[StandardMethod.UPDATE]
        if update is not None:
            outcome.at = "update"
            updated = self._update(service, update, current, key)
            if isinstance(updated, str):
                outcome.skipped["update"] = updated
            else:
                changed, outcome.updated = updated
                current = changed if changed is not None else fetch()
                if get is not None and fetch() != current:
                    raise StepFailed(
                        "Get after Update does not return the updated resource"
                    )
                outcome.steps.append("update")

        listing = methods[StandardMethod.LIST]
        if listing is not None:
            outcome.at = "list"
            refused = self._list_refused(service, listing, create)
            if refused:
                outcome.skipped["list"] = refused
            else:
                listed = self._listed(service, listing, key, current)
                if resource_id not in listed:
                    raise StepFailed(f"List does not find {resource_id}")
                if listed[resource_id] != _as(listed[resource_id], current):
                    raise StepFailed("List shows the resource other than Get does")
                outcome.steps.append("list")

        operations = methods[StandardMethod.LIST_OPERATIONS]
        if operations is not None:
            outcome.at = "list_operations"
            request = self._request(operations, **key)
            found = self._items(service, operations, request)
            # Synchronous mutations answer at once, without an operation.
            expected = sum(
                1
                for kind, step in (
                    (StandardMethod.CREATE, "create"),
                    (StandardMethod.UPDATE, "update"),
                )
                if step in outcome.steps and not methods[kind].shape.synchronous  # type: ignore[union-attr]
            )
            if len(found) != expected:
                raise StepFailed(
                    f"ListOperations lists {len(found)} operations, not {expected}"
                )
            outcome.steps.append("list_operations")

        delete = methods[StandardMethod.DELETE]
        if delete is not None:
            outcome.at = "delete"
            request = self._request(delete, **key)
            self._answer(service, delete, request)
            if get is not None:
                try:
                    fetch()
                except grpc.RpcError as error:
                    if error.code() is not grpc.StatusCode.NOT_FOUND:  # type: ignore[attr-defined]
                        raise
                else:
                    raise StepFailed("Get still finds the resource after Delete")
            elif listing is not None and "list" in outcome.steps:
                if resource_id in self._listed(service, listing, key, current):
                    raise StepFailed("List still finds the resource after Delete")
            outcome.steps.append("delete")

    def _name(self, request: Message, resource: Any, create: Method) -> None:
        """Gives a Create of a resource named by the caller its name, in the request's key
        field or in the message that describes the resource (`topic_spec.name`)."""
        own = resource.key[-1]
        assert create.shape is not None
        fields = request.DESCRIPTOR.fields_by_name
        if own.request_field in fields:
            if not getattr(request, own.request_field):
                self.builder.set_field(request, own.request_field, 1)
            return
        for name in create.shape.spec_fields:
            spec = getattr(request, name)
            if own.field in spec.DESCRIPTOR.fields_by_name and not getattr(
                spec, own.field
            ):
                self.builder.fill(spec, include=(own.field,))
                if not getattr(spec, own.field):
                    self.builder.set_field(spec, own.field, 1)

    def _get(self, service: Service, get: Method, key: dict[str, Any]) -> Message:
        answer = self._call(service, get, self._request(get, **key))
        assert get.shape is not None
        if get.shape.response is ResponseKind.WRAPPED:
            return getattr(answer, get.shape.response_field)  # type: ignore[no-any-return]
        return answer  # type: ignore[no-any-return]

    @staticmethod
    def _key(resource: Any, created: Message, request: Message) -> dict[str, Any]:
        """The request fields that name the created resource, with their values: each
        from the resource's own field, else (a part kept beside it) from the request."""
        return {
            part.request_field: (
                getattr(created, part.field)
                if part.field
                else getattr(request, part.request_field)
            )
            for part in resource.key
        }

    def _id_refused(self, service: Service) -> str:
        """Why the service's own rules refuse the ids the server makes ("" if they do not)."""
        resource = service.resource
        assert resource is not None
        for method in service.methods:
            request = self.api.message(method.input)
            field = request.field(resource.request_id_field)
            if (
                method.standard
                and field is not None
                and not admits(field.rules, SERVER_ID)
            ):
                return (
                    f"{request.full_name}.{field.name} refuses the ids the server makes "
                    f"(such as {SERVER_ID}): "
                    + "; ".join(c.sentence for c in field.rules.constraints)
                )
        return ""

    def _plain_mirrored(self, request: str, resource: str) -> list[str]:
        """Create-request fields that mirror resource fields and hold plain values (scalars,
        enums, maps of them), outside oneofs: Create should copy each into the resource.
        """
        return [
            item.name
            for item in self.api.mirrored_fields(request, resource)
            if not item.oneof and _kind(item) not in ("message", "repeated")
        ]

    def _update(
        self,
        service: Service,
        update: Method,
        current: Message,
        key: dict[str, Any],
    ) -> tuple[Message | None, str] | str:
        """Updates one field, named by the mask (or, without one, with every other field as
        it is), to another valid value; returns the updated resource (None if Update answers
        nothing) and the kind of the field, or why no field can be updated."""
        resource = service.resource
        shape = update.shape
        assert resource is not None and shape is not None
        key_fields = {p.field for p in resource.key} | set(key)
        candidates = [
            item
            for item in self.api.mirrored_fields(update.input, resource.message)
            if not item.oneof
            and item.name != resource.parent_field
            and item.name not in key_fields
        ]
        # Services take turns at the kinds of field, so that all kinds get updated.
        start = zlib.crc32(service.full_name.encode()) % max(1, len(candidates))
        candidates = candidates[start:] + candidates[:start]
        if not candidates:
            return (
                f"no field of {update.input} but the parent mirrors a field of "
                f"{resource.message}: an update mask can name none"
            )
        mirrored = [
            c.name for c in self.api.mirrored_fields(update.input, resource.message)
        ]
        for candidate in candidates:
            skip = {candidate.name, shape.mask_field} - {""}
            if not shape.mask_field:  # a whole update: the rest as the resource has it
                skip |= set(mirrored)
            request = self._request(update, skip=skip, **key)
            if not shape.mask_field:
                for name in mirrored:
                    if name != candidate.name and name not in key:
                        _copy(current, request, name)
            if self._change(request, candidate.name, current):
                break
        else:
            return (
                f"no updatable field of {update.input} takes a valid value other than "
                f"the created one: {', '.join(c.name for c in candidates)}"
            )
        if shape.mask_field:
            getattr(request, shape.mask_field).paths.append(candidate.name)
        updated = self._answer(service, update, request)
        expected = self.messages.new(resource.message)
        expected.CopyFrom(current)
        expected.ClearField(candidate.name)
        _copy(request, expected, candidate.name)
        if updated is not None and updated != expected:
            raise StepFailed(
                f"Update of {candidate.name} returned\n{updated}\nexpected\n{expected}"
            )
        return updated, _kind(candidate)

    def _change(self, request: Message, name: str, current: Message) -> bool:
        """Sets `name` to a valid value that differs from the resource's; False if none."""
        for variant in range(1, 6):
            try:
                self.builder.set_field(request, name, variant)
            except NoExample as error:
                raise CannotBuild(
                    f"{request.DESCRIPTOR.full_name}.{name}: {error}"
                ) from None
            if _value(request, name) != _value(current, name):
                return True
        return False

    def _list_refused(self, service: Service, listing: Method, create: Method) -> str:
        """Why List cannot find the resource: it requires a parent that Create's request has
        no field to give ("" if it can)."""
        parent = service.resource.parent_field if service.resource else ""
        field = self.api.message(listing.input).field(parent) if parent else None
        if (
            field is not None
            and field.rules.required
            and self.api.message(create.input).field(parent) is None
        ):
            return (
                f"{listing.input} requires {parent}, which {create.input} cannot give the "
                f"resource (it has no such field)"
            )
        return ""

    def _listed(
        self, service: Service, listing: Method, key: dict[str, Any], current: Message
    ) -> dict[Any, Message]:
        """What List shows under the resource's parent, by the resource's own id."""
        resource = service.resource
        assert resource is not None and listing.shape is not None
        values = {}
        parent = listing.shape.parent_field
        if parent in key:
            values[parent] = key[parent]
        elif parent and resource.parent_field:
            values[parent] = getattr(current, resource.parent_field)
        for name in listing.shape.filter_fields:  # the resource's own values match it
            values.setdefault(name, getattr(current, name))
        request = self._request(
            listing, skip=("page_token", "filter", "order_by"), **values
        )
        return {
            getattr(item, resource.id_field): item
            for item in self._items(service, listing, request)
        }

    def _items(
        self, service: Service, method: Method, request: Message
    ) -> list[Message]:
        """Every item of every page."""
        output = self.api.message(method.output)
        items_field = next(
            f.name for f in output.fields if f.repeated and f.type.kind is Kind.MESSAGE
        )
        found: list[Message] = []
        for _ in range(_MAX_PAGES):
            response = self._call(service, method, request)
            found.extend(getattr(response, items_field))
            token = getattr(response, "next_page_token", "")  # "" for an unpaged List
            if not token:
                return found
            setattr(request, "page_token", token)
        raise StepFailed(f"more than {_MAX_PAGES} pages")


def _kind(item: Field) -> str:
    if item.is_map:
        return "map"
    if item.repeated:
        return "repeated"
    if item.type.kind is Kind.ENUM:
        return "enum"
    if item.type.kind is Kind.MESSAGE:
        return "message"
    if item.type.scalar == "string":
        return "string"
    if item.type.scalar == "bool":
        return "bool"
    return "number" if item.type.scalar != "bytes" else "message"


def _value(message: Message, name: str) -> Any:
    value = getattr(message, name)
    if isinstance(value, Message):
        return (
            value.SerializeToString(deterministic=True)
            if message.HasField(name)
            else None
        )
    if hasattr(value, "items"):
        return {
            key: (
                item.SerializeToString(deterministic=True)
                if isinstance(item, Message)
                else item
            )
            for key, item in value.items()
        }
    if hasattr(value, "__len__") and not isinstance(value, (str, bytes)):
        return [
            (
                item.SerializeToString(deterministic=True)
                if isinstance(item, Message)
                else item
            )
            for item in value
        ]
    return value


def _copy(source: Message, target: Message, name: str) -> None:
    """Writes the request's field into the resource, as an update of that field does."""
    value = getattr(source, name)
    descriptor = source.DESCRIPTOR.fields_by_name[name]
    if (
        descriptor.message_type is not None
        and descriptor.message_type.GetOptions().map_entry
    ):
        for key, item in value.items():
            if isinstance(item, Message):
                getattr(target, name)[key].CopyFrom(item)
            else:
                getattr(target, name)[key] = item
    elif descriptor.is_repeated:
        getattr(target, name).extend(value)
    elif isinstance(value, Message):
        if source.HasField(name):
            getattr(target, name).CopyFrom(value)
    else:
        setattr(target, name, value)


def _as(view: Message, resource: Message) -> Message:
    """The resource as a List's items show it: the view's fields, copied by name."""
    if view.DESCRIPTOR is resource.DESCRIPTOR:
        return resource
    shown = type(view)()
    for descriptor in view.DESCRIPTOR.fields:
        _copy(resource, shown, descriptor.name)
    return shown
