"""Running generated services: one gRPC server with OperationService, endpoint discovery, TLS,
tokens, and graceful shutdown."""

from __future__ import annotations

import argparse
import importlib.util
import logging
import re
import signal
import sys
import threading
from concurrent import futures
from dataclasses import dataclass
from types import FrameType
from typing import Callable, Protocol, Sequence

import grpc

from .auth import Authenticator, parse_token
from .calls import CallInterceptor
from .operations import OperationService
from .service import Runtime
from .storage import Storage, open_storage

log = logging.getLogger(__name__)


class Servicer(Protocol):
    def add_to_server(self, server: grpc.Server) -> None: ...


ServiceFactory = Callable[[Runtime], Servicer]

# The module ApiEndpointService needs: generated only when proto/ has the endpoint protos.
_ENDPOINT_MODULE = "yandex.cloud.endpoint.api_endpoint_service_pb2_grpc"


@dataclass
class RunningServer:
    server: grpc.Server
    runtime: Runtime
    port: int
    address: str  # the advertised address, which ApiEndpointService lists

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
    tls_cert: str = "",
    tls_key: str = "",
    tokens: Sequence[str] = (),
    endpoint_ids: Sequence[str] = (),
    advertised_address: str = "",
    storage: Storage | None = None,
    check_references: bool = True,
) -> RunningServer:
    """Starts a server for `services` plus OperationService and, when its modules were generated,
    ApiEndpointService; port 0 picks a free port. It serves `storage` if given (an open
    Storage, which stopping the server closes), else the one `db` names.

    `tls_cert` and `tls_key` (PEM files, both or neither) switch to TLS. `tokens`, written as
    for `--token`, require callers to authenticate (see `auth`). ApiEndpointService lists the
    built-in ids and `endpoint_ids` at `advertised_address` (default `localhost:PORT`).
    `check_references` False turns off the checks of references between resources.
    Raises ValueError for a bad argument and OSError when the port or a file is unusable.
    """
    if bool(tls_cert) != bool(tls_key):
        raise ValueError("TLS needs both a certificate and its private key")
    credentials = _server_credentials(tls_cert, tls_key) if tls_cert else None
    authenticator = Authenticator(tokens)
    runtime = Runtime(
        storage or open_storage(db), operation_delay, authenticator, check_references
    )
    server = grpc.server(
        futures.ThreadPoolExecutor(
            max_workers=workers, initializer=runtime.storage.prepare_thread
        ),
        interceptors=[CallInterceptor(authenticator)],
    )
    servicers = [factory(runtime) for factory in services]
    for servicer in servicers:
        servicer.add_to_server(server)
    runtime.link(servicers)
    OperationService(runtime.storage, runtime.scheduler, authenticator).add_to_server(
        server
    )
    address = f"{host}:{port}"
    try:
        if credentials is None:
            bound = server.add_insecure_port(address)
        else:
            bound = server.add_secure_port(address, credentials)
    except RuntimeError:  # grpc says no more than that it failed; its log says why
        bound = 0
    if bound == 0:
        runtime.storage.close()
        hint = "is the port free?"
        if credentials is not None:
            hint += " do the certificate and the key belong together?"
        raise OSError(f"cannot listen on {address} ({hint})")
    advertised = advertised_address or f"localhost:{bound}"
    if _endpoints_generated():
        from .endpoints import ApiEndpointService

        ApiEndpointService(advertised, endpoint_ids).add_to_server(server)
    runtime.scheduler.start()
    server.start()
    return RunningServer(server, runtime, bound, advertised)


def _server_credentials(cert: str, key: str) -> grpc.ServerCredentials:
    with open(cert, "rb") as handle:
        chain = handle.read()
    with open(key, "rb") as handle:
        private_key = handle.read()
    if b"-----BEGIN CERTIFICATE-----" not in chain:
        raise OSError(f"{cert} holds no PEM certificate")
    if not re.search(rb"-----BEGIN [A-Z ]*PRIVATE KEY-----", private_key):
        raise OSError(f"{key} holds no PEM private key")
    return grpc.ssl_server_credentials([(private_key, chain)])


def _endpoints_generated() -> bool:
    try:
        return importlib.util.find_spec(_ENDPOINT_MODULE) is not None
    except ModuleNotFoundError:  # a parent package is missing
        return False


def _token(text: str) -> str:
    """argparse type of `--token`: checked here, parsed again by Authenticator."""
    try:
        parse_token(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return text


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
    parser.add_argument(
        "--tls-cert",
        default="",
        metavar="PATH",
        help="serve TLS with this PEM certificate",
    )
    parser.add_argument(
        "--tls-key",
        default="",
        metavar="PATH",
        help="the certificate's PEM private key",
    )
    parser.add_argument(
        "--token",
        action="append",
        default=[],
        type=_token,
        metavar="TOKEN[=PARENT,...]",
        help="accept calls with 'authorization: Bearer TOKEN', only for resources under "
        "the listed parents if any (repeatable; without it, calls need no token)",
    )
    parser.add_argument(
        "--advertised-address",
        default="",
        metavar="HOST:PORT",
        help="the address ApiEndpointService gives clients (default: localhost:PORT)",
    )
    parser.add_argument(
        "--no-reference-checks",
        dest="check_references",
        action="store_false",
        help="let fields that name other resources name any id, and delete resources "
        "that others name (by default: NOT_FOUND and FAILED_PRECONDITION)",
    )
    arguments = parser.parse_args(argv)
    if bool(arguments.tls_cert) != bool(arguments.tls_key):
        parser.error("--tls-cert and --tls-key go together")
    try:
        Authenticator(arguments.token)
    except ValueError as error:
        parser.error(f"--token: {error}")
    return arguments


def stop_signal() -> threading.Event:
    """An event set by SIGTERM or SIGINT (Ctrl-C)."""
    stopping = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    return stopping


def wait_for(stopping: threading.Event) -> None:
    """Waits in the main thread until `stopping` is set, in short steps: Python runs signal
    handlers in the main thread, and a signal that one of grpc's threads receives does not
    wake a wait without a timeout."""
    while not stopping.wait(0.2):
        pass


def main(
    services: Sequence[ServiceFactory],
    argv: Sequence[str] | None = None,
    endpoint_ids: Sequence[str] = (),
) -> None:
    """Serves `services` with the command-line flags; `endpoint_ids` are the service ids
    ApiEndpointService lists for them (the generated api_server.py passes its APIs')."""
    arguments = parse_arguments(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s"
    )
    try:
        running = start(
            services,
            db=arguments.db,
            host=arguments.host,
            port=arguments.port,
            operation_delay=arguments.operation_delay,
            workers=arguments.workers,
            tls_cert=arguments.tls_cert,
            tls_key=arguments.tls_key,
            tokens=arguments.token,
            endpoint_ids=endpoint_ids,
            advertised_address=arguments.advertised_address,
            check_references=arguments.check_references,
        )
    except OSError as error:
        sys.exit(f"cannot start the server: {error}")
    # Handlers first: whoever reads the line below may signal at once.
    stopping = stop_signal()
    print(f"listening on {arguments.host}:{running.port}", flush=True)
    log.info(
        "serving %s; advertised as %s; %s",
        "TLS" if arguments.tls_cert else "plaintext",
        running.address,
        f"{len(arguments.token)} token(s)" if arguments.token else "no tokens: open",
    )
    wait_for(stopping)
    log.info("shutting down")
    running.stop()
    sys.exit(0)
