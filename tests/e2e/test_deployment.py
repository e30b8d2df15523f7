"""What a deployment expects of the server, over real gRPC: the standard health service, server
reflection (as grpcurl, grpcui and Postman use it), and one access log line per call, as text
or JSON lines.

NOT_SERVING while the server drains is in test_shutdown.py (it needs a call held in flight);
the several-processes server in test_processes.py."""

from __future__ import annotations

import http.client
import json
import re
import subprocess
import sys
import time
from typing import Any, Iterator

import grpc
import pytest
from google.protobuf.descriptor_pool import DescriptorPool
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)

from images import Images, new_folder
from support import GENERATED, ServerProcess, serves_then_stops
from yandex.cloud.baremetal.v1alpha import image_service_pb2 as api

IMAGE_SERVICE = "yandex.cloud.baremetal.v1alpha.ImageService"
SERVED = {
    "yandex.cloud.baremetal.v1alpha.ConfigurationService",
    IMAGE_SERVICE,
    "yandex.cloud.operation.OperationService",
    "yandex.cloud.endpoint.ApiEndpointService",
    "grpc.health.v1.Health",
    "grpc.reflection.v1alpha.ServerReflection",
}
STANDARD = {"grpc.health.v1.Health", "grpc.reflection.v1alpha.ServerReflection"}
SERVING = health_pb2.HealthCheckResponse.SERVING
# An access log line in text: TIME LEVEL METHOD CODE MS ms request_id=ID peer=PEER
TEXT_LINE = re.compile(
    r"^\S+ \S+ INFO (?P<method>/\S+) (?P<code>[A-Z_]+) (?P<duration_ms>\d+\.\d\d) ms "
    r"request_id=(?P<request_id>\S+) peer=(?P<peer>\S+)$"
)


def check(channel: grpc.Channel, service: str = "") -> Any:
    stub = health_pb2_grpc.HealthStub(channel)
    return stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=10)


def request_id(call: Any) -> str:
    """The x-request-id an answer carried (a call made `with_call`)."""
    return str(dict(call.trailing_metadata())["x-request-id"])


@pytest.fixture(scope="module")
def json_server() -> Iterator[ServerProcess]:
    """A server with a token, logging JSON lines, with the REST face."""
    server = ServerProcess(
        GENERATED,
        *("--db", ":memory:", "--token", "secret", "--log-format", "json"),
        *("--http-port", "0"),
    ).start()
    yield server
    assert server.stop() == 0


def logged(server: ServerProcess, request_ids: list[str]) -> str:
    """The server's log, once it has the lines of these calls (access lines are written
    within 0.1 s, in batches)."""
    deadline = time.monotonic() + 30
    while True:
        log = server.server_log()
        if all(f"{request_id}" in log for request_id in request_ids):
            return log
        assert time.monotonic() < deadline, f"{request_ids} not logged\n{log}"
        time.sleep(0.02)


def access_lines(server: ServerProcess, request_ids: list[str]) -> list[dict[str, Any]]:
    """The access log's JSON lines, once it has those of these calls."""
    lines = [json.loads(line) for line in logged(server, request_ids).splitlines()]
    return [line for line in lines if "method" in line]


def test_health_says_serving_for_the_server_and_each_service(
    image_server: ServerProcess, channel: grpc.Channel
) -> None:
    assert check(channel).status == SERVING
    for service in sorted(SERVED - STANDARD):
        assert check(channel, service).status == SERVING, service
    with pytest.raises(grpc.RpcError) as unknown:
        check(channel, "no.such.Service")
    assert unknown.value.code() is grpc.StatusCode.NOT_FOUND


def test_reflection_lists_every_service_and_describes_them(
    channel: grpc.Channel,
) -> None:
    database = ProtoReflectionDescriptorDatabase(channel)
    assert set(database.get_services()) == SERVED
    # What grpcurl does next: the descriptors of a service's methods and messages.
    pool = DescriptorPool(database)
    service = pool.FindServiceByName(IMAGE_SERVICE)
    assert {"Get", "List", "Create", "Update", "Delete"} <= set(service.methods_by_name)
    request = service.methods_by_name["Create"].input_type
    assert request.full_name == "yandex.cloud.baremetal.v1alpha.CreateImageRequest"
    assert "folder_id" in request.fields_by_name


def test_health_and_reflection_need_no_token(json_server: ServerProcess) -> None:
    """A Kubernetes probe and grpcurl's listing carry no token; the API still needs one."""
    with grpc.insecure_channel(json_server.address) as channel:
        assert check(channel).status == SERVING
        assert (
            IMAGE_SERVICE in ProtoReflectionDescriptorDatabase(channel).get_services()
        )
        with pytest.raises(grpc.RpcError) as refused:
            Images(channel).stub.List(api.ListImagesRequest(folder_id="f"), timeout=10)
        assert refused.value.code() is grpc.StatusCode.UNAUTHENTICATED


def test_without_health_and_reflection_they_are_unimplemented() -> None:
    server = ServerProcess(
        GENERATED, "--db", ":memory:", "--no-health", "--no-reflection"
    ).start()
    try:
        with grpc.insecure_channel(server.address) as channel:
            with pytest.raises(grpc.RpcError) as missing:
                check(channel)
            assert missing.value.code() is grpc.StatusCode.UNIMPLEMENTED
            with pytest.raises(grpc.RpcError) as missing:
                ProtoReflectionDescriptorDatabase(channel).get_services()
            assert missing.value.code() is grpc.StatusCode.UNIMPLEMENTED
            assert Images(channel).create(new_folder(), "still-served").name
    finally:
        assert server.stop() == 0


