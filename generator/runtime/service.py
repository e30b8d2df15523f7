"""Default implementations of the standard methods, over a `Storage`.

A generated servicer subclasses `ResourceService` and describes its resource and methods as data
(`ResourceSpec`, `ListSpec`, `MutationSpec`, in `specs`); each rpc calls the matching `standard_*`
method. Users extend a service by subclassing it: override an rpc, or the `before_*`/`after_*`
hooks.

The service composes collaborators, each replaceable through its constructor: an `Authorizer`
(who may touch what), an `IdempotencyLedger` (repeated mutations), a `QueryPlanner` (a List's
filter and order as storage reads), a `ResourceStore` (how resources are kept) and one
`Mutation` per mutating rpc (what Create, Update and Delete do, step by step). What is left here
is the flow every call shares.
"""

from __future__ import annotations

import os
import time
from typing import (
    Any,
    Callable,
    ClassVar,
    Generic,
    Mapping,
    NoReturn,
    Sequence,
    TypeVar,
)

import grpc
from google.protobuf.message import Message

from .context import CallContext
from .access import Authorizer
from .auth import Authenticator, Principal
from .errors import ApiError, Violation, abort, invalid_argument, not_found, rpc
from .idempotency import IdempotencyLedger
from .mutations import MUTATIONS, Mutation
from .operations import Completion, Operation, Scheduler, finish
from .paging import PageTokens
from .planner import QueryPlanner
from .query import FieldValue, Ordering, QueryError, parse_order_by
from .resources import ResourceStore
from .actions import Actions
from .contract import HttpRoute, MutationKind
from .links import Linkable, link
from .specs import ActionSpec, GetSpec, ListSpec, MutationSpec, ResourceSpec
from .storage import Storage, StoredOperation
from .validation import MessageRules, Selection, Validator

__all__ = [
    "ActionSpec",
    "GetSpec",
    "ListSpec",
    "MutationSpec",
    "ResourceService",
    "ResourceSpec",
    "Runtime",
    "Service",
]

R = TypeVar("R", bound=Message)
L = TypeVar("L", bound=Message)
T = TypeVar("T", bound=Message)

# An unpaged List (its response has no next_page_token) answers at most this many items.
MAX_UNPAGED = 10_000
# Pages hold at most this many items, whatever page_size asks (when its field has no bound).
MAX_PAGE_SIZE = 1000
# ListOperations lists newest first, by the operations' own fields.
_OPERATIONS_ORDER: Ordering = parse_order_by(
    "created_at desc, id desc", Operation.DESCRIPTOR
)


class Runtime:
    """What the services of one server share: storage, operations, page tokens, and who may
    call (`authenticator`: the configured tokens; none means an open server)."""

    def __init__(
        self,
        storage: Storage,
        operation_delay: float = 0.0,
        authenticator: Authenticator | None = None,
        check_references: bool = True,
    ) -> None:
        self.storage = storage
        self.operation_delay = operation_delay
        # Whether a field naming another resource must name one that exists, and a resource
        # others name cannot be deleted (see `ResourceStore.check_references`).
        self.check_references = check_references
        # The resource types of the server, by kind, once it has linked them (see `link`).
        self.resources: dict[str, ResourceSpec[Any]] = {}
        self.authenticator = authenticator or Authenticator()
        self.scheduler = Scheduler(storage)
        self.tokens = PageTokens(self._token_secret())

    def _token_secret(self) -> bytes:
        """Kept in storage, so that page tokens stay valid across restarts."""
        with self.storage.transaction() as transaction:
            secret = transaction.get_meta("page_token_secret")
            if secret is None:
                secret = os.urandom(32)
                transaction.put_meta("page_token_secret", secret)
        return secret

    def link(self, services: Sequence[object]) -> None:
        """Links the resource types of the server's services (`links`): the fields that name
        another resource, the resources that name one, and those keyed by one."""
        served = [s for s in services if isinstance(s, ResourceService)]
        self.resources = {s.RESOURCE.kind: s.RESOURCE for s in served}
        found = link(
            Linkable(
                kind=spec.kind,
                label=spec.label,
                key=spec.key,
                generated_id=spec.generated_id,
                parent_field=spec.parent_field,
                creatable=any(m.kind is MutationKind.CREATE for m in s.MUTATIONS),
                indexed_fields=spec.indexed_fields,
                references=spec.references,
            )
            for s in served
            for spec in (s.RESOURCE,)
        )
        for service in served:
            service.resources.links = found[service.RESOURCE.kind]

    def principal(self, context: CallContext) -> Principal:
        """Who makes the call, and which parents it may touch (`Principal.require()`).

        `ANONYMOUS` (subject "", every parent) on an open server; raises an UNAUTHENTICATED
        ApiError when tokens are configured and the call carries none of them."""
        return self.authenticator.principal(context)

    def subject(self, context: CallContext) -> str:
        """Who makes the call, for `Operation.created_by`; "" when calls are anonymous."""
        return self.principal(context).subject


