"""API errors: a gRPC status code, a message and `google.rpc` details, sent as the rich status."""

from __future__ import annotations

import functools
import logging
from typing import Callable, NamedTuple, NoReturn, ParamSpec, Sequence, TypeVar, cast

import grpc

from .context import CallContext
from google.protobuf import any_pb2
from google.protobuf.message import Message
from google.rpc import error_details_pb2, status_pb2

log = logging.getLogger(__name__)

# Where gRPC carries a serialized google.rpc.Status (what grpcio-status reads and writes).
STATUS_DETAILS_KEY = "grpc-status-details-bin"

# Every error answer stays well under gRPC's default 8 KiB limit on a client's received
# metadata, whatever the request held: past it the client reads RESOURCE_EXHAUSTED instead of
# the error. The message travels percent-encoded (up to 3 bytes per byte), the details base64
# (4 per 3): 512 + 2048 bytes become at most about 4.3 KiB.
MAX_MESSAGE_BYTES = 512
MAX_DETAILS_BYTES = 2048
MAX_VIOLATIONS = 20  # listed; the rest are counted in one last entry
ECHO_CHARS = 200  # of a value from the request, quoted in a message or a detail
TRUNCATED = "…(truncated)"


def clip(text: str, limit: int = ECHO_CHARS) -> str:
    """`text`, or its first `limit` characters and a marker if it is longer."""
    return text if len(text) <= limit else text[:limit] + TRUNCATED


def _clip_bytes(text: str, limit: int) -> str:
    """`text` cut so that it and the marker fit in `limit` UTF-8 bytes."""
    encoded = text.encode("utf-8", "surrogatepass")
    if len(encoded) <= limit:
        return text
    room = limit - len(TRUNCATED.encode("utf-8"))
    return encoded[:room].decode("utf-8", "ignore") + TRUNCATED


class ApiError(Exception):
    """Raised anywhere in a request (validation, storage, hooks) to answer with this status."""

    def __init__(
        self, code: grpc.StatusCode, message: str, details: Sequence[Message] = ()
    ) -> None:
        message = _clip_bytes(message, MAX_MESSAGE_BYTES)
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = tuple(details)

    def to_status(self) -> status_pb2.Status:
        """The google.rpc.Status; details past MAX_DETAILS_BYTES are left out (the helpers
        below make details that fit)."""
        packed = []
        size = 0
        for detail in self.details:
            item = any_pb2.Any()
            item.Pack(detail)
            size += item.ByteSize()
            if size > MAX_DETAILS_BYTES:
                break
            packed.append(item)
        return status_pb2.Status(
            code=self.code.value[0], message=self.message, details=packed
        )


class ServerFault(Exception):
    """A fault of the server rather than of the request, which lasts a while (its disk is
    full): each call that meets it answers `code` with this message. `rpc` does not log it:
    whoever raises it logs the fault once, when it begins."""

    def __init__(self, code: grpc.StatusCode, message: str) -> None:
        super().__init__(message)
        self.code = code


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


def abort(context: CallContext, error: ApiError) -> NoReturn:
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
    """INVALID_ARGUMENT with a BadRequest of the first violations (at most MAX_VIOLATIONS,
    each clipped, together within MAX_DETAILS_BYTES) and one more entry that counts the rest.
    """
    detail = error_details_pb2.BadRequest()
    budget = MAX_DETAILS_BYTES - 100  # room for the Any wrapper and the count entry
    for item in violations[:MAX_VIOLATIONS]:
        entry = error_details_pb2.BadRequest.FieldViolation(
            field=clip(item.field, 100), description=clip(item.description, 300)
        )
        budget -= entry.ByteSize() + 3  # the field's tag and length
        if budget < 0:
            break
        detail.field_violations.append(entry)
    listed = [(item.field, item.description) for item in detail.field_violations]
    rest = len(violations) - len(listed)
    if rest:
        more = f"and {rest} more violation{'s' if rest > 1 else ''}, not listed"
        detail.field_violations.add(field="", description=more)
        listed.append(("", more))
    summary = "; ".join(f"{field}: {text}" if field else text for field, text in listed)
    return ApiError(
        grpc.StatusCode.INVALID_ARGUMENT,
        f"Request validation error: {summary}",
        [detail],
    )


def not_found(kind: str, resource_id: str) -> ApiError:
    resource_id = clip(resource_id)
    detail = error_details_pb2.ResourceInfo(
        resource_type=kind,
        resource_name=resource_id,
        description=f"{kind} {resource_id} not found",
    )
    return ApiError(
        grpc.StatusCode.NOT_FOUND, f"{kind} {resource_id!r} not found", [detail]
    )


def already_exists(kind: str, field: str, value: str, owner: str) -> ApiError:
    value, owner = clip(value), clip(owner)
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
    name, reason = clip(name), clip(reason, 2 * ECHO_CHARS)
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

    An ApiError becomes its own status, a ServerFault its code and message (unlogged: it was
    logged when it began); anything else is a server bug: logged, and INTERNAL.
    """

    @functools.wraps(handler)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return handler(*args, **kwargs)
        except ApiError as error:
            failure = error
        except ServerFault as fault:
            failure = ApiError(fault.code, str(fault))
        except Exception:
            log.exception("unexpected error in %s", handler.__qualname__)
            failure = ApiError(grpc.StatusCode.INTERNAL, "Internal server error")
        abort(cast(CallContext, args[-1]), failure)

    return wrapper
