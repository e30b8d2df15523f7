"""The typing view of grpc_tools' `_pb2_grpc` modules: stubs, servicers and `add_*` functions,
typed from the descriptors, so that code built on them type-checks under `mypy --strict`.
"""

from __future__ import annotations

from dataclasses import dataclass

from generator.layout import Brackets, Expression, annotation, return_annotation
from generator.model import Api, Method, ProtoFile
from generator.python_names import Imports, message_module

_CARDINALITY = {
    (False, False): "UnaryUnary",
    (False, True): "UnaryStream",
    (True, False): "StreamUnary",
    (True, True): "StreamStream",
}
# Where pb2_grpc.pyi.j2 puts a method's parameters and its return annotation.
_PARAMETER_INDENT = 8
_SIGNATURE_INDENT = 4


@dataclass(frozen=True)
class StubMethod:
    name: str
    cardinality: str  # UnaryUnary, UnaryStream, StreamUnary or StreamStream
    request: str
    response: str
    parameter: str  # `request: ...` or `request_iterator: Iterator[...]`, laid out
    returns: str  # the return annotation, laid out after `) -> `


@dataclass(frozen=True)
class StubService:
    name: str
    methods: tuple[StubMethod, ...]


@dataclass(frozen=True)
class StubModule:
    source: str
    imports: tuple[str, ...]
    services: tuple[StubService, ...]


def stub_module(api: Api, proto_file: ProtoFile) -> StubModule | None:
    if not proto_file.services:
        return None
    methods = [m for service in proto_file.services for m in service.methods]
    imports = Imports(
        api,
        {message_module(api, m.input) for m in methods}
        | {message_module(api, m.output) for m in methods},
    )
    services = tuple(
        StubService(
            service.name,
            tuple(_stub_method(method, imports) for method in service.methods),
        )
        for service in proto_file.services
    )
    return StubModule(proto_file.name, tuple(imports.lines()), services)


def _stub_method(method: Method, imports: Imports) -> StubMethod:
    request, response = imports.message(method.input), imports.message(method.output)
    if method.client_streaming:
        parameter = "request_iterator: " + annotation(
            Brackets("Iterator[", (request,), "]"),
            _PARAMETER_INDENT,
            "request_iterator: ",
            ",",
        )
    else:
        parameter = f"request: {request}"
    returns: Expression = (
        Brackets("Iterator[", (response,), "]") if method.server_streaming else response
    )
    return StubMethod(
        name=method.name,
        cardinality=_CARDINALITY[(method.client_streaming, method.server_streaming)],
        request=request,
        response=response,
        parameter=parameter,
        returns=return_annotation(returns, _SIGNATURE_INDENT, ": ..."),
    )