class Service:
    """What every generated servicer has: the runtime, and request validation."""

    RULES: ClassVar[Mapping[str, MessageRules]] = {}
    # The rpcs' google.api.http bindings, for the REST face (see `rest`).
    HTTP_ROUTES: ClassVar[tuple[HttpRoute, ...]] = ()

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.validator = Validator(self.RULES)

    def validate(self, request: Message, selection: Selection | None = None) -> None:
        violations = self.validator.violations(request, selection)
        if violations:
            raise invalid_argument(violations)

    def unimplemented(self, method: str, context: CallContext) -> NoReturn:
        """The answer of an rpc that is not a standard method (`method`, its full name
        `/package.Service/Rpc`), until a subclass implements it."""
        rpc_name = method.rpartition("/")[2]
        abort(
            context,
            ApiError(
                grpc.StatusCode.UNIMPLEMENTED,
                f"{method} is not implemented: this server implements the standard "
                "methods and the common actions, not this one. To serve it, replace "
                f"{type(self).__name__} with a subclass that "
                f"defines {rpc_name} (see 'Serving the whole API with one service "
                "extended' in the README of protoc-gen-python-custom)",
            ),
        )


class ResourceService(Service, Generic[R]):
    """Standard methods of a service that manages one resource type."""

    RESOURCE: ClassVar[ResourceSpec[Any]]
    MUTATIONS: ClassVar[tuple[MutationSpec[Any], ...]] = ()
    ACTIONS: ClassVar[tuple[ActionSpec[Any], ...]] = ()

    def __init__(
        self,
        runtime: Runtime,
        authorizer: Authorizer | None = None,
        ledger: IdempotencyLedger | None = None,
        planner: QueryPlanner | None = None,
    ) -> None:
        super().__init__(runtime)
        spec = self.RESOURCE
        self.authorizer = authorizer or Authorizer(spec)
        self.ledger = ledger or IdempotencyLedger()
        self.planner = planner or QueryPlanner(spec)
        self.resources: ResourceStore[R] = ResourceStore(
            spec, self.planner, runtime.check_references
        )
        self.actions = Actions(self)
        for action in self.ACTIONS:
            completion = self.actions.completion(action)
            if completion is not None:  # an action that a delayed operation finishes
                runtime.scheduler.register(action.method, completion)
        self.mutations: dict[str, Mutation[R]] = {}
        for mutation_spec in self.MUTATIONS:
            mutation = MUTATIONS[mutation_spec.kind](
                mutation_spec,
                self.resources,
                self.authorizer,
                self,
                self.validate,
                self.RULES,
            )
            self.mutations[mutation_spec.method] = mutation
            runtime.scheduler.register(
                mutation_spec.method, Completion(mutation.complete, mutation.revert)
            )
        self.resources.reindex(runtime.storage)

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

    # --- Get, List, ListOperations -------------------------------------------------------------
    #
    # Every standard method authenticates first, then validates the request, then authorizes
    # (see `access`).

    @rpc
    def standard_get(self, request: Message, context: CallContext) -> R:
        """The resource the request names."""
        return self._get(request, context)

    @rpc
    def standard_get_wrapped(
        self, spec: GetSpec[T], request: Message, context: CallContext
    ) -> T:
        """The resource the request names, in its field of `spec.response`."""
        response = spec.response()
        getattr(response, spec.response_field).CopyFrom(self._get(request, context))
        return response

    def _get(self, request: Message, context: CallContext) -> R:
        principal = self.runtime.principal(context)
        self.validate(request)
        self.authorizer.require_type(principal)
        resource_id = self.resources.key_of(request)
        with self.runtime.storage.read() as transaction:
            resource = self.resources.load(transaction, resource_id)
        parent = self.resources.parent_of(resource, self.resources.outside(request))
        self.authorizer.require_resource(principal, resource_id, parent)
        return resource

    @rpc
    def standard_list(
        self, spec: ListSpec[L], request: Message, context: CallContext
    ) -> L:
        """A page of the resources under the request's parent; a List that names no parent
        lists those under every parent the caller may see."""
        principal = self.runtime.principal(context)
        self.validate(request)
        _refuse_unsupported(spec, request)
        size = _page_size(spec, request) if spec.paged else MAX_UNPAGED
        parent = getattr(request, spec.parent_field) if spec.parent_field else None
        try:
            query = self.planner.plan(
                str(parent),
                _text(request, spec.filter_field),
                _text(request, spec.order_by_field),
                request,
                spec.equal_fields,
            )
            position = self._position(spec, request, query.fingerprint, query.ordering)
        except QueryError as error:
            raise invalid_argument(
                [Violation(error.argument, error.description)]
            ) from None
        self.authorizer.require_type(principal)
        if parent:
            self.authorizer.require_parent(principal, parent)
            parents: tuple[str, ...] | None = (parent,)
        else:
            parents = self.authorizer.visible_parents(principal)
        check = _in_time(context)
        with self.runtime.storage.read() as transaction:
            items, last = query.page(transaction, parents, position, size, check)
        if spec.view is not None:
            items = [_view(spec.view, item) for item in items]
        return self._response(spec, items, query.fingerprint, query.ordering, last)

    @rpc
    def standard_list_operations(
        self, spec: ListSpec[L], request: Message, context: CallContext
    ) -> L:
        """A page of a resource's operations, newest first; they outlive the resource."""
        principal = self.runtime.principal(context)
        self.validate(request)
        size = _page_size(spec, request)
        kind = self.RESOURCE.kind
        resource_id = self.resources.key_of(request)
        fingerprint = f"operations\n{kind}\n{resource_id}"
        try:
            position = self._position(spec, request, fingerprint, _OPERATIONS_ORDER)
        except QueryError as error:
            raise invalid_argument(
                [Violation(error.argument, error.description)]
            ) from None
        self.authorizer.require_type(principal)
        before = None if position is None else (int(position[0]), str(position[1]))
        with self.runtime.storage.read() as transaction:
            records = transaction.operations_page(kind, resource_id, before, size + 1)
            current = transaction.get_resource(kind, resource_id)
            # A deleted resource's operations remain; each records the parent it had.
            newest = records or transaction.operations_page(kind, resource_id, None, 1)
        if current is None and not newest:
            raise not_found(self.RESOURCE.label, resource_id)
        parent = current.parent if current is not None else newest[0].parent
        self.authorizer.require_resource(principal, resource_id, parent)
        operations = [Operation.FromString(record.data) for record in records[:size]]
        last = operations[-1] if len(records) > size else None
        return self._response(spec, operations, fingerprint, _OPERATIONS_ORDER, last)

    def _position(
        self, spec: ListSpec[L], request: Message, fingerprint: str, ordering: Ordering
    ) -> list[FieldValue] | None:
        """Where the request's page token resumes (None: from the start)."""
        token: str = (
            getattr(request, spec.page_token_field) if spec.page_token_field else ""
        )
        if not token:
            return None
        return ordering.position_values(self.runtime.tokens.decode(token, fingerprint))

    def _response(
        self,
        spec: ListSpec[L],
        items: Sequence[Message],
        fingerprint: str,
        ordering: Ordering,
        last: Message | None,
    ) -> L:
        """The page, with a token for the next one when `last` (more remain after it)."""
        response = spec.response()
        getattr(response, spec.items_field).extend(items)
        if last is not None and spec.paged:
            token = self.runtime.tokens.encode(fingerprint, ordering.position(last))
            setattr(response, spec.next_page_token_field, token)
        return response

    # --- Create, Update, Delete ----------------------------------------------------------------

    @rpc
    def standard_create(
        self, spec: MutationSpec[T], request: Message, context: CallContext
    ) -> T:
        return self._answer(
            spec, self._mutate(self.mutations[spec.method], request, context)
        )

    @rpc
    def standard_update(
        self, spec: MutationSpec[T], request: Message, context: CallContext
    ) -> T:
        return self._answer(
            spec, self._mutate(self.mutations[spec.method], request, context)
        )

    @rpc
    def standard_delete(
        self, spec: MutationSpec[T], request: Message, context: CallContext
    ) -> T:
        return self._answer(
            spec, self._mutate(self.mutations[spec.method], request, context)
        )

    @rpc
    def standard_action(
        self, spec: ActionSpec[T], request: Message, context: CallContext
    ) -> T:
        """An action the runtime implements: access bindings, Move, Start, Stop, Restart,
        and listing the resources that name this one (see `actions`)."""
        return self._answer(spec, self.actions.run(spec, request, context))

    @staticmethod
    def _answer(spec: MutationSpec[T] | ActionSpec[T], answer: Message) -> T:
        """The answer as the rpc's type, which the spec says (a server bug otherwise)."""
        if not isinstance(answer, spec.returns):
            raise TypeError(
                f"{spec.method} answers {spec.returns.__name__}, not {type(answer).__name__}"
            )
        return answer

    def _mutate(
        self, mutation: Mutation[R], request: Message, context: CallContext
    ) -> Message:
        """Runs a mutation: checks, then one transaction that replays an idempotent repeat or
        applies the change (or, with an operation delay, begins it), and stores the operation
        with the idempotency key. A delayed operation is then left to the scheduler. A
        synchronous rpc (one that answers without an Operation) applies it at once."""
        principal = self.runtime.principal(context)
        paths = mutation.check(request, principal)
        if mutation.spec.synchronous:
            with self.runtime.storage.transaction() as transaction:
                current = mutation.target(transaction, request, principal, paths)
                now = transaction.timestamp()
                _, response = mutation.apply(transaction, request, current, paths, now)
            return response
        method = mutation.spec.method
        entry = self.ledger.entry(context, principal, method, request)
        delay = self.runtime.operation_delay
        with self.runtime.storage.transaction() as transaction:
            now = transaction.timestamp()
            if entry is not None:
                replayed = self.ledger.replay(transaction, entry)
                if replayed is not None:
                    self.authorizer.require_resource(
                        principal, replayed.resource_id, replayed.parent
                    )
                    return Operation.FromString(replayed.data)
            current = mutation.target(transaction, request, principal, paths)
            outside = self.resources.outside(request)
            if delay > 0:
                resource = mutation.begin(transaction, request, current, now)
                operation = mutation.operation(resource, principal, now, outside)
                pending, due = request.SerializeToString(), time.time() + delay
            else:
                resource, response = mutation.apply(
                    transaction, request, current, paths, now
                )
                operation = mutation.operation(resource, principal, now, outside)
                finish(operation, now, response)
                pending, due = b"", 0.0
            # The operation keeps the parent its resource has now (had, for Delete).
            transaction.put_operation(
                StoredOperation(
                    id=operation.id,
                    resource_kind=self.RESOURCE.kind,
                    resource_id=self.resources.id_of(resource, outside),
                    created_at=now,
                    done=operation.done,
                    data=operation.SerializeToString(),
                    method=method if pending else "",
                    pending=pending,
                    due=due,
                    parent=self.resources.parent_of(resource, outside),
                )
            )
            if entry is not None:
                self.ledger.record(transaction, entry, operation.id)
        if not operation.done:
            self.runtime.scheduler.schedule(operation.id, due)
        return operation


