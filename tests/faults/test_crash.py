"""Crash safety: SIGKILL the SQLite server while 8 clients write, restart it on the same file.

Each round: 8 writer threads create, update (`name`, `description`, `labels.<key>` paths) and
delete images in three folders, until the server is killed with SIGKILL at a random moment;
then the database passes `PRAGMA integrity_check`, and a server restarted on it must show

- every acknowledged (done) operation's effect: each image is in its last acknowledged state,
  or in the state of the one write that was in flight, unacknowledged, when the server died;
- nothing half-applied: an image and its operations agree (the newest operation's response is
  what Get returns; a Delete's operation exists exactly when the image is gone; an in-flight
  write left either its effect and its operation, or neither);
- every operation a client saw, stored as it was returned, done; no operation unfinished.

Each thread owns its images (four "slots"), so their expected states are well defined. A slot's
image is named `t<thread>-s<slot>-n<counter>`: names never collide, and an image created by a
call in flight (whose id the client never learned) is found by its name.

    SEED=123 pytest tests/faults/test_crash.py        # the same kill moments and operation mix
    CRASH_ROUNDS=100 pytest tests/faults/test_crash.py  # more kills (`make soak`); default 10

Thread scheduling still varies between runs of one seed, so a seed reproduces the plan, not
the exact interleaving.
"""

from __future__ import annotations

import os
import random
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import pytest
from google.protobuf import field_mask_pb2

from faultkit import (
    TIMEOUT,
    Api,
    brief,
    image_of,
    integrity_check,
    is_empty_response,
    seed_from_environment,
)
from support import GENERATED, ServerProcess
from yandex.cloud.baremetal.v1alpha import image_pb2, image_service_pb2
from yandex.cloud.operation import operation_pb2

THREADS = 8
SLOTS_PER_THREAD = 4
FOLDERS = ("crash-a", "crash-b", "crash-c")
LABEL_KEYS = ("k0", "k1", "k2", "k3", "k4")
ROUNDS = int(os.environ.get("CRASH_ROUNDS", "10"))
KILL_AFTER = (0.02, 1.2)  # seconds after the writers start: the random kill moment
CALLS_PER_THREAD = 5000  # per round; the kill comes long before


@dataclass(frozen=True)
class Facts:
    """What the clients decide about an image."""

    folder_id: str
    name: str
    description: str
    labels: tuple[tuple[str, str], ...]

    @staticmethod
    def of(image: image_pb2.Image) -> "Facts":
        return Facts(
            image.folder_id,
            image.name,
            image.description,
            tuple(sorted(image.labels.items())),
        )


@dataclass(frozen=True)
class Pending:
    """A call sent and not (yet) answered."""

    kind: str  # "create", "update" or "delete"
    expected: Facts | None  # the slot's state if it took effect; None: no image


@dataclass
class Slot:
    key: str  # the name prefix, `t<thread>-s<slot>`
    folder_id: str
    image: image_pb2.Image | None = None  # the last acknowledged state
    pending: Pending | None = None


@dataclass
class World:
    """What the clients know, across rounds."""

    seed: int
    slots: dict[str, Slot]
    # image id -> ids of its operations known to be stored (acknowledged, or found and checked)
    operations: dict[str, set[str]] = field(default_factory=dict)
    # operations acknowledged in the current round, checked after the restart
    acknowledged: list[operation_pb2.Operation] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    errors: list[str] = field(default_factory=list)
    calls: int = 0
    in_flight: int = 0  # calls cut by a kill
    in_flight_applied: int = 0  # ...that took effect all the same

    def where(self, round_: int) -> str:
        return f"SEED={self.seed} round {round_}/{ROUNDS}"


def _name(slot: Slot, counter: int) -> str:
    return f"{slot.key}-n{counter}"


