"""What every call goes through before its servicer: request ids, then authentication.

`CallInterceptor` wraps each method handler. Its wrapper first sets the trailing metadata
`x-request-id` (a fresh UUID) and echoes `x-client-request-id` when the caller sent one, so both
come back with every answer, success or error (`errors.abort` keeps them). Trailing rather than
initial metadata: grpcio sends initial metadata set by hand in a batch of its own, which costs
more than a tenth of the server's throughput. Then, when tokens are configured, it rejects a
call without a valid `authorization: Bearer TOKEN` with UNAUTHENTICATED (a rich status like every
error). Services in `PUBLIC_SERVICES` need no token: the official SDK discovers endpoints before
it authenticates. Authorization (which parents a token may touch) is the services' business:
see `Runtime.principal()`.

A client request id longer than `MAX_CLIENT_REQUEST_ID` characters is not echoed, and the call
is INVALID_ARGUMENT (once authenticated): echoed whole, one header would make every answer,
errors included, pass the 8 KiB of metadata a client accepts; cut, it would be an id the client
never sent.

Requests are decoded by the wrapper too: bytes that do not decode as the request message
(invalid UTF-8 in a string field, truncated or garbage bytes, groups nested past the parser's
limit) are answered INVALID_ARGUMENT with a short reason, where grpcio itself would answer
INTERNAL and log a traceback.

Streaming handlers are wrapped the same way; each message of a request stream is decoded alike.
"""

from __future__ import annotations

from typing import Any, Callable, Iterator, TypeAlias

import grpc

from .auth import Authenticator
from .errors import ApiError, Violation, abort, clip, invalid_argument
from .ids import new_request_id

REQUEST_ID = "x-request-id"
CLIENT_REQUEST_ID = "x-client-request-id"
# The longest x-client-request-id accepted, in characters: a UUID has 36.
MAX_CLIENT_REQUEST_ID = 128
PUBLIC_SERVICES = frozenset({"yandex.cloud.endpoint.ApiEndpointService"})

# grpc's classes are generic only in its type stubs.
Handler: TypeAlias = "grpc.RpcMethodHandler[Any, Any]"


def service_name(method: str) -> str:
    """`yandex.cloud.operation.OperationService` of `/yandex.cloud.operation.OperationService/Get`."""
    return method.lstrip("/").partition("/")[0]


class CallInterceptor(grpc.ServerInterceptor):
    def __init__(
        self,
        authenticator: Authenticator,
        public_services: frozenset[str] = PUBLIC_SERVICES,
    ) -> None:
        self._authenticator = authenticator
        self._public = public_services
        # The wrapped handler of each method, built once: gRPC asks for it on every call.
        self._wrapped: dict[str, Handler] = {}

    def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Handler | None],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> Handler | None:
        method = handler_call_details.method
        wrapped = self._wrapped.get(method)
        if wrapped is not None:
            return wrapped
        handler = continuation(handler_call_details)
        if handler is None:  # an unknown method: gRPC answers UNIMPLEMENTED itself
            return None
        public = service_name(method) in self._public
        authenticator = self._authenticator

        def prepare(context: grpc.ServicerContext) -> None:
            refused = set_request_ids(context)
            if not public:
                try:
                    authenticator.principal(context)
                except ApiError as error:
                    abort(context, error)
            if refused is not None:
                abort(context, refused)

        wrapped = self._wrapped[method] = _wrapped(handler, prepare)
        return wrapped


def set_request_ids(context: grpc.ServicerContext) -> ApiError | None:
    """Sets `x-request-id` and echoes `x-client-request-id`; returns the error of a client
    request id too long to echo (which is left out), else None."""
    metadata: list[tuple[str, str | bytes]] = [(REQUEST_ID, new_request_id())]
    refused = None
    for key, value in context.invocation_metadata() or ():
        if key == CLIENT_REQUEST_ID:
            if len(value) <= MAX_CLIENT_REQUEST_ID:
                metadata.append((key, value))
            else:
                refused = invalid_argument([_CLIENT_REQUEST_ID_TOO_LONG])
            break
    context.set_trailing_metadata(tuple(metadata))
    return refused


_CLIENT_REQUEST_ID_TOO_LONG = Violation(
    CLIENT_REQUEST_ID,
    f"The maximum string length in characters is {MAX_CLIENT_REQUEST_ID}.",
)


class Undecodable:
    """What the wrapper's deserializer returns for bytes that are not a request message."""

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def error(self) -> ApiError:
        return invalid_argument(
            [Violation("", f"The request could not be decoded: {self.reason}")]
        )


def tolerant(deserializer: Callable[[bytes], Any] | None) -> Callable[[bytes], Any]:
    """`deserializer`, returning an Undecodable instead of raising."""

    def decode(data: bytes) -> Any:
        if deserializer is None:
            return data
        try:
            return deserializer(data)
        # DecodeError, or whatever a custom deserializer raises.
        except Exception as error:
            return Undecodable(clip(str(error)))

    return decode


def _checked_stream(
    requests: Iterator[Any], context: grpc.ServicerContext
) -> Iterator[Any]:
    for request in requests:
        if isinstance(request, Undecodable):
            abort(context, request.error())
        yield request


# The four kinds of method handler: the attribute that holds the behaviour, whether requests
# come as a stream, and how to make one.
_KINDS: tuple[tuple[str, bool, Callable[..., Handler]], ...] = (
    ("unary_unary", False, grpc.unary_unary_rpc_method_handler),
    ("unary_stream", False, grpc.unary_stream_rpc_method_handler),
    ("stream_unary", True, grpc.stream_unary_rpc_method_handler),
    ("stream_stream", True, grpc.stream_stream_rpc_method_handler),
)


def _wrapped(
    handler: Handler, prepare: Callable[[grpc.ServicerContext], None]
) -> Handler:
    """The same handler, with `prepare(context)` run before its behaviour, and requests that
    do not decode answered INVALID_ARGUMENT."""
    for kind, streamed, make in _KINDS:
        behaviour = getattr(handler, kind)
        if behaviour is not None:

            def call(request: Any, context: grpc.ServicerContext) -> Any:
                prepare(context)
                if streamed:
                    request = _checked_stream(request, context)
                elif isinstance(request, Undecodable):
                    abort(context, request.error())
                return behaviour(request, context)

            return make(
                call,
                tolerant(handler.request_deserializer),
                handler.response_serializer,
            )
    return handler
