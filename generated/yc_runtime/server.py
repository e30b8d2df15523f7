"""Running generated services: one gRPC server with OperationService and graceful shutdown."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from concurrent import futures
from dataclasses import dataclass
from types import FrameType
from typing import Callable, Protocol, Sequence

import grpc

from .operations import OperationService
from .service import Runtime
from .storage import open_storage

log = logging.getLogger(__name__)


class Servicer(Protocol):
    def add_to_server(self, server: grpc.Server) -> None: ...


ServiceFactory = Callable[[Runtime], Servicer]


@dataclass
class RunningServer:
    server: grpc.Server
    runtime: Runtime
    port: int

    def stop(self, grace: float | None = 5.0) -> None:
        """Lets in-flight calls finish, then closes the storage."""
        self.server.stop(grace).wait()
        self.runtime.scheduler.stop()
        self.runtime.storage.close()


def start(
    services: Sequence[ServiceFactory],
    db: str = ":memory:",
    host: str = "127.0.0.1",
    port: int = 0,
    operation_delay: float = 0.0,
    workers: int = 16,
) -> RunningServer:
    """Starts a server for `services` plus OperationService; port 0 picks a free port."""
    runtime = Runtime(open_storage(db), operation_delay)
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=workers))
    for factory in services:
        factory(runtime).add_to_server(server)
    OperationService(runtime.storage, runtime.scheduler).add_to_server(server)
    bound = server.add_insecure_port(f"{host}:{port}")
    if bound == 0:
        raise OSError(f"cannot listen on {host}:{port}")
    runtime.scheduler.start()
    server.start()
    return RunningServer(server, runtime, bound)


def parse_arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Serve the generated gRPC services.")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=0, help="port; 0 picks a free one")
    parser.add_argument(
        "--db",
        default="api.sqlite3",
        help="SQLite database file, or :memory: to keep everything in memory",
    )
    parser.add_argument(
        "--operation-delay",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="finish operations this long after the call (default: before it returns)",
    )
    parser.add_argument("--workers", type=int, default=16, help="threads serving calls")
    return parser.parse_args(argv)


def main(services: Sequence[ServiceFactory], argv: Sequence[str] | None = None) -> None:
    arguments = parse_arguments(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s"
    )
    running = start(
        services,
        db=arguments.db,
        host=arguments.host,
        port=arguments.port,
        operation_delay=arguments.operation_delay,
        workers=arguments.workers,
    )
    print(f"listening on {arguments.host}:{running.port}", flush=True)
    stopping = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    stopping.wait()
    log.info("shutting down")
    running.stop()
    sys.exit(0)
