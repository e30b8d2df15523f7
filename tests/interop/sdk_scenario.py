"""Runs in the official SDK's own virtualenv: talks to our server the way SDK users do.

    python sdk_scenario.py ADDRESS TOKEN ROOT_CERTIFICATE_FILE WRONG_TOKEN

Prints one JSON object with what it saw; the test checks it. Exits non-zero on a failed check.
"""

from __future__ import annotations

import json
import sys

import grpc
import yandexcloud
from google.protobuf.field_mask_pb2 import FieldMask
from yandex.cloud.baremetal.v1alpha import (
    image_pb2,
    image_service_pb2,
    image_service_pb2_grpc,
)
from yandex.cloud.operation.operation_service_pb2 import GetOperationRequest
from yandex.cloud.operation.operation_service_pb2_grpc import OperationServiceStub


def main() -> None:
    address, token, certificate_file, wrong_token = sys.argv[1:5]
    with open(certificate_file, "rb") as handle:
        root_certificates = handle.read()
    sdk = yandexcloud.SDK(
        iam_token=token, endpoint=address, root_certificates=root_certificates
    )

    # The SDK maps no service id to yandex.cloud.baremetal, so sdk.client() cannot make this
    # stub: it is the SDK's own ImageServiceStub over the same TLS roots and IAM token.
    credentials = grpc.composite_channel_credentials(
        grpc.ssl_channel_credentials(root_certificates=root_certificates),
        grpc.access_token_call_credentials(token),
    )
    images = image_service_pb2_grpc.ImageServiceStub(
        grpc.secure_channel(address, credentials)
    )

    created = sdk.wait_operation_and_get_result(
        images.Create(
            image_service_pb2.CreateImageRequest(
                folder_id="sdk-folder",
                name="from-sdk",
                description="made by the official SDK",
                uri="https://example.com/sdk.img",
                labels={"source": "sdk"},
            )
        ),
        response_type=image_pb2.Image,
        meta_type=image_service_pb2.CreateImageMetadata,
        timeout=30,
    )
    image = created.response
    assert created.meta.image_id == image.id, (created.meta, image)

    updated = sdk.wait_operation_and_get_result(
        images.Update(
            image_service_pb2.UpdateImageRequest(
                image_id=image.id,
                name="renamed-by-sdk",
                description="not in the mask",
                update_mask=FieldMask(paths=["name"]),
            )
        ),
        response_type=image_pb2.Image,
        meta_type=image_service_pb2.UpdateImageMetadata,
        timeout=30,
    )
    fetched = images.Get(image_service_pb2.GetImageRequest(image_id=image.id))
    assert fetched == updated.response, (fetched, updated.response)
    assert fetched.name == "renamed-by-sdk" and fetched.description == image.description

    try:
        images.Update(
            image_service_pb2.UpdateImageRequest(
                image_id=image.id,
                name="Not Valid",
                update_mask=FieldMask(paths=["name"]),
            )
        )
        invalid = "OK"
    except grpc.RpcError as error:
        invalid = error.code().name

    wrong = yandexcloud.SDK(
        iam_token=wrong_token, endpoint=address, root_certificates=root_certificates
    )
    try:
        wrong.client(OperationServiceStub).Get(
            GetOperationRequest(operation_id=created.operation.id)
        )
        rejected = "OK"
    except grpc.RpcError as error:
        rejected = error.code().name

    print(
        json.dumps(
            {
                "image_id": image.id,
                "created_name": image.name,
                "updated_name": fetched.name,
                "description": fetched.description,
                "labels": dict(fetched.labels),
                "created_by": updated.operation.created_by,
                "invalid_update": invalid,
                "wrong_token": rejected,
            }
        )
    )


if __name__ == "__main__":
    main()
