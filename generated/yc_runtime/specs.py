"""What a generated servicer says about its resource and its standard methods, as data.

The generator writes these from the descriptors: every schema fact the runtime needs (field
names of requests and resources, status values) comes from here, so the runtime names no field
of any API.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

from google.protobuf.message import Message

from .contract import MutationKind
from .fieldmask import MaskSpec

R = TypeVar("R", bound=Message)
L = TypeVar("L", bound=Message)


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
    ready_status: int | None = None  # the status of a resource no operation is changing
    unique_names: bool = False  # names are unique within a parent: ALREADY_EXISTS
    # Fields whose values storage indexes, so that Lists order and filter by them at the cost
    # of a page: top-level scalar, enum and Timestamp fields besides the id and the parent.
    indexed_fields: tuple[str, ...] = ()

    @property
    def parent_label(self) -> str:
        """The parent in words, for messages: `folder_id` -> `folder`."""
        return self.parent_field.removesuffix("_id").replace("_", " ") or "parent"


@dataclass(frozen=True)
class ListSpec(Generic[L]):
    """A List or ListOperations method: its response and the request fields it pages with."""

    response: type[L]
    items_field: str
    default_page_size: int
    page_size_field: str
    page_token_field: str
    next_page_token_field: str
    parent_field: str = ""  # the request field that scopes the list, if any
    filter_field: str = ""
    order_by_field: str = ""


@dataclass(frozen=True)
class MutationSpec:
    kind: MutationKind
    method: str  # the rpc's full name, which stored operations refer to
    request: type[Message]
    description: str
    metadata: type[Message] | None  # None: the operation has no metadata
    metadata_id_field: str = ""
    # The resource's status while a delayed operation of this rpc is in flight.
    running_status: int | None = None
    # Create: request fields that mirror resource fields.
    copy_fields: tuple[str, ...] = ()
    mask: MaskSpec | None = None  # Update
    mask_field: str = ""  # Update: the request's FieldMask

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", MutationKind(self.kind))
