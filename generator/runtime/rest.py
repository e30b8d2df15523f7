"""The REST face of the server: HTTP/JSON transcoding of the services' `google.api.http` rules.

A transport, not a second implementation: an HTTP request becomes the rpc's request message
(path variables, query parameters and body as `google/api/http.proto` says, in the protobuf
JSON mapping), and goes through the very handler gRPC calls, wrapped by the same
`CallInterceptor` (request ids, authentication, the shutdown gate), with a `CallContext` that
reads headers as metadata. The answer is the response message as JSON, or an error in Yandex's
JSON shape, `{"code": <gRPC code>, "message": ..., "details": [...]}`, under the HTTP status the
gRPC code maps to.

The routes come from the generated servicers' `HTTP_ROUTES` (the generator read the rules) and
from the framework services' own. The HTTP server is uvicorn (an ASGI server), imported only
when a REST port is asked for: a server without one does not need it.
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
import threading
import time
from concurrent import futures
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Iterable, Mapping, NoReturn, Sequence
from urllib.parse import parse_qsl, unquote

import grpc
from google.protobuf import json_format
from google.protobuf.message import Message
from google.rpc import status_pb2

from .calls import CallInterceptor
from .context import Metadatum
from .contract import HttpRoute, PathVariable
from .errors import (
    STATUS_DETAILS_KEY,
    ApiError,
    RichStatus,
    Violation,
    clip,
    invalid_argument,
)

# The gRPC code's HTTP status (the gRPC-HTTP mapping; FAILED_PRECONDITION as 412, as Yandex's
# gateway answers it).
HTTP_STATUS = {
    grpc.StatusCode.OK: 200,
    grpc.StatusCode.CANCELLED: 499,
    grpc.StatusCode.UNKNOWN: 500,
    grpc.StatusCode.INVALID_ARGUMENT: 400,
    grpc.StatusCode.DEADLINE_EXCEEDED: 504,
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.ALREADY_EXISTS: 409,
    grpc.StatusCode.PERMISSION_DENIED: 403,
    grpc.StatusCode.RESOURCE_EXHAUSTED: 429,
    grpc.StatusCode.FAILED_PRECONDITION: 412,
    grpc.StatusCode.ABORTED: 409,
    grpc.StatusCode.OUT_OF_RANGE: 400,
    grpc.StatusCode.UNIMPLEMENTED: 501,
    grpc.StatusCode.INTERNAL: 500,
    grpc.StatusCode.UNAVAILABLE: 503,
    grpc.StatusCode.DATA_LOSS: 500,
    grpc.StatusCode.UNAUTHENTICATED: 401,
}
# The largest body taken, as gRPC's default largest message.
MAX_BODY = 4 * 1024 * 1024
# How long a call may run, as a deadline a gRPC client would set.
CALL_TIMEOUT = 60.0
# Headers passed to the method layer as the gRPC metadata of the same names.
METADATA_HEADERS = frozenset(
    {"authorization", "idempotency-key", "x-request-id", "x-client-request-id"}
)
_JSON = [(b"content-type", b"application/json")]

Handler = Any  # a grpc.RpcMethodHandler


class Aborted(BaseException):
    """A call ended with a status (BaseException: no handler's `except Exception` swallows it,
    as none swallows grpc's own abort)."""

    def __init__(self, status: grpc.Status | _Status) -> None:
        super().__init__(status.details)
        self.status = status


class HttpCallContext:
    """A `CallContext` over an HTTP request: its headers as incoming metadata. Like grpc's
    context it also tells the peer and the code the call ended with (for the access log).
    """

    def __init__(self, metadata: Sequence[Metadatum], peer: str = "") -> None:
        self._metadata = metadata
        self._peer = peer
        self._trailing: Sequence[Metadatum] = ()
        self._deadline = time.monotonic() + CALL_TIMEOUT
        self._code: grpc.StatusCode | None = None

    def invocation_metadata(self) -> Sequence[Metadatum]:
        return self._metadata

    def set_trailing_metadata(self, trailing_metadata: tuple[Metadatum, ...]) -> None:
        self._trailing = tuple(trailing_metadata)

    def trailing_metadata(self) -> Sequence[Metadatum]:
        return self._trailing

    def abort_with_status(self, status: grpc.Status) -> NoReturn:
        self._code = status.code
        raise Aborted(status)

    def abort(self, code: grpc.StatusCode, details: str) -> NoReturn:
        self._code = code
        raise Aborted(_Status(code, details, ()))

    def code(self) -> grpc.StatusCode | None:
        """The code the call was aborted with; None while it has not been."""
        return self._code

    def peer(self) -> str:
        """`http:HOST:PORT` of the client (grpc's peers read `ipv4:HOST:PORT`)."""
        return self._peer

    def time_remaining(self) -> float:
        return max(0.0, self._deadline - time.monotonic())

    def is_active(self) -> bool:
        return True


@dataclass(frozen=True)
class _Status:
    code: grpc.StatusCode
    details: str
    trailing_metadata: Sequence[Metadatum]


@dataclass(frozen=True)
class Route:
    """One binding, matched by a regular expression made from its segments."""

    binding: HttpRoute
    pattern: re.Pattern[str]
    variables: tuple[tuple[str, ...], ...]  # the field path of each group, in order
    handler: Handler
    request: type[Message]


def _segment_pattern(segment: str) -> str:
    if segment == "*":
        return "[^/]+"
    if segment == "**":
        return ".+"
    return re.escape(segment)


def compile_route(
    binding: HttpRoute, handler: Handler, request: type[Message]
) -> Route:
    """The route of a binding served by `handler`, whose requests are `request` messages."""
    parts: list[str] = []
    variables: list[tuple[str, ...]] = []
    for segment in binding.segments:
        if isinstance(segment, PathVariable):
            inner = "/".join(_segment_pattern(part) for part in segment.segments)
            parts.append(f"({inner})")
            variables.append(segment.field_path)
        else:
            parts.append(_segment_pattern(segment))
    verb = f":{re.escape(binding.verb)}" if binding.verb else ""
    pattern = re.compile("/" + "/".join(parts) + verb)
    return Route(binding, pattern, tuple(variables), handler, request)


class HandlerCollector:
    """Collects the method handlers servicers register, as a grpc.Server would."""

    def __init__(self) -> None:
        self.generic: list[Any] = []
        self.registered: dict[str, Handler] = {}

    def add_generic_rpc_handlers(self, handlers: Iterable[Any]) -> None:
        self.generic.extend(handlers)

    def add_registered_method_handlers(
        self, service: str, handlers: Mapping[str, Handler]
    ) -> None:
        for name, handler in handlers.items():
            self.registered[f"/{service}/{name}"] = handler

    def find(self, method: str) -> Handler | None:
        if method in self.registered:
            return self.registered[method]
        details = _CallDetails(method, ())
        for generic in self.generic:
            handler = generic.service(details)
            if handler is not None:
                return handler
        return None


class _CallDetails(grpc.HandlerCallDetails):
    """Which method a handler is asked for (what grpc hands an interceptor)."""

    def __init__(self, method: str, metadata: tuple[Metadatum, ...]) -> None:
        self.method = method
        self.invocation_metadata = metadata


class Answer:
    """What goes back: an HTTP status, a JSON body, the headers of the trailing metadata."""

    def __init__(self, status: int, body: bytes, headers: Sequence[Metadatum]) -> None:
        self.status = status
        self.body = body
        self.headers = headers


def error_answer(code: grpc.StatusCode, message: str, http: int = 0) -> Answer:
    """An error the transport itself finds (no route, bad JSON), in Yandex's shape."""
    body = {"code": code.value[0], "message": clip(message, 300), "details": []}
    return Answer(http or HTTP_STATUS[code], json.dumps(body).encode(), ())


class Gateway:
    """The routes of the served services, and the translation of one HTTP request."""

    def __init__(
        self,
        servicers: Iterable[Any],
        interceptor: CallInterceptor,
    ) -> None:
        collector = HandlerCollector()
        routes: list[HttpRoute] = []
        for servicer in servicers:
            servicer.add_to_server(collector)
            routes += getattr(servicer, "HTTP_ROUTES", ())
        self._interceptor = interceptor
        self._collector = collector
        self.routes: dict[str, list[Route]] = {}
        claimed: dict[tuple[str, str], str] = {}
        for binding in routes:
            key = (binding.method, _template(binding))
            if key in claimed:
                raise ValueError(
                    f"{binding.method} {key[1]} is bound by both {claimed[key]} and "
                    f"{binding.rpc}: on one port a path must name one rpc"
                )
            claimed[key] = binding.rpc
            raw = collector.find(binding.rpc)
            if raw is None or raw.unary_unary is None:
                continue
            # The servicer's deserializer is the request class's FromString.
            request = raw.request_deserializer.__self__
            self.routes.setdefault(binding.method, []).append(
                compile_route(binding, self._handler(binding.rpc), request)
            )
        # A path with a custom verb is tried before one whose variable could swallow it, and
        # one with fewer variables (more literals) before one that also matches its paths.
        for bound in self.routes.values():
            bound.sort(key=lambda route: (not route.binding.verb, len(route.variables)))

    def _handler(self, method: str) -> Handler | None:
        def continuation(details: Any) -> Handler | None:
            return self._collector.find(details.method)

        return self._interceptor.intercept_service(
            continuation, _CallDetails(method, ())
        )

    def match(self, method: str, path: str) -> tuple[Route, list[str]] | Answer:
        for route in self.routes.get(method, ()):
            found = route.pattern.fullmatch(path)
            if found:
                return route, [unquote(value) for value in found.groups()]
        if any(
            route.pattern.fullmatch(path)
            for other, bound in self.routes.items()
            if other != method
            for route in bound
        ):
            return error_answer(
                grpc.StatusCode.UNIMPLEMENTED,
                f"method {method} is not allowed on {path}",
                http=405,
            )
        return error_answer(
            grpc.StatusCode.NOT_FOUND, f"no method is served at {method} {path}"
        )

    def handle(
        self,
        method: str,
        path: str,
        query: str,
        headers: Sequence[tuple[str, str]],
        body: bytes,
        peer: str = "",
    ) -> Answer:
        """One HTTP request, answered (in a worker thread: the handlers block). `peer` names
        the client, as the access log shows it."""
        matched = self.match(method, path)
        if isinstance(matched, Answer):
            return matched
        route, values = matched
        metadata = tuple((k, v) for k, v in headers if k in METADATA_HEADERS)
        context = HttpCallContext(metadata, peer)
        try:
            request = self._request(route, values, query, headers, body)
        except ApiError as error:
            return _status_answer(RichStatus(error))
        try:
            response = route.handler.unary_unary(request, context)
        except Aborted as aborted:
            return _status_answer(aborted.status)
        answer = response
        if route.binding.response_body:
            answer = getattr(response, route.binding.response_body)
        text = json_format.MessageToJson(answer, indent=None)
        return Answer(200, text.encode(), tuple(context.trailing_metadata()))

    def _request(
        self,
        route: Route,
        values: Sequence[str],
        query: str,
        headers: Sequence[tuple[str, str]],
        body: bytes,
    ) -> Message:
        """The request message: the body, then the query, then the path's variables."""
        binding = route.binding
        document: dict[str, Any] = {}
        if binding.body:
            content_type = next((v for k, v in headers if k == "content-type"), "")
            if body and "json" not in content_type.lower():
                raise _bad(
                    f"the body must be JSON (Content-Type: application/json), not {content_type or 'untyped'}"
                )
            try:
                # No body leaves the body's field unset; `{}` sets it, empty.
                parsed = json.loads(body) if body.strip() else None
            except (ValueError, UnicodeDecodeError) as error:
                raise _bad(f"the body is not valid JSON: {error}") from None
            if binding.body == "*":
                if parsed is not None and not isinstance(parsed, dict):
                    raise _bad("the body must be a JSON object")
                document = parsed or {}
            elif parsed is not None:
                _set(document, tuple(binding.body.split(".")), parsed)
        if query and binding.body != "*":
            for key, value in parse_qsl(query, keep_blank_values=True):
                _add(document, tuple(key.split(".")), value)
        for field_path, value in zip(route.variables, values):
            _set(document, field_path, value)
        request = route.request()
        try:
            json_format.ParseDict(_typed(document, route.request.DESCRIPTOR), request)
        except json_format.ParseError as error:
            raise _parse_error(str(error), route.request.DESCRIPTOR.full_name) from None
        return request


def _template(binding: HttpRoute) -> str:
    """The paths a binding matches, whatever its variables are named: `/images/{*}`."""
    parts = [
        "{" + "/".join(s.segments) + "}" if isinstance(s, PathVariable) else s
        for s in binding.segments
    ]
    return "/" + "/".join(parts) + (f":{binding.verb}" if binding.verb else "")


def _bad(message: str, field: str = "") -> ApiError:
    return invalid_argument([Violation(field, message)])


_UNKNOWN_FIELD = re.compile(r'has no field named "([^"]+)" at "([^"]+)"')


def _parse_error(message: str, request: str) -> ApiError:
    """What json_format refuses, briefly: an unknown field by its path in the request."""
    unknown = _UNKNOWN_FIELD.search(message)
    if unknown:
        name, where = unknown.groups()
        field = ".".join([*where.split(".")[1:], name])
        return _bad(f"{request} has no field {field!r}", field)
    return _bad(message.split("\n", 1)[0])


def _set(document: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    for name in path[:-1]:
        document = document.setdefault(name, {})
    document[path[-1]] = value


def _add(document: dict[str, Any], path: tuple[str, ...], value: str) -> None:
    """A query parameter: repeated keys make a list."""
    for name in path[:-1]:
        document = document.setdefault(name, {})
    key = path[-1]
    if key in document:
        existing = document[key]
        document[key] = (existing if isinstance(existing, list) else [existing]) + [
            value
        ]
    else:
        document[key] = value


def _typed(document: dict[str, Any], descriptor: Any) -> dict[str, Any]:
    """Query and path values are strings: booleans and repeated fields as JSON has them."""
    fields = {
        **descriptor.fields_by_name,
        **{f.json_name: f for f in descriptor.fields},
    }
    typed: dict[str, Any] = {}
    for key, value in document.items():
        field = fields.get(key)
        if field is None:
            typed[key] = value
            continue
        repeated = field.is_repeated and not (
            field.message_type and field.message_type.GetOptions().map_entry
        )
        if repeated and not isinstance(value, list):
            value = [value]
        if field.message_type and isinstance(value, dict) and not repeated:
            value = _typed(value, field.message_type)
        elif field.type == field.TYPE_BOOL:
            value = (
                [_bool(v) for v in value] if isinstance(value, list) else _bool(value)
            )
        typed[key] = value
    return typed


def _bool(value: Any) -> Any:
    return (
        {"true": True, "false": False}.get(value, value)
        if isinstance(value, str)
        else value
    )


def _status_answer(status: grpc.Status | _Status) -> Answer:
    """An aborted call's status as Yandex's JSON error, with its trailing metadata as headers."""
    code = status.code
    details = b""
    headers = []
    for key, value in status.trailing_metadata or ():
        if key == STATUS_DETAILS_KEY:
            details = value if isinstance(value, bytes) else value.encode()
        else:
            headers.append((key, value))
    rich = (
        status_pb2.Status.FromString(details)
        if details
        else status_pb2.Status(code=code.value[0], message=status.details or "")
    )
    body = json_format.MessageToDict(rich)
    shaped = {
        "code": rich.code,
        "message": rich.message,
        "details": body.get("details", []),
    }
    return Answer(HTTP_STATUS.get(code, 500), json.dumps(shaped).encode(), headers)


# --- the HTTP server ------------------------------------------------------------------------


class RestServer:
    """uvicorn serving a Gateway on a thread of its own, with its own event loop; the calls
    themselves run on `pool` (the gRPC server's workers).

    It listens on `host`:`port`, or on `listening`, a socket already listening, which several
    processes can share (see `processes`)."""

    def __init__(
        self,
        gateway: Gateway,
        pool: futures.ThreadPoolExecutor,
        host: str,
        port: int,
        tls_cert: str = "",
        tls_key: str = "",
        listening: socket.socket | None = None,
    ) -> None:
        import uvicorn  # only with a REST port

        self.gateway = gateway
        self.pool = pool
        config = uvicorn.Config(
            self.app,
            host=host,
            port=port,
            ssl_certfile=tls_cert or None,
            ssl_keyfile=tls_key or None,
            log_level="warning",
            interface="asgi3",
            proxy_headers=False,
            server_header=False,
            lifespan="off",
            access_log=False,
            timeout_graceful_shutdown=5,
        )
        self.server = uvicorn.Server(config)
        sockets = None if listening is None else [listening]
        self.thread = threading.Thread(
            target=self.server.run, args=(sockets,), name="rest", daemon=True
        )
        self.port = 0

    def start(self) -> int:
        self.thread.start()
        while not self.server.started:
            if not self.thread.is_alive():
                raise OSError("the REST server did not start: is the port free?")
            time.sleep(0.01)
        sockets = [s for server in self.server.servers for s in server.sockets]
        self.port = sockets[0].getsockname()[1]
        return self.port

    def stop(self, timeout: float = 5.0) -> None:
        self.server.should_exit = True
        self.thread.join(timeout)

    async def app(
        self,
        scope: dict[str, Any],
        receive: Callable[[], Awaitable[dict[str, Any]]],
        send: Callable[[dict[str, Any]], Awaitable[None]],
    ) -> None:
        if scope["type"] != "http":
            return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            event = await receive()
            chunk = event.get("body", b"")
            size += len(chunk)
            if size > MAX_BODY:
                answer = error_answer(
                    grpc.StatusCode.RESOURCE_EXHAUSTED,
                    f"the body is larger than {MAX_BODY} bytes",
                    http=413,
                )
                await _send(send, answer)
                return
            chunks.append(chunk)
            more = event.get("more_body", False)
        headers = [
            (key.decode("latin-1").lower(), value.decode("latin-1"))
            for key, value in scope["headers"]
        ]
        client = scope.get("client")
        peer = f"http:{client[0]}:{client[1]}" if client else "http"
        loop = asyncio.get_running_loop()
        answer = await loop.run_in_executor(
            self.pool,
            self.gateway.handle,
            scope["method"],
            scope["path"],
            scope["query_string"].decode("latin-1"),
            headers,
            b"".join(chunks),
            peer,
        )
        await _send(send, answer)


async def _send(
    send: Callable[[dict[str, Any]], Awaitable[None]], answer: Answer
) -> None:
    headers = list(_JSON)
    headers += [
        (
            key.encode("latin-1"),
            (value if isinstance(value, bytes) else value.encode("latin-1")),
        )
        for key, value in answer.headers
    ]
    headers.append((b"content-length", str(len(answer.body)).encode()))
    await send(
        {"type": "http.response.start", "status": answer.status, "headers": headers}
    )
    await send({"type": "http.response.body", "body": answer.body})
