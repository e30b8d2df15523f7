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

A `Gate` tells whether the server still takes calls. grpc hands the interceptor each call as it
takes it in; once the gate is closed (the server is stopping), the call is answered UNAVAILABLE
without being started, which clients retry. The gate also counts the calls running, and notes
when grpc last handed one over, so that the server can wait for the calls it took, and for grpc
to hand over the calls it holds, before grpc stops: grpc's own stop cancels every call it has
not handed over yet, and under load dozens are waiting. Services in `UNGATED_SERVICES` (health
checking) pass the gate and are not counted: while the server drains, the health service
answers NOT_SERVING rather than UNAVAILABLE, and a client's `Watch` stream, which lasts as long
as the client keeps it, does not hold the drain up.

Given an `access_log`, the wrapper hands it one line per call: method, status code, duration
and request id, and the peer. `log_to_logger` logs it to the logger `ACCESS_LOGGER`; `logs`
writes it faster. Without one, the wrapper neither reads the clock nor formats anything.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any, Callable, Iterator, NoReturn, TypeAlias

import grpc

from .auth import Authenticator
from .errors import ApiError, Violation, abort, clip, invalid_argument
from .ids import new_request_id

REQUEST_ID = "x-request-id"
CLIENT_REQUEST_ID = "x-client-request-id"
# The longest x-client-request-id accepted, in characters: a UUID has 36.
MAX_CLIENT_REQUEST_ID = 128
HEALTH_SERVICE = "grpc.health.v1.Health"
REFLECTION_SERVICES = frozenset(
    {"grpc.reflection.v1alpha.ServerReflection", "grpc.reflection.v1.ServerReflection"}
)
PUBLIC_SERVICES = frozenset(
    {"yandex.cloud.endpoint.ApiEndpointService", HEALTH_SERVICE, *REFLECTION_SERVICES}
)
UNGATED_SERVICES = frozenset({HEALTH_SERVICE})
# One line per call: its arguments are, in order, `ACCESS_FIELDS`.
ACCESS_LOGGER = f"{__name__}.access"  # yc_runtime.calls.access
ACCESS_FIELDS = ("method", "code", "duration_ms", "request_id", "peer")
_access_log = logging.getLogger(ACCESS_LOGGER)

# Takes the access line of a call: method, code, duration in ms, request id, peer.
AccessLog: TypeAlias = Callable[[str, str, float, str, str], None]


def log_to_logger(
    method: str, code: str, duration_ms: float, request_id: str, peer: str
) -> None:
    """An AccessLog: the line as a record of the logger `ACCESS_LOGGER`."""
    _access_log.info(
        "%s %s %.2f ms request_id=%s peer=%s",
        method,
        code,
        duration_ms,
        request_id,
        peer,
    )


# grpc's classes are generic only in its type stubs.
Handler: TypeAlias = "grpc.RpcMethodHandler[Any, Any]"


def service_name(method: str) -> str:
    """`yandex.cloud.operation.OperationService` of `/yandex.cloud.operation.OperationService/Get`."""
    return method.lstrip("/").partition("/")[0]


class Gate:
    """Whether the server takes calls (open until it begins to stop), how many of the calls it
    took are running, and when grpc last handed one over."""

    def __init__(self) -> None:
        self.open = True
        self.last_call = 0.0  # time.monotonic() when grpc last handed a call over
        self._running = 0
        self._changed = threading.Condition(threading.Lock())

    def close(self) -> None:
        """From now on calls that grpc hands over are answered UNAVAILABLE, not started.

        Counts as a call handed over, for `wait_until_quiet`: a call on its way may not have
        reached grpc yet."""
        self.last_call = time.monotonic()
        self.open = False

    def wait_until_quiet(self, quiet: float, deadline: float) -> None:
        """Waits until grpc has handed no call over for `quiet` seconds, or until `deadline`
        (time.monotonic())."""
        while True:
            now = time.monotonic()
            until = min(self.last_call + quiet, deadline)
            if now >= until:
                return
            time.sleep(until - now)

    def wait_until_idle(self, timeout: float) -> bool:
        """Waits until no call is running, for at most `timeout` seconds; whether none is."""
        with self._changed:
            return self._changed.wait_for(lambda: not self._running, timeout)

    def enter(self) -> None:
        with self._changed:
            self._running += 1

    def leave(self) -> None:
        with self._changed:
            self._running -= 1
            if not self._running and not self.open:
                self._changed.notify_all()


SHUTTING_DOWN = "The server is shutting down: the call was not started; retry it"
_clock = time.monotonic


