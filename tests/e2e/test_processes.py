"""`--processes N`: one port served by N worker processes under a supervisor, over one SQLite
database, over real gRPC (and REST) on 127.0.0.1.

Which worker answered a call is read from the access log: each JSON line carries the pid of
the process that wrote it and the request id that the answer carries back as x-request-id.
The workers' pids are the supervisor's children, as /proc lists them."""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable, Iterator

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from images import Images, new_folder
from support import GENERATED, ServerProcess
from yandex.cloud.baremetal.v1alpha import image_service_pb2 as api

# Connections of their own: grpc would otherwise share one between channels to one address.
OWN_CONNECTION = [("grpc.use_local_subchannel_pool", 1)]
CONNECTIONS = 24  # each lands on one of two workers: all on one, 1 time in 2**23


def workers(server: ServerProcess) -> set[int]:
    """The pids of the supervisor's children."""
    assert server.process is not None
    pid = server.process.pid
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return {int(child) for child in children}


def answered_by(server: ServerProcess, request_id: str) -> int:
    """The pid of the process that logged the call (within 0.1 s: access lines are written
    in batches)."""
    for _ in range(1500):
        for line in server.server_log().splitlines():
            entry = json.loads(line)
            if entry.get("request_id") == request_id:
                return int(entry["pid"])
        time.sleep(0.02)
    raise AssertionError(f"{request_id} never logged\n{server.server_log()}")


def request_id(call: Any) -> str:
    return str(dict(call.trailing_metadata())["x-request-id"])


def wait_for(condition: Callable[[], bool], what: str, server: ServerProcess) -> None:
    for _ in range(3000):
        if condition():
            return
        time.sleep(0.01)
    raise AssertionError(f"{what} never happened\n{server.server_log()}")


def check(channel: grpc.Channel) -> Any:
    """Health.Check `with_call`: (answer, call)."""
    return health_pb2_grpc.HealthStub(channel).Check.with_call(
        health_pb2.HealthCheckRequest(), timeout=30, wait_for_ready=True
    )


@pytest.fixture
def two(tmp_path: Path) -> Iterator[ServerProcess]:
    server = ServerProcess(
        GENERATED,
        *("--db", str(tmp_path / "api.sqlite3"), "--processes", "2"),
        *("--log-format", "json", "--http-port", "0"),
    ).start()
    yield server
    assert server.process is not None
    if server.process.poll() is None:
        server.process.kill()
        server.process.wait()


def channels_by_worker(server: ServerProcess) -> dict[int, grpc.Channel]:
    """One open channel per worker, found by trying connections of their own."""
    found: dict[int, grpc.Channel] = {}
    for _ in range(CONNECTIONS):
        channel = grpc.insecure_channel(server.address, options=OWN_CONNECTION)
        _, call = check(channel)
        pid = answered_by(server, request_id(call))
        if pid in found:
            channel.close()
        else:
            found[pid] = channel
    return found


def test_two_workers_serve_one_port_over_one_database(two: ServerProcess) -> None:
    pids = workers(two)
    assert len(pids) == 2 and two.process is not None
    assert two.process.pid not in pids
    by_worker = channels_by_worker(two)
    try:
        assert set(by_worker) == pids, "both workers answer calls"
        first, second = (Images(by_worker[pid]) for pid in sorted(pids))
        folder = new_folder()
        created = first.create(folder, "on-the-first")
        assert second.get(created.id) == created
        listed, call = second.stub.List.with_call(
            api.ListImagesRequest(folder_id=folder), timeout=10
        )
        assert [image.id for image in listed.images] == [created.id]
        assert answered_by(two, request_id(call)) == max(pids)
        # A name is unique under its parent across the workers too.
        with pytest.raises(grpc.RpcError) as taken:
            second.create(folder, "on-the-first")
        assert taken.value.code() is grpc.StatusCode.ALREADY_EXISTS
    finally:
        for channel in by_worker.values():
            channel.close()
    # The REST face: one port, both workers.
    host, port = two.http_address.rsplit(":", 1)
    rest_pids = set()
    for _ in range(CONNECTIONS):
        connection = http.client.HTTPConnection(host, int(port), timeout=30)
        connection.request("GET", f"/baremetal/v1alpha/images/{created.id}")
        answer = connection.getresponse()
        assert answer.status == 200 and json.loads(answer.read())["id"] == created.id
        rest_pids.add(answered_by(two, answer.getheader("x-request-id", "")))
        connection.close()
    assert rest_pids == pids
    # SIGTERM stops them all, gracefully.
    assert two.stop() == 0, two.server_log()
    for pid in pids:
        assert not Path(f"/proc/{pid}").exists()
    log = two.server_log()
    assert "Traceback" not in log and '"stopped"' in log, log


def test_a_killed_worker_is_reported_and_replaced(two: ServerProcess) -> None:
    before = workers(two)
    killed = min(before)
    os.kill(killed, signal.SIGKILL)
    wait_for(lambda: "serves again" in two.server_log(), "a new worker", two)
    log = two.server_log()
    assert f"(pid {killed}) was killed by SIGKILL; starting it again" in log, log
    after = workers(two)
    assert len(after) == 2 and killed not in after and max(before) in after
    # The port answers, from both workers again.
    by_worker = channels_by_worker(two)
    try:
        assert set(by_worker) == after
    finally:
        for channel in by_worker.values():
            channel.close()
    assert two.stop() == 0, two.server_log()


def test_the_port_answers_while_a_worker_is_down(two: ServerProcess) -> None:
    """Killed mid-load, a worker loses the calls it held, but new connections go to the
    other one at once: none waits for the restart."""
    folder = new_folder()
    killed = min(workers(two))
    os.kill(killed, signal.SIGKILL)
    for index in range(10):
        with grpc.insecure_channel(two.address, options=OWN_CONNECTION) as channel:
            Images(channel).stub.Create(
                api.CreateImageRequest(folder_id=folder, name=f"n{index}", uri="u"),
                timeout=30,
                wait_for_ready=True,
            )
    with grpc.insecure_channel(two.address) as channel:
        listed = Images(channel).stub.List(
            api.ListImagesRequest(folder_id=folder), timeout=30
        )
    assert len(listed.images) == 10
    assert two.stop() == 0, two.server_log()


def test_memory_with_several_processes_is_a_startup_error() -> None:
    refused = subprocess.run(
        [sys.executable, "api_server.py", "--port", "0", "--db", ":memory:"]
        + ["--processes", "2"],
        cwd=GENERATED,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode != 0
    assert refused.stdout == ""
    assert "--db :memory:" in refused.stderr and "Traceback" not in refused.stderr
