"""Types of the gRPC module that grpc_tools generates, by protoc-gen-python-custom.

Source: yandex/cloud/baremetal/v1alpha/image_service.proto. DO NOT EDIT.
"""

from typing import Any, Iterator

import grpc
from yandex.cloud.baremetal.v1alpha import image_pb2
from yandex.cloud.baremetal.v1alpha import image_service_pb2
from yandex.cloud.operation import operation_pb2

class ImageServiceStub:
    def __init__(self, channel: grpc.Channel) -> None: ...
    Get: grpc.UnaryUnaryMultiCallable[
        image_service_pb2.GetImageRequest,
        image_pb2.Image,
    ]
    List: grpc.UnaryUnaryMultiCallable[
        image_service_pb2.ListImagesRequest,
        image_service_pb2.ListImagesResponse,
    ]
    Create: grpc.UnaryUnaryMultiCallable[
        image_service_pb2.CreateImageRequest,
        operation_pb2.Operation,
    ]
    Update: grpc.UnaryUnaryMultiCallable[
        image_service_pb2.UpdateImageRequest,
        operation_pb2.Operation,
    ]
    Delete: grpc.UnaryUnaryMultiCallable[
        image_service_pb2.DeleteImageRequest,
        operation_pb2.Operation,
    ]
    ListOperations: grpc.UnaryUnaryMultiCallable[
        image_service_pb2.ListImageOperationsRequest,
        image_service_pb2.ListImageOperationsResponse,
    ]

class ImageServiceServicer:
    def Get(
        self,
        request: image_service_pb2.GetImageRequest,
        context: grpc.ServicerContext,
    ) -> image_pb2.Image: ...
    def List(
        self,
        request: image_service_pb2.ListImagesRequest,
        context: grpc.ServicerContext,
    ) -> image_service_pb2.ListImagesResponse: ...
    def Create(
        self,
        request: image_service_pb2.CreateImageRequest,
        context: grpc.ServicerContext,
    ) -> operation_pb2.Operation: ...
    def Update(
        self,
        request: image_service_pb2.UpdateImageRequest,
        context: grpc.ServicerContext,
    ) -> operation_pb2.Operation: ...
    def Delete(
        self,
        request: image_service_pb2.DeleteImageRequest,
        context: grpc.ServicerContext,
    ) -> operation_pb2.Operation: ...
    def ListOperations(
        self,
        request: image_service_pb2.ListImageOperationsRequest,
        context: grpc.ServicerContext,
    ) -> image_service_pb2.ListImageOperationsResponse: ...

def add_ImageServiceServicer_to_server(
    servicer: ImageServiceServicer,
    server: grpc.Server,
) -> None: ...

class ImageService:
    """grpc_tools' experimental single-call API."""

    @staticmethod
    def Get(
        request: image_service_pb2.GetImageRequest,
        target: str,
        options: Any = ...,
        channel_credentials: Any = ...,
        call_credentials: Any = ...,
        insecure: bool = ...,
        compression: Any = ...,
        wait_for_ready: bool | None = ...,
        timeout: float | None = ...,
        metadata: Any = ...,
    ) -> image_pb2.Image: ...
    @staticmethod
    def List(
        request: image_service_pb2.ListImagesRequest,
        target: str,
        options: Any = ...,
        channel_credentials: Any = ...,
        call_credentials: Any = ...,
        insecure: bool = ...,
        compression: Any = ...,
        wait_for_ready: bool | None = ...,
        timeout: float | None = ...,
        metadata: Any = ...,
    ) -> image_service_pb2.ListImagesResponse: ...
    @staticmethod
    def Create(
        request: image_service_pb2.CreateImageRequest,
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
    def Update(
        request: image_service_pb2.UpdateImageRequest,
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
    def Delete(
        request: image_service_pb2.DeleteImageRequest,
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
    def ListOperations(
        request: image_service_pb2.ListImageOperationsRequest,
        target: str,
        options: Any = ...,
        channel_credentials: Any = ...,
        call_credentials: Any = ...,
        insecure: bool = ...,
        compression: Any = ...,
        wait_for_ready: bool | None = ...,
        timeout: float | None = ...,
        metadata: Any = ...,
    ) -> image_service_pb2.ListImageOperationsResponse: ...
