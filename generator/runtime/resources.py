"""How the resources of one type are kept in storage: loaded and decoded, stored with their index
keys, deleted; the unique-name rule; the status a resource shows."""

from __future__ import annotations

from typing import Generic, Sequence, TypeVar

import grpc
from google.protobuf.message import Message

from .errors import ApiError, already_exists, not_found
from .links import Links
from .planner import QueryPlanner
from .specs import ResourceSpec
from .storage import DuplicateName, IndexScan, Storage, StoredResource, Transaction

R = TypeVar("R", bound=Message)


class ResourceStore(Generic[R]):
    def __init__(
        self, spec: ResourceSpec[R], planner: QueryPlanner, check_links: bool = True
    ) -> None:
        self.spec = spec
        self._planner = planner
        # Whether references between resources are checked (see `check_references`), and
        # the links the server found when it started.
        self.check_links = check_links
        self.links = Links()

    def id_of(self, resource: Message, outside: str = "") -> str:
        """The resource's key as storage keeps it; `outside` is its parent where the resource
        does not record it (see `outside_field`)."""
        return joined_key(
            [
                getattr(resource, field) if field else outside
                for field, _ in self.spec.key
            ]
        )

    @property
    def outside_field(self) -> str:
        """The request field of a parent that the resource does not record (a VirtualHost's
        `http_router_id`): storage keeps it as the resource's parent. "" if none."""
        field, request_field = self.spec.key[0]
        return request_field if not field else ""

    def key_of(self, request: Message, fields: Sequence[str] = ()) -> str:
        """The key of the resource a request names, by its key fields (`fields`, else the
        spec's request fields)."""
        names = fields or [request_field for _, request_field in self.spec.key]
        return joined_key([getattr(request, name) for name in names])

    def outside(self, request: Message) -> str:
        """The parent a request names that the resource does not record ("" if none)."""
        field = self.outside_field
        return str(getattr(request, field)) if field else ""

    def parent_of(self, resource: Message, outside: str = "") -> str:
        """The resource's parent: its parent field, else `outside` (see `id_of`)."""
        field = self.spec.parent_field
        return str(getattr(resource, field)) if field else outside

    def request_parent(self, request: Message) -> str:
        """The parent a request names ("" if it names none): its parent field, or the
        parent that the resource does not record."""
        field = self.spec.parent_field or self.outside_field
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

    def store(self, transaction: Transaction, resource: R, outside: str = "") -> None:
        """Stores the resource; ALREADY_EXISTS should the database find its unique name taken
        (`check_unique_name` says so first, with the same error)."""
        spec = self.spec
        record = StoredResource(
            kind=spec.kind,
            id=self.id_of(resource, outside),
            parent=self.parent_of(resource, outside),
            name=getattr(resource, spec.name_field) if spec.name_field else "",
            data=resource.SerializeToString(),
            unique_name=spec.unique_names,
        )
        try:
            transaction.put_resource(record, self._planner.keys(resource))
        except DuplicateName:
            raise already_exists(
                spec.label, spec.name_field, record.name, record.parent
            )

    def delete(self, transaction: Transaction, resource_id: str) -> None:
        """Deletes the resource, what is kept beside it, and its children (resources whose
        key begins with its own)."""
        transaction.delete_resource(self.spec.kind, resource_id)
        transaction.delete_resource(bindings_kind(self.spec.kind), resource_id)
        for kind in self.links.children:
            for child in transaction.list_resources(kind, resource_id):
                transaction.delete_resource(kind, child.id)

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

    def check_references(
        self,
        transaction: Transaction,
        resource: R,
        previous: R | None = None,
        outside: str = "",
    ) -> None:
        """NOT_FOUND if a field naming another resource names none that exists (values the
        resource had before, `previous`, are not checked again; field "" is the parent
        `outside` the resource)."""
        if not self.check_links:
            return
        for field, kind, label in self.links.references:
            values = _values(resource, field) if field else [outside] if outside else []
            for value in values:
                if previous is not None and (
                    not field or value in _values(previous, field)
                ):
                    continue
                if transaction.get_resource(kind, value) is None:
                    raise not_found(label, value)

    def check_unreferenced(
        self, transaction: Transaction, resource: R, outside: str = ""
    ) -> None:
        """FAILED_PRECONDITION while other resources of its parent name this one."""
        if not self.check_links:
            return
        resource_id = self.id_of(resource, outside)
        for kind, field, label in self.links.referred_by:
            # Resources refer to those of their own parent: the index of that parent tells.
            scan = IndexScan(kind, self.parent_of(resource), field, resource_id)
            found = transaction.scan(scan)
            if found:
                raise ApiError(
                    grpc.StatusCode.FAILED_PRECONDITION,
                    f"{self.spec.label} {resource_id!r} is in use: {label} "
                    f"{found[0].resource.id!r} names it in {field}",
                )

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


def joined_key(parts: Sequence[object]) -> str:
    """A key of several parts as one string, each part's `%` and `/` escaped: `c1/db%2F1`."""
    if len(parts) == 1:
        return str(parts[0])
    return "/".join(str(part).replace("%", "%25").replace("/", "%2F") for part in parts)


def bindings_kind(kind: str) -> str:
    """The storage kind under which a resource's access bindings are kept, by its id."""
    return f"{kind}#access_bindings"


def _values(resource: Message, field: str) -> list[str]:
    """The ids a string field (or a repeated one) of the resource names, without blanks."""
    value = getattr(resource, field)
    return [item for item in ([value] if isinstance(value, str) else value) if item]
