"""Default implementations of the standard methods, over a `Storage`.

A generated servicer subclasses `ResourceService` and describes its resource and methods as data
(`ResourceSpec`, `ListSpec`, `MutationSpec`...); each rpc calls the matching `standard_*` method.
Users extend a service by subclassing it: override an rpc, or the `before_*`/`after_*` hooks.
"""

from __future__ import annotations

import hashlib
import os
import time
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, Mapping, NoReturn, Sequence, TypeVar

import grpc
from google.protobuf import empty_pb2
from google.protobuf.message import Message

from .auth import Authenticator, Principal
from .errors import (
    ApiError,
    Violation,
    abort,
    already_exists,
    invalid_argument,
    not_found,
    rpc,
)
from .fieldmask import MaskError, MaskSpec, Path
from .ids import new_id
from .operations import Completion, Operation, Scheduler, finish, new_operation
from .paging import PageTokens, paginate
from .query import QueryError, parse_filter, parse_order_by
from .storage import (
    IdempotencyRecord,
    Storage,
    StoredOperation,
    StoredResource,
    Transaction,
)
from .validation import MessageRules, Selection, Validator, size_violations

R = TypeVar("R", bound=Message)
L = TypeVar("L", bound=Message)

CREATE, UPDATE, DELETE = "create", "update", "delete"
# Resource status values (by name) shown while a delayed operation is in flight.
_TRANSITIONAL = {CREATE: "CREATING", UPDATE: "UPDATING", DELETE: "DELETING"}
_SETTLED = "READY"
_OPERATIONS_ORDER = "created_at desc, id desc"
_SELECTIONS = 256  # update selections remembered per service
# The metadata that makes a Create, Update or Delete idempotent.
IDEMPOTENCY_KEY = "idempotency-key"


class Runtime:
    """What the services of one server share: storage, operations, page tokens, and who may
    call (`authenticator`: the configured tokens; none means an open server)."""

    def __init__(
        self,
        storage: Storage,
        operation_delay: float = 0.0,
        authenticator: Authenticator | None = None,
    ) -> None:
        self.storage = storage
        self.operation_delay = operation_delay
        self.authenticator = authenticator or Authenticator()
        self.scheduler = Scheduler(storage)
        self.tokens = PageTokens(self._token_secret())
        self._last_timestamp = 0

    def timestamp(self) -> int:
        """Now, in nanoseconds, strictly after every earlier timestamp of this server.

        Mutations take it inside their write transaction, which runs alone: so operations'
        created_at follows commit order, which ListOperations' newest-first relies on, even
        if the wall clock steps back."""
        self._last_timestamp = max(time.time_ns(), self._last_timestamp + 1)
        return self._last_timestamp

    def _token_secret(self) -> bytes:
        """Kept in storage, so that page tokens stay valid across restarts."""
        with self.storage.transaction() as transaction:
            secret = transaction.get_meta("page_token_secret")
            if secret is None:
                secret = os.urandom(32)
                transaction.put_meta("page_token_secret", secret)
        return secret

    def principal(self, context: grpc.ServicerContext) -> Principal:
        """Who makes the call, and which parents it may touch (`Principal.require()`).

        `ANONYMOUS` (subject "", every parent) on an open server; raises an UNAUTHENTICATED
        ApiError when tokens are configured and the call carries none of them."""
        return self.authenticator.principal(context)

    def subject(self, context: grpc.ServicerContext) -> str:
        """Who makes the call, for `Operation.created_by`; "" when calls are anonymous."""
        return self.principal(context).subject


@dataclass(frozen=True)
class ResourceSpec(Generic[R]):
    kind: str  # full name of the resource message
    label: str  # for messages and operation descriptions, e.g. "image"
    message: type[R]
    id_field: str
    request_id_field: str  # how requests name the id, e.g. `image_id`
    parent_field: str = ""
    name_field: str = ""
    created_at_field: str = ""
    status_field: str = ""
    statuses: Mapping[str, int] = field(default_factory=dict)  # value numbers by name
    unique_names: bool = False  # names are unique within a parent: ALREADY_EXISTS

    @property
    def parent_label(self) -> str:
        """The parent in words, for messages: `folder_id` -> `folder`."""
        return self.parent_field.removesuffix("_id").replace("_", " ") or "parent"


@dataclass(frozen=True)
class ListSpec(Generic[L]):
    response: type[L]
    items_field: str
    default_page_size: int
    parent_field: str = ""  # the request field that scopes the list, if any


