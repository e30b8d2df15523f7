"""The README's code runs as written: the first session and the extension example."""

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

README = (ROOT / "README.md").read_text(encoding="utf-8")
_BLOCKS = re.findall(r"```python\n(.*?)```", README, re.DOTALL)


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
    script.write_text(block("class Images(image_service_server.ImageService)"))
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
