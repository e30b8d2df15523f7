"""End-to-end tests: generated servers in their own processes, called over real gRPC."""

from __future__ import annotations

import sys
from typing import Iterator

import grpc
import pytest

from support import GENERATED, ServerProcess

if str(GENERATED) not in sys.path:
    sys.path.insert(0, str(GENERATED))


@pytest.fixture(scope="module")
def image_server() -> Iterator[ServerProcess]:
    server = ServerProcess(GENERATED, "--db", ":memory:").start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def channel(image_server: ServerProcess) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(image_server.address) as opened:
        yield opened