def test_text_access_log_has_a_line_per_call(
    image_server: ServerProcess, channel: grpc.Channel
) -> None:
    images = Images(channel)
    created, created_call = images.stub.Create.with_call(
        api.CreateImageRequest(folder_id=new_folder(), name="logged", uri="u"),
        timeout=10,
    )
    with pytest.raises(grpc.RpcError) as missing:
        images.get("a" * 20)
    lines = {}
    ids = [request_id(created_call), request_id(missing.value)]
    for text in logged(image_server, ids).splitlines():
        found = TEXT_LINE.match(text)
        if found:
            lines[found["request_id"]] = found.groupdict()
    create = lines[request_id(created_call)]
    assert create["method"] == f"/{IMAGE_SERVICE}/Create"
    assert create["code"] == "OK"
    assert float(create["duration_ms"]) > 0
    assert create["peer"].startswith("ipv4:127.0.0.1:")
    get = lines[request_id(missing.value)]
    assert (get["method"], get["code"]) == (f"/{IMAGE_SERVICE}/Get", "NOT_FOUND")


def test_json_access_log_has_a_line_per_call_on_both_faces(
    json_server: ServerProcess,
) -> None:
    token = (("authorization", "Bearer secret"),)
    with grpc.insecure_channel(json_server.address) as channel:
        stub = Images(channel).stub
        listed, listed_call = stub.List.with_call(
            api.ListImagesRequest(folder_id=new_folder()), metadata=token, timeout=10
        )
        with pytest.raises(grpc.RpcError) as refused:
            stub.List(api.ListImagesRequest(folder_id="f"), timeout=10)
        checked, checked_call = health_pb2_grpc.HealthStub(channel).Check.with_call(
            health_pb2.HealthCheckRequest(), timeout=10
        )
    host, port = json_server.http_address.rsplit(":", 1)
    rest = http.client.HTTPConnection(host, int(port), timeout=30)
    rest.request(
        "GET",
        "/baremetal/v1alpha/images/" + "b" * 20,
        headers={"Authorization": "Bearer secret"},
    )
    answer = rest.getresponse()
    answer.read()
    assert answer.status == 404
    rest_id = answer.getheader("x-request-id")
    rest.close()
    ids = [request_id(listed_call), request_id(refused.value)]
    ids += [request_id(checked_call), rest_id]
    lines = {line["request_id"]: line for line in access_lines(json_server, ids)}
    for line in lines.values():
        assert set(line) == {
            "time",
            "level",
            "pid",
            "method",
            "code",
            "duration_ms",
            "request_id",
            "peer",
        }
        assert line["pid"] == json_server.process.pid  # type: ignore[union-attr]
    listed_line = lines[request_id(listed_call)]
    assert (listed_line["method"], listed_line["code"]) == (
        f"/{IMAGE_SERVICE}/List",
        "OK",
    )
    assert isinstance(listed_line["duration_ms"], float)
    assert listed_line["time"].endswith("+00:00")
    assert lines[request_id(refused.value)]["code"] == "UNAUTHENTICATED"
    assert lines[request_id(checked_call)]["method"] == "/grpc.health.v1.Health/Check"
    # The REST face goes through the same interceptor: its calls are logged alike.
    rest_line = lines[rest_id]
    assert (rest_line["method"], rest_line["code"]) == (
        f"/{IMAGE_SERVICE}/Get",
        "NOT_FOUND",
    )
    assert rest_line["peer"].startswith("http:127.0.0.1:")
    # Other lines are JSON too.
    others = [json.loads(line) for line in json_server.server_log().splitlines()]
    assert any(line.get("message", "").startswith("serving ") for line in others)


def test_no_access_log() -> None:
    server = ServerProcess(GENERATED, "--db", ":memory:", "--no-access-log").start()
    try:
        with grpc.insecure_channel(server.address) as channel:
            Images(channel).create(new_folder(), "unlogged")
            assert check(channel).status == SERVING
    finally:
        assert server.stop() == 0
    log = server.server_log()
    assert "serving plaintext" in log
    assert "ImageService/Create" not in log and "Health/Check" not in log


FORBID = (
    "import runpy, sys\n"
    "class Forbid:\n"
    "    def find_spec(self, name, path=None, target=None):\n"
    "        if name.split('.')[0] in ('grpc_health', 'grpc_reflection'):\n"
    "            raise ImportError(f'No module named {name}')\n"
    "sys.meta_path.insert(0, Forbid())\n"
    "sys.argv = ['api_server.py', *sys.argv[1:]]\n"
    "runpy.run_path('api_server.py', run_name='__main__')\n"
)


@pytest.mark.parametrize(
    "flag, package",
    [
        ("--no-health", "grpcio-health-checking"),
        ("--no-reflection", "grpcio-reflection"),
    ],
)
def test_a_missing_package_is_a_clear_startup_error(flag: str, package: str) -> None:
    """Without the package, the server says which one and which flag does without it."""
    other = {"--no-health": "--no-reflection", "--no-reflection": "--no-health"}[flag]
    refused = subprocess.run(
        [sys.executable, "-c", FORBID, "--port", "0", "--db", ":memory:", other],
        cwd=GENERATED,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode != 0
    assert package in refused.stderr and flag in refused.stderr, refused.stderr
    assert "Traceback" not in refused.stderr, refused.stderr
    serves_then_stops(
        ["-c", FORBID, "--port", "0", "--db", ":memory:"]
        + ["--no-health", "--no-reflection"]
    )
