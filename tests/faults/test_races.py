"""Races over real gRPC, on SQLite and in memory: calls released together by a barrier, each on
its own connection, must end in a state some serial order of them explains, and the operation
lists must tell the same story.

    SEED=123 pytest tests/faults/test_races.py   # the seed only names the folders here
"""

from __future__ import annotations

import threading
from typing import Callable, Iterator, TypeVar

import grpc
import pytest
from google.protobuf import field_mask_pb2
from google.rpc import error_details_pb2, status_pb2

from faultkit import (
    TIMEOUT,
    Api,
    brief,
    connected_channels,
    image_of,
    is_empty_response,
    seed_from_environment,
)
from support import GENERATED, ServerProcess
from yandex.cloud.baremetal.v1alpha import image_service_pb2
from yandex.cloud.operation import operation_pb2

T = TypeVar("T")
CLIENTS = 16
SEED = seed_from_environment()
_folders = iter(range(10**6))


def new_folder() -> str:
    return f"race-{SEED}-{next(_folders)}"


@pytest.fixture(scope="module", params=["sqlite", ":memory:"])
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    db = (
        str(tmp_path_factory.mktemp("races") / "races.sqlite3")
        if request.param == "sqlite"
        else ":memory:"
    )
    process = ServerProcess(GENERATED, "--db", db).start()
    try:
        yield process
    finally:
        assert process.stop() == 0, process.server_log()


@pytest.fixture(scope="module")
def apis(server: ServerProcess) -> Iterator[list[Api]]:
    """One client per racer, each with its own connection, made before the race."""
    channels = list(connected_channels(server.address, CLIENTS))
    try:
        yield [Api(channel) for channel in channels]
    finally:
        for channel in channels:
            channel.close()


def race(calls: list[Callable[[], T]]) -> list[T | grpc.RpcError]:
    """Runs the calls on threads released together by a barrier; their results or errors."""
    barrier = threading.Barrier(len(calls), timeout=TIMEOUT)
    results: list[T | grpc.RpcError | None] = [None] * len(calls)
    failures: list[BaseException] = []

    def run(index: int) -> None:
        try:
            barrier.wait()
            results[index] = calls[index]()
        except grpc.RpcError as error:
            results[index] = error
        except BaseException as error:  # noqa: BLE001 - re-raised below
            failures.append(error)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=2 * TIMEOUT)
    assert not any(thread.is_alive() for thread in threads), "a racer hangs"
    if failures:
        raise failures[0]
    return results  # type: ignore[return-value]


def code(result: object) -> grpc.StatusCode:
    if isinstance(result, grpc.RpcError):
        return result.code()
    return grpc.StatusCode.OK


def resource_info(error: grpc.RpcError) -> list[error_details_pb2.ResourceInfo]:
    found = []
    for key, value in error.trailing_metadata() or ():  # type: ignore[misc]
        if key == "grpc-status-details-bin":
            for item in status_pb2.Status.FromString(value).details:
                detail = error_details_pb2.ResourceInfo()
                if item.Unpack(detail):
                    found.append(detail)
    return found


def create(
    api: Api, folder: str, name: str, **fields: object
) -> operation_pb2.Operation:
    request = image_service_pb2.CreateImageRequest(
        folder_id=folder, name=name, uri="https://example.com/image.qcow2", **fields
    )
    return api.images.Create(request, timeout=TIMEOUT)


def update(
    api: Api, image_id: str, paths: list[str], **fields: object
) -> operation_pb2.Operation:
    request = image_service_pb2.UpdateImageRequest(
        image_id=image_id, update_mask=field_mask_pb2.FieldMask(paths=paths), **fields
    )
    return api.images.Update(request, timeout=TIMEOUT)


def delete(api: Api, image_id: str) -> operation_pb2.Operation:
    return api.images.Delete(
        image_service_pb2.DeleteImageRequest(image_id=image_id), timeout=TIMEOUT
    )


def test_same_name_creates_one_wins(apis: list[Api]) -> None:
    for round_ in range(5):
        folder = new_folder()
        results = race(
            [lambda api=api: create(api, folder, "same-name") for api in apis]
        )
        where = f"SEED={SEED} round {round_} folder {folder}"
        codes = [code(result) for result in results]
        assert sorted(codes, key=str) == sorted(
            [grpc.StatusCode.OK] + [grpc.StatusCode.ALREADY_EXISTS] * (CLIENTS - 1),
            key=str,
        ), f"{where}: {codes}"
        (winner,) = [r for r in results if isinstance(r, operation_pb2.Operation)]
        image = image_of(winner)
        for error in results:
            if isinstance(error, grpc.RpcError):
                assert [i.resource_name for i in resource_info(error)] == [
                    "same-name"
                ], f"{where}: {error}"
        api = apis[0]
        assert api.list_images(folder) == [image], f"{where}: List disagrees"
        assert api.list_operations(image.id) == [winner], f"{where}: operations"
        assert api.get_operation(winner.id) == winner, f"{where}: OperationService"