def _plan(slot: Slot, rng: random.Random, counter: int) -> tuple[str, object, Pending]:
    """The next call for a slot: (method, request, what it would leave)."""
    if slot.image is None:
        labels = {key: f"v{counter}" for key in LABEL_KEYS if rng.random() < 0.4}
        description = rng.choice(("", f"created {counter}"))
        request = image_service_pb2.CreateImageRequest(
            folder_id=slot.folder_id,
            name=_name(slot, counter),
            description=description,
            uri="https://example.com/image.qcow2",
            labels=labels,
        )
        expected = Facts(
            slot.folder_id, request.name, description, tuple(sorted(labels.items()))
        )
        return "Create", request, Pending("create", expected)
    if rng.random() < 0.12:
        request = image_service_pb2.DeleteImageRequest(image_id=slot.image.id)
        return "Delete", request, Pending("delete", None)
    current = Facts.of(slot.image)
    name, description, labels = current.name, current.description, dict(current.labels)
    request = image_service_pb2.UpdateImageRequest(image_id=slot.image.id)
    paths = [
        path
        for path in ("name", "description", *(f"labels.{key}" for key in LABEL_KEYS))
        if rng.random() < 0.3
    ] or [rng.choice(("name", "description", "labels.k0"))]
    for path in paths:
        if path == "name":
            name = request.name = _name(slot, counter)
        elif path == "description":
            description = request.description = rng.choice(("", f"updated {counter}"))
        else:
            key = path.removeprefix("labels.")
            # Set the key, or remove it: a masked key the request's map lacks.
            if rng.random() < 0.6:
                labels[key] = request.labels[key] = f"v{counter}"
            else:
                labels.pop(key, None)
    request.update_mask.CopyFrom(field_mask_pb2.FieldMask(paths=paths))
    expected = Facts(
        current.folder_id, name, description, tuple(sorted(labels.items()))
    )
    return "Update", request, Pending("update", expected)


def _writer(
    world: World,
    api: Api,
    slots: list[Slot],
    rng: random.Random,
    killed: threading.Event,
    deadline: float,
) -> None:
    try:
        _write(world, api, slots, rng, killed, deadline)
    except BaseException as error:  # noqa: BLE001 - reported by the test
        with world.lock:
            world.errors.append(f"{threading.current_thread().name}: {error!r}")


def _write(
    world: World,
    api: Api,
    slots: list[Slot],
    rng: random.Random,
    killed: threading.Event,
    deadline: float,
) -> None:
    """One client: calls for its own slots until the kill (or the deadline)."""
    for counter in range(CALLS_PER_THREAD):
        if killed.is_set() or time.monotonic() > deadline:
            return
        slot = rng.choice(slots)
        method, request, pending = _plan(slot, rng, counter)
        slot.pending = pending
        try:
            operation = getattr(api.images, method)(request, timeout=TIMEOUT)
        except grpc.RpcError as error:
            if killed.is_set():
                return  # the call in flight when the server died: left pending
            with world.lock:
                world.errors.append(
                    f"{method} of {slot.key} failed before the kill: "
                    f"{error.code()} {error.details()}"
                )
            return
        slot.pending = None
        problem = _acknowledged(world, slot, pending, operation)
        with world.lock:
            world.calls += 1
            if problem:
                world.errors.append(f"{method} of {slot.key}: {problem}")
                return


def _acknowledged(
    world: World, slot: Slot, pending: Pending, operation: operation_pb2.Operation
) -> str:
    """Records an answered call; returns what is wrong with the answer, if anything."""
    if not operation.done or operation.HasField("error"):
        return f"not done, or failed: {brief(operation)}"
    if pending.kind == "delete":
        if not is_empty_response(operation):
            return f"Delete answered {brief(operation)}"
        image_id = slot.image.id if slot.image is not None else ""
        slot.image = None
    else:
        image = image_of(operation)
        if Facts.of(image) != pending.expected:
            return f"answered {Facts.of(image)}, expected {pending.expected}"
        image_id = image.id
        slot.image = image
    with world.lock:
        world.operations.setdefault(image_id, set()).add(operation.id)
        world.acknowledged.append(operation)
    return ""


