"""What generated clients share: connections, retries, errors, operation futures and pagers.

Sync classes use `grpc`, async ones `grpc.aio`; both send `authorization: Bearer <token>` when a
token is set, `x-client-request-id` on every call and `idempotency-key` on mutating calls (the
same key on every retry), retry UNAVAILABLE with exponential backoff and jitter, and give every
call a deadline.

The logic is written once (`_Attempts` decides retries, `_Polling` paces an operation's wait,
`_ConnectionCore`, `_OperationCore` and `_PagerCore` hold the state and the requests); the sync
and asyncio classes differ only where they must: how they call, sleep and iterate.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from dataclasses import dataclass
from typing import (
    Any,
    AsyncIterator,
    Awaitable,
    Callable,
    Generic,
    Iterator,
    Sequence,
    TypeVar,
)

import grpc
import grpc.aio
from google.protobuf import any_pb2
from google.protobuf.field_mask_pb2 import FieldMask
from google.protobuf.message import Message
from google.rpc import error_details_pb2, status_pb2

from yandex.cloud.operation import operation_pb2, operation_service_pb2

Request = TypeVar("Request", bound=Message)
Response = TypeVar("Response", bound=Message)
Metadata = TypeVar("Metadata", bound=Message)
Item = TypeVar("Item", bound=Message)
Page = TypeVar("Page", bound=Message)
ConnectionT = TypeVar("ConnectionT")

_STATUS_DETAILS_KEY = "grpc-status-details-bin"
_REQUEST_ID = "x-request-id"
_CLIENT_REQUEST_ID = "x-client-request-id"
_OPERATION_GET = "/yandex.cloud.operation.OperationService/Get"
_OPERATION_CANCEL = "/yandex.cloud.operation.OperationService/Cancel"
_DETAIL_TYPES: tuple[type[Message], ...] = (
    error_details_pb2.BadRequest,
    error_details_pb2.ResourceInfo,
    error_details_pb2.ErrorInfo,
    error_details_pb2.RetryInfo,
    error_details_pb2.PreconditionFailure,
    error_details_pb2.QuotaFailure,
    error_details_pb2.RequestInfo,
    error_details_pb2.DebugInfo,
    error_details_pb2.Help,
    error_details_pb2.LocalizedMessage,
)


# --- errors ------------------------------------------------------------------------------------


class ClientError(Exception):
    """An rpc failed: its gRPC code, message and parsed `google.rpc` details, and the request
    ids the server answered with (`x-request-id`, `x-client-request-id`; "" if none)."""

    def __init__(
        self,
        code: grpc.StatusCode,
        message: str,
        details: Sequence[Message] = (),
        request_id: str = "",
        client_request_id: str = "",
    ) -> None:
        super().__init__(f"{code.name}: {message}")
        self.code = code
        self.message = message
        self.details = tuple(details)
        self.request_id = request_id
        self.client_request_id = client_request_id

    def detail(self, kind: type[Message]) -> Message | None:
        """The first detail of a type, such as `error_details_pb2.BadRequest`."""
        return next((item for item in self.details if isinstance(item, kind)), None)

    @property
    def violations(self) -> dict[str, str]:
        """Field path -> description, from a BadRequest detail."""
        found: dict[str, str] = {}
        for item in self.details:
            if isinstance(item, error_details_pb2.BadRequest):
                for violation in item.field_violations:
                    found[violation.field] = violation.description
        return found


class InvalidArgumentError(ClientError):
    pass


class NotFoundError(ClientError):
    pass


class AlreadyExistsError(ClientError):
    pass


class PermissionDeniedError(ClientError):
    pass


class UnauthenticatedError(ClientError):
    pass


class FailedPreconditionError(ClientError):
    pass


class UnavailableError(ClientError):
    pass


class DeadlineExceededError(ClientError):
    pass


class CancelledError(ClientError):
    pass


class UnimplementedError(ClientError):
    pass


class InternalError(ClientError):
    pass


class OperationError(ClientError):
    """A long-running operation finished with an error; `status` is its google.rpc.Status."""

    def __init__(self, operation: operation_pb2.Operation) -> None:
        status = operation.error
        code = _code(status.code)
        super().__init__(code, status.message, _unpack(status.details))
        self.operation = operation
        self.status = status


_ERRORS: dict[grpc.StatusCode, type[ClientError]] = {
    grpc.StatusCode.INVALID_ARGUMENT: InvalidArgumentError,
    grpc.StatusCode.NOT_FOUND: NotFoundError,
    grpc.StatusCode.ALREADY_EXISTS: AlreadyExistsError,
    grpc.StatusCode.PERMISSION_DENIED: PermissionDeniedError,
    grpc.StatusCode.UNAUTHENTICATED: UnauthenticatedError,
    grpc.StatusCode.FAILED_PRECONDITION: FailedPreconditionError,
    grpc.StatusCode.UNAVAILABLE: UnavailableError,
    grpc.StatusCode.DEADLINE_EXCEEDED: DeadlineExceededError,
    grpc.StatusCode.CANCELLED: CancelledError,
    grpc.StatusCode.UNIMPLEMENTED: UnimplementedError,
    grpc.StatusCode.INTERNAL: InternalError,
}


def _code(number: int) -> grpc.StatusCode:
    return next(
        (code for code in grpc.StatusCode if code.value[0] == number),
        grpc.StatusCode.UNKNOWN,
    )


def _unpack(items: Sequence[any_pb2.Any]) -> list[Message]:
    found: list[Message] = []
    for item in items:
        for kind in _DETAIL_TYPES:
            if item.TypeName() == kind.DESCRIPTOR.full_name:
                detail = kind()
                item.Unpack(detail)
                found.append(detail)
                break
        else:
            found.append(item)
    return found


def error_from(code: grpc.StatusCode, message: str, trailing: Any) -> ClientError:
    details: list[Message] = []
    ids = {_REQUEST_ID: "", _CLIENT_REQUEST_ID: ""}
    for key, value in trailing or ():
        if key == _STATUS_DETAILS_KEY and isinstance(value, bytes):
            status = status_pb2.Status.FromString(value)
            message = status.message or message
            details = _unpack(status.details)
        elif key in ids and isinstance(value, str):
            ids[key] = value
    return _ERRORS.get(code, ClientError)(
        code, message, details, ids[_REQUEST_ID], ids[_CLIENT_REQUEST_ID]
    )


def _from_rpc_error(error: grpc.RpcError) -> ClientError:
    call: Any = error
    return error_from(call.code(), call.details() or "", call.trailing_metadata())


# --- policies ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with jitter: `initial`, growing by `multiplier` up to `maximum`;
    each delay is drawn from [1 - jitter, 1] of its nominal value."""

    initial: float
    multiplier: float
    maximum: float
    jitter: float = 0.2

    def delays(self) -> Iterator[float]:
        delay = self.initial
        while True:
            yield delay * (1 - self.jitter * random.random())
            delay = min(delay * self.multiplier, self.maximum)