def test_update_racing_delete_ends_consistent(apis: list[Api]) -> None:
    """Either the image is gone (the Delete succeeded; the Update failed with NOT_FOUND or
    succeeded first), or it exists with the Update applied; the operations agree."""
    api = apis[0]
    orders = {"update, delete": 0, "delete, update": 0}
    misordered: list[str] = []
    for round_ in range(20):
        created = create(api, new_folder(), "target", labels={"a": "1"})
        image = image_of(created)
        updated, deleted = race(
            [
                lambda: update(
                    apis[1],
                    image.id,
                    ["name", "labels.b"],
                    name="renamed",
                    labels={"b": "2"},
                ),
                lambda: delete(apis[2], image.id),
            ]
        )
        now = api.get(image.id)
        operations = api.list_operations(image.id)
        listed = [operation.id for operation in operations]
        story = (
            f"SEED={SEED} round {round_} image {image.id}: Update {code(updated)}, "
            f"Delete {code(deleted)}, now {brief(now)}; operations, newest first: "
            + "; ".join(brief(operation) for operation in operations)
        )
        assert all(operation.done for operation in operations), story
        if isinstance(updated, operation_pb2.Operation):
            result = image_of(updated)
            assert (result.name, dict(result.labels)) == (
                "renamed",
                {"a": "1", "b": "2"},
            ), story
            assert api.get_operation(updated.id) == updated, story
        else:
            assert code(updated) is grpc.StatusCode.NOT_FOUND, story
        if now is None:  # deleted: the Update came first, or found nothing
            assert isinstance(deleted, operation_pb2.Operation), story
            assert is_empty_response(deleted), story
            assert api.get_operation(deleted.id) == deleted, story
            expected = [deleted.id, created.id]
            if isinstance(updated, operation_pb2.Operation):
                expected.insert(1, updated.id)
                orders["update, delete"] += 1
            else:
                orders["delete, update"] += 1
        else:  # still there: the Delete failed, so the Update must have won
            assert isinstance(updated, operation_pb2.Operation), story
            assert now == image_of(updated), story
            expected = [updated.id, created.id]
        assert sorted(listed) == sorted(expected), story
        assert listed[-1] == created.id, story
        if listed != expected:
            misordered.append(story)
    print(f"SEED={SEED}: orders seen: {orders}")
    if misordered:
        pytest.fail(
            f"{len(misordered)} of 20 rounds list the operations out of commit order, e.g. "
            + misordered[0]
        )


def label_storm(
    apis: list[Api], rounds: int = 10
) -> tuple[operation_pb2.Operation, list[list[operation_pb2.Operation]]]:
    """One image; each client sets its own label key `w<index>` to r0, r1... concurrently.
    The Create's operation, and each client's Update operations in the order it made them.
    """
    created = create(apis[0], new_folder(), "labelled", labels={"keep": "me"})
    image = image_of(created)

    def writer(index: int) -> list[operation_pb2.Operation]:
        key = f"w{index}"
        return [
            update(apis[index], image.id, [f"labels.{key}"], labels={key: f"r{round_}"})
            for round_ in range(rounds)
        ]

    results = race([lambda index=index: writer(index) for index in range(CLIENTS)])
    errors = [result for result in results if isinstance(result, grpc.RpcError)]
    assert not errors, f"SEED={SEED} image {image.id}: {errors[0]}"
    return created, results  # type: ignore[return-value]


def test_concurrent_label_updates_lose_nothing(apis: list[Api]) -> None:
    rounds = 10
    created, results = label_storm(apis, rounds)
    image, api = image_of(created), apis[0]
    where = f"SEED={SEED} image {image.id}"
    final = api.get(image.id)
    assert final is not None, where
    expected = {"keep": "me", **{f"w{i}": f"r{rounds - 1}" for i in range(CLIENTS)}}
    assert dict(final.labels) == expected, f"{where}: {brief(final)}"
    answered = {}
    for index, operations in enumerate(results):
        for round_, operation in enumerate(operations):
            assert (
                image_of(operation).labels[f"w{index}"] == f"r{round_}"
            ), f"{where}: {brief(operation)}"
            answered[operation.id] = operation
    listed = api.list_operations(image.id)
    assert {operation.id: operation for operation in listed} == {
        created.id: created,
        **answered,
    }, f"{where}: the operation list disagrees with the answers"


def test_operations_are_listed_in_commit_order(apis: list[Api]) -> None:
    """Newest first must mean last applied first: walking the list from the oldest, no label
    goes back to an older value, and the newest operation's response is what Get returns.
    """
    created, _ = label_storm(apis)
    image, api = image_of(created), apis[0]
    listed = api.list_operations(image.id)
    seen: dict[str, int] = {}
    for operation in reversed(listed):
        for key, value in image_of(operation).labels.items():
            if key.startswith("w"):
                assert int(value[1:]) >= seen.get(key, -1), (
                    f"SEED={SEED} image {image.id}: {brief(operation)} is listed as newer "
                    f"than an operation that had already set {key}=r{seen[key]}"
                )
                seen[key] = int(value[1:])
    assert image_of(listed[0]) == api.get(image.id), (
        f"SEED={SEED} image {image.id}: the newest operation, {brief(listed[0])}, "
        "does not answer Get"
    )
