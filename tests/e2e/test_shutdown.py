"""SIGTERM shuts the server down gracefully: the calls it has begun finish (their changes
committed before the database closes), calls that come in meanwhile are answered UNAVAILABLE
without being started, and the server exits cleanly once the calls it began have ended.

The calls are held in flight by a server that extends the generated one (as README's "Serving
the whole API with one service extended" shows): its Get, and its Create of a name starting
with `held`, wait for a file the test creates. No assertion depends on timing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from concurrent import futures
from pathlib import Path
from typing import Callable

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from images import Images, image_of, new_folder
from support import GENERATED, ServerProcess
from yandex.cloud.baremetal.v1alpha import image_service_pb2 as api

HELD_SERVER = """
import pathlib
import sys
import time

import api_server
from yc_runtime import server
from yandex.cloud.baremetal.v1alpha import image_service_server

HOLD = pathlib.Path(sys.argv.pop(1))  # entered-* files appear there; `release` lets go


def hold(name):
    (HOLD / f"entered-{name}").touch()
    while not (HOLD / "release").exists():
        time.sleep(0.01)


class Held(image_service_server.ImageService):
    def Get(self, request, context):
        hold(f"get-{request.image_id}")
        return super().Get(request, context)

    def before_create(self, request, resource):
        if request.name.startswith("held"):
            hold(f"create-{request.name}")


