"""API errors: a gRPC status code, a message and `google.rpc` details, sent as the rich status."""

from __future__ import annotations

import functools
import logging
from typing import Callable, NamedTuple, NoReturn, ParamSpec, Sequence, TypeVar, cast

import grpc
from google.protobuf import any_pb2
from google.protobuf.message import Message
from google.rpc import error_details_pb2, status_pb2

log = logging.getLogger(__name__)

# Where gRPC carries a serialized google.rpc.Status (what grpcio-status reads and writes).
STATUS_DETAILS_KEY = "grpc-status-details-bin"


class ApiError(Exception):
    """Raised anywhere in a request (validation, storage, hooks) to answer with this status."""

    def __init__(
        self, code: grpc.StatusCode, message: str, details: Sequence[Message] = ()
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = tuple(details)

    def to_status(self) -> status_pb2.Status:
        packed = []
        for detail in self.details:
            item = any_pb2.Any()
            item.Pack(detail)
            packed.append(item)
        return status_pb2.Status(
            code=self.code.value[0], message=self.message, details=packed
        )


class RichStatus(grpc.Status):
    """A grpc.Status carrying the google.rpc.Status in trailing metadata, after `kept`."""

    def __init__(
        self, error: ApiError, kept: Sequence[tuple[str, str | bytes]] = ()
    ) -> None:
        self.code = error.code
        self.details = error.message
        self.trailing_metadata = (
            *kept,
            (STATUS_DETAILS_KEY, error.to_status().SerializeToString()),
        )


def abort(context: grpc.ServicerContext, error: ApiError) -> NoReturn:
    # The status replaces the call's trailing metadata: keep what is there (the request ids).
    context.abort_with_status(RichStatus(error, context.trailing_metadata() or ()))
    raise AssertionError(
        "abort_with_status returned"
    )  # grpc raises; keeps NoReturn true


class Violation(NamedTuple):
    """One invalid field: its path (`labels.my_key`, `items[2].name`) and what was expected."""

    field: str
    description: str


def invalid_argument(violations: Sequence[Violation]) -> ApiError:
    detail = error_details_pb2.BadRequest(
        field_violations=[
            error_details_pb2.BadRequest.FieldViolation(
                field=item.field, description=item.description
            )
            for item in violations
        ]
    )
    summary = "; ".join(f"{item.field}: {item.description}" for item in violations)
    return ApiError(
        grpc.StatusCode.INVALID_ARGUMENT,
        f"Request validation error: {summary}",
        [detail],
    )


def not_found(kind: str, resource_id: str) -> ApiError:
    detail = error_details_pb2.ResourceInfo(
        resource_type=kind,
        resource_name=resource_id,
        description=f"{kind} {resource_id} not found",
    )
    return ApiError(
        grpc.StatusCode.NOT_FOUND, f"{kind} {resource_id!r} not found", [detail]
    )


def already_exists(kind: str, field: str, value: str, owner: str) -> ApiError:
    detail = error_details_pb2.ResourceInfo(
        resource_type=kind,
        resource_name=value,
        owner=owner,
        description=f"{field} {value!r} is already used in {owner or 'this scope'}",
    )
    where = f" in {owner}" if owner else ""
    return ApiError(
        grpc.StatusCode.ALREADY_EXISTS,
        f"{kind} with {field} {value!r} already exists{where}",
        [detail],
    )


def permission_denied(kind: str, name: str, reason: str) -> ApiError:
    """The caller may not touch `name` (a `kind`, e.g. a folder or an image; "": any)."""
    detail = error_details_pb2.ResourceInfo(
        resource_type=kind, resource_name=name, description=reason
    )
    target = f"{kind} {name!r}" if name else f"{kind}s"
    return ApiError(
        grpc.StatusCode.PERMISSION_DENIED,
        f"Permission denied to {target}: {reason}",
        [detail],
    )


P = ParamSpec("P")
T = TypeVar("T")


def rpc(handler: Callable[P, T]) -> Callable[P, T]:
    """Turns errors of a servicer method into statuses; its last argument is the context.

    An ApiError becomes its own status; anything else is a server bug: logged, and INTERNAL.
    """

    @functools.wraps(handler)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return handler(*args, **kwargs)
        except ApiError as error:
            failure = error
        except Exception:
            log.exception("unexpected error in %s", handler.__qualname__)
            failure = ApiError(grpc.StatusCode.INTERNAL, "Internal server error")
        abort(cast(grpc.ServicerContext, args[-1]), failure)

    return wrapper
