"""ImageService.Update over real gRPC: masks, semantics, validation, errors, atomicity."""

from __future__ import annotations

import threading

import grpc
import pytest
from google.rpc import error_details_pb2

from images import Images, image_of, new_folder, violations
from yandex.cloud.baremetal.v1alpha import image_service_pb2


@pytest.fixture
def images(channel: grpc.Channel) -> Images:
    return Images(channel)


@pytest.fixture
def image(images: Images):  # type: ignore[no-untyped-def]
    return images.create(
        new_folder(),
        "original",
        description="first",
        labels={"env": "prod", "team": "core"},
    )


def test_only_masked_fields_change(images: Images, image) -> None:  # type: ignore[no-untyped-def]
    operation = images.update(
        image.id, ("name",), name="renamed", description="ignored", labels={"x": "y"}
    )
    updated = image_of(operation)
    assert updated.name == "renamed"
    assert updated.description == "first"
    assert dict(updated.labels) == {"env": "prod", "team": "core"}
    assert (updated.id, updated.folder_id, updated.created_at) == (
        image.id,
        image.folder_id,
        image.created_at,
    )


def test_operation_response_equals_following_get(images: Images, image) -> None:  # type: ignore[no-untyped-def]
    operation = images.update(image.id, ("description",), description="second")
    assert image_of(operation) == images.get(image.id)
    metadata = image_service_pb2.UpdateImageMetadata()
    assert operation.metadata.Unpack(metadata) and metadata.image_id == image.id
    assert operation.description and operation.created_at.seconds > 0 and operation.done


def test_map_is_replaced_wholesale(images: Images, image) -> None:  # type: ignore[no-untyped-def]
    updated = image_of(images.update(image.id, ("labels",), labels={"only": "this"}))
    assert dict(updated.labels) == {"only": "this"}


def test_map_key_paths_set_and_remove_single_keys(images: Images, image) -> None:  # type: ignore[no-untyped-def]
    # labels.env is set from the request; labels.team is absent from it, so it is removed.
    updated = image_of(
        images.update(
            image.id,
            ("labels.env", "labels.team", "labels.new"),
            labels={"env": "dev", "new": "1"},
        )
    )
    assert dict(updated.labels) == {"env": "dev", "new": "1"}


def test_empty_mask_writes_every_updatable_field(images: Images, image) -> None:  # type: ignore[no-untyped-def]
    for paths in (None, ()):
        updated = image_of(
            images.update(image.id, paths, name=f"full-{len(paths or ())}")
        )
        assert updated.name == f"full-{len(paths or ())}"
        assert updated.description == ""  # unset in the request: reset to the default
        assert dict(updated.labels) == {}
        assert updated.folder_id == image.folder_id  # not updatable: kept


@pytest.mark.parametrize(
    "path", ["image_id", "update_mask", "unknown", "name.first", "labels.a.b", "", "id"]
)
def test_bad_paths_are_rejected_naming_the_path_and_allowed_ones(images: Images, image, path: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(grpc.RpcError) as caught:
        images.update(image.id, (path,), name="other")
    found = violations(caught.value)
    assert set(found) == {"update_mask"}
    assert repr(path) in found["update_mask"]
    assert "name, description, labels, labels.<key>" in found["update_mask"]
    assert images.get(image.id) == image


def test_validation_is_mask_aware(images: Images, image) -> None:  # type: ignore[no-untyped-def]
    # An invalid name that is not written is not an error...
    updated = image_of(
        images.update(
            image.id, ("description",), name="Not A Valid Name", description="ok"
        )
    )
    assert updated.name == image.name
    # ...but it is once the mask writes it.
    with pytest.raises(grpc.RpcError) as caught:
        images.update(image.id, ("name",), name="Not A Valid Name")
    assert set(violations(caught.value)) == {"name"}
    assert "regular expression" in violations(caught.value)["name"]


def test_every_violation_is_listed_with_map_keys_in_paths(images: Images, image) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(grpc.RpcError) as caught:
        images.update(
            image.id,
            None,
            name="x",
            description="d" * 1025,
            labels={"Bad": "v", "ok": "UPPER"},
        )
    found = violations(caught.value)
    assert set(found) == {"name", "description", "labels.Bad", "labels.ok"}
    assert found["name"] == "The string length in characters must be 2-63."
    assert found["description"] == "The maximum string length in characters is 1024."
    assert (
        found["labels.Bad"]
        == "Each key must match the regular expression ` [a-z][-_0-9a-z]* `."
    )
    assert (
        found["labels.ok"]
        == "Each value must match the regular expression ` [-_0-9a-z]* `."
    )


def test_map_key_path_validates_only_the_touched_key(images: Images, image) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(grpc.RpcError) as caught:
        images.update(image.id, ("labels.good",), labels={"good": "BAD VALUE"})
    assert set(violations(caught.value)) == {"labels.good"}


def test_map_size_is_checked_after_per_key_updates(images: Images) -> None:
    full = images.create(new_folder(), labels={f"k{i}": "v" for i in range(64)})
    with pytest.raises(grpc.RpcError) as caught:
        images.update(full.id, ("labels.one-more",), labels={"one-more": "v"})
    assert violations(caught.value) == {"labels": "No more than 64 per resource."}


def test_image_id_is_always_validated(images: Images) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        images.update("not-an-id", ("name",), name="fine")
    assert set(violations(caught.value)) == {"image_id"}


def test_missing_image_is_not_found_with_resource_info(images: Images) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        images.update("a" * 20, ("name",), name="fine")
    assert caught.value.code() is grpc.StatusCode.NOT_FOUND
    from images import details

    (info,) = details(caught.value, error_details_pb2.ResourceInfo)
    assert info.resource_name == "a" * 20


def test_duplicate_name_in_folder_is_already_exists(images: Images) -> None:
    folder = new_folder()
    images.create(folder, "taken")
    other = images.create(folder, "free")
    with pytest.raises(grpc.RpcError) as caught:
        images.update(other.id, ("name",), name="taken")
    assert caught.value.code() is grpc.StatusCode.ALREADY_EXISTS
    with pytest.raises(grpc.RpcError) as caught:
        images.create(folder, "taken")
    assert caught.value.code() is grpc.StatusCode.ALREADY_EXISTS
    # Another folder, or the image's own name, is fine.
    images.create(new_folder(), "taken")
    assert image_of(images.update(other.id, ("name",), name="free")).name == "free"


def test_concurrent_updates_lose_no_write(images: Images, image) -> None:  # type: ignore[no-untyped-def]
    errors: list[BaseException] = []

    def writer(index: int) -> None:
        try:
            for round_ in range(5):
                images.update(
                    image.id, (f"labels.w{index}",), labels={f"w{index}": f"r{round_}"}
                )
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=writer, args=(index,)) for index in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    labels = dict(images.get(image.id).labels)
    assert {key: labels.get(key) for key in (f"w{i}" for i in range(8))} == {
        f"w{i}": "r4" for i in range(8)
    }
    assert labels["env"] == "prod" and labels["team"] == "core"
