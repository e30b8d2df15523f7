"""How the resources of one type are kept in storage: loaded and decoded, stored with their index
keys, deleted; the unique-name rule; the status a resource shows."""

from __future__ import annotations

from typing import Generic, TypeVar

import grpc
from google.protobuf.message import Message

from .errors import ApiError, already_exists, not_found
from .planner import QueryPlanner
from .specs import ResourceSpec
from .storage import Storage, StoredResource, Transaction

R = TypeVar("R", bound=Message)


class ResourceStore(Generic[R]):
    def __init__(self, spec: ResourceSpec[R], planner: QueryPlanner) -> None:
        self.spec = spec
        self._planner = planner

    def id_of(self, resource: Message) -> str:
        return str(getattr(resource, self.spec.id_field))

    def parent_of(self, resource: Message) -> str:
        field = self.spec.parent_field
        return str(getattr(resource, field)) if field else ""

    def request_parent(self, request: Message) -> str:
        """The parent a Create request names ("" if it names none)."""
        field = self.spec.parent_field
        if field and field in request.DESCRIPTOR.fields_by_name:
            return str(getattr(request, field))
        return ""

    def load(self, transaction: Transaction, resource_id: str) -> R:
        """The stored resource; NOT_FOUND if there is none."""
        record = transaction.get_resource(self.spec.kind, resource_id)
        if record is None:
            raise not_found(self.spec.label, resource_id)
        resource: R = self.spec.message.FromString(record.data)
        return resource

    def store(self, transaction: Transaction, resource: R) -> None:
        spec = self.spec
        transaction.put_resource(
            StoredResource(
                kind=spec.kind,
                id=self.id_of(resource),
                parent=self.parent_of(resource),
                name=getattr(resource, spec.name_field) if spec.name_field else "",
                data=resource.SerializeToString(),
            ),
            self._planner.keys(resource),
        )

    def delete(self, transaction: Transaction, resource_id: str) -> None:
        transaction.delete_resource(self.spec.kind, resource_id)

    def set_status(self, resource: R, status: int | None) -> None:
        """Shows `status` (a value of the resource's status enum), if the resource has one."""
        if self.spec.status_field and status is not None:
            setattr(resource, self.spec.status_field, status)

    def check_unique_name(
        self, transaction: Transaction, resource: R, previous: R | None = None
    ) -> None:
        """ALREADY_EXISTS if another resource has the name in the parent; an update that keeps
        both (`previous`: the resource before it) is not checked again."""
        spec = self.spec
        if not (spec.unique_names and spec.name_field):
            return
        name = getattr(resource, spec.name_field)
        parent = self.parent_of(resource)
        if not name:
            return
        if previous is not None and (name, parent) == (
            getattr(previous, spec.name_field),
            self.parent_of(previous),
        ):
            return
        found = transaction.find_by_name(spec.kind, parent, name)
        if found is not None and found.id != self.id_of(resource):
            raise already_exists(spec.label, spec.name_field, name, parent)

    def require_idle(self, transaction: Transaction, resource_id: str) -> None:
        """FAILED_PRECONDITION while another operation on the resource is in flight."""
        operation = transaction.unfinished_operation_of(self.spec.kind, resource_id)
        if operation is not None:
            raise ApiError(
                grpc.StatusCode.FAILED_PRECONDITION,
                f"{self.spec.label} {resource_id!r} has operation "
                f"{operation.id} in progress",
            )

    def reindex(self, storage: Storage) -> None:
        """Gives every stored resource the index keys of the current indexed fields, once: a
        database written before them, or with other indexed fields, gets them here."""
        marker = f"index_keys:{self.spec.kind}"
        signature = self._planner.signature.encode()
        with storage.read() as transaction:
            if transaction.get_meta(marker) == signature:
                return
        with storage.transaction() as transaction:
            for record in transaction.list_resources(self.spec.kind, None):
                resource = self.spec.message.FromString(record.data)
                transaction.put_resource(record, self._planner.keys(resource))
            transaction.put_meta(marker, signature)
