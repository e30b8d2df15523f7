"""Types of the gRPC module that grpc_tools generates, by protoc-gen-python-custom.

Source: yandex/cloud/baremetal/v1alpha/configuration_service.proto. DO NOT EDIT.
"""

from typing import Any, Iterator

import grpc
from yandex.cloud.baremetal.v1alpha import configuration_pb2
from yandex.cloud.baremetal.v1alpha import configuration_service_pb2

class ConfigurationServiceStub:
    def __init__(self, channel: grpc.Channel) -> None: ...
    Get: grpc.UnaryUnaryMultiCallable[
        configuration_service_pb2.GetConfigurationRequest,
        configuration_pb2.Configuration,
    ]
    List: grpc.UnaryUnaryMultiCallable[
        configuration_service_pb2.ListConfigurationsRequest,
        configuration_service_pb2.ListConfigurationsResponse,
    ]

class ConfigurationServiceServicer:
    def Get(
        self,
        request: configuration_service_pb2.GetConfigurationRequest,
        context: grpc.ServicerContext,
    ) -> configuration_pb2.Configuration: ...
    def List(
        self,
        request: configuration_service_pb2.ListConfigurationsRequest,
        context: grpc.ServicerContext,
    ) -> configuration_service_pb2.ListConfigurationsResponse: ...

def add_ConfigurationServiceServicer_to_server(
    servicer: ConfigurationServiceServicer,
    server: grpc.Server,
) -> None: ...

class ConfigurationService:
    """grpc_tools' experimental single-call API."""

    @staticmethod
    def Get(
        request: configuration_service_pb2.GetConfigurationRequest,
        target: str,
        options: Any = ...,
        channel_credentials: Any = ...,
        call_credentials: Any = ...,
        insecure: bool = ...,
        compression: Any = ...,
        wait_for_ready: bool | None = ...,
        timeout: float | None = ...,
        metadata: Any = ...,
    ) -> configuration_pb2.Configuration: ...
    @staticmethod
    def List(
        request: configuration_service_pb2.ListConfigurationsRequest,
        target: str,
        options: Any = ...,
        channel_credentials: Any = ...,
        call_credentials: Any = ...,
        insecure: bool = ...,
        compression: Any = ...,
        wait_for_ready: bool | None = ...,
        timeout: float | None = ...,
        metadata: Any = ...,
    ) -> configuration_service_pb2.ListConfigurationsResponse: ...