def _page_size(spec: ListSpec[L], request: Message) -> int:
    """The request's page size: its default when 0, at most MAX_PAGE_SIZE; INVALID_ARGUMENT
    when negative."""
    size: int = getattr(request, spec.page_size_field)
    if size < 0:
        raise invalid_argument(
            [Violation(spec.page_size_field, "The minimum value is 0.")]
        )
    return min(size or spec.default_page_size, MAX_PAGE_SIZE)


def _in_time(context: CallContext) -> Callable[[], None]:
    """A check for work that may run long (a List reading a whole folder): it raises once the
    call's deadline has passed (DEADLINE_EXCEEDED) or the call has ended (CANCELLED), so that
    the work stops and its transaction ends. Nobody would read what it found."""
    deadline = time.monotonic() + context.time_remaining()

    def check() -> None:
        if time.monotonic() > deadline:
            raise ApiError(
                grpc.StatusCode.DEADLINE_EXCEEDED,
                "The call's deadline passed before the server had read the page",
            )
        if not context.is_active():
            raise ApiError(grpc.StatusCode.CANCELLED, "The call was cancelled")

    return check


def _text(request: Message, field: str) -> str:
    """A string field of the request; "" for a request without that field."""
    return str(getattr(request, field)) if field else ""


def _refuse_unsupported(spec: ListSpec[L], request: Message) -> None:
    """UNIMPLEMENTED for a List request that sets a field the server cannot honour."""
    for name in spec.unsupported_fields:
        descriptor = request.DESCRIPTOR.fields_by_name[name]
        value = getattr(request, name)
        given = (
            len(value) > 0
            if descriptor.is_repeated
            else request.HasField(name) if descriptor.has_presence else bool(value)
        )
        if given:
            raise ApiError(
                grpc.StatusCode.UNIMPLEMENTED,
                f"{request.DESCRIPTOR.full_name}.{name} is not implemented by this server; "
                "list without it",
            )


def _view(view: type[Message], resource: Message) -> Message:
    """What a List shows of a resource: the view's fields, copied by name."""
    item = view()
    for field in view.DESCRIPTOR.fields:
        name = field.name
        if field.is_repeated:
            target = getattr(item, name)
            if hasattr(target, "MergeFrom"):
                target.MergeFrom(getattr(resource, name))
            else:
                target.extend(getattr(resource, name))
        elif field.message_type is not None:
            if resource.HasField(name):
                getattr(item, name).CopyFrom(getattr(resource, name))
        else:
            setattr(item, name, getattr(resource, name))
    return item
