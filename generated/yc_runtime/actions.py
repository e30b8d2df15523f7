"""The actions of a resource that the runtime implements, by family (`ActionKind`):

- access bindings (`ListAccessBindings`, `SetAccessBindings`, `UpdateAccessBindings` over
  `yandex.cloud.access`): kept per resource, beside it in storage; Set replaces them all,
  Update applies ADD and REMOVE deltas and answers those that changed something;
- `Move`: the resource goes to the parent in the request's `destination_<parent>`;
- `Start`, `Stop`, `Restart`: status transitions (stopped to ready, ready to stopped, ready to
  ready); FAILED_PRECONDITION from any other status;
- listing the resources of another kind that name this one (`Network.ListSubnets`).

Each mutating action finishes at once, in an Operation kept like a standard method's. The
field names of access bindings are those of the `yandex.cloud.access` package, the framework's
own, as Operation's are.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Sequence

import grpc
from google.protobuf import empty_pb2
from google.protobuf.message import Message
from google.protobuf.message_factory import GetMessageClass

from .context import CallContext
from .contract import ActionKind
from .errors import ApiError, Violation, invalid_argument
from .operations import Completion, Operation, finish, new_operation
from .resources import bindings_kind
from .specs import ActionSpec
from .storage import IndexScan, StoredOperation, StoredResource, Transaction

if TYPE_CHECKING:
    from .service import ResourceService

# Transitions: the status roles an action starts from, the role it shows while a delayed
# operation runs, and the role it ends in.
_TRANSITIONS = {
    ActionKind.START: (("stopped",), "starting", "ready"),
    ActionKind.STOP: (("ready",), "stopping", "stopped"),
    ActionKind.RESTART: (("ready",), "restarting", "ready"),
}
_BINDINGS, _DELTAS = "access_bindings", "access_binding_deltas"
_PAGE = 1000  # access bindings or referring resources per page, at most


class Actions:
    """The actions of one service's resource."""

    def __init__(self, service: ResourceService[Any]) -> None:
        self.service = service
        self.runtime = service.runtime
        self.resources = service.resources

    def run(
        self, spec: ActionSpec[Any], request: Message, context: CallContext
    ) -> Message:
        principal = self.runtime.principal(context)
        self.service.validate(request)
        self.service.authorizer.require_type(principal)
        resource_id = self.resources.key_of(request, spec.key_fields)
        if spec.kind is ActionKind.LIST_ACCESS_BINDINGS:
            with self.runtime.storage.read() as transaction:
                resource = self._load(transaction, principal, resource_id)
                assert spec.response is not None
                bindings = _bindings(
                    transaction,
                    self.resources.spec.kind,
                    resource_id,
                    _binding_class(spec.response()),
                )
            return self._bindings_page(spec, request, resource_id, bindings)
        if spec.kind is ActionKind.LIST_REFERRING:
            with self.runtime.storage.read() as transaction:
                resource = self._load(transaction, principal, resource_id)
                return self._referring(
                    spec, transaction, request, resource, resource_id
                )
        delay = self.runtime.operation_delay
        if spec.kind in _TRANSITIONS and delay > 0:
            return self._begin_transition(spec, request, principal, resource_id, delay)
        with self.runtime.storage.transaction() as transaction:
            now = transaction.timestamp()
            resource = self._load(transaction, principal, resource_id)
            self.resources.require_idle(transaction, resource_id)
            if spec.kind is ActionKind.MOVE:
                response = self._move(spec, transaction, principal, request, resource)
            elif spec.kind in _TRANSITIONS:
                response = self._transition(spec, transaction, resource, resource_id)
            else:
                response = self._change_bindings(
                    spec, transaction, request, resource_id
                )
            if spec.response is not None and not isinstance(response, spec.response):
                response = spec.response()  # an action whose operation answers Empty
            return self._operation(
                spec, transaction, principal, resource, resource_id, response, now
            )

    def _load(
        self, transaction: Transaction, principal: Any, resource_id: str
    ) -> Message:
        resource: Message = self.resources.load(transaction, resource_id)
        self.service.authorizer.require_resource(
            principal, resource_id, self.resources.parent_of(resource)
        )
        return resource

    # --- Move, Start, Stop, Restart ---------------------------------------------------------

    def _move(
        self,
        spec: ActionSpec[Any],
        transaction: Transaction,
        principal: Any,
        request: Message,
        resource: Message,
    ) -> Message:
        destination = str(getattr(request, spec.destination_field))
        self.service.authorizer.require_parent(principal, destination)
        setattr(resource, self.resources.spec.parent_field, destination)
        self.resources.check_unique_name(transaction, resource, None)
        self.resources.store(transaction, resource)
        return resource

    def _transition(
        self,
        spec: ActionSpec[Any],
        transaction: Transaction,
        resource: Message,
        resource_id: str,
    ) -> Message:
        self._require_status(spec, resource, resource_id)
        _, _, target = _TRANSITIONS[spec.kind]
        resource_spec = self.resources.spec
        setattr(resource, resource_spec.status_field, resource_spec.status(target))
        self.resources.store(transaction, resource)
        return resource

    def _require_status(
        self, spec: ActionSpec[Any], resource: Message, resource_id: str
    ) -> None:
        """FAILED_PRECONDITION unless the resource shows a status the action starts from."""
        resource_spec = self.resources.spec
        sources, _, _ = _TRANSITIONS[spec.kind]
        allowed = {resource_spec.status(role) for role in sources}
        current = getattr(resource, resource_spec.status_field)
        if current not in allowed:
            field: Any = resource.DESCRIPTOR.fields_by_name[resource_spec.status_field]
            named = {v.number: v.name for v in field.enum_type.values}
            names = " or ".join(named.get(v, str(v)) for v in allowed if v is not None)
            raise ApiError(
                grpc.StatusCode.FAILED_PRECONDITION,
                f"{resource_spec.label} {resource_id!r} is "
                f"{named.get(current, str(current))}: "
                f"{spec.method.rsplit('/', 1)[-1]} needs it {names}",
            )

    def _begin_transition(
        self,
        spec: ActionSpec[Any],
        request: Message,
        principal: Any,
        resource_id: str,
        delay: float,
    ) -> Operation:
        """With an operation delay: the resource shows the transitional status (STARTING)
        until the scheduler completes the operation (`complete`)."""
        resource_spec = self.resources.spec
        _, during, _ = _TRANSITIONS[spec.kind]
        with self.runtime.storage.transaction() as transaction:
            now = transaction.timestamp()
            resource = self._load(transaction, principal, resource_id)
            self.resources.require_idle(transaction, resource_id)
            self._require_status(spec, resource, resource_id)
            self.resources.set_status(resource, resource_spec.status(during))
            self.resources.store(transaction, resource)
            operation = self._new_operation(spec, principal, resource_id, now)
            due = time.time() + delay
            transaction.put_operation(
                StoredOperation(
                    id=operation.id,
                    resource_kind=resource_spec.kind,
                    resource_id=resource_id,
                    created_at=now,
                    done=False,
                    data=operation.SerializeToString(),
                    method=spec.method,
                    pending=request.SerializeToString(),
                    due=due,
                    parent=self.resources.parent_of(resource),
                )
            )
        self.runtime.scheduler.schedule(operation.id, due)
        return operation

    def completion(self, spec: ActionSpec[Any]) -> Completion | None:
        """How the scheduler finishes a delayed transition, or undoes its start (None for
        the actions that finish at once)."""
        if spec.kind not in _TRANSITIONS:
            return None

        def complete(transaction: Transaction, record: StoredOperation) -> Message:
            _, _, target = _TRANSITIONS[spec.kind]
            resource: Message = self.resources.load(transaction, record.resource_id)
            self.resources.set_status(resource, self.resources.spec.status(target))
            self.resources.store(transaction, resource)
            if spec.response is not None and not isinstance(resource, spec.response):
                return spec.response()
            return resource

        def revert(transaction: Transaction, record: StoredOperation) -> None:
            sources, _, _ = _TRANSITIONS[spec.kind]
            if transaction.get_resource(self.resources.spec.kind, record.resource_id):
                resource = self.resources.load(transaction, record.resource_id)
                self.resources.set_status(
                    resource, self.resources.spec.status(sources[0])
                )
                self.resources.store(transaction, resource)

        return Completion(complete, revert)

    # --- access bindings --------------------------------------------------------------------

    def _change_bindings(
        self,
        spec: ActionSpec[Any],
        transaction: Transaction,
        request: Message,
        resource_id: str,
    ) -> Message:
        kind = self.resources.spec.kind
        current = _bindings(transaction, kind, resource_id, _binding_class(request))
        response = spec.response() if spec.response is not None else empty_pb2.Empty()
        if spec.kind is ActionKind.SET_ACCESS_BINDINGS:
            wanted = list(getattr(request, _BINDINGS))
            effective = [
                ("REMOVE", b)
                for b in current
                if _identity(b) not in {_identity(w) for w in wanted}
            ]
            effective += [
                ("ADD", b)
                for b in wanted
                if _identity(b) not in {_identity(c) for c in current}
            ]
            current = _unique(wanted)
        else:
            effective = []
            for delta in getattr(request, _DELTAS):
                action = (
                    delta.DESCRIPTOR.fields_by_name["action"]
                    .enum_type.values_by_number[delta.action]
                    .name
                )
                binding = delta.access_binding
                present = [b for b in current if _identity(b) == _identity(binding)]
                if action == "ADD" and not present:
                    current.append(binding)
                    effective.append((action, binding))
                elif action == "REMOVE" and present:
                    current = [b for b in current if _identity(b) != _identity(binding)]
                    effective.append((action, binding))
                elif action not in ("ADD", "REMOVE"):
                    raise invalid_argument(
                        [Violation(f"{_DELTAS}.action", "Must be ADD or REMOVE.")]
                    )
        _store_bindings(transaction, kind, resource_id, current)
        _effective_deltas(response, effective)
        return response

    def _bindings_page(
        self,
        spec: ActionSpec[Any],
        request: Message,
        resource_id: str,
        bindings: list[Message],
    ) -> Message:
        response = spec.response() if spec.response is not None else empty_pb2.Empty()
        fingerprint = f"access bindings\n{self.resources.spec.kind}\n{resource_id}"
        start = _offset(self.runtime.tokens, request, fingerprint)
        size = min(getattr(request, "page_size", 0) or 100, _PAGE)
        getattr(response, _BINDINGS).extend(bindings[start : start + size])
        if start + size < len(bindings):
            token = self.runtime.tokens.encode(fingerprint, [start + size])
            setattr(response, "next_page_token", token)
        return response

    # --- listing referring resources --------------------------------------------------------

    def _referring(
        self,
        spec: ActionSpec[Any],
        transaction: Transaction,
        request: Message,
        resource: Message,
        resource_id: str,
    ) -> Message:
        assert spec.target is not None
        target = self.runtime.resources.get(spec.target_kind)
        if target is None or spec.target_field not in target.indexed_fields:
            raise ApiError(
                grpc.StatusCode.UNIMPLEMENTED,
                f"{spec.method} lists {spec.target_kind} resources, which this server "
                f"does not serve with an index of {spec.target_field}",
            )
        response = spec.response() if spec.response is not None else empty_pb2.Empty()
        fingerprint = f"referring\n{spec.target_kind}\n{resource_id}"
        size = _PAGE
        after = None
        if spec.paged:
            size = min(getattr(request, "page_size", 0) or 100, _PAGE)
            token = getattr(request, "page_token", "")
            if token:
                after = (
                    resource_id,
                    str(self.runtime.tokens.decode(token, fingerprint)[0]),
                )
        # Resources name those of their own parent: its index of the field tells.
        scan = IndexScan(
            spec.target_kind,
            self.resources.parent_of(resource),
            spec.target_field,
            resource_id,
            after=after,
            limit=size + 1,
        )
        entries = transaction.scan(scan)
        items = getattr(response, spec.items_field)
        items.extend(spec.target.FromString(e.resource.data) for e in entries[:size])
        if spec.paged and len(entries) > size:
            token = self.runtime.tokens.encode(
                fingerprint, [entries[size - 1].resource.id]
            )
            setattr(response, "next_page_token", token)
        return response

    # --- the operation ----------------------------------------------------------------------

    def _new_operation(
        self, spec: ActionSpec[Any], principal: Any, resource_id: str, now: int
    ) -> Operation:
        """An operation of the action on the resource, its metadata naming it."""
        metadata = spec.metadata() if spec.metadata is not None else None
        if metadata is not None:
            fields = metadata.DESCRIPTOR.fields_by_name
            for name in spec.key_fields:
                if name in fields and fields[name].type == fields[name].TYPE_STRING:
                    setattr(metadata, name, resource_id)
        return new_operation(spec.description, metadata, principal.subject, now)

    def _operation(
        self,
        spec: ActionSpec[Any],
        transaction: Transaction,
        principal: Any,
        resource: Message,
        resource_id: str,
        response: Message,
        now: int,
    ) -> Operation:
        operation = self._new_operation(spec, principal, resource_id, now)
        finish(operation, now, response)
        transaction.put_operation(
            StoredOperation(
                id=operation.id,
                resource_kind=self.resources.spec.kind,
                resource_id=resource_id,
                created_at=now,
                done=True,
                data=operation.SerializeToString(),
                parent=self.resources.parent_of(resource),
            )
        )
        return operation


