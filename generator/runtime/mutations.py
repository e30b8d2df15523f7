"""What Create, Update and Delete mean: one object per kind of mutation, with its steps.

The service runs every mutation the same way (see `ResourceService._mutate`): it checks the
request, then in one transaction finds the resource the mutation changes, and either applies the
change at once or, with an operation delay, begins it (the resource shows a running status) and
leaves `complete` (or `revert`, when the operation fails or is cancelled) to the scheduler. The
classes below say what each step does for their kind; the hooks a subclass of the service
overrides (`before_create`, ...) run inside them.
"""

from __future__ import annotations

import abc
from typing import Any, Callable, Generic, Mapping, Protocol, Sequence, TypeVar

from google.protobuf.message import Message

from .access import Authorizer
from .auth import Principal
from .errors import Violation, already_exists, invalid_argument
from .fieldmask import MaskError, MaskSpec, Path
from .ids import new_id, new_number_id
from .operations import Operation, new_operation
from .resources import ResourceStore
from .contract import MutationKind
from .specs import MutationSpec
from .storage import StoredOperation, Transaction
from .validation import MessageRules, Selection, size_violations

R = TypeVar("R", bound=Message)
R_contra = TypeVar("R_contra", bound=Message, contravariant=True)

Validate = Callable[[Message, "Selection | None"], None]  # raises INVALID_ARGUMENT
Paths = tuple[Path, ...]  # an Update's parsed mask; () for other mutations

_SELECTIONS = 256  # update selections remembered per mutation


class Hooks(Protocol[R_contra]):
    """The hooks of `ResourceService` that a subclass overrides."""

    def before_create(self, request: Any, resource: R_contra) -> None: ...
    def after_create(self, resource: R_contra) -> None: ...
    def before_update(
        self, request: Any, current: R_contra, updated: R_contra
    ) -> None: ...
    def after_update(self, resource: R_contra) -> None: ...
    def before_delete(self, request: Any, resource: R_contra) -> None: ...
    def after_delete(self, resource: R_contra) -> None: ...


class Mutation(abc.ABC, Generic[R]):
    """The steps of one mutating rpc."""

    def __init__(
        self,
        spec: MutationSpec[Any],
        resources: ResourceStore[R],
        authorizer: Authorizer,
        hooks: Hooks[R],
        validate: Validate,
        rules: Mapping[str, MessageRules],
    ) -> None:
        self.spec = spec
        self.resources = resources
        self.authorizer = authorizer
        self.hooks = hooks
        self.validate = validate
        self.rules = rules

    def check(self, request: Message, principal: Principal) -> Paths:
        """Validation, then what authorization needs no storage for; returns the mask of an
        Update (what later steps apply)."""
        paths = self.validated(request)
        self.authorizer.require_type(principal)
        return paths

    def validated(self, request: Message) -> Paths:
        self.validate(request, None)
        return ()

    def target(
        self,
        transaction: Transaction,
        request: Message,
        principal: Principal,
        paths: Paths,
    ) -> R | None:
        """The stored resource the request changes (None for Create), authorized and idle."""
        resource_id = self.resources.key_of(request)
        current = self.resources.load(transaction, resource_id)
        parent = self.resources.parent_of(current, self.resources.outside(request))
        self.authorizer.require_resource(principal, resource_id, parent)
        self.authorize_change(principal, request, current, paths)
        self.resources.require_idle(transaction, resource_id)
        return current

    def authorize_change(
        self, principal: Principal, request: Message, current: R, paths: Paths
    ) -> None:
        """What authorization the change itself needs, beyond touching the resource."""

    def operation(
        self, resource: R, principal: Principal, now: int, outside: str = ""
    ) -> Operation:
        """A new operation of this rpc on `resource` (`outside`: its parent where it does
        not record it), not done yet."""
        spec = self.spec
        if spec.metadata is None:
            return new_operation(spec.description, None, principal.subject, now)
        metadata = spec.metadata()
        fields = metadata.DESCRIPTOR.fields_by_name
        for field, request_field in self.resources.spec.key:
            # The metadata names the resource as requests do (`image_id`), where it can.
            found = fields.get(request_field)
            value = getattr(resource, field) if field else outside
            if (
                found is not None
                and not found.is_repeated
                and isinstance(found.default_value, type(value))
            ):
                setattr(metadata, request_field, value)
        return new_operation(spec.description, metadata, principal.subject, now)

    def begin(
        self, transaction: Transaction, request: Message, current: R | None, now: int
    ) -> R:
        """The request-time part of a delayed operation: the resource shows it is changing."""
        assert current is not None
        self.resources.set_status(current, self.spec.running_status)
        self.resources.store(transaction, current, self.resources.outside(request))
        return current

    @abc.abstractmethod
    def apply(
        self,
        transaction: Transaction,
        request: Message,
        current: R | None,
        paths: Paths,
        now: int,
    ) -> tuple[R, Message]:
        """Does the work; returns the resource as created, updated or deleted, and the
        operation's response."""

    @abc.abstractmethod
    def complete(self, transaction: Transaction, record: StoredOperation) -> Message:
        """Finishes a delayed operation; returns its response."""

    def revert(self, transaction: Transaction, record: StoredOperation) -> None:
        """Undoes the request-time part of a delayed operation that failed or was cancelled."""
        stored = transaction.get_resource(self.resources.spec.kind, record.resource_id)
        if stored is None:
            return
        resource = self.resources.load(transaction, record.resource_id)
        self.resources.set_status(resource, self.resources.spec.ready_status)
        self.resources.store(transaction, resource, record.parent)


