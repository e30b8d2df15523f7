"""The Python targets as rendering jobs: a module per proto file and target (server, client,
field masks, gRPC stubs), `api_server.py`, and the runtime they import."""

from __future__ import annotations

from functools import partial
from importlib import resources
from typing import Callable

from generator.client import ClientBuilder
from generator.endpoints import endpoint_ids, load_endpoint_table
from generator.fieldmask import fieldmask_module, update_methods
from generator.formatting import needs_black, run_black
from generator.grpc_stubs import stub_module
from generator.model import Api, ProtoFile, Service
from generator.options import PluginOptions
from generator.python_names import output_path
from generator.render import render
from generator.runtime import contract
from generator.server import ServerBuilder

# Renders some of the run's outputs: (name, content) each.
Render = Callable[[], list[tuple[str, str]]]

_FIELDMASK_TEMPLATE = "fieldmask.py.j2"
_CLIENT_TEMPLATE = "client.py.j2"
_SERVER_TEMPLATE = "server.py.j2"
_API_SERVER_TEMPLATE = "api_server.py.j2"
_STUBS_TEMPLATE = "pb2_grpc.pyi.j2"
TEMPLATES = (
    _FIELDMASK_TEMPLATE,
    _CLIENT_TEMPLATE,
    _SERVER_TEMPLATE,
    _API_SERVER_TEMPLATE,
    _STUBS_TEMPLATE,
)


def renders(
    api: Api, options: PluginOptions, reformatted: list[str] | None = None
) -> list[Render]:
    """The Python targets' jobs, in the order their outputs are answered; the names of
    outputs black had to change go to `reformatted`."""
    python: list[Render] = []
    if "fieldmask" in options.targets or "server" in options.targets:
        python += [partial(_fieldmask, api, f) for f in api.generated_files]
    if "client" in options.targets:
        clients = ClientBuilder(api)
        python += [partial(_client, clients, f) for f in api.generated_files]
    if "server" in options.targets:
        servers = ServerBuilder(api, options)
        servers.work_out_shared_facts()  # before the processes that render fork
        python += [partial(_server, servers, f) for f in api.generated_files]
        served = [
            (proto_file, service)
            for proto_file in api.generated_files
            for service in servers.served_services(proto_file)
        ]
        if served:
            # Read now, so that a bad table is the run's error before any job runs.
            table = load_endpoint_table(options.endpoints)
            ids = endpoint_ids(
                ((f.name, s.package, s.full_name) for f, s in served), table
            )
            python.append(partial(_api_server, servers, served, ids))
    if "server" in options.targets or "client" in options.targets:
        python += [partial(_stubs, api, f) for f in api.generated_files]
    jobs: list[Render] = [partial(_formatted, job, reformatted) for job in python]
    if writes_runtime(api, options):  # black-formatted already: tests check it
        jobs.append(_runtime_files)
    return jobs


def writes_runtime(api: Api, options: PluginOptions) -> bool:
    """Whether the run writes any Python module, and so the runtime they import: the gRPC
    stubs of a file with services (server, client), or a field-mask module."""
    targets = set(options.targets)
    return any(
        (proto_file.services and targets & {"server", "client"})
        or (any(update_methods(proto_file)) and targets & {"server", "fieldmask"})
        for proto_file in api.generated_files
    )


def _fieldmask(api: Api, proto_file: ProtoFile) -> list[tuple[str, str]]:
    module = fieldmask_module(api, proto_file)
    if not module:
        return []
    name = output_path(proto_file.name, "_fieldmask")
    return [(name, render(_FIELDMASK_TEMPLATE, module=module))]


def _client(clients: ClientBuilder, proto_file: ProtoFile) -> list[tuple[str, str]]:
    module = clients.module(proto_file)
    if not module:
        return []
    name = output_path(proto_file.name, "_client")
    return [(name, render(_CLIENT_TEMPLATE, module=module))]


def _server(servers: ServerBuilder, proto_file: ProtoFile) -> list[tuple[str, str]]:
    if not servers.served_services(proto_file):
        return []
    name = output_path(proto_file.name, "_server")
    return [(name, render(_SERVER_TEMPLATE, module=servers.module(proto_file)))]


def _api_server(
    servers: ServerBuilder, served: list[tuple[ProtoFile, Service]], ids: list[str]
) -> list[tuple[str, str]]:
    entry = servers.entry_point(served, ids)
    return [("api_server.py", render(_API_SERVER_TEMPLATE, entry=entry))]


def _stubs(api: Api, proto_file: ProtoFile) -> list[tuple[str, str]]:
    stubs = stub_module(api, proto_file)
    if not stubs:
        return []
    name = output_path(proto_file.name, "_pb2_grpc") + "i"
    return [(name, render(_STUBS_TEMPLATE, module=stubs))]


def _formatted(render: Render, reformatted: list[str] | None) -> list[tuple[str, str]]:
    """The job's Python outputs as black would have them (the views lay out what black
    would, so black runs rarely or never); names black changed go to `reformatted`."""
    outputs = []
    for name, source in render():
        if needs_black(source):
            source = run_black(source, name)
            if reformatted is not None:
                reformatted.append(name)
        outputs.append((name, source))
    return outputs


def _runtime_files() -> list[tuple[str, str]]:
    """The runtime package, copied so that generated code runs without this plugin."""
    package = resources.files("generator.runtime")
    return [
        (f"{contract.PACKAGE}/{item.name}", item.read_text(encoding="utf-8"))
        for item in sorted(package.iterdir(), key=lambda entry: entry.name)
        if item.name.endswith(".py")
    ]