def _identity(binding: Message) -> bytes:
    """What makes two access bindings the same: deterministic bytes of the whole binding."""
    return binding.SerializeToString(deterministic=True)


def _unique(bindings: Sequence[Message]) -> list[Message]:
    seen: set[bytes] = set()
    found = []
    for binding in bindings:
        if _identity(binding) not in seen:
            seen.add(_identity(binding))
            found.append(binding)
    return found


def _binding_class(message: Message) -> type[Message]:
    """The AccessBinding message, as a request's or a response's own fields name it."""
    fields: Any = message.DESCRIPTOR.fields_by_name
    if _BINDINGS in fields:
        return GetMessageClass(fields[_BINDINGS].message_type)
    delta = fields[_DELTAS].message_type
    return GetMessageClass(delta.fields_by_name["access_binding"].message_type)


def _bindings(
    transaction: Transaction, kind: str, resource_id: str, binding_class: type[Message]
) -> list[Message]:
    """The resource's access bindings, kept as length-prefixed serialized bindings."""
    record = transaction.get_resource(bindings_kind(kind), resource_id)
    if record is None:
        return []
    return [binding_class.FromString(chunk) for chunk in _split(record.data)]


def _store_bindings(
    transaction: Transaction, kind: str, resource_id: str, bindings: Sequence[Message]
) -> None:
    data = b"".join(_prefixed(b.SerializeToString()) for b in bindings)
    transaction.put_resource(
        StoredResource(bindings_kind(kind), resource_id, "", "", data)
    )