def _write_until_killed(
    world: World, server: ServerProcess, rng: random.Random, round_: int
) -> None:
    killed = threading.Event()
    kill_after = rng.uniform(*KILL_AFTER)
    deadline = time.monotonic() + kill_after + 5
    by_thread: dict[int, list[Slot]] = {}
    for slot in world.slots.values():
        by_thread.setdefault(int(slot.key.split("-")[0][1:]), []).append(slot)
    with grpc.insecure_channel(server.address) as channel:
        grpc.channel_ready_future(channel).result(timeout=TIMEOUT)
        api = Api(channel)
        threads = [
            threading.Thread(
                target=_writer,
                args=(
                    world,
                    api,
                    by_thread[index],
                    random.Random(f"{world.seed}:{round_}:{index}"),
                    killed,
                    deadline,
                ),
                name=f"writer-{index}",
            )
            for index in range(THREADS)
        ]
        for thread in threads:
            thread.start()
        time.sleep(kill_after)
        killed.set()  # before the signal: calls failing from now on may be the kill's
        server.stop(signal.SIGKILL)
        for thread in threads:
            thread.join(timeout=TIMEOUT + 5)
        assert not any(
            thread.is_alive() for thread in threads
        ), f"{world.where(round_)}: a writer did not stop after the kill"


def _verify(world: World, api: Api, round_: int) -> list[str]:
    """Checks the restarted server against what the clients know; settles in-flight calls."""
    problems: list[str] = []
    found: dict[str, image_pb2.Image] = {}
    for folder in FOLDERS:
        for image in api.list_images(folder):
            key = image.name.rsplit("-n", 1)[0]
            if key not in world.slots or world.slots[key].folder_id != folder:
                problems.append(f"an image nobody created: {brief(image)}")
            elif key in found:
                problems.append(
                    f"two images of slot {key}: {found[key].id}, {image.id}"
                )
            else:
                found[key] = image
    for key, slot in world.slots.items():
        problems += _verify_slot(world, api, slot, found.get(key))
    for operation in world.acknowledged:
        stored = api.get_operation(operation.id)
        if stored != operation:
            problems.append(
                f"acknowledged operation {operation.id} is stored as {brief(stored)}, "
                f"not as answered: {brief(operation)}"
            )
    world.acknowledged.clear()
    return problems


def _verify_slot(
    world: World, api: Api, slot: Slot, current: image_pb2.Image | None
) -> list[str]:
    acked, pending = slot.image, slot.pending
    what = f"slot {slot.key} (acknowledged {brief(acked)}; in flight {pending})"
    if current is not None and api.get(current.id) != current:
        return [f"{what}: Get and List disagree about {current.id}"]
    # Which state is the image in: the acknowledged one, or the in-flight call's?
    if acked is not None and current is not None and current.id != acked.id:
        return [f"{what}: found another image: {brief(current)}"]
    if current is None:
        applied = acked is not None
        if applied and (pending is None or pending.kind != "delete"):
            return [f"{what}: the acknowledged image is gone"]
    elif acked is None:
        applied = True
        if pending is None or pending.kind != "create":
            return [f"{what}: an image appeared: {brief(current)}"]
        if (
            Facts.of(current) != pending.expected
            or current.status != image_pb2.Image.READY
        ):
            return [f"{what}: the in-flight Create left {brief(current)}"]
    elif current == acked:
        applied = False
    else:
        applied = True
        if (
            pending is None
            or pending.kind != "update"
            or Facts.of(current) != pending.expected
        ):
            return [
                f"{what}: the image is neither as acknowledged nor as in flight: {brief(current)}"
            ]
    last = current if current is not None else acked
    image_id = last.id if last is not None else ""
    slot.image, slot.pending = current, None
    if pending is not None:
        world.in_flight += 1
        world.in_flight_applied += applied
    if not image_id:
        return []  # no image before, none now: an in-flight Create left nothing
    # Its operations: every known one, plus the in-flight one exactly when it took effect.
    problems: list[str] = []
    operations = api.list_operations(image_id)
    known = world.operations.setdefault(image_id, set())
    ids = [operation.id for operation in operations]
    if len(set(ids)) != len(ids):
        problems.append(f"{what}: an operation listed twice: {ids}")
    unfinished = [operation.id for operation in operations if not operation.done]
    if unfinished:
        problems.append(f"{what}: unfinished operations {unfinished}")
    lost = known - set(ids)
    if lost:
        problems.append(f"{what}: acknowledged operations lost: {sorted(lost)}")
    extra = [operation for operation in operations if operation.id not in known]
    no_op_update = (
        pending is not None
        and pending.kind == "update"
        and acked is not None
        and pending.expected == Facts.of(acked)
    )
    if len(extra) > 1:
        problems.append(f"{what}: unknown operations {[o.id for o in extra]}")
    elif extra and extra[0].id != ids[0]:
        problems.append(
            f"{what}: the in-flight operation {extra[0].id} is not the newest: {ids}"
        )
    elif extra and not (applied or no_op_update):
        problems.append(f"{what}: operation {extra[0].id} stored without its effect")
    elif applied and not extra:
        problems.append(f"{what}: the in-flight call took effect without an operation")
    if not operations:
        problems.append(f"{what}: no operations")
    elif current is not None and (
        not operations[0].HasField("response") or image_of(operations[0]) != current
    ):
        problems.append(
            f"{what}: the newest operation, {brief(operations[0])}, does not answer Get: {brief(current)}"
        )
    elif current is None and not is_empty_response(operations[0]):
        problems.append(
            f"{what}: gone, but the newest operation is {brief(operations[0])}"
        )
    known.update(ids)
    return problems


