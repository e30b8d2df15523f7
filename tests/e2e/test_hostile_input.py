"""Hostile input over real gRPC: every error answer is bounded, so that the client reads the
INVALID_ARGUMENT (past gRPC's 8 KiB metadata limit it would read RESOURCE_EXHAUSTED instead);
requests that do not decode are INVALID_ARGUMENT without a traceback in the server log; and a
negative page_size is INVALID_ARGUMENT."""

from __future__ import annotations

from typing import Callable, Iterator

import grpc
import pytest
from google.protobuf.message import Message
from google.rpc import error_details_pb2

from images import Images, details, image_of, mask, new_folder
from support import GENERATED, ServerProcess
from yandex.cloud.baremetal.v1alpha import image_service_pb2 as api
from yandex.cloud.baremetal.v1alpha import image_service_pb2_grpc
from yandex.cloud.operation import operation_service_pb2

# What a client sees of an error: the status message (sent percent-encoded) and the trailing
# metadata, whose total gRPC limits to 8 KiB by default. Answers must stay well under it.
METADATA_BUDGET = 6 * 1024
MAX_LISTED = 21  # 20 violations and the one that counts the rest
HUGE = "x" * 100_000
# Within the 10,000 characters a filter or order_by may have, far past what an error quotes.
LONG = "x" * 9_000
SERVICE = "/yandex.cloud.baremetal.v1alpha.ImageService"


@pytest.fixture(scope="module")
def server() -> Iterator[ServerProcess]:
    process = ServerProcess(GENERATED, "--db", ":memory:").start()
    yield process
    process.stop()


@pytest.fixture(scope="module")
def channel(server: ServerProcess) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(server.address) as opened:
        yield opened


@pytest.fixture
def images(channel: grpc.Channel) -> Images:
    return Images(channel)


def bounded_invalid_argument(call: Callable[[], object]) -> list[tuple[str, str]]:
    """Makes the call, which must fail with INVALID_ARGUMENT and a bounded answer; returns the
    violations (field, description) of its BadRequest."""
    with pytest.raises(grpc.RpcError) as caught:
        call()
    error = caught.value
    assert error.code() is grpc.StatusCode.INVALID_ARGUMENT, error.details()[:300]
    message = error.details() or ""
    trailers = error.trailing_metadata() or ()
    size = len(message.encode()) * 3 + sum(
        len(key) + len(value) * 4 // 3 for key, value in trailers
    )
    assert size < METADATA_BUDGET, size
    (bad_request,) = details(error, error_details_pb2.BadRequest)
    listed = [(v.field, v.description) for v in bad_request.field_violations]
    assert 1 <= len(listed) <= MAX_LISTED
    for field, description in listed:
        assert len(field) <= 120 and len(description) <= 320
    return listed


def clipped(text: str) -> bool:
    return "…(truncated)" in text


def test_an_unknown_filter_field_with_a_huge_name(images: Images) -> None:
    request = api.ListImagesRequest(folder_id="f", filter=f"{LONG} = 'a'")
    [(field, description)] = bounded_invalid_argument(lambda: images.stub.List(request))
    assert field == "filter" and clipped(description)
    assert "supported: id, folder_id, name" in description


def test_an_unknown_order_by_field_with_a_huge_name(images: Images) -> None:
    request = api.ListImagesRequest(folder_id="f", order_by=f"name, {LONG} desc")
    [(field, description)] = bounded_invalid_argument(lambda: images.stub.List(request))
    assert field == "order_by" and clipped(description)


def test_a_huge_order_by_direction(images: Images) -> None:
    request = api.ListImagesRequest(folder_id="f", order_by=f"name {LONG}")
    [(field, description)] = bounded_invalid_argument(lambda: images.stub.List(request))
    assert field == "order_by" and clipped(description)


@pytest.mark.parametrize(
    "condition",
    [f"status = {LONG}", f"created_at = '{LONG}'", f"name = {LONG}"],
    ids=["enum", "timestamp", "unquoted-string"],
)
def test_a_huge_bad_value_in_a_filter(images: Images, condition: str) -> None:
    request = api.ListImagesRequest(folder_id="f", filter=condition)
    [(field, description)] = bounded_invalid_argument(lambda: images.stub.List(request))
    assert field == "filter"
    assert clipped(description) or len(description) < 300


def test_an_unknown_mask_path(images: Images) -> None:
    image = images.create(new_folder())
    request = api.UpdateImageRequest(image_id=image.id, update_mask=mask(HUGE))
    [(field, description)] = bounded_invalid_argument(
        lambda: images.stub.Update(request)
    )
    assert field == "update_mask" and clipped(description)
    assert "allowed paths: name, description, labels" in description


def test_many_unknown_mask_paths(images: Images) -> None:
    image = images.create(new_folder())
    paths = [f"{HUGE[:1000]}{index}" for index in range(1000)]
    request = api.UpdateImageRequest(image_id=image.id, update_mask=mask(*paths))
    bounded_invalid_argument(lambda: images.stub.Update(request))


def test_64_labels_with_bad_63_character_keys(images: Images) -> None:
    labels = {f"{index:02d}" + "X" * 61: "v" for index in range(64)}
    request = api.CreateImageRequest(folder_id=new_folder(), uri="u", labels=labels)
    listed = bounded_invalid_argument(lambda: images.stub.Create(request))
    assert listed[0][0].startswith("labels.")
    field, more = listed[-1]
    assert field == "" and more.startswith("and ") and "more violations" in more
    shown = len(listed) - 1
    assert int(more.split()[1]) == 64 - shown  # one bad key pattern per label


