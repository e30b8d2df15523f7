"""Tokens, subjects and principals (generator/runtime/auth.py), and the call interceptor
(generator/runtime/calls.py) on every kind of handler, streaming ones included."""

from __future__ import annotations

import re
import uuid
from concurrent import futures
from typing import Any, Iterator

import grpc
import pytest

from generator.runtime.auth import (
    ANONYMOUS,
    Authenticator,
    Principal,
    parse_token,
    subject_of,
)
from generator.runtime.calls import CallInterceptor, service_name
from generator.runtime.errors import ApiError


def test_subjects_are_ids_derived_from_the_token_alone() -> None:
    subject = subject_of("my-token")
    assert re.fullmatch(r"[a-z][a-z0-9]{19}", subject)
    assert subject == subject_of("my-token") != subject_of("my-token2")
    assert (
        subject == "a73hfburip5zellvfqgn"
    )  # stable: documented, and clients may rely on it
    assert Authenticator(["my-token=f"]).authenticate(
        [("authorization", "Bearer my-token")]
    ) == Principal(subject, frozenset({"f"}))


@pytest.mark.parametrize(
    ("text", "token", "parents"),
    [
        ("t1.abc-DEF_~+/", "t1.abc-DEF_~+/", None),
        ("tok=f1", "tok", {"f1"}),
        ("tok=f1,f2,f1", "tok", {"f1", "f2"}),
    ],
)
def test_parse_token(text: str, token: str, parents: set[str] | None) -> None:
    parsed, principal = parse_token(text)
    assert parsed == token and principal.subject == subject_of(token)
    assert principal.parents == (None if parents is None else frozenset(parents))


@pytest.mark.parametrize(
    "text", ["", "=f1", "a b", "tök", "a=", "a=f1,", "a=,f1", "a=f 1"]
)
def test_parse_token_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        parse_token(text)


def test_a_token_may_be_configured_once() -> None:
    with pytest.raises(ValueError, match="twice"):
        Authenticator(["a=f1", "a=f2"])


def test_an_open_server_lets_everyone_in() -> None:
    assert not Authenticator().enabled
    assert Authenticator().authenticate([]) is ANONYMOUS
    assert Authenticator().authenticate([("authorization", "Bearer x")]) is ANONYMOUS
    assert ANONYMOUS.may_access("") and ANONYMOUS.may_access("any")


@pytest.mark.parametrize(
    "metadata",
    [
        [],
        [("authorization", "Bearer other")],
        [("authorization", "Basic tok")],
        [("authorization", "Bearer")],
        [("authorization", "tok")],
        [("x-authorization", "Bearer tok")],
    ],
)
def test_authenticate_rejects(metadata: list[tuple[str, str]]) -> None:
    with pytest.raises(ApiError) as caught:
        Authenticator(["tok"]).authenticate(metadata)
    assert caught.value.code is grpc.StatusCode.UNAUTHENTICATED
    assert "tok" not in caught.value.message.replace("token", "")


def test_authenticate_accepts() -> None:
    authenticator = Authenticator(["tok", "other=f1"])
    for header in ("Bearer tok", "bearer tok", "BEARER  tok "):
        assert authenticator.authenticate([("authorization", header)]).subject == (
            subject_of("tok")
        )


def test_principal_require() -> None:
    bound = Principal("s", frozenset({"f1", "f2"}))
    bound.require("f1", "folder", "f1")
    with pytest.raises(ApiError) as caught:
        bound.require("f3", "image", "i1")
    assert caught.value.code is grpc.StatusCode.PERMISSION_DENIED
    assert caught.value.message == (
        "Permission denied to image 'i1': the token may only access resources under f1, f2"
    )
    with pytest.raises(ApiError) as caught:
        bound.require("", "robot")
    assert caught.value.message == (
        "Permission denied to robots: the token may only access resources under f1, f2; "
        "robots have no parent"
    )


def test_service_name() -> None:
    assert service_name("/a.b.Service/Get") == "a.b.Service"


# --- the interceptor, in-process ---------------------------------------------------------------


def _echo(request: bytes, context: grpc.ServicerContext) -> bytes:
    return request


def _repeat(request: bytes, context: grpc.ServicerContext) -> Iterator[bytes]:
    yield request
    yield request


def _join(requests: Iterator[bytes], context: grpc.ServicerContext) -> bytes:
    return b"".join(requests)


def _each(requests: Iterator[bytes], context: grpc.ServicerContext) -> Iterator[bytes]:
    yield from requests


@pytest.fixture(scope="module")
def address() -> Iterator[str]:
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=4),
        interceptors=[
            CallInterceptor(Authenticator(["tok"]), frozenset({"test.Public"}))
        ],
    )
    handlers: dict[str, Any] = {
        "UnaryUnary": grpc.unary_unary_rpc_method_handler(_echo),
        "UnaryStream": grpc.unary_stream_rpc_method_handler(_repeat),
        "StreamUnary": grpc.stream_unary_rpc_method_handler(_join),
        "StreamStream": grpc.stream_stream_rpc_method_handler(_each),
    }
    server.add_generic_rpc_handlers(
        [
            grpc.method_handlers_generic_handler("test.Private", handlers),
            grpc.method_handlers_generic_handler("test.Public", handlers),
        ]
    )
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield f"127.0.0.1:{port}"
    server.stop(None)


def _call(channel: grpc.Channel, service: str, kind: str, metadata: Any) -> Any:
    method = f"/{service}/{kind}"
    if kind == "UnaryUnary":
        return channel.unary_unary(method).with_call(b"x", metadata=metadata)
    if kind == "UnaryStream":
        call = channel.unary_stream(method)(b"x", metadata=metadata)
        return list(call), call
    if kind == "StreamUnary":
        return channel.stream_unary(method).with_call(
            iter([b"x", b"y"]), metadata=metadata
        )
    call = channel.stream_stream(method)(iter([b"x", b"y"]), metadata=metadata)
    return list(call), call


KINDS = ["UnaryUnary", "UnaryStream", "StreamUnary", "StreamStream"]
EXPECTED = {
    "UnaryUnary": b"x",
    "UnaryStream": [b"x", b"x"],
    "StreamUnary": b"xy",
    "StreamStream": [b"x", b"y"],
}


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_of_handler_is_authenticated_and_traced(
    address: str, kind: str
) -> None:
    with grpc.insecure_channel(address) as channel:
        good = [("authorization", "Bearer tok"), ("x-client-request-id", "c1")]
        response, call = _call(channel, "test.Private", kind, good)
        assert response == EXPECTED[kind]
        sent = {item.key: item.value for item in call.trailing_metadata()}
        assert uuid.UUID(sent["x-request-id"]) and sent["x-client-request-id"] == "c1"
        with pytest.raises(grpc.RpcError) as caught:
            _call(channel, "test.Private", kind, [("authorization", "Bearer bad")])
        assert caught.value.code() is grpc.StatusCode.UNAUTHENTICATED
        sent = {item.key: item.value for item in caught.value.trailing_metadata()}  # type: ignore[attr-defined]
        assert uuid.UUID(sent["x-request-id"])
        response, _ = _call(channel, "test.Public", kind, None)
        assert response == EXPECTED[kind]