def test_sigkill_loses_no_acknowledged_write_and_leaves_nothing_half_applied(
    tmp_path: Path,
) -> None:
    seed = seed_from_environment()
    print(f"SEED={seed} CRASH_ROUNDS={ROUNDS}")
    rng = random.Random(seed)
    db = tmp_path / "crash.sqlite3"
    slots = {
        f"t{thread}-s{index}": Slot(
            f"t{thread}-s{index}",
            FOLDERS[(thread * SLOTS_PER_THREAD + index) % len(FOLDERS)],
        )
        for thread in range(THREADS)
        for index in range(SLOTS_PER_THREAD)
    }
    world = World(seed, slots)
    server = ServerProcess(GENERATED, "--db", str(db)).start()
    started = time.monotonic()
    try:
        for round_ in range(1, ROUNDS + 1):
            _write_until_killed(world, server, rng, round_)
            where = world.where(round_)
            if world.errors:
                pytest.fail(f"{where}:\n" + "\n".join(world.errors), pytrace=False)
            assert (
                server.process is not None
                and server.process.returncode == -signal.SIGKILL
            )
            verdict = integrity_check(db, copy=True)
            assert verdict == [
                "ok"
            ], f"{where}: integrity_check after the kill: {verdict}"
            server = ServerProcess(GENERATED, "--db", str(db)).start()
            with grpc.insecure_channel(server.address) as channel:
                problems = _verify(world, Api(channel), round_)
            if problems:
                pytest.fail(f"{where}:\n" + "\n".join(problems), pytrace=False)
        live = sum(slot.image is not None for slot in slots.values())
        print(
            f"SEED={seed}: {ROUNDS} kills, {world.calls} acknowledged writes, "
            f"{world.in_flight} cut by a kill ({world.in_flight_applied} applied), "
            f"{live} images, {sum(map(len, world.operations.values()))} operations, "
            f"{time.monotonic() - started:.1f} s"
        )
        assert world.calls > 0, f"SEED={seed}: no write was acknowledged"
        assert server.stop() == 0, f"SEED={seed}: the last server did not stop cleanly"
    finally:
        if server.process is not None and server.process.poll() is None:
            server.stop(signal.SIGKILL)  # a failure left it running
    verdict = integrity_check(db)
    assert verdict == [
        "ok"
    ], f"SEED={seed}: integrity_check after a clean stop: {verdict}"
