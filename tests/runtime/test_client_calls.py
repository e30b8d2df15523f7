"""The client runtime's headers and retries, against a scripted in-process server, for the
sync connection and the asyncio one (driven through `blocking.Blocking`)."""

from __future__ import annotations

import sys
from concurrent import futures
from typing import Iterator

import grpc
import pytest
from google.protobuf import empty_pb2

from blocking import Blocking
from yc_runtime import client as runtime

METHOD = "/test.Echo/Call"


class Scripted(grpc.GenericRpcHandler):
    """Answers UNAVAILABLE `failures` times, then OK; records each call's metadata."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls: list[dict[str, str]] = []

    def service(self, details):  # type: ignore[no-untyped-def]
        if details.method != METHOD:
            return None

        def handle(request, context):  # type: ignore[no-untyped-def]
            self.calls.append(dict(context.invocation_metadata()))
            if len(self.calls) <= self.failures:
                context.abort(grpc.StatusCode.UNAVAILABLE, "try again")
            return empty_pb2.Empty()

        return grpc.unary_unary_rpc_method_handler(
            handle,
            request_deserializer=empty_pb2.Empty.FromString,
            response_serializer=empty_pb2.Empty.SerializeToString,
        )


@pytest.fixture
def scripted() -> Iterator[tuple[Scripted, str]]:
    handler = Scripted(failures=2)
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    server.add_generic_rpc_handlers((handler,))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield handler, f"127.0.0.1:{port}"
    server.stop(0)


@pytest.fixture(params=("sync", "asyncio"))
def connect(request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    """Makes a Connection, or an AsyncConnection behind the same sync calls."""
    opened = []

    def make(address: str, **options):  # type: ignore[no-untyped-def]
        if request.param == "sync":
            connection = runtime.Connection(address, **options)
        else:
            connection = Blocking(lambda: runtime.AsyncConnection(address, **options))
        opened.append(connection)
        return connection

    yield make
    for connection in opened:
        connection.close()


FAST = runtime.RetryPolicy(
    attempts=5, backoff=runtime.Backoff(initial=0.01, multiplier=2.0, maximum=0.05)
)


def test_mutating_calls_keep_one_idempotency_key_across_retries(scripted, connect) -> None:  # type: ignore[no-untyped-def]
    handler, address = scripted
    connection = connect(address, token="secret", retry=FAST)
    connection.call(METHOD, empty_pb2.Empty(), empty_pb2.Empty, mutating=True)
    assert len(handler.calls) == 3
    keys = {call["idempotency-key"] for call in handler.calls}
    assert len(keys) == 1 and len(keys.pop()) == 36
    assert all(call["authorization"] == "Bearer secret" for call in handler.calls)
    assert all(call.get("x-client-request-id") for call in handler.calls)
    connection.call(METHOD, empty_pb2.Empty(), empty_pb2.Empty, mutating=True)
    assert handler.calls[-1]["idempotency-key"] not in {
        c["idempotency-key"] for c in handler.calls[:3]
    }


def test_reads_send_no_idempotency_key_and_give_up_after_the_attempts(scripted, connect) -> None:  # type: ignore[no-untyped-def]
    handler, address = scripted
    handler.failures = 10
    connection = connect(address, retry=FAST)
    with pytest.raises(runtime.UnavailableError):
        connection.call(METHOD, empty_pb2.Empty(), empty_pb2.Empty)
    assert len(handler.calls) == 5
    assert all(
        "idempotency-key" not in call and "authorization" not in call
        for call in handler.calls
    )


def test_every_call_has_a_deadline(scripted, connect) -> None:  # type: ignore[no-untyped-def]
    handler, address = scripted
    handler.failures = 100
    slow = runtime.RetryPolicy(
        attempts=100, backoff=runtime.Backoff(initial=0.2, multiplier=1.0, maximum=0.2)
    )
    connection = connect(address, retry=slow, timeout=0.5)
    with pytest.raises(runtime.UnavailableError):
        connection.call(METHOD, empty_pb2.Empty(), empty_pb2.Empty)
    assert len(handler.calls) <= 4  # stops retrying at the deadline
