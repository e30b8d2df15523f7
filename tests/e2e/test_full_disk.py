"""A full disk, as SQLite itself reports it ("database or disk is full", SQLITE_FULL): calls that
write answer RESOURCE_EXHAUSTED, not INTERNAL with a traceback per call; reads go on; the server
logs the fault once when it begins and once when writes succeed again; delayed operations wait
and complete once there is room.

The disk is filled with `PRAGMA max_page_count` on the server's real database (SQLite then
refuses to grow it exactly as on a full file system), not with a small file system."""

from __future__ import annotations

import logging
import sqlite3
import time
from pathlib import Path
from typing import Iterator

import grpc
import pytest

from images import Images, new_folder
from yandex.cloud.baremetal.v1alpha import image_service_pb2 as api
from yandex.cloud.baremetal.v1alpha import image_service_server
from yandex.cloud.operation import operation_service_pb2, operation_service_pb2_grpc
from yc_runtime import server
from yc_runtime.storage_sqlite import SqliteStorage

FULL = "The server's storage is full: no change can be saved until space is freed"
LABELS = {f"key-{index:02d}": "v" * 63 for index in range(64)}  # 8 KiB: new pages


class FillableStorage(SqliteStorage):
    """The server's SQLite storage, whose database the test can stop from growing."""

    def _open(self) -> sqlite3.Connection:
        connection = super()._open()
        if not hasattr(self, "writer"):  # the first connection is the one that writes
            self.writer = connection
        return connection

    def fill(self) -> None:
        # SQLite keeps the limit at the database's size when asked for less.
        self.writer.execute("PRAGMA max_page_count = 1")

    def free(self) -> None:
        self.writer.execute("PRAGMA max_page_count = 1073741823")


class Fixture:
    def __init__(self, path: Path, operation_delay: float = 0.0) -> None:
        self.storage = FillableStorage(str(path))
        self.running = server.start(
            [image_service_server.ImageService],
            storage=self.storage,
            operation_delay=operation_delay,
        )
        self.channel = grpc.insecure_channel(f"127.0.0.1:{self.running.port}")
        self.images = Images(self.channel)
        self.operations = operation_service_pb2_grpc.OperationServiceStub(self.channel)

    def close(self) -> None:
        self.channel.close()
        self.running.stop()


@pytest.fixture
def caught(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO, logger="yc_runtime")
    return caplog


@pytest.fixture
def full(tmp_path: Path) -> Iterator[Fixture]:
    fixture = Fixture(tmp_path / "api.sqlite3")
    yield fixture
    fixture.close()


def create(folder: str, name: str) -> api.CreateImageRequest:
    return api.CreateImageRequest(
        folder_id=folder, name=name, uri="https://example.com/i", labels=LABELS
    )


def test_writes_answer_resource_exhausted_and_reads_go_on(
    full: Fixture, caught: pytest.LogCaptureFixture
) -> None:
    folder = new_folder()
    kept = full.images.create(folder, "kept")
    full.storage.fill()
    for index in range(5):
        with pytest.raises(grpc.RpcError) as refused:
            full.images.stub.Create(create(folder, f"n{index}"), timeout=10)
        assert refused.value.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
        assert refused.value.details() == FULL
    with pytest.raises(grpc.RpcError) as refused:
        full.images.update(kept.id, ("labels",), labels=LABELS)
    assert refused.value.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
    assert full.images.get(kept.id) == kept  # nothing half-written
    listed = full.images.stub.List(api.ListImagesRequest(folder_id=folder))
    assert [image.id for image in listed.images] == [kept.id]
    # One line when the disk filled, none per call, no traceback.
    records = [r for r in caught.records if r.name.startswith("yc_runtime")]
    assert [
        (r.levelno, "database or disk is full" in r.getMessage()) for r in records
    ] == [(logging.ERROR, True)]
    assert not any(r.exc_info for r in records)
    full.storage.free()
    again = full.images.create(folder, "again", labels=LABELS)
    assert again.labels == LABELS
    assert caught.records[-1].getMessage().endswith("calls succeed again")
    # A second time fills the disk, a second line.
    full.storage.fill()
    with pytest.raises(grpc.RpcError) as refused:
        full.images.stub.Create(create(folder, "later"), timeout=10)
    assert refused.value.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
    errors = [r for r in caught.records if r.levelno == logging.ERROR]
    assert len(errors) == 2


def test_a_delayed_operation_waits_for_room(
    tmp_path: Path, caught: pytest.LogCaptureFixture
) -> None:
    """Its completion meets the full disk: the operation stays unfinished (no traceback, no
    failed operation), is tried again, and completes once there is room."""
    fixture = Fixture(tmp_path / "api.sqlite3", operation_delay=1.0)
    try:
        started = fixture.images.stub.Create(create(new_folder(), "slow"))
        assert not started.done
        # Completing it stores the 8 KiB image in the operation's response: pages more.
        fixture.storage.fill()
        request = operation_service_pb2.GetOperationRequest(operation_id=started.id)
        while not any(r.levelno == logging.ERROR for r in caught.records):
            assert not fixture.operations.Get(request).done
            time.sleep(0.05)
        assert not fixture.operations.Get(request).done
        fixture.storage.free()
        while not (operation := fixture.operations.Get(request)).done:
            time.sleep(0.05)
        assert operation.HasField("response"), operation
        assert not any(r.exc_info for r in caught.records)
    finally:
        fixture.close()