class CreateMutation(Mutation[R]):
    def check(self, request: Message, principal: Principal) -> Paths:
        paths = super().check(request, principal)
        self.authorizer.require_parent(
            principal, self.resources.request_parent(request)
        )
        return paths

    def target(
        self,
        transaction: Transaction,
        request: Message,
        principal: Principal,
        paths: Paths,
    ) -> R | None:
        return None  # the request's parent is authorized in check()

    def _new(self, transaction: Transaction, request: Message, now: int) -> R:
        spec = self.resources.spec
        resource: R = spec.message()
        for name, copied in self.spec.spec_fields:
            if request.HasField(name):
                for field in copied:
                    _copy_field(getattr(request, name), resource, field)
        for name in self.spec.copy_fields:
            _copy_field(request, resource, name)
        given = request.DESCRIPTOR.fields_by_name
        for field, request_field in spec.key:
            if (
                field
                and request_field in given
                and (request_field != spec.request_id_field or not spec.generated_id)
            ):
                setattr(resource, field, getattr(request, request_field))
        if spec.generated_id:
            number = isinstance(getattr(resource, spec.id_field), int)
            setattr(resource, spec.id_field, new_number_id() if number else new_id())
        elif not getattr(resource, spec.id_field):
            raise invalid_argument(
                [
                    Violation(
                        spec.request_id_field,
                        f"The {spec.label} needs a {spec.id_field}.",
                    )
                ]
            )
        if spec.created_at_field:
            getattr(resource, spec.created_at_field).FromNanoseconds(now)
        outside = self.resources.outside(request)
        if not spec.generated_id and transaction.get_resource(
            spec.kind, self.resources.id_of(resource, outside)
        ):
            raise already_exists(
                spec.label,
                spec.id_field,
                str(getattr(resource, spec.id_field)),
                self.resources.parent_of(resource, outside),
            )
        self.resources.check_unique_name(transaction, resource)
        self.resources.check_references(transaction, resource, None, outside)
        return resource

    def begin(
        self, transaction: Transaction, request: Message, current: R | None, now: int
    ) -> R:
        resource = self._new(transaction, request, now)
        self.hooks.before_create(request, resource)
        self.resources.set_status(resource, self.spec.running_status)
        self.resources.store(transaction, resource, self.resources.outside(request))
        return resource

    def apply(
        self,
        transaction: Transaction,
        request: Message,
        current: R | None,
        paths: Paths,
        now: int,
    ) -> tuple[R, Message]:
        resource = self._new(transaction, request, now)
        self.resources.set_status(resource, self.resources.spec.ready_status)
        self.hooks.before_create(request, resource)
        self.resources.store(transaction, resource, self.resources.outside(request))
        self.hooks.after_create(resource)
        return resource, self.spec.respond(resource)

    def complete(self, transaction: Transaction, record: StoredOperation) -> Message:
        resource = self.resources.load(transaction, record.resource_id)
        self.resources.set_status(resource, self.resources.spec.ready_status)
        self.resources.store(transaction, resource, record.parent)
        self.hooks.after_create(resource)
        return self.spec.respond(resource)

    def revert(self, transaction: Transaction, record: StoredOperation) -> None:
        self.resources.delete(transaction, record.resource_id)


