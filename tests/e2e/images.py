"""Helpers for talking to the generated ImageService the way a user does."""

from __future__ import annotations

import itertools
import os

import grpc
from google.protobuf import field_mask_pb2
from google.rpc import error_details_pb2, status_pb2

from yandex.cloud.baremetal.v1alpha import (
    image_pb2,
    image_service_pb2,
    image_service_pb2_grpc,
)
from yandex.cloud.operation import operation_pb2

_folders = itertools.count()


def new_folder() -> str:
    """A folder id no other test uses, so tests sharing a server do not see each other."""
    return f"folder-{os.getpid()}-{next(_folders)}"


def rich_status(error: grpc.RpcError) -> status_pb2.Status:
    for key, value in error.trailing_metadata() or ():  # type: ignore[attr-defined]
        if key == "grpc-status-details-bin":
            return status_pb2.Status.FromString(value)
    raise AssertionError(f"no google.rpc.Status in {error!r}")


def details(error: grpc.RpcError, kind):  # type: ignore[no-untyped-def]
    found = []
    for item in rich_status(error).details:
        detail = kind()
        if item.Unpack(detail):
            found.append(detail)
    return found


def violations(error: grpc.RpcError) -> dict[str, str]:
    """Field path -> description, from the BadRequest detail of an INVALID_ARGUMENT."""
    assert error.code() is grpc.StatusCode.INVALID_ARGUMENT, error
    (bad_request,) = details(error, error_details_pb2.BadRequest)
    return {item.field: item.description for item in bad_request.field_violations}


def mask(*paths: str) -> field_mask_pb2.FieldMask:
    return field_mask_pb2.FieldMask(paths=list(paths))


def image_of(operation: operation_pb2.Operation) -> image_pb2.Image:
    assert operation.done and operation.HasField("response"), operation
    image = image_pb2.Image()
    assert operation.response.Unpack(image)
    return image


class Images:
    def __init__(self, channel: grpc.Channel) -> None:
        self.stub = image_service_pb2_grpc.ImageServiceStub(channel)

    def create(self, folder_id: str, name: str = "", **fields) -> image_pb2.Image:  # type: ignore[no-untyped-def]
        fields.setdefault("uri", "https://example.com/image.qcow2")
        request = image_service_pb2.CreateImageRequest(
            folder_id=folder_id, name=name, **fields
        )
        return image_of(self.stub.Create(request, timeout=10))

    def get(self, image_id: str) -> image_pb2.Image:
        return self.stub.Get(
            image_service_pb2.GetImageRequest(image_id=image_id), timeout=10
        )

    def update(self, image_id: str, paths: tuple[str, ...] | None = None, **fields) -> operation_pb2.Operation:  # type: ignore[no-untyped-def]
        request = image_service_pb2.UpdateImageRequest(image_id=image_id, **fields)
        if paths is not None:
            request.update_mask.CopyFrom(mask(*paths))
        return self.stub.Update(request, timeout=10)
