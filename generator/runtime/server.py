"""Running generated services: one gRPC server with OperationService, endpoint discovery, health
checking and reflection (`standard_services`), TLS, tokens, an access log, and graceful shutdown;
`--processes N` serves one port from several processes (`processes`).

Shutting down (`RunningServer.stop`, on SIGTERM or Ctrl-C) lets the calls the server has taken
finish, for up to a grace period, and refuses the others with UNAVAILABLE, a code clients
retry: the gate of `calls` answers every call grpc hands over from then on without starting it,
until the calls running have ended and grpc has handed over what it held (no call for `QUIET`
seconds); only then does grpc stop, which cancels whatever it still holds. Stopping grpc at
once would cancel every call that has reached the server but that grpc has not yet handed
over: under load there are dozens, and clients do not retry CANCELLED. The health service says
NOT_SERVING from the moment the server begins to stop, so that a load balancer or Kubernetes
sends its calls elsewhere.
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import logging
import re
import signal
import socket
import sys
import threading
import time
from concurrent import futures
from dataclasses import dataclass
from types import FrameType
from typing import TYPE_CHECKING, Any, Callable, Protocol, Sequence

import grpc

from . import logs, processes, standard_services
from .auth import Authenticator, parse_token
from . import calls
from .calls import CallInterceptor, Gate
from .operations import OperationService
from .service import Runtime
from .storage import Storage, open_storage

if TYPE_CHECKING:
    from grpc_health.v1.health import HealthServicer

log = logging.getLogger(__name__)


class Servicer(Protocol):
    def add_to_server(self, server: grpc.Server) -> None: ...


ServiceFactory = Callable[[Runtime], Servicer]

# The module ApiEndpointService needs: generated only when proto/ has the endpoint protos.
_ENDPOINT_MODULE = "yandex.cloud.endpoint.api_endpoint_service_pb2_grpc"


# Seconds that calls in flight get to finish when the server stops (`--grace`).
GRACE = 5.0
# Once the calls taken have ended, the server stops when grpc has handed it no call for this
# long (since it began to stop, at least): grpc then holds none that reached the server before
# (it hands them over in order, and the gate answers each at once).
QUIET = 0.1


@dataclass
class RunningServer:
    server: grpc.Server
    runtime: Runtime
    port: int
    address: str  # the advertised address, which ApiEndpointService lists
    gate: Gate  # whether calls are taken, and how many run
    workers: futures.ThreadPoolExecutor  # the threads that serve calls
    rest: Any = None  # the REST face (rest.RestServer), if asked for
    http_port: int = 0
    health: HealthServicer | None = None  # the health service, unless turned off

    def stop(self, grace: float | None = GRACE) -> None:
        """Says NOT_SERVING and stops taking calls (those that arrive are answered UNAVAILABLE
        and not started), lets the calls taken finish for up to `grace` seconds (None: cancels
        them at once), then stops serving and closes the storage."""
        if self.health is not None:
            standard_services.draining(self.health)
        self.gate.close()
        if grace is not None:
            deadline = time.monotonic() + grace
            log.info(
                "taking no more calls (UNAVAILABLE); waiting up to %g s for those taken",
                grace,
            )
            self._finish(deadline)
            grace = max(0.0, deadline - time.monotonic())
        if self.rest is not None:
            self.rest.stop(grace or 0.0)
        self.server.stop(grace).wait()
        self.runtime.scheduler.stop()
        self.runtime.storage.close()

    def _finish(self, deadline: float) -> None:
        """Waits, until `deadline` at most, for the calls taken to end, then for grpc to have
        handed over (to be refused) the calls it holds."""

        def remaining() -> float:
            return max(0.0, deadline - time.monotonic())

        # Calls that grpc handed over before the gate closed may still be queued for a
        # thread: the queue is first in, first out, so once this has run they have begun.
        try:
            self.workers.submit(lambda: None).result(remaining())
        except futures.TimeoutError:
            return
        if self.gate.wait_until_idle(remaining()):
            self.gate.wait_until_quiet(QUIET, deadline)


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
    http_port: int | None = None,
    health: bool = True,
    reflection: bool = True,
    access_log: bool = False,
    reuse_port: bool = False,
    http_socket: socket.socket | None = None,
) -> RunningServer:
    """Starts a server for `services` plus OperationService and, when its modules were generated,
    ApiEndpointService; port 0 picks a free port. It serves `storage` if given (an open
    Storage, which stopping the server closes), else the one `db` names.

    `health` and `reflection` add the standard services (`standard_services`); health says
    SERVING once a read from the storage has succeeded. `access_log` logs one line per call
    (`calls`; `main` turns it on unless `--no-access-log`). `reuse_port` lets other processes listen on the same port (`processes`), and
    `http_socket`, a listening socket, serves the REST face instead of `http_port`'s.

    `tls_cert` and `tls_key` (PEM files, both or neither) switch to TLS. `tokens`, written as
    for `--token`, require callers to authenticate (see `auth`). ApiEndpointService lists the
    built-in ids and `endpoint_ids` at `advertised_address` (default `localhost:PORT`).
    `check_references` False turns off the checks of references between resources.
    `http_port` (0 picks a free one) serves the REST face too, from the same handlers.
    Raises ValueError for a bad argument, OSError when the port or a file is unusable, and
    standard_services.MissingPackage when a standard service's package is not installed.
    """
    if bool(tls_cert) != bool(tls_key):
        raise ValueError("TLS needs both a certificate and its private key")
    credentials = _server_credentials(tls_cert, tls_key) if tls_cert else None
    authenticator = Authenticator(tokens)
    runtime = Runtime(
        storage or open_storage(db, pool_size=workers),
        operation_delay,
        authenticator,
        check_references,
    )
    gate = Gate()
    pool = futures.ThreadPoolExecutor(
        max_workers=workers, initializer=runtime.storage.prepare_thread
    )
    interceptor = CallInterceptor(
        authenticator, gate=gate, access_log=logs.access_log() if access_log else None
    )
    options = [("grpc.so_reuseport", 1)] if reuse_port else []
    server = grpc.server(pool, interceptors=[interceptor], options=options)
    servicers: list[Any] = [factory(runtime) for factory in services]
    for servicer in servicers:
        servicer.add_to_server(server)
    runtime.link(servicers)
    operations = OperationService(runtime.storage, runtime.scheduler, authenticator)
    operations.add_to_server(server)
    framework: list[Any] = [operations]
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

        endpoints = ApiEndpointService(advertised, endpoint_ids)
        endpoints.add_to_server(server)
        framework.append(endpoints)
    served = standard_services.service_names([*servicers, *framework])
    health_service = None
    rest = None
    try:
        _check_storage(runtime.storage)
        if health:
            health_service = standard_services.add_health(server)
        if reflection:
            listed = [*served, *([calls.HEALTH_SERVICE] if health else [])]
            standard_services.add_reflection(server, listed)
        if http_port is not None or http_socket is not None:
            from .rest import Gateway, RestServer

            gateway = Gateway([*servicers, *framework], interceptor)
            rest = RestServer(
                gateway, pool, host, http_port or 0, tls_cert, tls_key, http_socket
            )
            rest.start()
    except (ValueError, OSError, ImportError):
        runtime.storage.close()
        raise
    if health_service is not None:
        standard_services.serving(health_service, served)
    runtime.scheduler.start()
    server.start()
    return RunningServer(
        server,
        runtime,
        bound,
        advertised,
        gate,
        pool,
        rest,
        rest.port if rest else 0,
        health_service,
    )


def _check_storage(storage: Storage) -> None:
    """Reads from `storage`: the health service says SERVING only once the storage answers."""
    with storage.read() as transaction:
        transaction.get_meta("page_token_secret")


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
        help="SQLite database file; a PostgreSQL connection string "
        "(postgresql://user@host:port/dbname, needs psycopg: pip install "
        "'psycopg[binary]' psycopg-pool), which several servers may share; or :memory: "
        "to keep everything in memory",
    )
    parser.add_argument(
        "--operation-delay",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="finish operations this long after the call (default: before it returns)",
    )
    parser.add_argument(
        "--http-port",
        type=int,
        default=None,
        metavar="PORT",
        help="serve the REST face (HTTP/JSON, from the rpcs' google.api.http rules) on "
        "this port too; 0 picks a free one (needs uvicorn: pip install uvicorn)",
    )
    parser.add_argument("--workers", type=int, default=16, help="threads serving calls")
    parser.add_argument(
        "--grace",
        type=float,
        default=GRACE,
        metavar="SECONDS",
        help="on SIGTERM or Ctrl-C, how long calls in flight may take to finish "
        f"(default: {GRACE:g})",
    )
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
    parser.add_argument(
        "--processes",
        type=int,
        default=1,
        metavar="N",
        help="serve the port from N processes (0: one per core); not with --db :memory:",
    )
    parser.add_argument(
        "--no-health",
        dest="health",
        action="store_false",
        help="do not serve grpc.health.v1.Health",
    )
    parser.add_argument(
        "--no-reflection",
        dest="reflection",
        action="store_false",
        help="do not serve server reflection",
    )
    parser.add_argument(
        "--log-format",
        choices=logs.FORMATS,
        default="text",
        help="the log's lines on stderr: text, or one JSON object each (default: text)",
    )
    parser.add_argument(
        "--no-access-log",
        dest="access_log",
        action="store_false",
        help="do not log a line per call",
    )
    arguments = parser.parse_args(argv)
    if arguments.processes < 0:
        parser.error("--processes: 0 (one per core) or more")
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
    """Waits in the main thread until `stopping` is set by a signal handler.

    Python runs signal handlers in the main thread, but a signal that one of grpc's threads
    receives does not interrupt the main thread's wait; the byte that a signal writes to the
    wakeup file descriptor does, at once (a wait in steps of 0.2 s took 0.1 s on average).
    """
    if threading.current_thread() is not threading.main_thread():
        stopping.wait()  # no signal handler runs in this thread: whoever sets it, wakes it
        return
    reader, writer = socket.socketpair()
    writer.setblocking(False)
    # Should the handler run only after the check that follows a wakeup, look again soon.
    reader.settimeout(1.0)
    previous = signal.set_wakeup_fd(writer.fileno(), warn_on_full_buffer=False)
    try:
        while not stopping.is_set():
            try:
                reader.recv(64)
            except TimeoutError:
                pass
    finally:
        signal.set_wakeup_fd(previous)
        reader.close()
        writer.close()


def main(
    services: Sequence[ServiceFactory],
    argv: Sequence[str] | None = None,
    endpoint_ids: Sequence[str] = (),
) -> None:
    """Serves `services` with the command-line flags; `endpoint_ids` are the service ids
    ApiEndpointService lists for them (the generated api_server.py passes its APIs')."""
    arguments = parse_arguments(argv)
    count = arguments.processes or processes.cores()
    logs.configure(arguments.log_format, several_processes=count > 1)

    def start_here(**worker: Any) -> RunningServer:
        """`start` with the flags; a worker passes its shared port and sockets."""
        flags: dict[str, Any] = dict(
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
            http_port=arguments.http_port,
            health=arguments.health,
            reflection=arguments.reflection,
            access_log=arguments.access_log,
        )
        return start(services, **{**flags, **worker})

    if count > 1:
        try:
            processes.check_storage(arguments.db, count)
            supervisor = processes.Supervisor(
                count,
                start_here,
                arguments.host,
                arguments.port,
                arguments.http_port,
                arguments.db,
                arguments.grace,
            )
        except (OSError, ValueError) as error:
            sys.exit(startup_error(error))
        sys.exit(supervisor.run())
    try:
        running = start_here()
    except Exception as error:
        sys.exit(startup_error(error))
    # Handlers first: whoever reads the line below may signal at once.
    stopping = stop_signal()
    print(f"listening on {arguments.host}:{running.port}", flush=True)
    if running.rest is not None:
        print(f"REST on {arguments.host}:{running.http_port}", flush=True)
    log.info(
        "serving %s; advertised as %s; %s",
        "TLS" if arguments.tls_cert else "plaintext",
        running.address,
        f"{len(arguments.token)} token(s)" if arguments.token else "no tokens: open",
    )
    wait_for(stopping)
    log.info("shutting down")
    running.stop(arguments.grace)
    log.info("stopped")
    # Python's last garbage collection would walk every object of the generated modules (half
    # a second for the whole public API, more on a busy machine) to find cycles that nothing
    # needs freed: the storage is closed and the logs are flushed at exit all the same.
    gc.freeze()
    sys.exit(0)


def startup_error(error: Exception) -> str:
    """What the server says when `start` raised `error`; re-raises what it does not expect."""
    if isinstance(error, (OSError, ValueError, standard_services.MissingPackage)):
        return f"cannot start the server: {error}"
    if isinstance(
        error, ImportError
    ):  # uvicorn, the one other package imported on demand
        return f"cannot serve REST: {error} (pip install uvicorn)"
    raise error
