"""ImageService Create, Get, List, Delete and ListOperations, and OperationService, over gRPC."""

from __future__ import annotations

import grpc
import pytest
from google.protobuf import empty_pb2

from images import Images, details, image_of, new_folder, violations
from yandex.cloud.baremetal.v1alpha import image_pb2, image_service_pb2
from yandex.cloud.operation import operation_service_pb2, operation_service_pb2_grpc
from google.rpc import error_details_pb2


@pytest.fixture
def images(channel: grpc.Channel) -> Images:
    return Images(channel)


@pytest.fixture
def operations(
    channel: grpc.Channel,
) -> operation_service_pb2_grpc.OperationServiceStub:
    return operation_service_pb2_grpc.OperationServiceStub(channel)


def test_create_fills_server_fields_and_metadata(images: Images) -> None:
    folder = new_folder()
    request = image_service_pb2.CreateImageRequest(
        folder_id=folder,
        name="disk",
        description="d",
        uri="https://example.com/x",
        labels={"a": "b"},
    )
    operation = images.stub.Create(request)
    image = image_of(operation)
    assert (
        len(image.id) == 20
        and image.id.isalnum()
        and image.id[0].isalpha()
        and image.id.islower()
    )
    assert (
        len(operation.id) == 20 and operation.id[0].isalpha() and operation.id.islower()
    )
    assert (image.folder_id, image.name, image.description, dict(image.labels)) == (
        folder,
        "disk",
        "d",
        {"a": "b"},
    )
    assert image.status == image_pb2.Image.READY
    assert image.created_at.seconds > 0
    metadata = image_service_pb2.CreateImageMetadata()
    assert operation.metadata.Unpack(metadata) and metadata.image_id == image.id
    assert images.get(image.id) == image


def test_create_lists_every_violation(images: Images) -> None:
    request = image_service_pb2.CreateImageRequest(
        folder_id="Bad Folder", name="-x", labels={"": "v"}
    )
    with pytest.raises(grpc.RpcError) as caught:
        images.stub.Create(request)
    found = violations(caught.value)
    assert set(found) == {"folder_id", "name", "uri", "labels.``"}
    assert found["uri"] == "The field is required."


def test_get_unknown_and_malformed_ids(images: Images) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        images.get("b" * 20)
    assert caught.value.code() is grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.RpcError) as caught:
        images.get("short")
    assert violations(caught.value) == {
        "image_id": "The string length in characters must be 20."
    }


def test_delete_returns_empty_and_removes(images: Images, operations) -> None:  # type: ignore[no-untyped-def]
    image = images.create(new_folder())
    operation = images.stub.Delete(
        image_service_pb2.DeleteImageRequest(image_id=image.id)
    )
    assert operation.done and operation.response.Is(empty_pb2.Empty.DESCRIPTOR)
    metadata = image_service_pb2.DeleteImageMetadata()
    assert operation.metadata.Unpack(metadata) and metadata.image_id == image.id
    with pytest.raises(grpc.RpcError) as caught:
        images.get(image.id)
    assert caught.value.code() is grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.RpcError) as caught:
        images.stub.Delete(image_service_pb2.DeleteImageRequest(image_id=image.id))
    assert caught.value.code() is grpc.StatusCode.NOT_FOUND


def _list(images: Images, **fields) -> tuple[list[image_pb2.Image], str]:  # type: ignore[no-untyped-def]
    response = images.stub.List(image_service_pb2.ListImagesRequest(**fields))
    return list(response.images), response.next_page_token


def test_list_pages_through_a_folder(images: Images) -> None:
    folder = new_folder()
    created = [images.create(folder, f"image-{index:02}") for index in range(25)]
    images.create(new_folder(), "elsewhere")
    first, token = _list(images, folder_id=folder)
    assert len(first) == 20 and token  # the default page size
    second, token2 = _list(images, folder_id=folder, page_token=token)
    assert len(second) == 5 and token2 == ""
    assert sorted(i.id for i in first + second) == sorted(i.id for i in created)
    assert [i.id for i in first + second] == sorted(
        i.id for i in created
    )  # "id asc" if omitted


def test_list_orders_and_filters(images: Images) -> None:
    folder = new_folder()
    for name in ("cherry", "apple", "banana", "apricot"):
        images.create(folder, name, description=f"fruit {name}")
    names = [i.name for i in _list(images, folder_id=folder, order_by="name desc")[0]]
    assert names == ["cherry", "banana", "apricot", "apple"]
    names = [
        i.name for i in _list(images, folder_id=folder, order_by="createdAt desc")[0]
    ]
    assert names == ["apricot", "banana", "apple", "cherry"]
    found = _list(images, folder_id=folder, filter='name = "apple"')[0]
    assert [i.name for i in found] == ["apple"]
    found = _list(
        images,
        folder_id=folder,
        filter="name:'ap' AND description:\"fruit\"",
        order_by="name",
    )[0]
    assert [i.name for i in found] == ["apple", "apricot"]


def test_list_page_size_bounds_and_bad_queries(images: Images) -> None:
    folder = new_folder()
    for index in range(3):
        images.create(folder, f"n{index}")
    assert len(_list(images, folder_id=folder, page_size=2)[0]) == 2
    with pytest.raises(grpc.RpcError) as caught:
        _list(images, folder_id=folder, page_size=101)
    assert violations(caught.value) == {"page_size": "The maximum value is 100."}
    for field, value in (
        ("filter", "name = "),
        ("order_by", "size desc"),
        ("page_token", "garbage"),
    ):
        with pytest.raises(grpc.RpcError) as caught:
            _list(images, folder_id=folder, **{field: value})
        assert set(violations(caught.value)) == {field}, field


