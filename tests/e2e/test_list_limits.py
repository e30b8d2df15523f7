"""A List cannot hold the storage for long: a filter or order_by past 10,000 characters is refused
before it is parsed, and a List that reads past its call's deadline (or past the client's
cancelling it) stops, ending its read transaction: one List with a huge filter once held the
in-memory storage's lock, and so every other call, for seconds."""

from __future__ import annotations

import threading
import time
from typing import Iterator

import grpc
import pytest

from images import Images, new_folder, violations
from yandex.cloud.baremetal.v1alpha import image_pb2, image_service_pb2 as api
from yandex.cloud.baremetal.v1alpha import image_service_server
from yc_runtime import server
from yc_runtime.planner import QueryPlanner
from yc_runtime.storage import StoredResource

LIMIT = "The maximum string length in characters is 10000."


def test_a_filter_past_the_limit_is_refused_naming_it(images: Images) -> None:
    folder = new_folder()
    images.create(folder, "kept")
    longest = 'name:"' + "k" * 9993 + '"'
    assert len(longest) == 10_000
    listed = images.stub.List(api.ListImagesRequest(folder_id=folder, filter=longest))
    assert not listed.images
    for text in (longest + " ", 'name:"kept" AND ' * 250_000):
        with pytest.raises(grpc.RpcError) as caught:
            images.stub.List(api.ListImagesRequest(folder_id=folder, filter=text))
        assert violations(caught.value) == {"filter": LIMIT}
        assert caught.value.details() == f"Request validation error: filter: {LIMIT}"


def test_an_order_by_past_the_limit_is_refused_naming_it(images: Images) -> None:
    request = api.ListImagesRequest(folder_id=new_folder(), order_by=" " * 10_001)
    with pytest.raises(grpc.RpcError) as caught:
        images.stub.List(request)
    assert violations(caught.value) == {"order_by": LIMIT}


@pytest.fixture
def images(channel: grpc.Channel) -> Images:
    return Images(channel)


class EndlessPlanner(QueryPlanner):
    """Reads a folder that never ends: after its resources, resources that match no filter,
    one a millisecond, for as long as the reader reads. A List through it ends only when
    something stops it; meanwhile it holds its read transaction (with in-memory storage, the
    lock every other call needs)."""

    def __init__(self) -> None:
        super().__init__(image_service_server.ImageService.RESOURCE)
        self.reading = threading.Event()  # set once the endless part has begun

    def decoded(self, records: Iterator[StoredResource]) -> Iterator[image_pb2.Image]:
        for message in super().decoded(records):
            yield message  # type: ignore[misc]
        self.reading.set()
        while True:
            time.sleep(0.001)
            yield image_pb2.Image(id="endless", name="never-listed")


@pytest.fixture
def endless() -> Iterator[tuple[EndlessPlanner, Images]]:
    planner = EndlessPlanner()
    running = server.start(
        [lambda runtime: image_service_server.ImageService(runtime, planner=planner)],
        db=":memory:",
    )
    try:
        with grpc.insecure_channel(f"127.0.0.1:{running.port}") as channel:
            yield planner, Images(channel)
    finally:
        running.stop(grace=None)


# By an index walk, and by a sort of the whole folder.
ORDERS = ["", "name, description"]


@pytest.mark.parametrize("order_by", ORDERS, ids=["walk", "sort"])
def test_a_list_past_its_deadline_stops_and_frees_the_storage(
    endless: tuple[EndlessPlanner, Images], order_by: str
) -> None:
    planner, images = endless
    image = images.create(new_folder(), "present")
    request = api.ListImagesRequest(
        folder_id=image.folder_id, filter='name:"absent"', order_by=order_by
    )
    with pytest.raises(grpc.RpcError) as caught:
        images.stub.List(request, timeout=0.5)
    assert caught.value.code() is grpc.StatusCode.DEADLINE_EXCEEDED
    assert planner.reading.is_set()
    # The List never ends by itself; this Get needs the lock it held.
    assert images.get(image.id) == image


@pytest.mark.parametrize("order_by", ORDERS, ids=["walk", "sort"])
def test_a_cancelled_list_stops_and_frees_the_storage(
    endless: tuple[EndlessPlanner, Images], order_by: str
) -> None:
    planner, images = endless
    image = images.create(new_folder(), "present")
    request = api.ListImagesRequest(
        folder_id=image.folder_id, filter='name:"absent"', order_by=order_by
    )
    listing = images.stub.List.future(request)  # no deadline
    assert planner.reading.wait(timeout=30)
    listing.cancel()
    assert images.get(image.id) == image