@dataclass(frozen=True)
class RetryPolicy:
    """Which failures are retried (UNAVAILABLE by default), how often and how far apart."""

    attempts: int = 5
    backoff: Backoff = Backoff(initial=0.1, multiplier=2.0, maximum=5.0)
    codes: tuple[grpc.StatusCode, ...] = (grpc.StatusCode.UNAVAILABLE,)


NO_RETRY = RetryPolicy(attempts=1)
# Polling of operations: fast at first, then less often.
POLLING = Backoff(initial=0.01, multiplier=1.2, maximum=1.0)


def _metadata(
    token: str | None, idempotency_key: str | None
) -> tuple[tuple[str, str | bytes], ...]:
    metadata: list[tuple[str, str | bytes]] = [(_CLIENT_REQUEST_ID, str(uuid.uuid4()))]
    if token:
        metadata.append(("authorization", f"Bearer {token}"))
    if idempotency_key:
        metadata.append(("idempotency-key", idempotency_key))
    return tuple(metadata)


def _credentials(
    tls: bool | None, root_certificates: bytes | None
) -> grpc.ChannelCredentials | None:
    if tls is False or (tls is None and root_certificates is None):
        return None
    return grpc.ssl_channel_credentials(root_certificates=root_certificates)


# --- requests ----------------------------------------------------------------------------------