@dataclass(frozen=True)
class MutationSpec:
    kind: str  # CREATE, UPDATE or DELETE
    method: str  # the rpc's full name, which stored operations refer to
    request: type[Message]
    description: str
    metadata: type[Message] | None  # None: the operation has no metadata
    metadata_id_field: str = ""
    copy_fields: tuple[
        str, ...
    ] = ()  # CREATE: request fields that mirror resource fields
    mask: MaskSpec | None = None  # UPDATE


def _selection(request: Message, mask: MaskSpec, paths: Sequence[Path]) -> Selection:
    """What to validate in an update request: the fields it writes (with the map keys it
    touches) and every field that is not updatable, such as the resource id."""
    updatable = {item.name for item in mask.fields}
    keys: dict[str, set[str] | None] = {
        name: None
        for name in request.DESCRIPTOR.fields_by_name
        if name not in updatable
    }
    for path in paths:
        top = path.names[0]
        if path.key is None or len(path.names) > 1:
            keys[top] = None
        elif top not in keys or keys[top] is not None:
            keys.setdefault(top, set()).add(path.key)  # type: ignore[union-attr]
    return {
        name: None if found is None else frozenset(found)
        for name, found in keys.items()
    }


class Service:
    """What every generated servicer has: the runtime, and request validation."""

    RULES: ClassVar[Mapping[str, MessageRules]] = {}

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.validator = Validator(self.RULES)

    def validate(self, request: Message, selection: Selection | None = None) -> None:
        violations = self.validator.violations(request, selection)
        if violations:
            raise invalid_argument(violations)

    def unimplemented(self, method: str, context: grpc.ServicerContext) -> NoReturn:
        """The answer of an rpc that is not a standard method, until a subclass implements it."""
        abort(
            context,
            ApiError(
                grpc.StatusCode.UNIMPLEMENTED,
                f"{type(self).__name__}.{method} is not implemented: override it in a subclass",
            ),
        )


