"""The typing view of grpc_tools' `_pb2_grpc` modules: stubs, servicers and `add_*` functions,
typed from the descriptors, so that code built on them type-checks under `mypy --strict`.
"""

from __future__ import annotations

from dataclasses import dataclass

from generator.model import Api, ProtoFile
from generator.python_names import Imports, message_module

_CARDINALITY = {
    (False, False): "UnaryUnary",
    (False, True): "UnaryStream",
    (True, False): "StreamUnary",
    (True, True): "StreamStream",
}


@dataclass(frozen=True)
class StubMethod:
    name: str
    cardinality: str  # UnaryUnary, UnaryStream, StreamUnary or StreamStream
    request: str
    response: str
    client_streaming: bool
    server_streaming: bool


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
            tuple(
                StubMethod(
                    name=method.name,
                    cardinality=_CARDINALITY[
                        (method.client_streaming, method.server_streaming)
                    ],
                    request=imports.message(method.input),
                    response=imports.message(method.output),
                    client_streaming=method.client_streaming,
                    server_streaming=method.server_streaming,
                )
                for method in service.methods
            ),
        )
        for service in proto_file.services
    )
    return StubModule(proto_file.name, tuple(imports.lines()), services)