def build(
    request_type: type[Request], request: Request | None, /, **fields: Any
) -> Request:
    """The request: `request` itself, or one made of the fields given (None: not given)."""
    given = {name: value for name, value in fields.items() if value is not None}
    if request is not None:
        if given:
            raise TypeError(
                "pass either a request message or field arguments, not both"
            )
        return request
    return request_type(**given)


def build_update(
    request_type: type[Request],
    request: Request | None,
    update_mask: FieldMask | Sequence[str] | None,
    mask_field: str,
    key_fields: Sequence[str],
    /,
    **fields: Any,
) -> Request:
    """An update request whose mask (its field `mask_field`) names exactly the fields given
    besides the resource's key (`key_fields`), even ones given their default value
    (`description=""` clears the description). An explicit `update_mask` overrides that; so
    does the mask of a `request` passed whole."""
    message = build(request_type, request, **fields)
    mask: FieldMask = getattr(message, mask_field)
    if update_mask is not None:
        paths = (
            list(update_mask.paths)
            if isinstance(update_mask, FieldMask)
            else list(update_mask)
        )
        mask.CopyFrom(FieldMask(paths=paths))
    elif request is None:
        paths = [
            name
            for name, value in fields.items()
            if value is not None and name not in key_fields
        ]
        if not paths:
            raise ValueError(
                "nothing to update: give the fields to change, or update_mask "
                "(an empty update_mask resets every updatable field)"
            )
        mask.CopyFrom(FieldMask(paths=paths))
    return message


# --- the core, shared by sync and asyncio -------------------------------------------------------


class _Attempts:
    """One call's attempts under a retry policy, within its deadline."""

    def __init__(self, policy: RetryPolicy, timeout: float) -> None:
        self._policy = policy
        self._deadline = time.monotonic() + timeout
        self._delays = policy.backoff.delays()
        self._attempt = 1

    def timeout(self) -> float:
        """What is left of the call's deadline, for the next attempt."""
        return max(self._deadline - time.monotonic(), 0.001)

    def pause_before_retry(self, failure: ClientError) -> float:
        """How long to wait before the next attempt; raises `failure` if there is none."""
        pause = next(self._delays)
        if (
            failure.code not in self._policy.codes
            or self._attempt >= self._policy.attempts
            or time.monotonic() + pause >= self._deadline
        ):
            raise failure
        self._attempt += 1
        return pause


class _Polling:
    """The pace of waiting for an operation: backoff between polls, within `timeout`."""

    def __init__(self, operation_id: str, timeout: float | None) -> None:
        self._operation_id = operation_id
        self._timeout = timeout
        self._deadline = None if timeout is None else time.monotonic() + timeout
        self._delays = POLLING.delays()

    def pause(self) -> float:
        """How long to wait before the next poll: at most until the deadline."""
        pause = next(self._delays)
        if self._deadline is None:
            return pause
        return max(min(pause, self._deadline - time.monotonic()), 0.0)

    def check(self, done: bool) -> None:
        """After a poll: raises TimeoutError if the operation is not done by the deadline."""
        if (
            not done
            and self._deadline is not None
            and time.monotonic() >= self._deadline
        ):
            raise TimeoutError(
                f"operation {self._operation_id} is not done after {self._timeout} s"
            )