class ResourceService(Service, Generic[R]):
    """Standard methods of a service that manages one resource type."""

    RESOURCE: ClassVar[ResourceSpec[Any]]
    MUTATIONS: ClassVar[tuple[MutationSpec, ...]] = ()

    def __init__(self, runtime: Runtime) -> None:
        super().__init__(runtime)
        # What to validate in an update request, by its parsed mask (see _selection).
        self._selections: dict[tuple[Path, ...], Selection] = {}
        for spec in self.MUTATIONS:
            runtime.scheduler.register(spec.method, self._completion(spec))

    # --- hooks: override in a subclass; raise ApiError to refuse -------------------------------

    def before_create(self, request: Any, resource: R) -> None:
        """Runs before a new resource is stored; may change it (fill computed fields)."""

    def after_create(self, resource: R) -> None:
        """Runs in the same transaction, once the resource is stored and ready."""

    def before_update(self, request: Any, current: R, updated: R) -> None:
        """Runs before the updated resource replaces the current one; may change `updated`."""

    def after_update(self, resource: R) -> None:
        """Runs in the same transaction, once the update is stored."""

    def before_delete(self, request: Any, resource: R) -> None:
        """Runs before the resource is deleted."""

    def after_delete(self, resource: R) -> None:
        """Runs in the same transaction, once the resource is deleted."""

    # --- helpers -------------------------------------------------------------------------------

    def _load(self, transaction: Transaction, resource_id: str) -> R:
        spec = self.RESOURCE
        record = transaction.get_resource(spec.kind, resource_id)
        if record is None:
            raise not_found(spec.label, resource_id)
        resource: R = spec.message.FromString(record.data)
        return resource

    def _store(self, transaction: Transaction, resource: R) -> None:
        spec = self.RESOURCE
        transaction.put_resource(
            StoredResource(
                kind=spec.kind,
                id=getattr(resource, spec.id_field),
                parent=(
                    getattr(resource, spec.parent_field) if spec.parent_field else ""
                ),
                name=getattr(resource, spec.name_field) if spec.name_field else "",
                data=resource.SerializeToString(),
            )
        )

    def _set_status(self, resource: R, name: str) -> None:
        spec = self.RESOURCE
        if spec.status_field and name in spec.statuses:
            setattr(resource, spec.status_field, spec.statuses[name])

    def _check_unique_name(
        self, transaction: Transaction, resource: R, previous: R | None = None
    ) -> None:
        """ALREADY_EXISTS if another resource has the name in the parent; an update that keeps
        both (`previous`: the resource before it) is not checked again."""
        spec = self.RESOURCE
        if not (spec.unique_names and spec.name_field):
            return
        name = getattr(resource, spec.name_field)
        parent = self._parent_of(resource)
        if not name:
            return
        if previous is not None and (name, parent) == (
            getattr(previous, spec.name_field),
            self._parent_of(previous),
        ):
            return
        found = transaction.find_by_name(spec.kind, parent, name)
        if found is not None and found.id != getattr(resource, spec.id_field):
            raise already_exists(spec.label, spec.name_field, name, parent)

    def _require_idle(self, transaction: Transaction, resource_id: str) -> None:
        operation = transaction.unfinished_operation_of(self.RESOURCE.kind, resource_id)
        if operation is not None:
            raise ApiError(
                grpc.StatusCode.FAILED_PRECONDITION,
                f"{self.RESOURCE.label} {resource_id!r} has operation "
                f"{operation.id} in progress",
            )

    # --- authorization -------------------------------------------------------------------------

    def _parent_of(self, resource: Message) -> str:
        field = self.RESOURCE.parent_field
        return str(getattr(resource, field)) if field else ""

    def _request_parent(self, request: Message) -> str:
        """The parent a Create request names ("" if it names none)."""
        field = self.RESOURCE.parent_field
        if field and field in request.DESCRIPTOR.fields_by_name:
            return str(getattr(request, field))
        return ""

    def _authorize_type(self, principal: Principal) -> None:
        """A caller bound to parents may touch no resource of a type without a parent."""
        if principal.restricted and not self.RESOURCE.parent_field:
            principal.require("", self.RESOURCE.label)

    def _authorize_parent(self, principal: Principal, parent: str) -> None:
        """For a request that names the parent (List, Create)."""
        principal.require(parent, self.RESOURCE.parent_label, parent)

    def _authorize_resource(
        self, principal: Principal, resource_id: str, parent: str
    ) -> None:
        """For a request that names a stored resource (by then known to exist)."""
        principal.require(parent, self.RESOURCE.label, resource_id)

    # --- Get, List, ListOperations -------------------------------------------------------------
    #
    # Every standard method authenticates first, then validates the request, then authorizes:
    # an id that does not exist is NOT_FOUND for every caller; an id under a parent the caller
    # may not touch is PERMISSION_DENIED.

    @rpc
    def standard_get(self, request: Message, context: grpc.ServicerContext) -> R:
        principal = self.runtime.principal(context)
        self.validate(request)
        self._authorize_type(principal)
        resource_id = getattr(request, self.RESOURCE.request_id_field)
        with self.runtime.storage.read() as transaction:
            resource = self._load(transaction, resource_id)
        self._authorize_resource(principal, resource_id, self._parent_of(resource))
        return resource

    @rpc
    def standard_list(
        self, spec: ListSpec[L], request: Message, context: grpc.ServicerContext
    ) -> L:
        principal = self.runtime.principal(context)
        self.validate(request)
        resource = self.RESOURCE
        fields = request.DESCRIPTOR.fields_by_name
        parent = getattr(request, spec.parent_field) if spec.parent_field else None
        try:
            matcher = parse_filter(
                request.filter if "filter" in fields else "",  # type: ignore[attr-defined]
                resource.message.DESCRIPTOR,
            )
            ordering = parse_order_by(
                request.order_by if "order_by" in fields else "",  # type: ignore[attr-defined]
                resource.message.DESCRIPTOR,
            )
            query = f"{parent}\n{matcher.fingerprint}\n{ordering.fingerprint}"
            after = self._position(request, query, ordering)
        except QueryError as error:
            raise invalid_argument([Violation(error.argument, str(error))]) from None
        self._authorize_type(principal)
        if parent is not None:
            self._authorize_parent(principal, parent)
        with self.runtime.storage.read() as transaction:
            records = transaction.list_resources(resource.kind, parent)
        items = [
            resource.message.FromString(record.data)
            for record in records
            if principal.may_access(record.parent)  # a List not scoped to a parent
        ]
        items = [item for item in items if matcher.matches(item)]
        return self._page(spec, request, items, ordering, query, after)

    def _page(
        self,
        spec: ListSpec[L],
        request: Message,
        items: Sequence[Message],
        ordering: Any,
        query: str,
        after: Any,
    ) -> L:
        """One page of `items` in `ordering`, after the request's token's position, with a
        token for the next page when more remain."""
        ordered = sorted(items, key=ordering.key)
        page, last = paginate(
            ordered, ordering.key, after, self._page_size(spec, request)
        )
        response = spec.response()
        getattr(response, spec.items_field).extend(page)
        if last is not None:
            token = self.runtime.tokens.encode(query, ordering.position(last))
            setattr(response, "next_page_token", token)
        return response

    def _position(self, request: Message, query: str, ordering: Any) -> Any:
        token: str = getattr(request, "page_token")
        if not token:
            return None
        return ordering.key_from_position(self.runtime.tokens.decode(token, query))

    @staticmethod
    def _page_size(spec: ListSpec[L], request: Message) -> int:
        size: int = getattr(request, "page_size")
        return size if size > 0 else spec.default_page_size

    @rpc
    def standard_list_operations(
        self, spec: ListSpec[L], request: Message, context: grpc.ServicerContext
    ) -> L:
        principal = self.runtime.principal(context)
        self.validate(request)
        resource_id: str = getattr(request, self.RESOURCE.request_id_field)
        ordering = parse_order_by(_OPERATIONS_ORDER, Operation.DESCRIPTOR)
        query = f"operations\n{self.RESOURCE.kind}\n{resource_id}"
        try:
            after = self._position(request, query, ordering)
        except QueryError as error:
            raise invalid_argument([Violation(error.argument, str(error))]) from None
        self._authorize_type(principal)
        with self.runtime.storage.read() as transaction:
            records = transaction.list_operations(self.RESOURCE.kind, resource_id)
            current = transaction.get_resource(self.RESOURCE.kind, resource_id)
        if current is None and not records:
            raise not_found(self.RESOURCE.label, resource_id)
        # A deleted resource's operations remain; each records the parent it had.
        parent = current.parent if current is not None else records[0].parent
        self._authorize_resource(principal, resource_id, parent)
        operations = [Operation.FromString(record.data) for record in records]
        return self._page(spec, request, operations, ordering, query, after)

    # --- Create, Update, Delete ----------------------------------------------------------------
    #
    # With the metadata `idempotency-key: K`, the key, scoped by the caller's subject and the rpc,
    # is stored with a fingerprint of the request and the operation id, in the mutation's own
    # transaction. A repeat with the same key and request returns that operation as it is now and
    # changes nothing; the same key with another request is INVALID_ARGUMENT. A call that fails
    # (validation or anything later) records nothing.

    @rpc
    def standard_create(
        self, spec: MutationSpec, request: Message, context: grpc.ServicerContext
    ) -> Operation:
        principal = self.runtime.principal(context)
        self.validate(request)
        self._authorize_type(principal)
        self._authorize_parent(principal, self._request_parent(request))
        return self._mutate(spec, request, "", principal, context)

    @rpc
    def standard_update(
        self, spec: MutationSpec, request: Message, context: grpc.ServicerContext
    ) -> Operation:
        assert spec.mask is not None
        principal = self.runtime.principal(context)
        paths = self._mask_paths(spec.mask, request)
        selection = self._selections.get(paths)
        if selection is None:
            if len(self._selections) >= _SELECTIONS:
                self._selections.clear()
            selection = _selection(request, spec.mask, paths)
            self._selections[paths] = selection
        self.validate(request, selection)
        self._authorize_type(principal)
        resource_id = getattr(request, self.RESOURCE.request_id_field)
        return self._mutate(spec, request, resource_id, principal, context, paths)

    @rpc
    def standard_delete(
        self, spec: MutationSpec, request: Message, context: grpc.ServicerContext
    ) -> Operation:
        principal = self.runtime.principal(context)
        self.validate(request)
        self._authorize_type(principal)
        resource_id = getattr(request, self.RESOURCE.request_id_field)
        return self._mutate(spec, request, resource_id, principal, context)

    @staticmethod
    def _mask_paths(mask: MaskSpec, request: Message) -> tuple[Path, ...]:
        given = (
            getattr(request, "update_mask") if request.HasField("update_mask") else None
        )
        try:
            return mask.parse(given)
        except MaskError as error:
            raise invalid_argument([Violation("update_mask", str(error))]) from None

    def _mutate(
        self,
        spec: MutationSpec,
        request: Message,
        resource_id: str,
        principal: Principal,
        context: grpc.ServicerContext,
        paths: Sequence[Path] = (),  # Update: the parsed mask
    ) -> Operation:
        delay = self.runtime.operation_delay
        key = _idempotency_key(context)
        scoped_key = f"{principal.subject}\n{spec.method}\n{key}"
        fingerprint = _fingerprint(request) if key else ""
        with self.runtime.storage.transaction() as transaction:
            now = self.runtime.timestamp()
            if key:
                replayed = self._replay(transaction, principal, scoped_key, fingerprint)
                if replayed is not None:
                    return replayed
            # Create has no current resource; its caller authorized the request's parent.
            current: R | None = None
            if spec.kind != CREATE:
                current = self._load(transaction, resource_id)
                self._authorize_resource(
                    principal, resource_id, self._parent_of(current)
                )
                if spec.kind == UPDATE:
                    self._authorize_move(principal, spec, request, current, paths)
                self._require_idle(transaction, resource_id)
            if delay > 0:
                resource = self._begin(spec, transaction, request, current, now)
                operation = self._operation(spec, resource, principal, now)
                pending = request.SerializeToString()
                due = time.time() + delay
            else:
                resource, response = self._apply(
                    spec, transaction, request, current, paths, now
                )
                operation = self._operation(spec, resource, principal, now)
                finish(operation, now, response)
                pending, due = b"", 0.0
            # The operation keeps the parent its resource has now (had, for Delete).
            record = StoredOperation(
                id=operation.id,
                resource_kind=self.RESOURCE.kind,
                resource_id=getattr(resource, self.RESOURCE.id_field),
                created_at=now,
                done=operation.done,
                data=operation.SerializeToString(),
                method=spec.method if pending else "",
                pending=pending,
                due=due,
                parent=self._parent_of(resource),
            )
            transaction.put_operation(record)
            if key:
                transaction.put_idempotency(
                    scoped_key, IdempotencyRecord(fingerprint, operation.id)
                )
        if not operation.done:
            self.runtime.scheduler.schedule(operation.id, due)
        return operation

    def _replay(
        self,
        transaction: Transaction,
        principal: Principal,
        scoped_key: str,
        fingerprint: str,
    ) -> Operation | None:
        """The operation of an earlier call with the same idempotency key, if any."""
        found = transaction.get_idempotency(scoped_key)
        if found is None:
            return None
        if found.fingerprint != fingerprint:
            raise invalid_argument(
                [
                    Violation(
                        IDEMPOTENCY_KEY,
                        "The key was already used with a different request; "
                        "a new request needs a new key.",
                    )
                ]
            )
        record = transaction.get_operation(found.operation_id)
        if record is None:
            return None
        self._authorize_resource(principal, record.resource_id, record.parent)
        return Operation.FromString(record.data)

    def _authorize_move(
        self,
        principal: Principal,
        spec: MutationSpec,
        request: Message,
        current: R,
        paths: Sequence[Path],
    ) -> None:
        """An Update that may write the parent field must not move the resource out of reach."""
        if not (principal.restricted and self.RESOURCE.parent_field):
            return
        assert spec.mask is not None
        updated = self.RESOURCE.message()
        updated.CopyFrom(current)
        spec.mask.apply(request, updated, paths)
        parent = self._parent_of(updated)
        if parent != self._parent_of(current):
            self._authorize_parent(principal, parent)

    def _operation(
        self,
        spec: MutationSpec,
        resource: Message,
        principal: Principal,
        now: int,
    ) -> Operation:
        if spec.metadata is None:
            return new_operation(spec.description, None, principal.subject, now)
        metadata = spec.metadata()
        if spec.metadata_id_field:
            setattr(
                metadata,
                spec.metadata_id_field,
                getattr(resource, self.RESOURCE.id_field),
            )
        return new_operation(spec.description, metadata, principal.subject, now)

    def _new_resource(self, spec: MutationSpec, request: Message, now: int) -> R:
        resource: R = self.RESOURCE.message()
        for name in spec.copy_fields:
            _copy_field(request, resource, name)
        setattr(resource, self.RESOURCE.id_field, new_id())
        if self.RESOURCE.created_at_field:
            getattr(resource, self.RESOURCE.created_at_field).FromNanoseconds(now)
        return resource

    def _begin(
        self,
        spec: MutationSpec,
        transaction: Transaction,
        request: Message,
        current: R | None,
        now: int,
    ) -> R:
        """The request-time part of a delayed operation: the resource shows it is changing."""
        if current is None:
            resource = self._new_resource(spec, request, now)
            self._check_unique_name(transaction, resource)
            self.before_create(request, resource)
        else:
            resource = current
        self._set_status(resource, _TRANSITIONAL[spec.kind])
        self._store(transaction, resource)
        return resource

    def _apply(
        self,
        spec: MutationSpec,
        transaction: Transaction,
        request: Message,
        current: R | None,
        paths: Sequence[Path],
        now: int,
    ) -> tuple[R, Message]:
        """Does the work of a mutation on the stored resource (None for Create); returns the
        resource as created, updated or deleted, and the operation's response."""
        if current is None:
            resource = self._new_resource(spec, request, now)
            self._set_status(resource, _SETTLED)
            self._check_unique_name(transaction, resource)
            self.before_create(request, resource)
            self._store(transaction, resource)
            self.after_create(resource)
            return resource, resource
        if spec.kind == DELETE:
            self.before_delete(request, current)
            transaction.delete_resource(
                self.RESOURCE.kind, getattr(current, self.RESOURCE.id_field)
            )
            self.after_delete(current)
            return current, empty_pb2.Empty()
        assert spec.mask is not None
        updated = self.RESOURCE.message()
        updated.CopyFrom(current)
        spec.mask.apply(request, updated, paths)
        self.before_update(request, current, updated)
        self._check_unique_name(transaction, updated, current)
        rules = self.RULES.get(request.DESCRIPTOR.full_name)
        if rules is not None:
            violations = size_violations(updated, rules, {p.names[0] for p in paths})
            if violations:
                raise invalid_argument(violations)
        self._store(transaction, updated)
        self.after_update(updated)
        return updated, updated

    def _completion(self, spec: MutationSpec) -> Completion:
        def complete(transaction: Transaction, record: StoredOperation) -> Message:
            if spec.kind == CREATE:
                resource = self._load(transaction, record.resource_id)
                self._set_status(resource, _SETTLED)
                self._store(transaction, resource)
                self.after_create(resource)
                return resource
            request = spec.request.FromString(record.pending)
            current = self._load(transaction, record.resource_id)
            paths = self._mask_paths(spec.mask, request) if spec.mask else ()
            _, response = self._apply(
                spec, transaction, request, current, paths, time.time_ns()
            )
            if spec.kind == UPDATE:
                assert isinstance(response, self.RESOURCE.message)
                self._set_status(response, _SETTLED)
                self._store(transaction, response)
            return response

        def revert(transaction: Transaction, record: StoredOperation) -> None:
            self._revert(spec, transaction, record.resource_id)

        return Completion(complete, revert)

    def _revert(
        self, spec: MutationSpec, transaction: Transaction, resource_id: str
    ) -> None:
        """Undoes the request-time part of a delayed operation that failed or was cancelled."""
        record = transaction.get_resource(self.RESOURCE.kind, resource_id)
        if record is None:
            return
        if spec.kind == CREATE:
            transaction.delete_resource(self.RESOURCE.kind, resource_id)
            return
        resource: R = self.RESOURCE.message.FromString(record.data)
        self._set_status(resource, _SETTLED)
        self._store(transaction, resource)


def _idempotency_key(context: grpc.ServicerContext) -> str:
    for key, value in context.invocation_metadata() or ():
        if key == IDEMPOTENCY_KEY:
            return value if isinstance(value, str) else value.decode("latin-1")
    return ""


def _fingerprint(request: Message) -> str:
    return hashlib.sha256(request.SerializeToString(deterministic=True)).hexdigest()


def _copy_field(source: Message, target: Message, name: str) -> None:
    value = getattr(source, name)
    descriptor = source.DESCRIPTOR.fields_by_name[name]
    if descriptor.is_repeated:
        target_value = getattr(target, name)
        if hasattr(value, "items"):
            for key, item in value.items():
                if isinstance(item, Message):
                    target_value[key].CopyFrom(item)
                else:
                    target_value[key] = item
        else:
            target_value.extend(value)
    elif descriptor.message_type is not None:
        if source.HasField(name):
            getattr(target, name).CopyFrom(value)
    elif not descriptor.has_presence or source.HasField(name):
        setattr(target, name, value)
