"""Types of the gRPC module that grpc_tools generates, by protoc-gen-python-custom.

Source: yandex/cloud/endpoint/api_endpoint_service.proto. DO NOT EDIT.
"""

from typing import Any, Iterator

import grpc
from yandex.cloud.endpoint import api_endpoint_pb2
from yandex.cloud.endpoint import api_endpoint_service_pb2

class ApiEndpointServiceStub:
    def __init__(self, channel: grpc.Channel) -> None: ...
    Get: grpc.UnaryUnaryMultiCallable[
        api_endpoint_service_pb2.GetApiEndpointRequest,
        api_endpoint_pb2.ApiEndpoint,
    ]
    List: grpc.UnaryUnaryMultiCallable[
        api_endpoint_service_pb2.ListApiEndpointsRequest,
        api_endpoint_service_pb2.ListApiEndpointsResponse,
    ]

class ApiEndpointServiceServicer:
    def Get(
        self,
        request: api_endpoint_service_pb2.GetApiEndpointRequest,
        context: grpc.ServicerContext,
    ) -> api_endpoint_pb2.ApiEndpoint: ...
    def List(
        self,
        request: api_endpoint_service_pb2.ListApiEndpointsRequest,
        context: grpc.ServicerContext,
    ) -> api_endpoint_service_pb2.ListApiEndpointsResponse: ...

def add_ApiEndpointServiceServicer_to_server(
    servicer: ApiEndpointServiceServicer,
    server: grpc.Server,
) -> None: ...

class ApiEndpointService:
    """grpc_tools' experimental single-call API."""

    @staticmethod
    def Get(
        request: api_endpoint_service_pb2.GetApiEndpointRequest,
        target: str,
        options: Any = ...,
        channel_credentials: Any = ...,
        call_credentials: Any = ...,
        insecure: bool = ...,
        compression: Any = ...,
        wait_for_ready: bool | None = ...,
        timeout: float | None = ...,
        metadata: Any = ...,
    ) -> api_endpoint_pb2.ApiEndpoint: ...
    @staticmethod
    def List(
        request: api_endpoint_service_pb2.ListApiEndpointsRequest,
        target: str,
        options: Any = ...,
        channel_credentials: Any = ...,
        call_credentials: Any = ...,
        insecure: bool = ...,
        compression: Any = ...,
        wait_for_ready: bool | None = ...,
        timeout: float | None = ...,
        metadata: Any = ...,
    ) -> api_endpoint_service_pb2.ListApiEndpointsResponse: ...
