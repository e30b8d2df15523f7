"""Several servers over one database, as replicas behind a load balancer run: two instances of
the generated api_server.py on one PostgreSQL database (and on one SQLite file, which the
processes of one machine may share), each its own process, called over real gRPC.

They are interchangeable: what one writes the other reads, a page token of one is good on the
other, an idempotent retry that lands on the other returns the same operation, names stay
unique however Creates race, and a delayed operation completes once, also when the instance
that began it is killed. Then the faults: `kill -9` of an instance during writes, and the
database stopped and started again under load, lose no acknowledged write.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Iterator

import grpc
import pytest
from images import Images, image_of, new_folder

import postgres
from support import GENERATED, ServerProcess
from yandex.cloud.baremetal.v1alpha import image_service_pb2
from yandex.cloud.operation import (
    operation_pb2,
    operation_service_pb2,
    operation_service_pb2_grpc,
)

DELAY = 0.5  # seconds before a delayed operation is due


class Instance:
    """One server process and a channel to it."""

    def __init__(self, database: str, *arguments: str) -> None:
        self.server = ServerProcess(GENERATED, "--db", database, *arguments).start()
        self.channel = grpc.insecure_channel(self.server.address)
        self.images = Images(self.channel)
        self.operations = operation_service_pb2_grpc.OperationServiceStub(self.channel)

    def operation(self, operation_id: str) -> operation_pb2.Operation:
        return self.operations.Get(
            operation_service_pb2.GetOperationRequest(operation_id=operation_id),
            timeout=10,
        )

    def kill(self) -> None:
        """kill -9 of the process; its channel stays, and calls on it fail."""
        assert self.server.process is not None
        self.server.process.kill()
        self.server.process.wait(timeout=30)

    def close(self, sig: int = signal.SIGTERM) -> None:
        self.channel.close()
        if self.server.process and self.server.process.poll() is None:
            self.server.stop(sig)


@pytest.fixture(params=["postgresql", "sqlite"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return str(tmp_path / "shared.sqlite3")
    return str(request.getfixturevalue("postgres_url"))


def instances(database: str, count: int, *arguments: str) -> list[Instance]:
    # One at a time: the first creates the schema (they would agree anyway).
    return [Instance(database, *arguments) for _ in range(count)]


@pytest.fixture
def pair(database: str) -> Iterator[list[Instance]]:
    started = instances(database, 2)
    yield started
    for instance in started:
        instance.close()


def create_request(folder: str, name: str) -> image_service_pb2.CreateImageRequest:
    return image_service_pb2.CreateImageRequest(
        folder_id=folder, name=name, uri="https://example.com/image.qcow2"
    )


def test_what_one_instance_writes_the_other_reads(pair: list[Instance]) -> None:
    first, second = pair
    folder = new_folder()
    created = first.images.create(folder, "shared")
    assert second.images.get(created.id) == created
    operation = second.images.update(created.id, ("description",), description="b")
    assert first.images.get(created.id).description == "b"
    assert first.operation(operation.id) == operation


def test_pages_go_on_across_instances(pair: list[Instance]) -> None:
    """A page token that one instance issued is good on the other: the signing secret lives
    in the database."""
    folder = new_folder()
    created = sorted(pair[i % 2].images.create(folder, f"i{i}").id for i in range(7))
    seen: list[str] = []
    token = ""
    for page in range(10):
        listed = pair[page % 2].images.stub.List(
            image_service_pb2.ListImagesRequest(
                folder_id=folder, page_size=2, page_token=token
            ),
            timeout=10,
        )
        seen += [image.id for image in listed.images]
        token = listed.next_page_token
        if not token:
            break
    assert seen == created


def test_same_name_creates_racing_across_instances_one_wins(
    pair: list[Instance],
) -> None:
    folder = new_folder()
    codes: list[grpc.StatusCode] = []
    start = threading.Barrier(8)

    def create(instance: Instance) -> None:
        start.wait()
        try:
            instance.images.stub.Create(create_request(folder, "contested"), timeout=30)
            codes.append(grpc.StatusCode.OK)
        except grpc.RpcError as error:
            codes.append(error.code())

    threads = [threading.Thread(target=create, args=(pair[n % 2],)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(codes, key=str) == sorted(
        [grpc.StatusCode.OK] + [grpc.StatusCode.ALREADY_EXISTS] * 7, key=str
    )
    listed = pair[0].images.stub.List(
        image_service_pb2.ListImagesRequest(folder_id=folder), timeout=10
    )
    assert [image.name for image in listed.images] == ["contested"]


def test_an_idempotent_retry_on_the_other_instance_returns_the_same_operation(
    pair: list[Instance],
) -> None:
    folder = new_folder()
    key = (("idempotency-key", f"key-{folder}"),)
    request = create_request(folder, "once")
    first = pair[0].images.stub.Create(request, metadata=key, timeout=10)
    retried = pair[1].images.stub.Create(request, metadata=key, timeout=10)
    assert retried == first
    listed = pair[1].images.stub.List(
        image_service_pb2.ListImagesRequest(folder_id=folder), timeout=10
    )
    assert [image.id for image in listed.images] == [image_of(first).id]


def test_delayed_operations_complete_once_when_their_instance_is_killed(
    database: str,
) -> None:
    """Operations that one instance began and did not live to complete are completed by the
    other, each once: every one ends done, with one response, the same seen from either.
    """
    first, second = instances(database, 2, "--operation-delay", str(DELAY))
    try:
        folder = new_folder()
        begun = [
            first.images.stub.Create(create_request(folder, f"d{n}"), timeout=10)
            for n in range(6)
        ]
        begun += [
            second.images.stub.Create(create_request(folder, f"e{n}"), timeout=10)
            for n in range(6)
        ]
        assert not any(operation.done for operation in begun)
        first.kill()
        deadline = time.monotonic() + 30
        finished = [second.operation(o.id) for o in begun]
        while not all(o.done for o in finished):
            assert time.monotonic() < deadline, "delayed operations were not completed"
            time.sleep(0.2)
            finished = [second.operation(o.id) for o in begun]
        for operation in finished:
            assert image_of(operation).status == image_of(operation).READY
        time.sleep(1.5)  # past another look for due operations
        assert [second.operation(o.id) for o in begun] == finished  # completed once
    finally:
        first.close()
        second.close()


def test_an_operation_begun_on_one_instance_is_cancelled_on_the_other(
    database: str,
) -> None:
    first, second = instances(database, 2, "--operation-delay", "2")
    try:
        begun = first.images.stub.Create(
            create_request(new_folder(), "cancelled"), timeout=10
        )
        cancelled = second.operations.Cancel(
            operation_service_pb2.CancelOperationRequest(operation_id=begun.id),
            timeout=10,
        )
        assert (
            cancelled.done
            and cancelled.error.code == grpc.StatusCode.CANCELLED.value[0]
        )
        time.sleep(2.5)  # past when it was due: the instance that began it leaves it be
        assert first.operation(begun.id) == cancelled
    finally:
        first.close()
        second.close()


def test_two_instances_complete_every_delayed_operation_once(database: str) -> None:
    """Both instances see every due operation (their own, and the other's when they look);
    the one that completes it first wins and the other finds it done."""
    pair = instances(database, 2, "--operation-delay", "0.3")
    try:
        folder = new_folder()
        begun = [
            pair[n % 2].images.stub.Create(create_request(folder, f"o{n}"), timeout=10)
            for n in range(20)
        ]
        deadline = time.monotonic() + 30
        while not all(pair[1].operation(o.id).done for o in begun):
            assert time.monotonic() < deadline
            time.sleep(0.2)
        views = [[instance.operation(o.id) for o in begun] for instance in pair]
        assert views[0] == views[1]
    finally:
        for instance in pair:
            instance.close()


class Writers:
    """Threads that Create images through `targets` as fast as the server answers, each name
    once, and note which Creates were acknowledged and which codes the others met."""

    def __init__(self, folder: str, targets: list[Instance], count: int = 4) -> None:
        self.folder = folder
        self.targets = targets
        self.acknowledged: dict[str, str] = {}  # image id -> name
        self.failures: dict[grpc.StatusCode, int] = {}
        self.slowest = 0.0  # seconds, of a failed call
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [
            threading.Thread(target=self._write, args=(n,)) for n in range(count)
        ]

    def __enter__(self) -> Writers:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join()

    def _write(self, worker: int) -> None:
        number = 0
        while not self._stop.is_set():
            number += 1
            name = f"w{worker}-{number}"
            target = self.targets[number % len(self.targets)]
            began = time.monotonic()
            try:
                operation = target.images.stub.Create(
                    create_request(self.folder, name), timeout=5
                )
            except grpc.RpcError as error:
                with self._lock:
                    code = error.code()
                    self.failures[code] = self.failures.get(code, 0) + 1
                    self.slowest = max(self.slowest, time.monotonic() - began)
                time.sleep(0.05)
                continue
            with self._lock:
                self.acknowledged[image_of(operation).id] = name

    def count(self) -> int:
        with self._lock:
            return len(self.acknowledged)

    def wait_for(self, more: int, timeout: float = 30) -> None:
        """Waits until `more` Creates beyond those acknowledged so far are."""
        target = self.count() + more
        deadline = time.monotonic() + timeout
        while self.count() < target:
            assert time.monotonic() < deadline, f"writes stalled: {self.failures}"
            time.sleep(0.05)


def stored_names(instance: Instance, folder: str) -> dict[str, str]:
    """Every image of the folder, id -> name, read through `instance`."""
    names: dict[str, str] = {}
    token = ""
    while True:
        listed = instance.images.stub.List(
            image_service_pb2.ListImagesRequest(
                folder_id=folder, page_size=100, page_token=token
            ),
            timeout=30,
        )
        names.update((image.id, image.name) for image in listed.images)
        token = listed.next_page_token
        if not token:
            return names


def test_kill_9_of_an_instance_during_writes_loses_nothing_acknowledged(
    pair: list[Instance],
) -> None:
    victim, survivor = pair
    folder = new_folder()
    with Writers(folder, pair) as writers:
        writers.wait_for(40)
        victim.kill()
        killed_at = writers.count()
        writers.targets = [survivor]  # as a load balancer takes the dead one out
        writers.wait_for(40)
    stored = stored_names(survivor, folder)
    assert writers.acknowledged.items() <= stored.items()
    assert set(writers.failures) <= {grpc.StatusCode.UNAVAILABLE}
    print(
        f"\nkill -9 of one of two instances: {killed_at} Creates acknowledged before it,"
        f" {len(writers.acknowledged)} in all; {len(stored)} stored, every acknowledged"
        f" one among them; failures: {writers.failures}"
    )


def test_the_database_stopped_and_started_under_load(
    postgres_cluster: postgres.PostgresCluster,
) -> None:
    """Calls during the outage answer UNAVAILABLE (never INTERNAL, never past their deadline),
    the instance reconnects by itself, and every acknowledged write is there afterwards.
    """
    cluster = postgres_cluster
    cluster.ensure_running()
    instance = Instance(cluster.create_database())
    folder = new_folder()
    try:
        with Writers(folder, [instance]) as writers:
            writers.wait_for(30)
            cluster.stop()
            time.sleep(0.5)  # answers to calls committed before the stop arrive
            before = writers.count()
            time.sleep(2.5)
            during = writers.count() - before
            failed = dict(writers.failures)
            cluster.start()
            restarted = time.monotonic()
            writers.wait_for(30)
            recovered = time.monotonic() - restarted
        assert during == 0 and set(failed) == {grpc.StatusCode.UNAVAILABLE}
        assert set(writers.failures) == {grpc.StatusCode.UNAVAILABLE}
        assert writers.slowest < 5  # each call's deadline
        stored = stored_names(instance, folder)
        assert writers.acknowledged.items() <= stored.items()
        print(
            f"\nPostgreSQL stopped for 3 s under load: {before} Creates acknowledged"
            f" before, {failed[grpc.StatusCode.UNAVAILABLE]} UNAVAILABLE during it (slowest"
            f" {writers.slowest:.2f} s), writes again {recovered:.1f} s after the restart;"
            f" {len(writers.acknowledged)} acknowledged in all, every one stored"
        )
    finally:
        instance.close()


@pytest.mark.parametrize(
    "database, reason",
    [
        ("postgresql://postgres@127.0.0.1:1/api", "Connection refused"),
        ("postgresql://[unclosed", "malformed PostgreSQL connection string"),
    ],
)
def test_an_unusable_database_stops_the_start_saying_why(
    database: str, reason: str
) -> None:
    finished = start_refused(database)
    assert finished.stdout == ""
    assert finished.stderr.startswith("cannot start the server: ")
    assert reason in finished.stderr and "Traceback" not in finished.stderr


def test_a_database_that_does_not_exist_is_named(postgres_url: str) -> None:
    missing = postgres_url.rsplit("/", 1)[0] + "/no_such_database"
    finished = start_refused(missing)
    assert 'database "no_such_database" does not exist' in finished.stderr


def start_refused(database: str) -> subprocess.CompletedProcess[str]:
    """Starts a server over `database`, which must refuse to start (a non-zero exit)."""
    finished = subprocess.run(
        [sys.executable, "api_server.py", "--db", database],
        cwd=GENERATED,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert finished.returncode != 0, finished.stdout
    return finished