class UpdateMutation(Mutation[R]):
    def __init__(self, *arguments: Any) -> None:
        super().__init__(*arguments)
        assert self.spec.mask is not None
        self.mask: MaskSpec = self.spec.mask
        # What to validate in a request, by its parsed mask (see _selection).
        self._selections: dict[Paths, Selection] = {}

    def validated(self, request: Message) -> Paths:
        paths = self.parse_mask(request)
        selection = self._selections.get(paths)
        if selection is None:
            if len(self._selections) >= _SELECTIONS:
                self._selections.clear()
            selection = self._selections[paths] = _selection(request, self.mask, paths)
        self.validate(request, selection)
        return paths

    def parse_mask(self, request: Message) -> Paths:
        field = self.spec.mask_field
        given = getattr(request, field) if field and request.HasField(field) else None
        try:
            return self.mask.parse(given)
        except MaskError as error:
            raise invalid_argument([Violation(field, str(error))]) from None

    def authorize_change(
        self, principal: Principal, request: Message, current: R, paths: Paths
    ) -> None:
        """An Update that may write the parent field must not move the resource out of reach."""
        if not (principal.restricted and self.resources.spec.parent_field):
            return
        moved = self._updated(request, current, paths)
        parent = self.resources.parent_of(moved)
        if parent != self.resources.parent_of(current):
            self.authorizer.require_parent(principal, parent)

    def _updated(self, request: Message, current: R, paths: Paths) -> R:
        updated: R = self.resources.spec.message()
        updated.CopyFrom(current)
        self.mask.apply(request, updated, paths)
        return updated

    def apply(
        self,
        transaction: Transaction,
        request: Message,
        current: R | None,
        paths: Paths,
        now: int,
    ) -> tuple[R, Message]:
        assert current is not None
        updated = self._updated(request, current, paths)
        for field, _ in self.resources.spec.key:
            if field and getattr(updated, field) != getattr(current, field):
                message = f"It names the {self.resources.spec.label}: it cannot change."
                raise invalid_argument([Violation(field, message)])
        self.hooks.before_update(request, current, updated)
        self.resources.check_unique_name(transaction, updated, current)
        self.resources.check_references(transaction, updated, current)
        rules = self.rules.get(request.DESCRIPTOR.full_name)
        if rules is not None:  # per-key updates can grow a map past its limit
            violations = size_violations(updated, rules, {p.names[0] for p in paths})
            if violations:
                raise invalid_argument(violations)
        self.resources.store(transaction, updated, self.resources.outside(request))
        self.hooks.after_update(updated)
        return updated, self.spec.respond(updated)

    def complete(self, transaction: Transaction, record: StoredOperation) -> Message:
        request = self.spec.request.FromString(record.pending)
        current = self.resources.load(transaction, record.resource_id)
        self.resources.set_status(current, self.resources.spec.ready_status)
        _, response = self.apply(
            transaction, request, current, self.parse_mask(request), record.created_at
        )
        return response


class DeleteMutation(Mutation[R]):
    def apply(
        self,
        transaction: Transaction,
        request: Message,
        current: R | None,
        paths: Paths,
        now: int,
    ) -> tuple[R, Message]:
        assert current is not None
        self.hooks.before_delete(request, current)
        outside = self.resources.outside(request)
        self.resources.check_unreferenced(transaction, current, outside)
        self.resources.delete(transaction, self.resources.id_of(current, outside))
        self.hooks.after_delete(current)
        return current, self.spec.respond(current)

    def complete(self, transaction: Transaction, record: StoredOperation) -> Message:
        request = self.spec.request.FromString(record.pending)
        current = self.resources.load(transaction, record.resource_id)
        _, response = self.apply(transaction, request, current, (), record.created_at)
        return response


MUTATIONS: Mapping[MutationKind, type[Mutation[Any]]] = {
    MutationKind.CREATE: CreateMutation,
    MutationKind.UPDATE: UpdateMutation,
    MutationKind.DELETE: DeleteMutation,
}


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