class _ConnectionCore:
    """A channel plus what every call needs: token, deadline and retry policy."""

    def __init__(
        self,
        grpc_module: Any,  # grpc or grpc.aio: both make channels the same way
        endpoint: str | None,
        channel: Any,
        tls: bool | None,
        root_certificates: bytes | None,
        token: str | None,
        timeout: float,
        retry: RetryPolicy,
    ) -> None:
        if (endpoint is None) == (channel is None):
            raise ValueError("give either an endpoint or a channel")
        self._owned = channel is None
        if channel is None:
            credentials = _credentials(tls, root_certificates)
            channel = (
                grpc_module.secure_channel(endpoint, credentials)
                if credentials
                else grpc_module.insecure_channel(endpoint)
            )
        self.channel = channel
        self.token = token
        self.timeout = timeout
        self.retry = retry

    def _start(
        self,
        method: str,
        response_type: type[Response],
        mutating: bool,
        timeout: float | None,
    ) -> tuple[Any, _Attempts, tuple[tuple[str, str | bytes], ...]]:
        """What a call needs: the channel's callable, its attempts and its metadata."""
        callable_ = self.channel.unary_unary(
            method,
            request_serializer=_serialize,
            response_deserializer=response_type.FromString,
        )
        attempts = _Attempts(
            self.retry, timeout if timeout is not None else self.timeout
        )
        key = str(uuid.uuid4()) if mutating else None
        return callable_, attempts, _metadata(self.token, key)


def _serialize(message: Message) -> bytes:
    return message.SerializeToString()


def _page_request(request: Request, token: str) -> Request:
    page_request = type(request)()
    page_request.CopyFrom(request)
    setattr(page_request, "page_token", token)
    return page_request


class _OperationCore(Generic[ConnectionT, Response, Metadata]):
    """A long-running operation as last seen: its id and metadata, its result once done;
    `connection` asks the server for more."""

    def __init__(
        self,
        connection: ConnectionT,
        operation: operation_pb2.Operation,
        response_type: type[Response],
        metadata_type: type[Metadata],
    ) -> None:
        self._connection = connection
        self._response_type = response_type
        self._metadata_type = metadata_type
        self.operation = operation

    @property
    def id(self) -> str:
        return self.operation.id

    @property
    def metadata(self) -> Metadata:
        return _unpack_any(self.operation.metadata, self._metadata_type)

    def _get_request(self) -> operation_service_pb2.GetOperationRequest:
        return operation_service_pb2.GetOperationRequest(operation_id=self.id)

    def _cancel_request(self) -> operation_service_pb2.CancelOperationRequest:
        return operation_service_pb2.CancelOperationRequest(operation_id=self.id)

    def _result(self) -> Response:
        """The response of the finished operation; OperationError if it failed."""
        if self.operation.HasField("error"):
            raise OperationError(self.operation)
        return _unpack_any(self.operation.response, self._response_type)


def _unpack_any(packed: any_pb2.Any, kind: type[Response]) -> Response:
    """The message inside `packed`; `packed` itself for an rpc whose type is untyped Any."""
    message = kind()
    if kind is any_pb2.Any:
        message.ParseFromString(packed.SerializeToString())
    else:
        packed.Unpack(message)
    return message


class _PagerCore(Generic[Page, Item]):
    """Every item of a List, page after page, from the request's own page token on."""

    def __init__(
        self, items: Callable[[Page], Sequence[Item]], first_token: str
    ) -> None:
        self._items = items
        self._first_token = first_token

    @staticmethod
    def _next_token(page: Page) -> str:
        token: str = getattr(page, "next_page_token")
        return token


# --- sync --------------------------------------------------------------------------------------


