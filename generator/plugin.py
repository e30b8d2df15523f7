"""The protocol layer: CodeGeneratorRequest in, CodeGeneratorResponse out."""

from __future__ import annotations

import gc
import os
import sys
from importlib import resources
from typing import BinaryIO, Iterator

from google.protobuf.compiler import plugin_pb2
from google.protobuf.message import DecodeError

from generator.client import ClientBuilder
from generator.docs import DocsBuilder, docs_format
from generator.docs_config import load_docs_config
from generator.errors import GeneratorError
from generator.fieldmask import fieldmask_module
from generator.formatting import needs_black, run_black
from generator.grpc_stubs import stub_module
from generator.model import Api, ProtoFile, Service, build_api
from generator.options import PluginOptions, parse_options
from generator.python_names import output_path
from generator.render import render
from generator.runtime import contract
from generator.server import ServerBuilder

# Set to report, on stderr, the files that black had to reformat (a debugging aid: it should
# be none, since the views write black's layout themselves).
REPORT_BLACK = "PROTOC_GEN_PYTHON_CUSTOM_REPORT_BLACK"
_FEATURES = plugin_pb2.CodeGeneratorResponse.FEATURE_PROTO3_OPTIONAL


def generate(
    request: plugin_pb2.CodeGeneratorRequest,
    warnings: list[str] | None = None,
    reformatted: list[str] | None = None,
) -> plugin_pb2.CodeGeneratorResponse:
    """Renders every target for the request's files. Input problems come back as `error`;
    schema problems the plugin goes on after are appended to `warnings`, one line each; the
    Python outputs that black had to reformat (layouts the views do not write yet) to
    `reformatted`.
    """
    outputs, error = generate_files(request, warnings, reformatted)
    response = plugin_pb2.CodeGeneratorResponse(supported_features=_FEATURES)
    if error:
        response.error = error
    for name in sorted(outputs):
        response.file.add(name=name, content=outputs[name])
    return response


def generate_files(
    request: plugin_pb2.CodeGeneratorRequest,
    warnings: list[str] | None = None,
    reformatted: list[str] | None = None,
    notes: list[str] | None = None,
) -> tuple[dict[str, str], str]:
    """What `generate` answers: the outputs by name, or none and the error line. `notes` gets
    what the run leaves to the caller, such as the files the written runtime needs besides.
    """
    try:
        parameter = request.parameter  # bytes if not UTF-8 (plugin.proto is proto2)
        if isinstance(parameter, bytes):
            parameter = parameter.decode("utf-8", "replace")
        options = parse_options(parameter)
        api = build_api(request.proto_file, request.file_to_generate, options.strict)
        # The model is all that rendering needs: when the caller handed over its only
        # reference (main does), the request's tens of MB are freed for the outputs.
        del request
        outputs = render_targets(api, options, reformatted)
    except GeneratorError as error:
        return {}, str(error)
    if warnings is not None:
        warnings.extend(problem.warning for problem in api.problems)
    if notes is not None:
        notes.extend(runtime_notes(api, outputs))
    return outputs, ""


def runtime_notes(api: Api, outputs: dict[str, str]) -> list[str]:
    """A note if the run writes the runtime but not the `_pb2` modules it imports."""
    if f"{contract.PACKAGE}/__init__.py" not in outputs:
        return []
    generated = {proto_file.name for proto_file in api.generated_files}
    missing = [name for name in contract.RUNTIME_PROTOS if name not in generated]
    if not missing:
        return []
    return [
        f"note: {contract.PACKAGE} imports the _pb2 modules of {', '.join(missing)}, "
        "which this run does not generate: name them too (with --python_out and "
        "--grpc_python_out), or generate them into the same tree in another run"
    ]


def write_response(stream: BinaryIO, outputs: dict[str, str], error: str = "") -> None:
    """Writes the CodeGeneratorResponse for `outputs` (or `error`) a file at a time, emptying
    `outputs` as it goes: the bytes of the whole response serialized at once (fields go in
    number order), without holding two more copies of every file."""
    head = plugin_pb2.CodeGeneratorResponse(supported_features=_FEATURES)
    if error:
        head.error = error
    stream.write(head.SerializeToString())
    for name in sorted(outputs):
        item = plugin_pb2.CodeGeneratorResponse()
        item.file.add(name=name, content=outputs.pop(name))
        stream.write(item.SerializeToString())


