"""The whole public Yandex Cloud API as test input: its descriptors, and its generated tree.

Two sources carry the same API:

- the pinned `yandexcloud` SDK wheel in `.venv-sdk` (`make test` installs it): every
  `yandex/**/*_pb2.py` there holds its FileDescriptorProto as the bytes literal of
  `AddSerializedFile(b'...')`, read here with `ast` (the SDK's modules are never imported: they
  would clash with the generated ones). No comments. The `google/*` files they import come from
  the main venv's protobuf and googleapis-common-protos modules. Needs nothing beside the clone.
- the corpus tarball `../shared/corpus/cloudapi-00e9ff0.tar.gz` (the API's sources, with
  comments), unpacked and compiled with grpc_tools' protoc; absent from a user's fresh clone.

`generate_whole_api` runs the plugin in-process once over every file with all four targets and
writes the outputs, with protoc's own `_pb2`/`_pb2_grpc` modules generated from the same
descriptors (`--descriptor_set_in`), into one importable tree.
"""

from __future__ import annotations

import ast
import importlib
import os
import tarfile
import tempfile
import time
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Iterable, Mapping

from google.protobuf import descriptor_pb2
from google.protobuf.compiler import plugin_pb2
from grpc_tools import protoc

from generator.model import Api, build_api
from generator.plugin import generate
from generator.python_names import output_path
from generator.tree import include_dirs
from support import ROOT, SHARED

SDK_VENV = ROOT / ".venv-sdk"
# The long checks: every file alone, and the whole corpus rather than a slice of it.
ALL_FILES = os.environ.get("WHOLE_API_ALL_FILES") == "1"
CORPUS_TARBALL = SHARED / "corpus" / "cloudapi-00e9ff0.tar.gz"
API_PREFIX = "yandex/"  # the API's own files; the rest (google/*) are its dependencies


# What the whole-API tests found, by source label, for the summary that closes the test run.
REPORT: dict[str, dict[str, object]] = {}


def report(source: "ApiSource", key: str, value: object) -> None:
    REPORT.setdefault(source.label, {})[key] = value


class Unavailable(Exception):
    """A source of the API is not there; the message says why, for a skip."""


@dataclass(frozen=True)
class ApiSource:
    """The descriptors of the API's files and their dependencies."""

    label: str
    files: tuple[descriptor_pb2.FileDescriptorProto, ...]  # each after its dependencies
    rejected: tuple[str, ...] = ()  # files protoc rejects on their own (corpus only)
    selected: tuple[str, ...] = ()  # a slice's files to generate (see `slice`)

    @cached_property
    def by_name(self) -> Mapping[str, descriptor_pb2.FileDescriptorProto]:
        return {item.name: item for item in self.files}

    @cached_property
    def to_generate(self) -> tuple[str, ...]:
        """The API's own files: every one, or a slice's."""
        return self.selected or self.api_files

    @cached_property
    def api_files(self) -> tuple[str, ...]:
        """Every file of the API, to generate or not."""
        return tuple(f.name for f in self.files if f.name.startswith(API_PREFIX))

    def slice(self, names: Iterable[str]) -> "ApiSource":
        """The same API with only `names` to generate; protoc's modules are still made for
        every file, as for a user who has the whole API's `_pb2` modules."""
        return ApiSource(
            f"{self.label} (slice)", self.files, self.rejected, tuple(names)
        )

    def closure(self, names: Iterable[str]) -> list[descriptor_pb2.FileDescriptorProto]:
        """`names` and everything they import, in dependency order: what protoc sends."""
        wanted: set[str] = set()
        pending = list(names)
        while pending:
            name = pending.pop()
            if name not in wanted:
                wanted.add(name)
                pending.extend(self.by_name[name].dependency)
        return [item for item in self.files if item.name in wanted]

    def request(
        self, names: Iterable[str], parameter: str = ""
    ) -> plugin_pb2.CodeGeneratorRequest:
        """The CodeGeneratorRequest protoc would send for `names`."""
        names = list(names)
        return plugin_pb2.CodeGeneratorRequest(
            file_to_generate=names,
            parameter=parameter,
            proto_file=self.closure(names),
        )

    def descriptor_set(self) -> bytes:
        return descriptor_pb2.FileDescriptorSet(file=self.files).SerializeToString()


def _in_dependency_order(
    files: Mapping[str, descriptor_pb2.FileDescriptorProto],
) -> tuple[descriptor_pb2.FileDescriptorProto, ...]:
    ordered: list[descriptor_pb2.FileDescriptorProto] = []
    placed: set[str] = set()

    def place(name: str) -> None:
        if name in placed:
            return
        placed.add(name)
        for dependency in files[name].dependency:
            place(dependency)
        ordered.append(files[name])

    for name in sorted(files):
        place(name)
    return tuple(ordered)


# --- the SDK wheel -----------------------------------------------------------------------------


def sdk_packages() -> Path:
    """The site-packages of `.venv-sdk` that holds the SDK's `yandex/` tree."""
    found = sorted(SDK_VENV.glob("lib/python*/site-packages/yandex"))
    if not found:
        raise Unavailable(
            f"the pinned yandexcloud SDK is not installed in {SDK_VENV} "
            "(`make test` installs it from tests/interop/requirements.txt)"
        )
    return found[-1].parent


def serialized_file(module: Path) -> bytes:
    """The FileDescriptorProto bytes a protoc-generated `_pb2.py` passes to AddSerializedFile."""
    for node in ast.walk(ast.parse(module.read_bytes(), str(module))):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "AddSerializedFile"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, bytes)
        ):
            return node.args[0].value
    raise ValueError(f"{module}: no AddSerializedFile(b'...') call")


