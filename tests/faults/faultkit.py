"""Helpers of the fault tests: seeds, paging through everything, operations, SQLite checks."""

from __future__ import annotations

import os
import random
import shutil
import sqlite3
import tempfile
from pathlib import Path
from typing import Iterator

import grpc
from google.protobuf import empty_pb2

from yandex.cloud.baremetal.v1alpha import (
    image_pb2,
    image_service_pb2,
    image_service_pb2_grpc,
)
from yandex.cloud.operation import (
    operation_pb2,
    operation_service_pb2,
    operation_service_pb2_grpc,
)

TIMEOUT = 10  # seconds, for every call
MAX_PAGES = 1000  # a bound on every paging loop


def seed_from_environment() -> int:
    """`SEED` from the environment, else a fresh one; tests print it in every failure."""
    given = os.environ.get("SEED", "").strip()
    return int(given) if given else random.SystemRandom().randrange(2**32)


def image_of(operation: operation_pb2.Operation) -> image_pb2.Image:
    assert operation.done and operation.HasField("response"), operation
    image = image_pb2.Image()
    assert operation.response.Unpack(image), operation
    return image


def brief(item: operation_pb2.Operation | image_pb2.Image | None) -> str:
    """An operation or an image in one line, for failure messages."""
    if item is None:
        return "nothing"
    if isinstance(item, image_pb2.Image):
        labels = ",".join(
            f"{key}={value}" for key, value in sorted(item.labels.items())
        )
        return (
            f"image {item.id} {item.folder_id}/{item.name} {item.description!r} "
            f"[{labels}] {image_pb2.Image.Status.Name(item.status)}"
        )
    if item.HasField("error"):
        result = f"error {item.error.code} {item.error.message!r}"
    elif is_empty_response(item):
        result = "Empty"
    elif item.HasField("response"):
        result = brief(image_of(item))
    else:
        result = "no result"
    return f"operation {item.id} {item.description!r} done={item.done}: {result}"


def is_empty_response(operation: operation_pb2.Operation) -> bool:
    return (
        operation.done
        and operation.HasField("response")
        and operation.response.Is(empty_pb2.Empty.DESCRIPTOR)
    )


class Api:
    """The image and operation stubs over one channel."""

    def __init__(self, channel: grpc.Channel) -> None:
        self.images = image_service_pb2_grpc.ImageServiceStub(channel)
        self.operations = operation_service_pb2_grpc.OperationServiceStub(channel)

    def get(self, image_id: str) -> image_pb2.Image | None:
        try:
            return self.images.Get(
                image_service_pb2.GetImageRequest(image_id=image_id), timeout=TIMEOUT
            )
        except grpc.RpcError as error:
            if error.code() is grpc.StatusCode.NOT_FOUND:
                return None
            raise

    def list_images(self, folder_id: str) -> list[image_pb2.Image]:
        found: list[image_pb2.Image] = []
        token = ""
        for _ in range(MAX_PAGES):
            page = self.images.List(
                image_service_pb2.ListImagesRequest(
                    folder_id=folder_id, page_size=100, page_token=token
                ),
                timeout=TIMEOUT,
            )
            found.extend(page.images)
            token = page.next_page_token
            if not token:
                return found
        raise AssertionError(f"List of {folder_id} did not end after {MAX_PAGES} pages")

    def list_operations(self, image_id: str) -> list[operation_pb2.Operation]:
        """Every operation of an image, newest first."""
        found: list[operation_pb2.Operation] = []
        token = ""
        for _ in range(MAX_PAGES):
            page = self.images.ListOperations(
                image_service_pb2.ListImageOperationsRequest(
                    image_id=image_id, page_size=100, page_token=token
                ),
                timeout=TIMEOUT,
            )
            found.extend(page.operations)
            token = page.next_page_token
            if not token:
                return found
        raise AssertionError(
            f"ListOperations of {image_id} did not end after {MAX_PAGES} pages"
        )

    def get_operation(self, operation_id: str) -> operation_pb2.Operation | None:
        try:
            return self.operations.Get(
                operation_service_pb2.GetOperationRequest(operation_id=operation_id),
                timeout=TIMEOUT,
            )
        except grpc.RpcError as error:
            if error.code() is grpc.StatusCode.NOT_FOUND:
                return None
            raise


def integrity_check(db: Path, copy: bool = False) -> list[str]:
    """`PRAGMA integrity_check` of a SQLite file whose server has stopped: ['ok'] if intact.

    With `copy`, the file and its WAL are checked in a scratch directory, so that the original
    stays exactly as the crash left it (opening it would recover and checkpoint the WAL, and the
    restarted server would no longer have to)."""
    if not copy:
        return _integrity(db)
    with tempfile.TemporaryDirectory(prefix="crash-copy-") as scratch:
        target = Path(scratch) / db.name
        shutil.copyfile(db, target)
        wal = db.with_name(db.name + "-wal")
        if wal.exists():
            shutil.copyfile(wal, target.with_name(target.name + "-wal"))
        return _integrity(target)


def _integrity(db: Path) -> list[str]:
    connection = sqlite3.connect(db)
    try:
        return [row[0] for row in connection.execute("PRAGMA integrity_check")]
    finally:
        connection.close()


def connected_channels(address: str, count: int) -> Iterator[grpc.Channel]:
    """`count` channels, each with its own connection already made."""
    for _ in range(count):
        channel = grpc.insecure_channel(
            address, options=[("grpc.use_local_subchannel_pool", 1)]
        )
        grpc.channel_ready_future(channel).result(timeout=TIMEOUT)
        yield channel
