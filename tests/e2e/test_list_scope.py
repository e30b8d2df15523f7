"""A List that names no parent, over real gRPC, on both storages: it shows the resources of
every parent the token may see (all of them for an unbound token, the token's own for a bound
one), paged with tokens, in the order and with the filter asked; and Lists that name a parent
page through orders and filters answered from indexes and from a sort alike."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Iterator

import grpc
import pytest

from images import image_of
from support import GENERATED, ServerProcess
from yandex.cloud.baremetal.v1alpha import image_pb2
from yandex.cloud.baremetal.v1alpha import image_service_pb2 as api
from yandex.cloud.baremetal.v1alpha import image_service_pb2_grpc

OPEN = "open-token"  # every folder
BOUND = "bound-token"  # f1 and f2 only
FOLDERS = {"f1": 10, "f2": 5, "f3": 4}


@pytest.fixture(scope="module", params=["memory", "sqlite"])
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    db = (
        ":memory:"
        if request.param == "memory"
        else str(tmp_path_factory.mktemp("scope") / "db")
    )
    process = ServerProcess(
        GENERATED, "--db", db, "--token", OPEN, "--token", f"{BOUND}=f1,f2"
    ).start()
    yield process
    process.stop()


@pytest.fixture(scope="module")
def stub(server: ServerProcess) -> Iterator[image_service_pb2_grpc.ImageServiceStub]:
    with grpc.insecure_channel(server.address) as channel:
        yield image_service_pb2_grpc.ImageServiceStub(channel)


@pytest.fixture(scope="module")
def images(stub: image_service_pb2_grpc.ImageServiceStub) -> list[image_pb2.Image]:
    rng = random.Random(1)
    created = []
    for folder, count in FOLDERS.items():
        for index in range(count):
            request = api.CreateImageRequest(
                folder_id=folder,
                name=f"{rng.choice('abc')}{index}-{folder}",
                description=rng.choice(["", "blue", "red"]),
                uri="u",
            )
            created.append(image_of(stub.Create(request, metadata=caller(OPEN))))
    return created


def caller(token: str) -> list[tuple[str, str]]:
    return [("authorization", f"Bearer {token}")]


def listed(
    stub: image_service_pb2_grpc.ImageServiceStub,
    token: str,
    page_size: int,
    **fields: str,
) -> list[str]:
    """Ids of every page in turn."""
    request = api.ListImagesRequest(page_size=page_size, **fields)
    found: list[str] = []
    while True:
        response = stub.List(request, metadata=caller(token), timeout=10)
        assert len(response.images) <= page_size
        found += [image.id for image in response.images]
        if not response.next_page_token:
            return found
        assert len(response.images) == page_size
        request.page_token = response.next_page_token


def expected(
    images: list[image_pb2.Image],
    folders: set[str],
    key: str = "id",
    descending: bool = False,
    description: str | None = None,
) -> list[str]:
    chosen = [
        image
        for image in images
        if image.folder_id in folders
        and (description is None or image.description == description)
    ]
    # Ties by id ascending, as the order's tie-break says.
    chosen.sort(key=lambda image: image.id)
    chosen.sort(key=lambda image: getattr(image, key), reverse=descending)
    return [image.id for image in chosen]


ALL = set(FOLDERS)
OWN = {"f1", "f2"}


@pytest.mark.parametrize("token, folders", [(OPEN, ALL), (BOUND, OWN)])
@pytest.mark.parametrize("page_size", [1, 4, 100])
def test_a_list_without_a_parent_shows_what_the_token_may_see(
    stub: image_service_pb2_grpc.ImageServiceStub,
    images: list[image_pb2.Image],
    token: str,
    folders: set[str],
    page_size: int,
) -> None:
    assert listed(stub, token, page_size) == expected(images, folders)
    assert listed(stub, token, page_size, order_by="id desc") == expected(
        images, folders, descending=True
    )


@pytest.mark.parametrize("token, folders", [(OPEN, ALL), (BOUND, OWN)])
def test_a_list_without_a_parent_orders_and_filters(
    stub: image_service_pb2_grpc.ImageServiceStub,
    images: list[image_pb2.Image],
    token: str,
    folders: set[str],
) -> None:
    assert listed(stub, token, 3, order_by="name desc") == expected(
        images, folders, "name", descending=True
    )
    assert listed(stub, token, 3, filter='description = "blue"') == expected(
        images, folders, description="blue"
    )
    by_name = listed(stub, token, 2, order_by="name", filter='description = "red"')
    assert by_name == expected(images, folders, "name", description="red")


@pytest.mark.parametrize(
    "order_by, key, descending",
    [
        ("", "id", False),
        ("name", "name", False),
        ("name desc", "name", True),
        ("description desc", "description", True),
        ("created_at desc", "created_at", True),
    ],
)
@pytest.mark.parametrize("description", [None, "blue"])
def test_a_list_of_one_folder_pages_through_indexes(
    stub: image_service_pb2_grpc.ImageServiceStub,
    images: list[image_pb2.Image],
    order_by: str,
    key: str,
    descending: bool,
    description: str | None,
) -> None:
    fields = {"folder_id": "f1", "order_by": order_by}
    if description is not None:
        fields["filter"] = f'description = "{description}"'
    got = listed(stub, BOUND, 3, **fields)
    if key == "created_at":  # Timestamps compare by their nanoseconds
        ordered = expected(images, {"f1"}, description=description)
        by_id = {image.id: image for image in images}
        ordered.sort(key=lambda i: by_id[i].created_at.ToNanoseconds(), reverse=True)
        assert got == ordered
    else:
        assert got == expected(images, {"f1"}, key, descending, description)


def test_a_bound_token_is_still_denied_a_folder_it_may_not_see(
    stub: image_service_pb2_grpc.ImageServiceStub, images: list[image_pb2.Image]
) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        stub.List(api.ListImagesRequest(folder_id="f3"), metadata=caller(BOUND))
    assert caught.value.code() is grpc.StatusCode.PERMISSION_DENIED


def test_page_tokens_survive_a_restart(tmp_path: Path) -> None:
    server = ServerProcess(GENERATED, "--db", str(tmp_path / "db")).start()
    try:
        with grpc.insecure_channel(server.address) as channel:
            stub = image_service_pb2_grpc.ImageServiceStub(channel)
            for name in ("aa", "bb", "cc", "dd", "ee"):
                request = api.CreateImageRequest(folder_id="f", name=name, uri="u")
                image_of(stub.Create(request))
            request = api.ListImagesRequest(
                folder_id="f", page_size=2, order_by="name desc"
            )
            first = stub.List(request)
        server.stop()
        server.start()
        with grpc.insecure_channel(server.address) as channel:
            stub = image_service_pb2_grpc.ImageServiceStub(channel)
            request.page_token = first.next_page_token
            second = stub.List(request)
    finally:
        server.stop()
    names = [image.name for image in [*first.images, *second.images]]
    assert names == ["ee", "dd", "cc", "bb"] and second.next_page_token