SERVICES = [
    Held if service is image_service_server.ImageService else service
    for service in api_server.SERVICES
]
server.main(SERVICES, endpoint_ids=api_server.ENDPOINT_IDS)
"""
SHUTTING_DOWN = "The server is shutting down: the call was not started; retry it"


class HeldServer:
    def __init__(self, directory: Path, db: Path) -> None:
        self.hold = directory / "hold"
        self.hold.mkdir(exist_ok=True)
        script = directory / "held_server.py"
        script.write_text(HELD_SERVER)
        self.log = tempfile.TemporaryFile(mode="w+")
        self.process = subprocess.Popen(
            [
                sys.executable,
                str(script),
                str(self.hold),
                "--db",
                str(db),
                "--port",
                "0",
                "--grace",
                "120",
            ],
            env={**os.environ, "PYTHONPATH": str(GENERATED)},
            stdout=subprocess.PIPE,
            stderr=self.log,
            text=True,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        assert line.startswith("listening on "), self.server_log()
        self.address = line.split()[-1]

    def server_log(self) -> str:
        self.log.seek(0)
        return self.log.read()

    def entered(self) -> set[str]:
        return {path.name for path in self.hold.glob("entered-*")}

    def release(self) -> None:
        (self.hold / "release").touch()

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def wait_for(condition: Callable[[], bool], what: str, server: HeldServer) -> None:
    """Waits until `condition()` holds; fails after a minute, which no step needs."""
    for _ in range(6000):
        if condition():
            return
        assert (
            server.process.poll() is None
        ), f"the server exited\n{server.server_log()}"
        time.sleep(0.01)
    raise AssertionError(f"{what} never happened\n{server.server_log()}")


@pytest.fixture
def held(tmp_path: Path):  # type: ignore[no-untyped-def]
    server = HeldServer(tmp_path, tmp_path / "api.sqlite3")
    yield server
    server.release()
    server.kill()


def test_sigterm_lets_calls_in_flight_finish_and_refuses_new_ones(
    held: HeldServer, tmp_path: Path
) -> None:
    folder = new_folder()
    with grpc.insecure_channel(held.address) as channel:
        images = Images(channel)
        created = [images.create(folder, f"image-{index}") for index in range(3)]
        with futures.ThreadPoolExecutor(max_workers=4) as pool:
            gets = [
                pool.submit(images.stub.Get, get_request(i.id), timeout=120)
                for i in created
            ]
            create = pool.submit(
                images.stub.Create,
                api.CreateImageRequest(folder_id=folder, name="held-new", uri="u"),
                timeout=120,
            )
            expected = {f"entered-get-{i.id}" for i in created} | {
                "entered-create-held-new"
            }
            wait_for(lambda: held.entered() == expected, "four calls in flight", held)
            held.process.send_signal(signal.SIGTERM)
            wait_for(
                lambda: "taking no more calls" in held.server_log(), "the drain", held
            )
            # A call that comes in now is refused, not started, and says so.
            client_id = str(uuid.uuid4())
            with pytest.raises(grpc.RpcError) as refused:
                images.stub.Get(
                    get_request(created[0].id),
                    metadata=(("x-client-request-id", client_id),),
                    timeout=30,
                )
            assert refused.value.code() is grpc.StatusCode.UNAVAILABLE
            assert refused.value.details() == SHUTTING_DOWN
            trailers = dict(refused.value.trailing_metadata() or ())
            assert trailers["x-client-request-id"] == client_id
            assert held.entered() == expected  # the refused Get did not begin
            with pytest.raises(grpc.RpcError) as refused:
                images.create(folder, "refused-new")
            assert refused.value.code() is grpc.StatusCode.UNAVAILABLE
            assert held.process.poll() is None  # it waits for the calls in flight
            held.release()
            assert [get.result() for get in gets] == created
            made = image_of(create.result())
            assert made.name == "held-new"
    assert held.process.wait(timeout=60) == 0, held.server_log()
    log = held.server_log()
    assert "stopped" in log and "Traceback" not in log, log
    # What the held Create changed was committed before the database closed; the refused
    # Create changed nothing.
    again = HeldServer(tmp_path, tmp_path / "api.sqlite3")
    try:
        again.release()
        with grpc.insecure_channel(again.address) as channel:
            images = Images(channel)
            assert images.get(made.id) == made
            listed = images.stub.List(api.ListImagesRequest(folder_id=folder))
            assert sorted(i.name for i in listed.images) == [
                "held-new",
                "image-0",
                "image-1",
                "image-2",
            ]
    finally:
        again.process.send_signal(signal.SIGTERM)
        assert again.process.wait(timeout=60) == 0, again.server_log()


def test_health_says_not_serving_while_draining(held: HeldServer) -> None:
    """From SIGTERM on, the health service answers NOT_SERVING (not UNAVAILABLE, as other
    calls are: a probe must tell a draining server from one that is gone), while the call
    in flight still finishes; a Watch stream hears the change."""
    with grpc.insecure_channel(held.address) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        asked = health_pb2.HealthCheckRequest()
        serving = health_pb2.HealthCheckResponse.SERVING
        not_serving = health_pb2.HealthCheckResponse.NOT_SERVING
        assert health.Check(asked, timeout=10).status == serving
        watch = health.Watch(asked, timeout=120)
        assert next(watch).status == serving
        images = Images(channel)
        image = images.create(new_folder(), "drained")
        with futures.ThreadPoolExecutor(max_workers=1) as pool:
            get = pool.submit(images.stub.Get, get_request(image.id), timeout=120)
            wait_for(
                lambda: held.entered() == {f"entered-get-{image.id}"}, "a Get", held
            )
            held.process.send_signal(signal.SIGTERM)
            assert next(watch).status == not_serving
            wait_for(
                lambda: "taking no more calls" in held.server_log(), "the drain", held
            )
            assert health.Check(asked, timeout=10).status == not_serving
            service = health_pb2.HealthCheckRequest(service=images_service())
            assert health.Check(service, timeout=10).status == not_serving
            held.release()
            assert get.result() == image
        watch.cancel()
    assert held.process.wait(timeout=60) == 0, held.server_log()


def images_service() -> str:
    return api.DESCRIPTOR.services_by_name["ImageService"].full_name


def test_under_load_calls_sent_before_sigterm_finish_or_are_refused(
    tmp_path: Path,
) -> None:
    """48 clients, each on a connection of its own, send a Create at once to a server of 4
    threads, which gets SIGTERM once the first has its answer: some calls are running, some
    wait for a thread, most wait in grpc. Each ends OK, its image stored, or UNAVAILABLE,
    changing nothing; none is CANCELLED (grpc's own stop cancelled those it had not handed
    over: dozens)."""
    db = tmp_path / "api.sqlite3"
    server = ServerProcess(GENERATED, "--db", str(db), "--workers", "4").start()
    folder = new_folder()
    clients = 48
    ready = threading.Barrier(clients + 1)
    outcomes: dict[str, grpc.StatusCode] = {}
    answered = threading.Event()

    def create(name: str) -> None:
        with grpc.insecure_channel(server.address) as channel:
            grpc.channel_ready_future(channel).result(timeout=60)
            stub = Images(channel).stub
            request = api.CreateImageRequest(folder_id=folder, name=name, uri="u")
            ready.wait()
            try:
                stub.Create(request, timeout=120)
                outcomes[name] = grpc.StatusCode.OK
            except grpc.RpcError as error:
                outcomes[name] = error.code()
            answered.set()

    names = [f"load-{index:02d}" for index in range(clients)]
    threads = [threading.Thread(target=create, args=(name,)) for name in names]
    for thread in threads:
        thread.start()
    ready.wait()
    assert answered.wait(timeout=120)
    assert server.process is not None
    server.process.send_signal(signal.SIGTERM)
    for thread in threads:
        thread.join()
    assert server.process.wait(timeout=120) == 0, server.server_log()
    codes = Counter(code.name for code in outcomes.values())
    assert set(codes) <= {"OK", "UNAVAILABLE"}, f"{codes}\n{server.server_log()}"
    again = ServerProcess(GENERATED, "--db", str(db)).start()
    try:
        with grpc.insecure_channel(again.address) as channel:
            listed = Images(channel).stub.List(
                api.ListImagesRequest(folder_id=folder, page_size=100)
            )
        done = sorted(n for n, code in outcomes.items() if code is grpc.StatusCode.OK)
        assert sorted(image.name for image in listed.images) == done
    finally:
        assert again.stop() == 0


def test_an_idle_server_exits_on_sigterm(held: HeldServer) -> None:
    with grpc.insecure_channel(held.address) as channel:
        Images(channel).create(new_folder(), "idle")
        held.process.send_signal(signal.SIGTERM)
        assert held.process.wait(timeout=60) == 0, held.server_log()
    assert "stopped" in held.server_log()


def get_request(image_id: str) -> api.GetImageRequest:
    return api.GetImageRequest(image_id=image_id)
