"""Types of the gRPC module that grpc_tools generates, by protoc-gen-python-custom.

Source: yandex/cloud/operation/operation_service.proto. DO NOT EDIT.
"""

from typing import Any, Iterator

import grpc
from yandex.cloud.operation import operation_pb2
from yandex.cloud.operation import operation_service_pb2

class OperationServiceStub:
    def __init__(self, channel: grpc.Channel) -> None: ...
    Get: grpc.UnaryUnaryMultiCallable[
        operation_service_pb2.GetOperationRequest,
        operation_pb2.Operation,
    ]
    Cancel: grpc.UnaryUnaryMultiCallable[
        operation_service_pb2.CancelOperationRequest,
        operation_pb2.Operation,
    ]

class OperationServiceServicer:
    def Get(
        self,
        request: operation_service_pb2.GetOperationRequest,
        context: grpc.ServicerContext,
    ) -> operation_pb2.Operation: ...
    def Cancel(
        self,
        request: operation_service_pb2.CancelOperationRequest,
        context: grpc.ServicerContext,
    ) -> operation_pb2.Operation: ...

def add_OperationServiceServicer_to_server(
    servicer: OperationServiceServicer,
    server: grpc.Server,
) -> None: ...

class OperationService:
    """grpc_tools' experimental single-call API."""

    @staticmethod
    def Get(
        request: operation_service_pb2.GetOperationRequest,
        target: str,
        options: Any = ...,
        channel_credentials: Any = ...,
        call_credentials: Any = ...,
        insecure: bool = ...,
        compression: Any = ...,
        wait_for_ready: bool | None = ...,
        timeout: float | None = ...,
        metadata: Any = ...,
    ) -> operation_pb2.Operation: ...
    @staticmethod
    def Cancel(
        request: operation_service_pb2.CancelOperationRequest,
        target: str,
        options: Any = ...,
        channel_credentials: Any = ...,
        call_credentials: Any = ...,
        insecure: bool = ...,
        compression: Any = ...,
        wait_for_ready: bool | None = ...,
        timeout: float | None = ...,
        metadata: Any = ...,
    ) -> operation_pb2.Operation: ...
