"""The standard gRPC services a deployment expects beside the API: health checking and server
reflection, so that Kubernetes probes, grpcurl, grpcui and Postman work against the server.

Health (`grpc.health.v1.Health`, from grpcio-health-checking) answers NOT_SERVING until the
server has read from its storage, SERVING from then on, and NOT_SERVING again as soon as the
server begins to drain, for the whole server (service "") and for each service by name.

Reflection (`grpc.reflection.v1alpha.ServerReflection`, from grpcio-reflection) lists every
service the server serves, itself and Health included, with their descriptors.

Both packages are imported only when the service is on: a server run with `--no-health` and
`--no-reflection` needs neither.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Sequence

import grpc

if TYPE_CHECKING:
    from grpc_health.v1.health import HealthServicer


class MissingPackage(ImportError):
    """A standard service is on, but the package that serves it is not installed."""


def _import(module: str, package: str, what: str, flag: str) -> ModuleType:
    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise MissingPackage(
            f"{what} needs the package {package} (pip install {package}), "
            f"or turn it off with {flag}"
        ) from error


class ServiceNames:
    """Stands in for a grpc.Server while servicers add their handlers, to learn the names of
    the services they serve."""

    def __init__(self) -> None:
        self._names: dict[str, None] = {}  # in the order added, once each

    @property
    def names(self) -> list[str]:
        return list(self._names)

    def add_generic_rpc_handlers(self, handlers: Iterable[Any]) -> None:
        for handler in handlers:
            if isinstance(handler, grpc.ServiceRpcHandler):
                self._names[handler.service_name()] = None

    def add_registered_method_handlers(
        self, service: str, handlers: Mapping[str, Any]
    ) -> None:
        self._names[service] = None


def service_names(servicers: Iterable[Any]) -> list[str]:
    """The full names of the services `servicers` serve (each has `add_to_server`)."""
    recorder = ServiceNames()
    for servicer in servicers:
        servicer.add_to_server(recorder)
    return recorder.names


def add_health(server: grpc.Server) -> HealthServicer:
    """Adds the health service, NOT_SERVING until `serving` says otherwise."""
    health = _import(
        "grpc_health.v1.health",
        "grpcio-health-checking",
        "health checking",
        "--no-health",
    )
    health_grpc = _import(
        "grpc_health.v1.health_pb2_grpc",
        "grpcio-health-checking",
        "health checking",
        "--no-health",
    )
    # Blocking Watch streams: the server's interceptor wraps every handler, and grpc's
    # non-blocking variant needs the handler's own attributes.
    servicer: HealthServicer = health.HealthServicer(experimental_non_blocking=False)
    servicer.set("", _status("NOT_SERVING"))
    health_grpc.add_HealthServicer_to_server(servicer, server)
    return servicer


def serving(health: HealthServicer, services: Sequence[str]) -> None:
    """Marks the whole server ("") and each of `services` SERVING."""
    for service in ("", *services):
        health.set(service, _status("SERVING"))


def draining(health: HealthServicer) -> None:
    """Marks everything NOT_SERVING for good: the server is stopping."""
    health.enter_graceful_shutdown()


def _status(name: str) -> Any:
    from grpc_health.v1 import health_pb2

    return health_pb2.HealthCheckResponse.ServingStatus.Value(name)


def add_reflection(server: grpc.Server, services: Sequence[str]) -> None:
    """Adds server reflection, listing `services` and itself."""
    reflection = _import(
        "grpc_reflection.v1alpha.reflection",
        "grpcio-reflection",
        "server reflection",
        "--no-reflection",
    )
    reflection.enable_server_reflection([*services, reflection.SERVICE_NAME], server)
