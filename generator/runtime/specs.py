"""What a generated servicer says about its resource and its standard methods, as data.

The generator writes these from the descriptors: every schema fact the runtime needs (field
names of requests and resources, status values) comes from here, so the runtime names no field
of any API.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

from google.protobuf import empty_pb2
from google.protobuf.message import Message

from .contract import ActionKind, MutationKind, ResponseKind
from .fieldmask import MaskSpec

R = TypeVar("R", bound=Message)
L = TypeVar("L", bound=Message)
T = TypeVar("T", bound=Message)  # what an rpc answers


@dataclass(frozen=True)
class ResourceSpec(Generic[R]):
    kind: str  # full name of the resource message
    label: str  # for messages and operation descriptions, e.g. "image"
    message: type[R]
    # The fields that name one resource, parent's first, each with the request field that
    # carries it: `(("id", "image_id"),)`, `(("cluster_id", "cluster_id"), ("name",
    # "database_name"))`. Storage keeps it by their values joined (see `keys`).
    key: tuple[tuple[str, str], ...]
    generated_id: bool = True  # Create makes the key's own (last) part
    parent_field: str = ""
    name_field: str = ""
    created_at_field: str = ""
    status_field: str = ""
    ready_status: int | None = None  # the status of a resource no operation is changing
    # The status values a Start, Stop or Restart shows, by role ("stopped", "starting", ...).
    statuses: tuple[tuple[str, int], ...] = ()
    unique_names: bool = False  # names are unique within a parent: ALREADY_EXISTS
    # Fields whose values storage indexes, so that Lists order and filter by them at the cost
    # of a page: top-level scalar, enum and Timestamp fields besides the id and the parent.
    indexed_fields: tuple[str, ...] = ()
    # Fields that may name another resource by id: (field, the message it would name,
    # repeated); the server links them when it starts (see `links`).
    references: tuple[tuple[str, str, bool], ...] = ()

    @property
    def id_field(self) -> str:
        """The key's own part: unique within the parent."""
        return self.key[-1][0]

    @property
    def request_id_field(self) -> str:
        return self.key[-1][1]

    @property
    def string_key(self) -> bool:
        field = self.message.DESCRIPTOR.fields_by_name[self.id_field]
        return field.type == field.TYPE_STRING

    @property
    def parent_label(self) -> str:
        """The parent in words, for messages: `folder_id` -> `folder`."""
        return self.parent_field.removesuffix("_id").replace("_", " ") or "parent"

    def status(self, role: str) -> int | None:
        return dict(self.statuses).get(role)


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
    paged: bool = True  # False: the response holds every item, without a token
    # Request fields that mirror resource fields: only the resources equal to them, if set.
    equal_fields: tuple[str, ...] = ()
    # Request fields the server does not honour: UNIMPLEMENTED when set.
    unsupported_fields: tuple[str, ...] = ()
    # The items' message when it is a view of the resource (its fields, by name), else None.
    view: type[Message] | None = None


@dataclass(frozen=True)
class GetSpec(Generic[T]):
    """A Get that answers the resource inside a message of its own."""

    response: type[T]
    response_field: str


@dataclass(frozen=True)
class MutationSpec(Generic[T]):
    kind: MutationKind
    method: str  # the rpc's full name, which stored operations refer to
    request: type[Message]
    returns: type[
        T
    ]  # what the rpc answers: an Operation, or (synchronous) the response
    description: str
    metadata: type[Message] | None  # None: the operation has no metadata
    # The resource's status while a delayed operation of this rpc is in flight.
    running_status: int | None = None
    # Create: request fields that mirror resource fields, and request fields of a message
    # that describes the resource, with the fields copied from it.
    copy_fields: tuple[str, ...] = ()
    spec_fields: tuple[tuple[str, tuple[str, ...]], ...] = ()
    mask: MaskSpec | None = None  # Update
    mask_field: str = (
        ""  # Update: the request's FieldMask ("" replaces the mask's fields)
    )
    # What it answers, or its operation's response holds: the resource, an empty `response`,
    # or a `response` whose `response_field` holds the resource; at once if `synchronous`.
    answer: ResponseKind = ResponseKind.RESOURCE
    response: type[Message] | None = None
    response_field: str = ""
    synchronous: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", MutationKind(self.kind))
        object.__setattr__(self, "answer", ResponseKind(self.answer))

    def respond(self, resource: Message) -> Message:
        if self.answer is ResponseKind.RESOURCE:
            return resource
        response = self.response() if self.response is not None else empty_pb2.Empty()
        if self.answer is ResponseKind.WRAPPED:
            getattr(response, self.response_field).CopyFrom(resource)
        return response


@dataclass(frozen=True)
class ActionSpec(Generic[T]):
    """An action of the resource that the runtime implements (see `actions`)."""

    kind: ActionKind
    method: str  # the rpc's full name
    returns: type[T]  # what the rpc answers
    key_fields: tuple[str, ...]  # the request fields that name the resource
    response: type[Message] | None = None  # the response (or the operation's), if typed
    metadata: type[Message] | None = None
    description: str = ""
    # Move: the request field naming the new parent.
    destination_field: str = ""
    # Listing referring resources: their kind and message, the field naming this one, the
    # response's items field, and whether it pages.
    target_kind: str = ""
    target: type[Message] | None = None
    target_field: str = ""
    items_field: str = ""
    paged: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", ActionKind(self.kind))