@pytest.mark.parametrize(
    "field, value, description",
    [
        ("filter", "name = ", "expected a value after 'name =' at position 7"),
        (
            "order_by",
            "name sideways",
            "unknown direction 'sideways' for field 'name'"
            " (expected asc or desc) at position 5",
        ),
        ("page_token", "garbage", "not a valid page token: not URL-safe base64"),
    ],
)
def test_a_bad_query_names_its_argument_once(
    images: Images, field: str, value: str, description: str
) -> None:
    """The violation's field names the argument; its description and the message do not
    repeat it (they once said `filter: filter: ...`)."""
    with pytest.raises(grpc.RpcError) as caught:
        _list(images, folder_id=new_folder(), **{field: value})
    assert violations(caught.value) == {field: description}
    assert caught.value.details() == f"Request validation error: {field}: {description}"


def test_page_tokens_are_tamper_evident_and_bound_to_the_query(images: Images) -> None:
    folder = new_folder()
    for index in range(3):
        images.create(folder, f"t{index}")
    _, token = _list(images, folder_id=folder, page_size=1)
    tampered = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    for fields in (
        {"page_token": tampered},
        {"page_token": token, "order_by": "name desc"},
    ):
        with pytest.raises(grpc.RpcError) as caught:
            _list(images, folder_id=folder, page_size=1, **fields)
        assert set(violations(caught.value)) == {"page_token"}


def test_pages_are_stable_while_others_write(images: Images) -> None:
    folder = new_folder()
    originals = {images.create(folder, f"s{index:02}").id for index in range(10)}
    seen: list[str] = []
    token = ""
    while True:
        page, token = _list(images, folder_id=folder, page_size=3, page_token=token)
        seen.extend(i.id for i in page)
        images.create(folder, f"later-{len(seen)}")  # writes between pages
        if not token:
            break
    assert originals <= set(seen) and len(seen) == len(set(seen))


def test_an_item_whose_order_field_changes_during_the_walk_may_move_past_it(
    images: Images,
) -> None:
    """What README says of stable pages: they hold for items whose order fields do not change
    during the walk. Renamed behind the position, in an order by name, an item is not listed
    again; renamed ahead of it, it is listed twice; the others are listed once each."""
    folder = new_folder()
    ids = {
        name: images.create(folder, name).id for name in ("bb", "cc", "dd", "ee", "ff")
    }
    first, token = _list(images, folder_id=folder, order_by="name", page_size=2)
    assert [i.name for i in first] == ["bb", "cc"]
    images.update(ids["ee"], ("name",), name="aa")  # moves behind the position
    images.update(ids["bb"], ("name",), name="zz")  # moves ahead of it
    rest: list[image_pb2.Image] = []
    while token:
        page, token = _list(
            images, folder_id=folder, order_by="name", page_size=2, page_token=token
        )
        rest.extend(page)
    assert [i.name for i in rest] == ["dd", "ff", "zz"]
    listed = [i.id for i in first + rest]
    assert ids["ee"] not in listed and listed.count(ids["bb"]) == 2
    assert all(listed.count(ids[name]) == 1 for name in ("cc", "dd", "ff"))


def test_list_operations_newest_first_with_paging(images: Images) -> None:
    image = images.create(new_folder(), "ops")
    for index in range(4):
        images.update(image.id, ("description",), description=f"v{index}")
    request = image_service_pb2.ListImageOperationsRequest(
        image_id=image.id, page_size=3
    )
    first = images.stub.ListOperations(request)
    request.page_token = first.next_page_token
    second = images.stub.ListOperations(request)
    operations = list(first.operations) + list(second.operations)
    assert len(operations) == 5 and not second.next_page_token
    assert [o.description for o in operations] == ["Update image"] * 4 + [
        "Create image"
    ]
    created = [(o.created_at.seconds, o.created_at.nanos) for o in operations]
    assert created == sorted(created, reverse=True)
    with pytest.raises(grpc.RpcError) as caught:
        images.stub.ListOperations(
            image_service_pb2.ListImageOperationsRequest(image_id="c" * 20)
        )
    assert caught.value.code() is grpc.StatusCode.NOT_FOUND


def test_operation_service_get_and_cancel_of_a_finished_operation(images: Images, operations) -> None:  # type: ignore[no-untyped-def]
    image = images.create(new_folder())
    operation = images.update(image.id, ("description",), description="x")
    fetched = operations.Get(
        operation_service_pb2.GetOperationRequest(operation_id=operation.id)
    )
    assert fetched == operation
    assert (
        operations.Cancel(
            operation_service_pb2.CancelOperationRequest(operation_id=operation.id)
        )
        == operation
    )
    with pytest.raises(grpc.RpcError) as caught:
        operations.Get(operation_service_pb2.GetOperationRequest(operation_id="nope"))
    assert caught.value.code() is grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.RpcError) as caught:
        operations.Get(operation_service_pb2.GetOperationRequest())
    assert violations(caught.value) == {"operation_id": "The field is required."}
    (info,) = details(caught.value, error_details_pb2.BadRequest)
    assert info.field_violations[0].field == "operation_id"
