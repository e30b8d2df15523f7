"""Delayed operations (--operation-delay), OperationService, restarts and `make serve`."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Iterator

import grpc
import pytest
from google.protobuf import empty_pb2

from images import Images, image_of, new_folder, violations
from support import GENERATED, ROOT, ServerProcess
from yandex.cloud.baremetal.v1alpha import image_pb2, image_service_pb2
from yandex.cloud.operation import (
    operation_pb2,
    operation_service_pb2,
    operation_service_pb2_grpc,
)

DELAY = 0.6


def wait(
    channel: grpc.Channel, operation: operation_pb2.Operation, timeout: float = 10
) -> operation_pb2.Operation:
    stub = operation_service_pb2_grpc.OperationServiceStub(channel)
    deadline = time.monotonic() + timeout
    while not operation.done:
        assert time.monotonic() < deadline, f"operation {operation.id} did not finish"
        time.sleep(0.05)
        operation = stub.Get(
            operation_service_pb2.GetOperationRequest(operation_id=operation.id)
        )
    return operation


@pytest.fixture(scope="module")
def slow_channel() -> Iterator[grpc.Channel]:
    server = ServerProcess(
        GENERATED, "--db", ":memory:", "--operation-delay", str(DELAY)
    ).start()
    with grpc.insecure_channel(server.address) as channel:
        yield channel
    server.stop()


def test_delayed_create_shows_creating_until_done(slow_channel: grpc.Channel) -> None:
    images = Images(slow_channel)
    operation = images.stub.Create(
        image_service_pb2.CreateImageRequest(
            folder_id=new_folder(), name="slow", uri="u"
        )
    )
    assert not operation.done and not operation.HasField("response")
    metadata = image_service_pb2.CreateImageMetadata()
    operation.metadata.Unpack(metadata)
    assert images.get(metadata.image_id).status == image_pb2.Image.CREATING
    done = wait(slow_channel, operation)
    image = image_of(done)
    assert image.status == image_pb2.Image.READY and images.get(image.id) == image
    assert done.modified_at.ToNanoseconds() > done.created_at.ToNanoseconds()


def test_delayed_update_applies_when_done_and_blocks_other_changes(
    slow_channel: grpc.Channel,
) -> None:
    images = Images(slow_channel)
    image = image_of(
        wait(
            slow_channel,
            images.stub.Create(
                image_service_pb2.CreateImageRequest(
                    folder_id=new_folder(), name="before", uri="u"
                )
            ),
        )
    )
    operation = images.update(image.id, ("name",), name="after")
    assert not operation.done
    in_flight = images.get(image.id)
    assert (in_flight.status, in_flight.name) == (image_pb2.Image.UPDATING, "before")
    with pytest.raises(grpc.RpcError) as caught:
        images.update(image.id, ("description",), description="meanwhile")
    assert caught.value.code() is grpc.StatusCode.FAILED_PRECONDITION
    updated = image_of(wait(slow_channel, operation))
    assert (updated.status, updated.name) == (image_pb2.Image.READY, "after")
    assert images.get(image.id) == updated


def test_cancel_pending_operations(slow_channel: grpc.Channel) -> None:
    images = Images(slow_channel)
    operations = operation_service_pb2_grpc.OperationServiceStub(slow_channel)
    create = images.stub.Create(
        image_service_pb2.CreateImageRequest(
            folder_id=new_folder(), name="gone", uri="u"
        )
    )
    cancelled = operations.Cancel(
        operation_service_pb2.CancelOperationRequest(operation_id=create.id)
    )
    assert cancelled.done and cancelled.error.code == grpc.StatusCode.CANCELLED.value[0]
    metadata = image_service_pb2.CreateImageMetadata()
    create.metadata.Unpack(metadata)
    with pytest.raises(grpc.RpcError) as caught:
        images.get(metadata.image_id)
    assert caught.value.code() is grpc.StatusCode.NOT_FOUND
    # Cancelling again returns the finished operation unchanged, also after the delay.
    time.sleep(DELAY + 0.3)
    again = operations.Cancel(
        operation_service_pb2.CancelOperationRequest(operation_id=create.id)
    )
    assert again == cancelled

    image = image_of(
        wait(
            slow_channel,
            images.stub.Create(
                image_service_pb2.CreateImageRequest(
                    folder_id=new_folder(), name="kept", uri="u"
                )
            ),
        )
    )
    update = images.update(image.id, ("name",), name="changed")
    operations.Cancel(
        operation_service_pb2.CancelOperationRequest(operation_id=update.id)
    )
    assert images.get(image.id) == image  # unchanged and READY again


def test_failed_operation_carries_the_error(slow_channel: grpc.Channel) -> None:
    images = Images(slow_channel)
    folder = new_folder()
    image = image_of(
        wait(
            slow_channel,
            images.stub.Create(
                image_service_pb2.CreateImageRequest(
                    folder_id=folder, name="two", uri="u"
                )
            ),
        )
    )
    rename = images.update(image.id, ("name",), name="three")
    # Another image takes the name while the rename is in flight...
    images.stub.Create(
        image_service_pb2.CreateImageRequest(folder_id=folder, name="three", uri="u")
    )
    # ...so the rename fails when it completes, and the image is left as it was.
    failed = wait(slow_channel, rename)
    assert failed.HasField("error") and not failed.HasField("response")
    assert failed.error.code == grpc.StatusCode.ALREADY_EXISTS.value[0]
    assert "three" in failed.error.message and failed.error.details
    assert images.get(image.id) == image


def test_delayed_delete(slow_channel: grpc.Channel) -> None:
    images = Images(slow_channel)
    image = image_of(
        wait(
            slow_channel,
            images.stub.Create(
                image_service_pb2.CreateImageRequest(folder_id=new_folder(), uri="u")
            ),
        )
    )
    operation = images.stub.Delete(
        image_service_pb2.DeleteImageRequest(image_id=image.id)
    )
    assert images.get(image.id).status == image_pb2.Image.DELETING
    done = wait(slow_channel, operation)
    assert done.response.Is(empty_pb2.Empty.DESCRIPTOR)
    with pytest.raises(grpc.RpcError) as caught:
        images.get(image.id)
    assert caught.value.code() is grpc.StatusCode.NOT_FOUND


def test_sqlite_survives_restarts_and_finishes_pending_operations(
    tmp_path: Path,
) -> None:
    db = str(tmp_path / "api.sqlite3")
    server = ServerProcess(GENERATED, "--db", db).start()
    with grpc.insecure_channel(server.address) as channel:
        images = Images(channel)
        folder = new_folder()
        image = images.create(folder, "durable", labels={"a": "b"})
        image = image_of(images.update(image.id, ("description",), description="v2"))
        response = images.stub.List(
            image_service_pb2.ListImagesRequest(folder_id=folder, page_size=1)
        )
        images.create(folder, "second")
        token = images.stub.List(
            image_service_pb2.ListImagesRequest(folder_id=folder, page_size=1)
        ).next_page_token
    assert server.stop() == 0  # SIGTERM: graceful
    assert response.images

    slow = ServerProcess(GENERATED, "--db", db, "--operation-delay", "1").start(
        port=server.port
    )
    with grpc.insecure_channel(slow.address) as channel:
        images = Images(channel)
        assert images.get(image.id) == image
        page = images.stub.List(
            image_service_pb2.ListImagesRequest(
                folder_id=folder, page_size=1, page_token=token
            )
        )
        assert len(page.images) == 1  # a page token from before the restart still works
        pending = images.update(image.id, ("description",), description="v3")
    slow.stop(signal.SIGKILL)  # a crash while the operation is pending

    again = ServerProcess(GENERATED, "--db", db).start()
    with grpc.insecure_channel(again.address) as channel:
        done = wait(channel, pending)
        assert image_of(done).description == "v3"
        operations = (
            Images(channel)
            .stub.ListOperations(
                image_service_pb2.ListImageOperationsRequest(image_id=image.id)
            )
            .operations
        )
        assert [o.id for o in operations][0] == pending.id and len(operations) == 3
    assert again.stop() == 0


def test_make_serve_prints_the_address_and_stops_on_sigterm(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [
            "make",
            "-s",
            "serve",
            f"SERVE_ARGS=--port 0 --db {tmp_path / 'serve.sqlite3'}",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline().strip()
    assert line.startswith("listening on 127.0.0.1:"), line
    with grpc.insecure_channel(line.removeprefix("listening on ")) as channel:
        image = Images(channel).create(new_folder(), "served")
        assert Images(channel).get(image.id) == image
    # SIGTERM to the server (make's child): it shuts down cleanly, so make succeeds.
    children = (
        Path(f"/proc/{process.pid}/task/{process.pid}/children").read_text().split()
    )
    os.kill(int(children[0]), signal.SIGTERM)
    assert process.wait(timeout=30) == 0, (
        process.stderr.read() if process.stderr else ""
    )