def _effective_deltas(
    response: Message, effective: Sequence[tuple[str, Message]]
) -> None:
    """Fills `effective_deltas` of a response that has them (AccessBindingsOperationResult)."""
    field: Any = response.DESCRIPTOR.fields_by_name.get("effective_deltas")
    if field is None:
        return
    actions = field.message_type.fields_by_name["action"].enum_type.values_by_name
    for action, binding in effective:
        delta = getattr(response, "effective_deltas").add()
        delta.action = actions[action].number
        delta.access_binding.MergeFromString(binding.SerializeToString())


def _offset(tokens: Any, request: Message, fingerprint: str) -> int:
    token = getattr(request, "page_token", "")
    if not token:
        return 0
    value = tokens.decode(token, fingerprint)[0]
    if not isinstance(value, int) or value < 0:
        raise invalid_argument([Violation("page_token", "not a valid page token")])
    return value


def _prefixed(data: bytes) -> bytes:
    size, out = len(data), bytearray()
    while True:
        byte = size & 0x7F
        size >>= 7
        out.append(byte | (0x80 if size else 0))
        if not size:
            return bytes(out) + data


def _split(data: bytes) -> list[bytes]:
    chunks, index = [], 0
    while index < len(data):
        size = shift = 0
        while True:
            byte = data[index]
            index += 1
            size |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                break
        chunks.append(data[index : index + size])
        index += size
    return chunks
