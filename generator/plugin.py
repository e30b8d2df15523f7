"""The protocol layer: CodeGeneratorRequest in, CodeGeneratorResponse out."""

from __future__ import annotations

import gc
import sys
from importlib import resources
from typing import Iterator

from google.protobuf.compiler import plugin_pb2
from google.protobuf.message import DecodeError

from generator.client import ClientBuilder
from generator.docs import DocsBuilder, docs_format
from generator.docs_config import load_docs_config
from generator.errors import GeneratorError
from generator.fieldmask import fieldmask_module
from generator.formatting import format_python
from generator.grpc_stubs import stub_module
from generator.model import Api, build_api
from generator.options import PluginOptions, parse_options
from generator.python_names import Imports, module_name, output_path
from generator.render import render
from generator.server import RUNTIME_PACKAGE, ServerBuilder


def generate(
    request: plugin_pb2.CodeGeneratorRequest, warnings: list[str] | None = None
) -> plugin_pb2.CodeGeneratorResponse:
    """Renders every target for the request's files. Input problems come back as `error`;
    schema problems the plugin goes on after are appended to `warnings`, one line each.
    """
    response = plugin_pb2.CodeGeneratorResponse(
        supported_features=plugin_pb2.CodeGeneratorResponse.FEATURE_PROTO3_OPTIONAL
    )
    try:
        parameter = request.parameter  # bytes if not UTF-8 (plugin.proto is proto2)
        if isinstance(parameter, bytes):
            parameter = parameter.decode("utf-8", "replace")
        options = parse_options(parameter)
        api = build_api(request.proto_file, request.file_to_generate, options.strict)
        outputs = render_targets(api, options)
    except GeneratorError as error:
        response.error = str(error)
        return response
    if warnings is not None:
        warnings.extend(problem.warning for problem in api.problems)
    for name in sorted(outputs):
        response.file.add(name=name, content=outputs[name])
    return response


def render_targets(api: Api, options: PluginOptions) -> dict[str, str]:
    outputs: dict[str, str] = {}
    if "docs" in options.targets:
        outputs.update(docs_pages(api, options))
    python: dict[str, str] = {}
    if "fieldmask" in options.targets or "server" in options.targets:
        for proto_file in api.generated_files:
            module = fieldmask_module(api, proto_file)
            if module:
                python[output_path(proto_file.name, "_fieldmask")] = render(
                    "fieldmask.py.j2", module=module, runtime=RUNTIME_PACKAGE
                )
    if "client" in options.targets:
        clients = ClientBuilder(api)
        for proto_file in api.generated_files:
            client = clients.module(proto_file)
            if client:
                python[output_path(proto_file.name, "_client")] = render(
                    "client.py.j2", module=client, runtime=RUNTIME_PACKAGE
                )
    if "server" in options.targets:
        python.update(_server_outputs(api, options))
    if "server" in options.targets or "client" in options.targets:
        for proto_file in api.generated_files:
            stubs = stub_module(api, proto_file)
            if stubs:
                name = output_path(proto_file.name, "_pb2_grpc") + "i"
                python[name] = render("pb2_grpc.pyi.j2", module=stubs)
    outputs.update(
        {name: format_python(source, name) for name, source in python.items()}
    )
    if python:
        outputs.update(_runtime_files())  # black-formatted already: tests check it
    return outputs


def docs_pages(api: Api, options: PluginOptions) -> Iterator[tuple[str, str]]:
    """The docs target: (path, Markdown) of each page, in the order of the files to generate."""
    builder = DocsBuilder(
        api,
        load_docs_config(options.docs_config),
        docs_format(options.docs_format, options.constraints),
    )
    for page in builder.pages():
        yield page.path, builder.render(page)


def _server_outputs(api: Api, options: PluginOptions) -> dict[str, str]:
    builder = ServerBuilder(api, options)
    outputs = {}
    served: list[tuple[str, str]] = []  # (module, service class)
    served_services = []
    for proto_file in api.generated_files:
        services = builder.served_services(proto_file)
        if not services:
            continue
        served_services.extend(services)
        outputs[output_path(proto_file.name, "_server")] = render(
            "server.py.j2", module=builder.module(proto_file), runtime=RUNTIME_PACKAGE
        )
        served.extend(
            (module_name(proto_file.name, "_server"), s.name) for s in services
        )
    if served:
        imports = Imports(api, {module for module, _ in served})
        outputs["api_server.py"] = render(
            "api_server.py.j2",
            imports=imports.lines(),
            services=[f"{imports.aliases[module]}.{name}" for module, name in served],
            endpoint_ids=builder.endpoint_ids(served_services),
            runtime=RUNTIME_PACKAGE,
        )
    return outputs


def _runtime_files() -> dict[str, str]:
    """The runtime package, copied so that generated code runs without this plugin."""
    package = resources.files("generator.runtime")
    return {
        f"{RUNTIME_PACKAGE}/{item.name}": item.read_text(encoding="utf-8")
        for item in sorted(package.iterdir(), key=lambda entry: entry.name)
        if item.name.endswith(".py")
    }


def main() -> None:
    """Entry point of `protoc-gen-python-custom`: protoc writes the request to stdin."""
    # One request, then the process ends: the cycle collector would only walk the model over
    # and over (half the docs target's time on a whole API).
    gc.disable()
    data = sys.stdin.buffer.read()
    warnings: list[str] = []
    try:
        request = plugin_pb2.CodeGeneratorRequest.FromString(data)
    except DecodeError as error:
        response = plugin_pb2.CodeGeneratorResponse(
            error=f"cannot parse the CodeGeneratorRequest on stdin: {error}"
        )
    else:
        try:
            response = generate(request, warnings)
        except (
            Exception
        ) as error:  # a bug: still answer protoc with one line, not a traceback
            response = plugin_pb2.CodeGeneratorResponse(
                error=f"internal error in protoc-gen-python-custom: {type(error).__name__}: {error}"
            )
    for warning in warnings:
        print(f"protoc-gen-python-custom: {warning}", file=sys.stderr)
    sys.stdout.buffer.write(response.SerializeToString())
