"""What generated code and this runtime agree on, defined once: the runtime's version, the kinds
that generated data names, the bounds of checks, and the runtime names that generated code calls.

The generator imports this module to write generated code, and the runtime's modules use its
kinds, so neither side spells them again; tests/runtime/test_contract.py checks that the runtime
defines every name listed here. Pure Python, so that the generator imports it without grpc.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Union

# The version of this runtime. Generated modules call `require_version` with the version they
# were generated with: the runtime is copied beside them, and other copies do not fit.
VERSION = "0.2.0"
# The package generated code imports the runtime as, and its modules that generated code
# imports, each as `_<module>`.
PACKAGE = "yc_runtime"
# The .proto files whose protoc-generated `_pb2` modules the runtime imports: a tree of
# generated code needs them (the endpoint files too, for ApiEndpointService).
RUNTIME_PROTOS = (
    "yandex/cloud/operation/operation.proto",
    "yandex/cloud/operation/operation_service.proto",
)
CONTRACT, SERVICE, VALIDATION, FIELDMASK, CLIENT, SERVER = (
    "contract",
    "service",
    "validation",
    "fieldmask",
    "client",
    "server",
)

Number = Union[int, float]


class MutationKind(enum.StrEnum):
    """`MutationSpec.kind`: the mutating standard methods."""

    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"


class ResponseKind(enum.StrEnum):
    """`MutationSpec.response`: what a mutation answers (or its operation's response holds)."""

    RESOURCE = "resource"  # the resource itself
    EMPTY = "empty"  # an empty message of the rpc's response type
    WRAPPED = "wrapped"  # a message with one field that holds the resource


class ActionKind(enum.StrEnum):
    """`ActionSpec.kind`: the actions of a resource that the runtime implements."""

    LIST_ACCESS_BINDINGS = "list_access_bindings"
    SET_ACCESS_BINDINGS = "set_access_bindings"
    UPDATE_ACCESS_BINDINGS = "update_access_bindings"
    MOVE = "move"
    START = "start"
    STOP = "stop"
    RESTART = "restart"
    LIST_REFERRING = "list_referring"


class CheckKind(enum.StrEnum):
    """`Check.kind`, in the order in which the official reference pages list a field's
    constraints. Element-wise kinds apply to each element of a repeated field and each value of
    a map; `KEY_*` kinds to each map key."""

    REQUIRED = "required"
    LENGTH = "length"
    KEY_LENGTH = "key_length"
    KEY_PATTERN = "key_pattern"
    PATTERN = "pattern"
    VALUE = "value"
    KEY_VALUE = "key_value"
    BYTES = "bytes"
    SIZE = "size"
    UNIQUE = "unique"


class MaskKind(enum.StrEnum):
    """`MaskField.kind`: how an update mask may name a field."""

    SCALAR = "scalar"  # also enums and messages without updatable sub-fields
    MESSAGE = "message"  # by its sub-fields too
    MAP = "map"  # by its keys too
    REPEATED = "repeated"  # only as a whole


class StandardCall(enum.StrEnum):
    """The methods of `service.ResourceService` that generated servicers call."""

    GET = "standard_get"
    GET_WRAPPED = "standard_get_wrapped"
    LIST = "standard_list"
    LIST_OPERATIONS = "standard_list_operations"
    CREATE = "standard_create"
    UPDATE = "standard_update"
    DELETE = "standard_delete"
    ACTION = "standard_action"
    UNIMPLEMENTED = "unimplemented"


class ConnectionCall(enum.StrEnum):
    """The methods of a client connection (either flavour) that generated clients call."""

    CALL = "call"  # a unary rpc
    OPERATION = (
        "operation"  # an rpc that returns an Operation: gives an operation future
    )
    PAGES = "pages"  # a List: gives a pager over its pages and items


@dataclass(frozen=True)
class ClientFlavour:
    """The classes of `client` behind one flavour of generated client."""

    prefix: str  # of the generated class: `{prefix}ImageServiceClient`
    connection: str
    pager: str
    operation: str
    asynchronous: bool


CLIENT_FLAVOURS = (
    ClientFlavour("", "Connection", "Pager", "Operation", asynchronous=False),
    ClientFlavour(
        "Async", "AsyncConnection", "AsyncPager", "AsyncOperation", asynchronous=True
    ),
)


@dataclass(frozen=True)
class Bound:
    """An interval (each end inclusive or not, or open) or a set of allowed values."""

    low: Number | None = None
    high: Number | None = None
    low_inclusive: bool = True
    high_inclusive: bool = True
    allowed: tuple[Union[Number, str], ...] = ()

    @property
    def is_exact(self) -> bool:
        return self.low is not None and self.low == self.high

    def admits(self, value: Union[Number, str]) -> bool:
        if self.allowed:
            return value in self.allowed
        if isinstance(value, str) or value != value:  # NaN is inside no range
            return False
        if self.low is not None and (
            value < self.low or (value == self.low and not self.low_inclusive)
        ):
            return False
        if self.high is not None and (
            value > self.high or (value == self.high and not self.high_inclusive)
        ):
            return False
        return True


@dataclass(frozen=True)
class PathVariable:
    """`{field.path}` or `{field.path=segments}` in an HTTP path template: the request field it
    sets and the segments it matches (literals, `*` for one segment, `**` for the rest).
    """

    field_path: tuple[str, ...]
    segments: tuple[str, ...] = ("*",)


@dataclass(frozen=True)
class HttpRoute:
    """One binding of an rpc's `google.api.http` rule, as the generator read it (`http.py`):
    the HTTP method, the path's segments (literals, `*`, `**`, variables) and custom verb, and
    where the body goes ("" none, "*" the whole request, else a request field) and what the
    answer is ("" the whole response, else a response field)."""

    rpc: str  # its gRPC method path, `/package.Service/Method`
    method: str
    segments: tuple[Union[str, PathVariable], ...]
    verb: str = ""
    body: str = ""
    response_body: str = ""


class RuntimeVersionError(ImportError):
    """Generated code meets a runtime of another version."""


def require_version(version: str, module: str) -> None:
    """Called by each generated module with the runtime version it was generated with."""
    if version != VERSION:
        raise RuntimeVersionError(
            f"{module} was generated for {PACKAGE} {version}, but the {PACKAGE} beside it "
            f"is {VERSION}: regenerate every module of the tree in one run of the plugin "
            "(it writes the runtime that fits the code it writes)"
        )