class Connection(_ConnectionCore):
    """Calls over a `grpc` channel."""

    def __init__(
        self,
        endpoint: str | None = None,
        *,
        channel: grpc.Channel | None = None,
        tls: bool | None = None,
        root_certificates: bytes | None = None,
        token: str | None = None,
        timeout: float = 30.0,
        retry: RetryPolicy = RetryPolicy(),
    ) -> None:
        super().__init__(
            grpc, endpoint, channel, tls, root_certificates, token, timeout, retry
        )

    def close(self) -> None:
        if self._owned:
            self.channel.close()

    def call(
        self,
        method: str,
        request: Message,
        response_type: type[Response],
        *,
        mutating: bool = False,
        timeout: float | None = None,
    ) -> Response:
        """Calls a unary rpc by its full path, retrying as the policy says."""
        callable_, attempts, metadata = self._start(
            method, response_type, mutating, timeout
        )
        while True:
            try:
                response: Response = callable_(
                    request, timeout=attempts.timeout(), metadata=metadata
                )
                return response
            except grpc.RpcError as error:
                time.sleep(attempts.pause_before_retry(_from_rpc_error(error)))

    def operation(
        self,
        method: str,
        request: Message,
        response_type: type[Response],
        metadata_type: type[Metadata],
        *,
        timeout: float | None = None,
    ) -> "Operation[Response, Metadata]":
        """Calls a mutating rpc that returns an Operation; gives its future."""
        started = self.call(
            method, request, operation_pb2.Operation, mutating=True, timeout=timeout
        )
        return Operation(self, started, response_type, metadata_type)

    def pages(
        self,
        method: str,
        request: Message,
        page_type: type[Page],
        items_field: str,
        *,
        timeout: float | None = None,
    ) -> "Pager[Page, Any]":
        """A lazy pager over a List rpc: each page is one call with the previous token."""

        def fetch(token: str) -> Page:
            page_request = _page_request(request, token)
            return self.call(method, page_request, page_type, timeout=timeout)

        first: str = getattr(request, "page_token")
        return Pager(fetch, lambda page: getattr(page, items_field), first)


class Operation(_OperationCore[Connection, Response, Metadata]):
    """A long-running operation: its id and metadata now, its result when it is done."""

    def done(self) -> bool:
        """Whether the operation has finished (asks the server if not known yet)."""
        if not self.operation.done:
            self.refresh()
        return self.operation.done

    def refresh(self) -> operation_pb2.Operation:
        self.operation = self._connection.call(
            _OPERATION_GET, self._get_request(), operation_pb2.Operation
        )
        return self.operation

    def result(self, timeout: float | None = None) -> Response:
        """Waits for the operation, polling with backoff; returns its response.

        Raises OperationError if it failed and TimeoutError if it is not done in time.
        """
        polling = _Polling(self.id, timeout)
        while not self.operation.done:
            time.sleep(polling.pause())
            polling.check(self.refresh().done)
        return self._result()

    def cancel(self) -> operation_pb2.Operation:
        self.operation = self._connection.call(
            _OPERATION_CANCEL, self._cancel_request(), operation_pb2.Operation
        )
        return self.operation


class Pager(_PagerCore[Page, Item]):
    """Every item of a List, page after page, fetched lazily; `pages()` gives whole pages."""

    def __init__(
        self,
        fetch: Callable[[str], Page],
        items: Callable[[Page], Sequence[Item]],
        first_token: str = "",
    ) -> None:
        super().__init__(items, first_token)
        self._fetch = fetch

    def pages(self) -> Iterator[Page]:
        token = self._first_token
        while True:
            page = self._fetch(token)
            yield page
            token = self._next_token(page)
            if not token:
                return

    def __iter__(self) -> Iterator[Item]:
        for page in self.pages():
            yield from self._items(page)


# --- asyncio -----------------------------------------------------------------------------------