def test_100_000_bad_keys_in_a_big_create(images: Images) -> None:
    labels = {f"K{index:06d}": "v" for index in range(100_000)}
    request = api.CreateImageRequest(folder_id=new_folder(), uri="u", labels=labels)
    assert request.ByteSize() > 1_400_000
    listed = bounded_invalid_argument(lambda: images.stub.Create(request))
    # Every key breaks the key pattern and the map has more than 64 entries.
    assert int(listed[-1][1].split()[1]) == 100_001 - (len(listed) - 1)


def test_a_huge_page_token(images: Images) -> None:
    request = api.ListImagesRequest(folder_id="f", page_token=HUGE)
    bounded_invalid_argument(lambda: images.stub.List(request))


def test_a_huge_unknown_id_is_clipped_in_not_found(channel: grpc.Channel) -> None:
    """OperationService.Get checks only the length of operation ids (up to 50): the echo of
    an id is clipped wherever it comes from."""
    from yandex.cloud.operation import operation_service_pb2_grpc

    stub = operation_service_pb2_grpc.OperationServiceStub(channel)
    with pytest.raises(grpc.RpcError) as caught:
        stub.Get(operation_service_pb2.GetOperationRequest(operation_id="y" * 50))
    assert caught.value.code() is grpc.StatusCode.NOT_FOUND


@pytest.mark.parametrize("page_size", [-1, -100, -(2**31), -(2**63)])
def test_a_negative_page_size_is_invalid(images: Images, page_size: int) -> None:
    image = images.create(new_folder())
    for call in (
        lambda: images.stub.List(
            api.ListImagesRequest(folder_id=image.folder_id, page_size=page_size)
        ),
        lambda: images.stub.ListOperations(
            api.ListImageOperationsRequest(image_id=image.id, page_size=page_size)
        ),
    ):
        [(field, description)] = bounded_invalid_argument(call)
        assert field == "page_size" and description == "The minimum value is 0."


def test_a_long_client_request_id_is_refused_not_echoed(channel: grpc.Channel) -> None:
    """Echoed whole, a 6,000-character x-client-request-id made an error answer pass the
    client's 8 KiB of metadata (RESOURCE_EXHAUSTED). Past 128 characters it is refused, with a
    bounded INVALID_ARGUMENT that does not echo it, and the call does nothing."""
    folder = new_folder()
    request = api.CreateImageRequest(folder_id=folder, name="traced", uri="u")
    for length in (129, 6000):
        metadata = (("x-client-request-id", "c" * length),)
        [(field, description)] = bounded_invalid_argument(
            lambda: images_stub(channel).Create(request, metadata=metadata, timeout=10)
        )
        assert field == "x-client-request-id"
        assert description == "The maximum string length in characters is 128."
    with pytest.raises(grpc.RpcError) as caught:
        images_stub(channel).Get(
            api.GetImageRequest(image_id="a" * 20),
            metadata=(("x-client-request-id", "c" * 6000),),
            timeout=10,
        )
    assert caught.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    keys = [key for key, _ in caught.value.trailing_metadata() or ()]
    assert "x-client-request-id" not in keys and "x-request-id" in keys
    listed = images_stub(channel).List(api.ListImagesRequest(folder_id=folder))
    assert not listed.images
    # 128 characters are echoed as they are.
    longest = "d" * 128
    _, call = images_stub(channel).Create.with_call(
        request, metadata=(("x-client-request-id", longest),), timeout=10
    )
    assert ("x-client-request-id", longest) in list(call.trailing_metadata())


def images_stub(channel: grpc.Channel) -> image_service_pb2_grpc.ImageServiceStub:
    return image_service_pb2_grpc.ImageServiceStub(channel)


# --- requests that do not decode -----------------------------------------------------------


def valid_create() -> Message:
    return api.CreateImageRequest(folder_id="folder-bytes", name="ab", uri="u")


def nested_groups(depth: int = 200) -> bytes:
    # Field 15, wire type 3 (start group) then 4 (end group): nesting past the parser's limit.
    return b"\x7b" * depth + b"\x7c" * depth


# Field 1 is a string in every request below (the id or the folder).
UNDECODABLE = {
    "invalid-utf8": lambda: b"\x0a\x02\xff\xfe",
    "truncated": lambda: b"\x0a\x05ab",
    "garbage": lambda: b"\xff\xff\xff\xff\xff",
    "nested-groups": nested_groups,
}


@pytest.mark.parametrize("method", ["Create", "List", "Get", "Update", "Delete"])
@pytest.mark.parametrize("kind", list(UNDECODABLE))
def test_undecodable_requests_are_invalid_argument(
    channel: grpc.Channel, method: str, kind: str
) -> None:
    call = channel.unary_unary(f"{SERVICE}/{method}")  # raw bytes, no serializer
    data = UNDECODABLE[kind]()
    [(field, description)] = bounded_invalid_argument(lambda: call(data, timeout=10))
    assert description.startswith("The request could not be decoded")


def test_undecodable_operation_requests_are_invalid_argument(
    channel: grpc.Channel,
) -> None:
    call = channel.unary_unary("/yandex.cloud.operation.OperationService/Get")
    bounded_invalid_argument(lambda: call(nested_groups(), timeout=10))


def test_valid_bytes_still_work(channel: grpc.Channel) -> None:
    call = channel.unary_unary(f"{SERVICE}/Create")
    answer = call(valid_create().SerializeToString(), timeout=10)
    from yandex.cloud.operation import operation_pb2

    image_of(operation_pb2.Operation.FromString(answer))


def test_the_server_logged_no_traceback(
    server: ServerProcess, channel: grpc.Channel
) -> None:
    """Runs last in this module: nothing above made the server log a traceback."""
    log = server.server_log()
    assert "Traceback" not in log and "Exception" not in log, log[-3000:]
