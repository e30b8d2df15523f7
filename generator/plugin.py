"""The protocol layer: CodeGeneratorRequest in, CodeGeneratorResponse out."""

from __future__ import annotations

import sys

from google.protobuf.compiler import plugin_pb2
from google.protobuf.message import DecodeError

from generator.docs import DocsBuilder
from generator.docs_config import load_docs_config
from generator.errors import GeneratorError
from generator.model import build_api
from generator.options import parse_options
from generator.render import render


def generate(request: plugin_pb2.CodeGeneratorRequest) -> plugin_pb2.CodeGeneratorResponse:
    """Renders every target for the request's files. Input problems come back as `error`."""
    response = plugin_pb2.CodeGeneratorResponse(
        supported_features=plugin_pb2.CodeGeneratorResponse.FEATURE_PROTO3_OPTIONAL
    )
    try:
        options = parse_options(request.parameter)
        api = build_api(request.proto_file, request.file_to_generate)
        outputs: dict[str, str] = {}
        if "docs" in options.targets:
            builder = DocsBuilder(api, load_docs_config(options.docs_config))
            for page in builder.pages():
                outputs[page.path] = render("docs_page.md.j2", page=page)
    except GeneratorError as error:
        response.error = str(error)
        return response
    for name in sorted(outputs):
        response.file.add(name=name, content=outputs[name])
    return response


def main() -> None:
    """Entry point of `protoc-gen-python-custom`: protoc writes the request to stdin."""
    data = sys.stdin.buffer.read()
    try:
        request = plugin_pb2.CodeGeneratorRequest.FromString(data)
    except DecodeError as error:
        response = plugin_pb2.CodeGeneratorResponse(
            error=f"cannot parse the CodeGeneratorRequest on stdin: {error}"
        )
    else:
        try:
            response = generate(request)
        except Exception as error:  # a bug: still answer protoc with one line, not a traceback
            response = plugin_pb2.CodeGeneratorResponse(
                error=f"internal error in protoc-gen-python-custom: {type(error).__name__}: {error}"
            )
    sys.stdout.buffer.write(response.SerializeToString())