def render_targets(
    api: Api, options: PluginOptions, reformatted: list[str] | None = None
) -> dict[str, str]:
    outputs: dict[str, str] = {}
    if "docs" in options.targets:
        outputs.update(docs_pages(api, options))
    python: dict[str, str] = {}
    if "fieldmask" in options.targets or "server" in options.targets:
        for proto_file in api.generated_files:
            module = fieldmask_module(api, proto_file)
            if module:
                python[output_path(proto_file.name, "_fieldmask")] = render(
                    "fieldmask.py.j2", module=module
                )
    if "client" in options.targets:
        clients = ClientBuilder(api)
        for proto_file in api.generated_files:
            client = clients.module(proto_file)
            if client:
                python[output_path(proto_file.name, "_client")] = render(
                    "client.py.j2", module=client
                )
    if "server" in options.targets:
        python.update(_server_outputs(api, options))
    if "server" in options.targets or "client" in options.targets:
        for proto_file in api.generated_files:
            stubs = stub_module(api, proto_file)
            if stubs:
                name = output_path(proto_file.name, "_pb2_grpc") + "i"
                python[name] = render("pb2_grpc.pyi.j2", module=stubs)
    for name, source in python.items():
        if needs_black(source):
            source = run_black(source, name)
            if reformatted is not None:
                reformatted.append(name)
        outputs[name] = source
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
    served: list[tuple[ProtoFile, Service]] = []
    for proto_file in api.generated_files:
        services = builder.served_services(proto_file)
        if not services:
            continue
        outputs[output_path(proto_file.name, "_server")] = render(
            "server.py.j2", module=builder.module(proto_file)
        )
        served.extend((proto_file, service) for service in services)
    if served:
        outputs["api_server.py"] = render(
            "api_server.py.j2",
            entry=builder.entry_point(served),
        )
    return outputs


def _runtime_files() -> dict[str, str]:
    """The runtime package, copied so that generated code runs without this plugin."""
    package = resources.files("generator.runtime")
    return {
        f"{contract.PACKAGE}/{item.name}": item.read_text(encoding="utf-8")
        for item in sorted(package.iterdir(), key=lambda entry: entry.name)
        if item.name.endswith(".py")
    }


class UnreadableRequest(Exception):
    """What protoc wrote to stdin is not a CodeGeneratorRequest."""


def _read_request() -> plugin_pb2.CodeGeneratorRequest:
    try:
        return plugin_pb2.CodeGeneratorRequest.FromString(sys.stdin.buffer.read())
    except DecodeError as error:
        raise UnreadableRequest(
            f"cannot parse the CodeGeneratorRequest on stdin: {error}"
        ) from None


def main() -> None:
    """Entry point of `protoc-gen-python-custom`: protoc writes the request to stdin."""
    # One request, then the process ends: the cycle collector would only walk the model over
    # and over (half the docs target's time on a whole API).
    gc.disable()
    warnings: list[str] = []
    reformatted: list[str] = []
    notes: list[str] = []
    outputs: dict[str, str] = {}
    try:
        outputs, problem = generate_files(_read_request(), warnings, reformatted, notes)
    except UnreadableRequest as error:
        problem = str(error)
    except Exception as error:  # a bug: still answer protoc with one line
        problem = (
            "internal error in protoc-gen-python-custom: "
            f"{type(error).__name__}: {error}"
        )
    for line in warnings + notes:
        print(f"protoc-gen-python-custom: {line}", file=sys.stderr)
    if os.environ.get(REPORT_BLACK):
        print(
            f"protoc-gen-python-custom: black reformatted {len(reformatted)} files",
            *reformatted,
            sep="\n  ",
            file=sys.stderr,
        )
    write_response(sys.stdout.buffer, outputs, problem)
