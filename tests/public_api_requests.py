"""The whole public Yandex Cloud API as a CodeGeneratorRequest, from two sources: the descriptors
inside the pinned `yandexcloud` SDK wheel (`.venv-sdk`, which `make test` creates; no comments),
and the corpus tarball in ../shared (with comments; absent from a fresh clone)."""

from __future__ import annotations

import ast
import re
import tarfile
from pathlib import Path
from typing import Iterable

import pytest
from google.protobuf import descriptor_pb2
from google.protobuf.compiler import plugin_pb2

from support import ROOT, SHARED, compile_descriptors

SDK_VENV = ROOT / ".venv-sdk"
CORPUS = SHARED / "corpus" / "cloudapi-00e9ff0.tar.gz"
# The serialized FileDescriptorProto in a protoc-generated _pb2 module.
_SERIALIZED_FILE = re.compile(rb"AddSerializedFile\((b'(?:[^'\\]|\\.)*')\)")


def sdk_request(parameter: str) -> plugin_pb2.CodeGeneratorRequest:
    """Every `yandex/**` file of the SDK to generate, with the google files they import."""
    packages = sorted(SDK_VENV.glob("lib/python3*/site-packages"))
    if not packages:
        pytest.fail(
            "the official SDK's virtualenv is missing: `make test` creates .venv-sdk"
        )
    files = {}
    for module in sorted(packages[0].glob("yandex/**/*_pb2.py")):
        found = _SERIALIZED_FILE.search(module.read_bytes())
        assert found, f"no serialized descriptor in {module}"
        serialized = ast.literal_eval(found.group(1).decode("ascii"))
        descriptor = descriptor_pb2.FileDescriptorProto.FromString(serialized)
        files[descriptor.name] = descriptor
    generated = sorted(files)
    imported = sorted(
        {name for f in files.values() for name in f.dependency} - set(files)
    )
    for descriptor in compile_descriptors(imported, roots=()).file:
        files[descriptor.name] = descriptor
    return plugin_pb2.CodeGeneratorRequest(
        file_to_generate=generated,
        parameter=parameter,
        proto_file=_dependencies_first(files),
    )


def corpus_request(parameter: str, scratch: Path) -> plugin_pb2.CodeGeneratorRequest:
    """Every `yandex/**` file of the corpus (unpacked into `scratch`), as protoc sends them."""
    if not CORPUS.exists():
        pytest.skip(f"the corpus is not beside the project ({CORPUS} is absent)")
    with tarfile.open(CORPUS) as archive:
        archive.extractall(scratch, filter="data")
    files = sorted(
        str(path.relative_to(scratch)) for path in (scratch / "yandex").rglob("*.proto")
    )
    roots = (scratch, scratch / "third_party" / "googleapis")
    descriptors = compile_descriptors(files, roots)
    return plugin_pb2.CodeGeneratorRequest(
        file_to_generate=files, parameter=parameter, proto_file=descriptors.file
    )


def _dependencies_first(
    files: dict[str, descriptor_pb2.FileDescriptorProto],
) -> Iterable[descriptor_pb2.FileDescriptorProto]:
    ordered: dict[str, descriptor_pb2.FileDescriptorProto] = {}

    def visit(name: str) -> None:
        if name not in ordered:
            for dependency in files[name].dependency:
                visit(dependency)
            ordered[name] = files[name]

    for name in sorted(files):
        visit(name)
    return ordered.values()