def _runtime_library_file(name: str) -> descriptor_pb2.FileDescriptorProto:
    """A `google/*` file from the module protobuf or googleapis-common-protos ships for it."""
    module = importlib.import_module(
        name.removesuffix(".proto").replace("/", ".") + "_pb2"
    )
    return descriptor_pb2.FileDescriptorProto.FromString(
        module.DESCRIPTOR.serialized_pb
    )


def load_sdk() -> ApiSource:
    packages = sdk_packages()
    files: dict[str, descriptor_pb2.FileDescriptorProto] = {}
    for module in sorted((packages / "yandex").rglob("*_pb2.py")):
        parsed = descriptor_pb2.FileDescriptorProto.FromString(serialized_file(module))
        files[parsed.name] = parsed
    missing = [d for f in list(files.values()) for d in f.dependency if d not in files]
    while missing:
        name = missing.pop()
        if name not in files:
            files[name] = _runtime_library_file(name)
            missing.extend(files[name].dependency)
    return ApiSource("sdk", _in_dependency_order(files))


# --- the corpus tarball ------------------------------------------------------------------------


def _compile(root: Path, files: list[str]) -> descriptor_pb2.FileDescriptorSet | None:
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / "set.pb"
        arguments = [
            "protoc",
            f"--proto_path={root}",
            f"--proto_path={root / 'third_party' / 'googleapis'}",
            f"--proto_path={include_dirs()[0]}",  # google/protobuf from grpc_tools
            f"--descriptor_set_out={out}",
            "--include_imports",
            "--include_source_info",
            *files,
        ]
        if protoc.main(arguments) != 0:
            return None
        return descriptor_pb2.FileDescriptorSet.FromString(out.read_bytes())


def load_corpus(scratch: Path) -> ApiSource:
    """Unpacks the tarball into `scratch` and compiles every API file with source info. If
    protoc rejects the run, the files it rejects on their own are left out."""
    if not CORPUS_TARBALL.exists():
        raise Unavailable(
            f"{CORPUS_TARBALL} is absent (it is not part of a fresh clone); the whole API is "
            "still covered from the SDK's descriptors"
        )
    with tarfile.open(CORPUS_TARBALL) as archive:
        if hasattr(tarfile, "data_filter"):  # Python 3.11.4 and later
            archive.extractall(scratch, filter="data")
        else:
            archive.extractall(scratch)
    names = sorted(
        str(path.relative_to(scratch)) for path in (scratch / "yandex").rglob("*.proto")
    )
    compiled = _compile(scratch, names)
    rejected: list[str] = []
    if compiled is None:
        rejected = [name for name in names if _compile(scratch, [name]) is None]
        compiled = _compile(scratch, [n for n in names if n not in rejected])
        assert compiled is not None, "protoc fails on the files it accepts one by one"
    files = {item.name: item for item in compiled.file}
    return ApiSource("corpus", _in_dependency_order(files), tuple(rejected))


# --- generation --------------------------------------------------------------------------------


@dataclass
class GeneratedApi:
    """The plugin's outputs for every file of a source in one run, written with protoc's own
    modules into `root`, an importable tree."""

    source: ApiSource
    root: Path
    outputs: dict[str, str]
    warnings: list[str]
    seconds: float  # the plugin's run, in process
    model: Api = field(repr=False)

    def module_text(self, proto_file: str, suffix: str) -> str | None:
        """A plugin output of a file, e.g. suffix `_server` for `x_server.py`."""
        return self.outputs.get(output_path(proto_file, suffix))


def generate_whole_api(source: ApiSource, root: Path) -> GeneratedApi:
    request = source.request(source.to_generate)
    warnings: list[str] = []
    started = time.perf_counter()
    response = generate(request, warnings)
    seconds = time.perf_counter() - started
    assert not response.error, response.error
    outputs = {item.name: item.content for item in response.file}
    for name, content in outputs.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")
    write_protoc_modules(source, root)
    return GeneratedApi(
        source,
        root,
        outputs,
        warnings,
        seconds,
        build_api(source.files, source.to_generate),
    )


def write_protoc_modules(source: ApiSource, root: Path) -> None:
    """protoc's `_pb2` and `_pb2_grpc` modules of every file of the API, from the same
    descriptors (the `google/*` ones come with the runtime libraries)."""
    with tempfile.TemporaryDirectory() as scratch:
        descriptor_set = Path(scratch) / "set.pb"
        descriptor_set.write_bytes(source.descriptor_set())
        arguments = [
            "protoc",
            f"--descriptor_set_in={descriptor_set}",
            f"--python_out={root}",
            f"--grpc_python_out={root}",
            *source.api_files,
        ]
        assert protoc.main(arguments) == 0, "protoc could not generate the _pb2 modules"


# --- a deterministic sample of files -----------------------------------------------------------


def sample_files(source: ApiSource, count: int = 40) -> list[str]:
    """`count` files of the API, chosen by a rule that takes the trickiest first: the largest
    import closures, the most rpcs, the longest message names, then files spread evenly over
    the sorted rest. The same source gives the same sample."""
    names = [n for n in source.to_generate if source.by_name[n].service]
    closure = {n: len(source.closure([n])) for n in names}
    rpcs = {n: sum(len(s.method) for s in source.by_name[n].service) for n in names}
    longest = {
        n: max((len(m.name) for m in source.by_name[n].message_type), default=0)
        for n in names
    }
    chosen: list[str] = []
    for measure in (closure, rpcs, longest):
        ranked = sorted(names, key=lambda n: (-measure[n], n))
        chosen.extend([n for n in ranked if n not in chosen][: count // 8])
    rest = [n for n in names if n not in chosen]
    wanted = count - len(chosen)
    step = max(1, len(rest) // max(1, wanted))
    chosen.extend(rest[::step][:wanted])
    return sorted(chosen)