class CallInterceptor(grpc.ServerInterceptor):
    def __init__(
        self,
        authenticator: Authenticator,
        public_services: frozenset[str] = PUBLIC_SERVICES,
        gate: Gate | None = None,
        ungated_services: frozenset[str] = UNGATED_SERVICES,
        access_log: AccessLog | None = None,
    ) -> None:
        self._authenticator = authenticator
        self._public = public_services
        self._gate = gate or Gate()
        self._ungated = ungated_services
        self._access_log = access_log
        # The wrapped handler of each method, built once: gRPC asks for it on every call.
        self._wrapped: dict[str, Handler] = {}

    def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Handler | None],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> Handler | None:
        method = handler_call_details.method
        gate = self._gate
        gate.last_call = _clock()
        wrapped = self._wrapped.get(method)
        if wrapped is not None and (gate.open or service_name(method) in self._ungated):
            return wrapped
        handler = continuation(handler_call_details)
        if handler is None:  # an unknown method: gRPC answers UNIMPLEMENTED itself
            return None
        service = service_name(method)
        ungated = service in self._ungated
        if not gate.open and not ungated:
            return _wrapped(handler, method, _refuse, None, self._access_log)
        public = service in self._public
        authenticator = self._authenticator

        def admit(context: grpc.ServicerContext, refused: ApiError | None) -> None:
            if not public:
                try:
                    authenticator.principal(context)
                except ApiError as error:
                    abort(context, error)
            if refused is not None:
                abort(context, refused)

        wrapped = self._wrapped[method] = _wrapped(
            handler, method, admit, None if ungated else gate, self._access_log
        )
        return wrapped


def _refuse(context: grpc.ServicerContext, refused: ApiError | None) -> NoReturn:
    abort(context, ApiError(grpc.StatusCode.UNAVAILABLE, SHUTTING_DOWN))


def set_request_ids(context: grpc.ServicerContext) -> ApiError | None:
    """Sets `x-request-id` and echoes `x-client-request-id`; returns the error of a client
    request id too long to echo (which is left out), else None."""
    return _set_request_ids(context)[1]


def _set_request_ids(context: grpc.ServicerContext) -> tuple[str, ApiError | None]:
    """`set_request_ids`, which also returns the request id it set."""
    request_id = new_request_id()
    metadata: list[tuple[str, str | bytes]] = [(REQUEST_ID, request_id)]
    refused = None
    for key, value in context.invocation_metadata() or ():
        if key == CLIENT_REQUEST_ID:
            if len(value) <= MAX_CLIENT_REQUEST_ID:
                metadata.append((key, value))
            else:
                refused = invalid_argument([_CLIENT_REQUEST_ID_TOO_LONG])
            break
    context.set_trailing_metadata(tuple(metadata))
    return request_id, refused


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
    handler: Handler,
    method: str,
    admit: Callable[[grpc.ServicerContext, ApiError | None], None],
    gate: Gate | None,
    access_log: AccessLog | None,
) -> Handler:
    """The same handler, with the request ids set and `admit(context, refused)` run before
    its behaviour (`refused`: the error of a client request id too long), requests that do
    not decode answered INVALID_ARGUMENT, calls counted by `gate` as they run, and, given an
    `access_log`, one line logged per call."""
    for kind, streamed, make in _KINDS:
        behaviour = getattr(handler, kind)
        if behaviour is not None:
            answers_streamed = kind.endswith("_stream")

            def call(request: Any, context: grpc.ServicerContext) -> Any:
                started = _clock() if access_log is not None else 0.0
                request_id = ""
                if gate is not None:
                    gate.enter()
                try:
                    request_id, refused = _set_request_ids(context)
                    admit(context, refused)
                    if streamed:
                        request = _checked_stream(request, context)
                    elif isinstance(request, Undecodable):
                        abort(context, request.error())
                    answer = behaviour(request, context)
                except BaseException:
                    if access_log is not None:
                        _log_call(
                            access_log, method, context, started, request_id, _FAILED
                        )
                    raise
                finally:
                    if gate is not None:
                        gate.leave()
                if access_log is not None:
                    if answers_streamed:
                        return _logged_stream(
                            answer, access_log, method, context, started, request_id
                        )
                    _log_call(access_log, method, context, started, request_id, _OK)
                return answer

            return make(
                call,
                tolerant(handler.request_deserializer),
                handler.response_serializer,
            )
    return handler


# The code of a call that raised without setting one: grpc answers UNKNOWN.
_FAILED = grpc.StatusCode.UNKNOWN
_OK = grpc.StatusCode.OK


def _log_call(
    access_log: AccessLog,
    method: str,
    context: Any,  # grpc's context (its type stubs lack code()), or rest.HttpCallContext
    started: float,
    request_id: str,
    otherwise: grpc.StatusCode,
) -> None:
    """The access line of a call that has ended: its code is the one the handler set, or an
    abort set before it raised, else `otherwise`."""
    code = context.code() or otherwise
    # grpc fails a stream whose client has left.
    if code is _FAILED and not context.is_active():
        code = grpc.StatusCode.CANCELLED
    duration_ms = (_clock() - started) * 1000
    access_log(method, code.name, duration_ms, request_id, context.peer())


def _logged_stream(
    answers: Iterator[Any],
    access_log: AccessLog,
    method: str,
    context: grpc.ServicerContext,
    started: float,
    request_id: str,
) -> Iterator[Any]:
    """`answers`, logged once the stream has ended (or failed, or the client left)."""
    otherwise = _FAILED
    try:
        yield from answers
        otherwise = _OK
    except GeneratorExit:  # grpc closes the stream: the client cancelled or left
        otherwise = grpc.StatusCode.CANCELLED
        raise
    finally:
        _log_call(access_log, method, context, started, request_id, otherwise)
