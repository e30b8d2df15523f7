"""The README's code runs as written: the first session, the extension example, and the whole
API served with one service extended."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
from pathlib import Path

import grpc
import pytest

from images import Images, image_of, new_folder
from support import GENERATED, ROOT, ServerProcess
from yandex.cloud.baremetal.v1alpha import image_service_pb2
from yandex.cloud.endpoint import (
    api_endpoint_service_pb2,
    api_endpoint_service_pb2_grpc,
)
from yandex.cloud.operation import operation_service_pb2, operation_service_pb2_grpc

README = (ROOT / "README.md").read_text(encoding="utf-8")
_BLOCKS = re.findall(r"```python\n(.*?)```", README, re.DOTALL)
_SHELL_BLOCKS = re.findall(r"```sh\n(.*?)```", README, re.DOTALL)
# What the by-hand tree serves, through its own generated client: Create, Get, Update with the
# mask the client computes, List, Delete.
_ROUND_TRIP = """
import sys
from yandex.cloud.baremetal.v1alpha.image_service_client import ImageServiceClient
from yc_runtime.client import NotFoundError

with ImageServiceClient(sys.argv[1]) as images:
    created = images.create("f1", name="disk", uri="https://example.com/d.img").result()
    assert images.get(created.id) == created
    updated = images.update(created.id, labels={"env": "prod"}).result()
    assert updated.name == "disk" and dict(updated.labels) == {"env": "prod"}
    assert [image.id for image in images.list("f1")] == [created.id]
    images.delete(created.id).result()
    try:
        images.get(created.id)
    except NotFoundError:
        print("round trip done")
"""


def block(containing: str) -> str:
    (found,) = [code for code in _BLOCKS if containing in code]
    return found


def test_first_session_snippet(image_server: ServerProcess) -> None:
    code = block("operation.response.Unpack(image)").replace(
        "127.0.0.1:43817", image_server.address
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "PYTHONPATH": str(GENERATED)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ubuntu-24 {'env': 'prod'}"


def test_extension_example(tmp_path: Path) -> None:
    script = tmp_path / "my_server.py"
    script.write_text(block("def before_create(self, request, resource)"))
    process = subprocess.Popen(
        [sys.executable, str(script), "--db", ":memory:", "--port", "0"],
        env={**os.environ, "PYTHONPATH": str(GENERATED)},
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        address = process.stdout.readline().strip().removeprefix("listening on ")
        with grpc.insecure_channel(address) as channel:
            images = Images(channel)
            image = images.create(
                new_folder(), "hooked", uri="https://example.com/a.img"
            )
            assert (
                image.checksum == hashlib.md5(b"https://example.com/a.img").hexdigest()
            )
            locked = image_of(
                images.update(image.id, ("labels",), labels={"locked": "true"})
            )
            with pytest.raises(grpc.RpcError) as caught:
                images.update(locked.id, ("name",), name="renamed")
            assert caught.value.code() is grpc.StatusCode.FAILED_PRECONDITION
            assert caught.value.details() == "the image is locked"
    finally:
        process.terminate()
        assert process.wait(timeout=30) == 0


def test_whole_api_example(tmp_path: Path) -> None:
    """Serving the whole API with one service extended: the block runs as written, beside
    nothing but the generated tree; the replaced service answers with its override, and the
    rest of api_server.py's API (operations, endpoint discovery) is served as before."""
    script = tmp_path / "whole_api.py"
    script.write_text(block("api_server.SERVICES"))
    process = subprocess.Popen(
        [sys.executable, str(script), "--db", ":memory:", "--port", "0"],
        env={**os.environ, "PYTHONPATH": str(GENERATED)},
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        address = process.stdout.readline().strip().removeprefix("listening on ")
        with grpc.insecure_channel(address) as channel:
            images = Images(channel)
            plain = images.create(new_folder(), "plain")
            assert plain.description == ""
            assert images.get(plain.id).description == "(no description)"
            described = images.create(new_folder(), "described", description="mine")
            assert images.get(described.id).description == "mine"
            operations = operation_service_pb2_grpc.OperationServiceStub(channel)
            listed = images.stub.ListOperations(
                image_service_pb2.ListImageOperationsRequest(image_id=plain.id)
            )
            (created,) = listed.operations
            got = operations.Get(
                operation_service_pb2.GetOperationRequest(operation_id=created.id)
            )
            assert got.done and got.id == created.id
            endpoints = api_endpoint_service_pb2_grpc.ApiEndpointServiceStub(channel)
            ids = endpoints.List(api_endpoint_service_pb2.ListApiEndpointsRequest())
            assert [item.id for item in ids.endpoints] == [
                "baremetal",
                "endpoint",
                "iam",
                "operation",
            ]
    finally:
        process.terminate()
        assert process.wait(timeout=30) == 0


def test_the_by_hand_command_gives_a_tree_that_serves(tmp_path: Path) -> None:
    """README's protoc command, run as written into an empty directory (without the line that
    serves): the tree imports only itself and the runtime libraries, and its server and client
    round-trip an image."""
    (command,) = [code for code in _SHELL_BLOCKS if "--python-custom_out=OUT" in code]
    *generate, serve = command.strip().splitlines()
    assert serve.startswith("python OUT/api_server.py --db :memory:")
    out = tmp_path / "out"
    script = re.sub(r"\bOUT\b", str(out), "\n".join(generate))
    result = subprocess.run(
        ["bash", "-euc", script], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0 and not result.stderr, result.stderr
    server = ServerProcess(out, "--db", ":memory:").start()
    try:
        client = subprocess.run(
            [sys.executable, "-c", _ROUND_TRIP, server.address],
            env={**os.environ, "PYTHONPATH": str(out)},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert client.stdout.strip() == "round trip done", client.stderr
    finally:
        assert server.stop() == 0
