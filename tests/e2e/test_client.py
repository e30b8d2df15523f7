"""The generated clients against the generated server, over real gRPC.

Every test runs twice: with the sync client, and with the asyncio client driven through
`blocking.Blocking`, so that both get the same coverage; one more test uses the asyncio
client's own syntax (`async with`, `async for`, `await`)."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from pathlib import Path
from typing import Iterator

import grpc
import pytest
from google.protobuf import empty_pb2

from blocking import Blocking
from images import new_folder
from support import GENERATED, ServerProcess, make_certificate
from yandex.cloud.baremetal.v1alpha import image_pb2, image_service_pb2
from yandex.cloud.baremetal.v1alpha.image_service_client import (
    AsyncImageServiceClient,
    ImageServiceClient,
)
from yc_runtime import client as runtime

TOKEN = "client-test-token"


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return make_certificate(tmp_path_factory.mktemp("tls"))


def secure_server(certificate: tuple[Path, Path], *arguments: str) -> ServerProcess:
    """A server with TLS and a token, as the clients meet it in production."""
    cert, key = certificate
    flags = ("--tls-cert", str(cert), "--tls-key", str(key), "--token", TOKEN)
    return ServerProcess(GENERATED, *flags, *arguments).start()


FLAVORS = ("sync", "asyncio")


def connect(  # type: ignore[no-untyped-def]
    server: ServerProcess, certificate: tuple[Path, Path], flavor: str, **options
):
    """An ImageServiceClient, or an AsyncImageServiceClient behind the same sync calls."""
    arguments = {
        "root_certificates": certificate[0].read_bytes(),
        "token": TOKEN,
        **options,
    }
    endpoint = f"localhost:{server.port}"
    if flavor == "sync":
        return ImageServiceClient(endpoint, **arguments)
    return Blocking(lambda: AsyncImageServiceClient(endpoint, **arguments))


@pytest.fixture(params=FLAVORS)
def flavor(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def tls_server(certificate: tuple[Path, Path]) -> Iterator[ServerProcess]:
    server = secure_server(certificate, "--db", ":memory:")
    yield server
    server.stop()


@pytest.fixture
def client(
    tls_server: ServerProcess, certificate: tuple[Path, Path], flavor: str
) -> Iterator[ImageServiceClient]:
    opened = connect(tls_server, certificate, flavor)
    yield opened
    opened.close()


def test_a_wrong_token_is_unauthenticated(
    tls_server: ServerProcess, certificate: tuple[Path, Path], flavor: str
) -> None:
    with connect(tls_server, certificate, flavor, token="wrong") as intruder:
        with pytest.raises(runtime.UnauthenticatedError):
            intruder.get("a" * 20)


def test_create_returns_a_typed_operation_future(client: ImageServiceClient) -> None:
    folder = new_folder()
    operation = client.create(folder, name="typed", uri="u", labels={"a": "b"})
    assert len(operation.id) == 20
    assert isinstance(operation.metadata, image_service_pb2.CreateImageMetadata)
    assert operation.done()
    image = operation.result()
    assert isinstance(image, image_pb2.Image)
    assert operation.metadata.image_id == image.id
    assert client.get(image.id) == image


def test_update_masks_exactly_the_fields_given(client: ImageServiceClient) -> None:
    image = client.create(
        new_folder(), name="masked", description="keep", uri="u"
    ).result()
    updated = client.update(image.id, name="renamed").result()
    assert (updated.name, updated.description) == ("renamed", "keep")
    # A value equal to the default still counts as given: it clears the description.
    cleared = client.update(image.id, description="").result()
    assert (cleared.name, cleared.description) == ("renamed", "")
    # An explicit update_mask overrides the computed one.
    explicit = client.update(
        image.id, name="ignored", labels={"x": "y"}, update_mask=["labels"]
    ).result()
    assert (explicit.name, dict(explicit.labels)) == ("renamed", {"x": "y"})
    with pytest.raises(ValueError, match="nothing to update"):
        client.update(image.id)


def test_request_message_is_accepted(client: ImageServiceClient) -> None:
    request = image_service_pb2.CreateImageRequest(
        folder_id=new_folder(), name="whole", uri="u"
    )
    image = client.create(request=request).result()
    assert image.name == "whole"
    with pytest.raises(TypeError):
        client.create(new_folder(), request=request)


def test_list_iterates_every_item_lazily_and_gives_pages(
    client: ImageServiceClient,
) -> None:
    folder = new_folder()
    created = {
        client.create(folder, name=f"p{index:02}", uri="u").result().id
        for index in range(23)
    }
    assert {image.id for image in client.list(folder, page_size=5)} == created
    pages = list(client.list(folder, page_size=10).pages())
    assert [len(page.images) for page in pages] == [10, 10, 3]
    assert isinstance(pages[0], image_service_pb2.ListImagesResponse)
    names = [
        i.name for i in client.list(folder, order_by="name desc", filter='name:"p1"')
    ]
    assert names == [f"p{index}" for index in range(19, 9, -1)]


def test_errors_form_one_hierarchy_with_details(client: ImageServiceClient) -> None:
    with pytest.raises(runtime.NotFoundError) as missing:
        client.get("a" * 20)
    assert missing.value.code is grpc.StatusCode.NOT_FOUND
    # The ids the server answered with: its own, and the one this client sent.
    assert uuid.UUID(missing.value.request_id) != uuid.UUID(
        missing.value.client_request_id
    )
    with pytest.raises(runtime.InvalidArgumentError) as invalid:
        client.create(new_folder(), name="Bad Name", uri="u")
    assert set(invalid.value.violations) == {"name"}
    assert isinstance(invalid.value, runtime.ClientError)
    folder = new_folder()
    client.create(folder, name="same", uri="u").result()
    with pytest.raises(runtime.AlreadyExistsError):
        client.create(folder, name="same", uri="u")


def test_delete_result_is_empty(client: ImageServiceClient) -> None:
    image = client.create(new_folder(), uri="u").result()
    assert client.delete(image.id).result() == empty_pb2.Empty()
    operations = list(client.list_operations(image.id, page_size=1))
    assert [o.description for o in operations] == ["Delete image", "Create image"]


@pytest.fixture(scope="module")
def slow_server(certificate: tuple[Path, Path]) -> Iterator[ServerProcess]:
    server = secure_server(certificate, "--db", ":memory:", "--operation-delay", "0.3")
    yield server
    server.stop()


def test_result_polls_until_done(
    slow_server: ServerProcess, certificate: tuple[Path, Path], flavor: str
) -> None:
    with connect(slow_server, certificate, flavor) as client:
        operation = client.create(new_folder(), name="later", uri="u")
        assert not operation.operation.done
        started = time.monotonic()
        image = operation.result(timeout=10)
        assert image.status == image_pb2.Image.READY
        assert time.monotonic() - started < 1.5


def test_result_times_out_with_an_error(
    slow_server: ServerProcess, certificate: tuple[Path, Path], flavor: str
) -> None:
    with connect(slow_server, certificate, flavor) as client:
        operation = client.create(new_folder(), name="slow", uri="u")
        with pytest.raises(TimeoutError):
            operation.result(timeout=0.05)
        assert operation.result(timeout=10).name == "slow"


def test_failed_and_cancelled_operations_raise(
    slow_server: ServerProcess, certificate: tuple[Path, Path], flavor: str
) -> None:
    with connect(slow_server, certificate, flavor) as client:
        folder = new_folder()
        image = client.create(folder, name="two", uri="u").result()
        rename = client.update(image.id, name="three")
        client.create(folder, name="three", uri="u")  # takes the name meanwhile
        with pytest.raises(runtime.OperationError) as failed:
            rename.result(timeout=10)
        assert failed.value.code is grpc.StatusCode.ALREADY_EXISTS
        assert failed.value.status.code == grpc.StatusCode.ALREADY_EXISTS.value[0]
        assert failed.value.details

        pending = client.create(new_folder(), name="never", uri="u")
        pending.cancel()
        with pytest.raises(runtime.OperationError) as cancelled:
            pending.result()
        assert cancelled.value.code is grpc.StatusCode.CANCELLED


def test_retries_unavailable_across_a_server_restart(
    tmp_path: Path, certificate: tuple[Path, Path], flavor: str
) -> None:
    db = str(tmp_path / "retry.sqlite3")
    server = secure_server(certificate, "--db", db)
    retry = runtime.RetryPolicy(
        attempts=30, backoff=runtime.Backoff(initial=0.05, multiplier=1.5, maximum=0.3)
    )
    with connect(server, certificate, flavor, retry=retry, timeout=20) as client:
        image = client.create(new_folder(), name="survivor", uri="u").result()
        server.stop()
        restarted: list[ServerProcess] = []

        def restart_server() -> None:
            cert, key = certificate
            flags = ("--tls-cert", str(cert), "--tls-key", str(key), "--token", TOKEN)
            again = ServerProcess(GENERATED, *flags, "--db", db)
            restarted.append(again.start(port=server.port))

        restart = threading.Timer(1.0, restart_server)
        restart.start()
        try:
            assert client.get(image.id) == image  # UNAVAILABLE until the restart
        finally:
            restart.join()
            restarted[0].stop()
    with connect(
        server, certificate, flavor, retry=runtime.NO_RETRY, timeout=2
    ) as client:
        with pytest.raises(runtime.UnavailableError):
            client.get(image.id)


def test_async_client_in_its_own_syntax(
    tls_server: ServerProcess, certificate: tuple[Path, Path]
) -> None:
    roots = certificate[0].read_bytes()

    async def scenario() -> None:
        endpoint = f"localhost:{tls_server.port}"
        async with AsyncImageServiceClient(
            endpoint, root_certificates=roots, token=TOKEN
        ) as client:
            folder = new_folder()
            operation = await client.create(folder, name="async", uri="u")
            image = await operation.result()
            assert operation.metadata.image_id == image.id and await operation.done()
            updated = await (await client.update(image.id, description="d")).result()
            assert updated.description == "d"
            for index in range(4):
                await (await client.create(folder, name=f"a{index}", uri="u")).result()
            items = [item.name async for item in client.list(folder, page_size=2)]
            assert sorted(items) == ["a0", "a1", "a2", "a3", "async"]
            pages = [page async for page in client.list(folder, page_size=2).pages()]
            assert len(pages) == 3

    asyncio.run(scenario())