class AsyncConnection(_ConnectionCore):
    """Calls over a `grpc.aio` channel."""

    def __init__(
        self,
        endpoint: str | None = None,
        *,
        channel: grpc.aio.Channel | None = None,
        tls: bool | None = None,
        root_certificates: bytes | None = None,
        token: str | None = None,
        timeout: float = 30.0,
        retry: RetryPolicy = RetryPolicy(),
    ) -> None:
        super().__init__(
            grpc.aio, endpoint, channel, tls, root_certificates, token, timeout, retry
        )

    async def close(self) -> None:
        if self._owned:
            await self.channel.close()

    async def call(
        self,
        method: str,
        request: Message,
        response_type: type[Response],
        *,
        mutating: bool = False,
        timeout: float | None = None,
    ) -> Response:
        """Calls a unary rpc by its full path, retrying as the policy says."""
        callable_, attempts, metadata = self._start(
            method, response_type, mutating, timeout
        )
        while True:
            try:
                response: Response = await callable_(
                    request, timeout=attempts.timeout(), metadata=metadata
                )
                return response
            except grpc.aio.AioRpcError as error:
                await asyncio.sleep(attempts.pause_before_retry(_from_rpc_error(error)))

    async def operation(
        self,
        method: str,
        request: Message,
        response_type: type[Response],
        metadata_type: type[Metadata],
        *,
        timeout: float | None = None,
    ) -> "AsyncOperation[Response, Metadata]":
        """Calls a mutating rpc that returns an Operation; gives its future."""
        started = await self.call(
            method, request, operation_pb2.Operation, mutating=True, timeout=timeout
        )
        return AsyncOperation(self, started, response_type, metadata_type)

    def pages(
        self,
        method: str,
        request: Message,
        page_type: type[Page],
        items_field: str,
        *,
        timeout: float | None = None,
    ) -> "AsyncPager[Page, Any]":
        """A lazy pager over a List rpc: each page is one call with the previous token."""

        async def fetch(token: str) -> Page:
            page_request = _page_request(request, token)
            return await self.call(method, page_request, page_type, timeout=timeout)

        first: str = getattr(request, "page_token")
        return AsyncPager(fetch, lambda page: getattr(page, items_field), first)


class AsyncOperation(_OperationCore[AsyncConnection, Response, Metadata]):
    """Operation for asyncio: `done()`, `refresh()`, `result()` and `cancel()` are coroutines."""

    async def done(self) -> bool:
        """Whether the operation has finished (asks the server if not known yet)."""
        if not self.operation.done:
            await self.refresh()
        return self.operation.done

    async def refresh(self) -> operation_pb2.Operation:
        self.operation = await self._connection.call(
            _OPERATION_GET, self._get_request(), operation_pb2.Operation
        )
        return self.operation

    async def result(self, timeout: float | None = None) -> Response:
        """Waits for the operation, polling with backoff; returns its response.

        Raises OperationError if it failed and TimeoutError if it is not done in time.
        """
        polling = _Polling(self.id, timeout)
        while not self.operation.done:
            await asyncio.sleep(polling.pause())
            polling.check((await self.refresh()).done)
        return self._result()

    async def cancel(self) -> operation_pb2.Operation:
        self.operation = await self._connection.call(
            _OPERATION_CANCEL, self._cancel_request(), operation_pb2.Operation
        )
        return self.operation


class AsyncPager(_PagerCore[Page, Item]):
    """Pager for asyncio: `async for item in pager`, or `async for page in pager.pages()`."""

    def __init__(
        self,
        fetch: Callable[[str], Awaitable[Page]],
        items: Callable[[Page], Sequence[Item]],
        first_token: str = "",
    ) -> None:
        super().__init__(items, first_token)
        self._fetch = fetch

    async def pages(self) -> AsyncIterator[Page]:
        token = self._first_token
        while True:
            page = await self._fetch(token)
            yield page
            token = self._next_token(page)
            if not token:
                return

    async def _iterate(self) -> AsyncIterator[Item]:
        async for page in self.pages():
            for item in self._items(page):
                yield item

    def __aiter__(self) -> AsyncIterator[Item]:
        return self._iterate()
