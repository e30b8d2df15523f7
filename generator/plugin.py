"""The protocol layer: CodeGeneratorRequest in, CodeGeneratorResponse out."""

from __future__ import annotations

import gc
import os
import sys
from dataclasses import dataclass
from functools import partial
from typing import (
    TYPE_CHECKING,
    BinaryIO,
    Callable,
    Iterable,
    Mapping,
    NoReturn,
    Sequence,
)

from google.protobuf.compiler import plugin_pb2
from google.protobuf.message import DecodeError

from generator import parallel, wire
from generator.errors import GeneratorError
from generator.model import Api, Method, Service, build_api
from generator.options import PYTHON_TARGETS, PluginOptions, parse_options
from generator.runtime import contract
from generator.source_info import check_source_info, split_source_info, text

# The targets' own modules are imported when a run asks for them: a run of the docs alone does
# not import the Python targets' views, nor the other way round.
if TYPE_CHECKING:
    from generator.docs_faces import Reference
    from generator.python_jobs import Render

# Set to report, on stderr, the files that black had to reformat (a debugging aid: it should
# be none, since the views write black's layout themselves).
REPORT_BLACK = "PROTOC_GEN_PYTHON_CUSTOM_REPORT_BLACK"
_FEATURES = plugin_pb2.CodeGeneratorResponse.FEATURE_PROTO3_OPTIONAL
_SOURCE_FILE_DESCRIPTORS = (
    plugin_pb2.CodeGeneratorRequest.SOURCE_FILE_DESCRIPTORS_FIELD_NUMBER
)


def generate(
    request: plugin_pb2.CodeGeneratorRequest,
    warnings: list[str] | None = None,
    reformatted: list[str] | None = None,
) -> plugin_pb2.CodeGeneratorResponse:
    """Renders every target for the request's files. Input problems come back as `error`;
    schema problems the plugin goes on after are appended to `warnings`, one line each; the
    Python outputs that black had to reformat (layouts the views do not write yet) to
    `reformatted`. The files come in the order `main` answers them.
    """
    outputs, error = generate_files(request, warnings, reformatted)
    response = plugin_pb2.CodeGeneratorResponse(supported_features=_FEATURES)
    if error:
        response.error = error
    for name, content in outputs.items():
        response.file.add(name=name, content=content)
    return response


def generate_files(
    request: plugin_pb2.CodeGeneratorRequest,
    warnings: list[str] | None = None,
    reformatted: list[str] | None = None,
    notes: list[str] | None = None,
) -> tuple[dict[str, str], str]:
    """What `generate` answers: the outputs by name, in order, or none and the error line.
    `notes` gets what the run leaves to the caller, such as the files the written runtime
    needs besides.
    """
    try:
        run = plan_run(request, reformatted)
        del request  # see plan_run
        outputs = rendered(run.jobs)
    except GeneratorError as error:
        return {}, str(error)
    if warnings is not None:
        warnings.extend(run.warnings)
    if notes is not None:
        notes.extend(run.notes)
    return outputs, ""


@dataclass(frozen=True)
class Run:
    """A request worked out: the jobs that render its outputs, and what to tell the user."""

    jobs: list[Job]
    warnings: list[str]
    notes: list[str]
    processes: int  # how many to render in at once


def plan_run(
    request: plugin_pb2.CodeGeneratorRequest,
    reformatted: list[str] | None = None,
    source_info: Mapping[str, bytes] | None = None,
) -> Run:
    """Options, model and jobs of a request (its files' source information set apart in
    `source_info`, if it was: see `source_info.split_source_info`). The model is all that
    rendering needs: once the caller drops its own reference to the request (main and
    generate_files do), its tens of MB are freed."""
    parameter = text(getattr(request, "parameter"))  # plugin.proto is proto2
    try:
        options = parse_options(parameter)
        api = build_api(
            request.proto_file,
            request.file_to_generate,
            options.strict,
            options.jobs or parallel.auto_processes(len(request.proto_file)),
            partial(prepare_views, options.targets),
            meanings=options.targets != ("docs",),
            source_info=source_info,
        )
    except Exception:
        # The model parses each file's source information as it builds the file: an error
        # before then must not hide a request that does not parse, which says so first, as
        # it would have, parsed whole.
        check_source_info(source_info or {})
        raise
    jobs = output_jobs(api, options, reformatted)
    return Run(
        jobs=jobs,
        warnings=[problem.warning for problem in api.problems],
        notes=runtime_notes(api, options),
        processes=options.jobs or parallel.auto_processes(len(jobs)),
    )


def prepare_views(targets: Sequence[str]) -> None:
    """Imports the views of the targets and compiles their templates: in this process while
    the model's other parts are built, and once for all the processes that render."""
    from generator.render import load

    if "docs" in targets:
        from generator import docs_faces

        load(*docs_faces.TEMPLATES)
    if set(targets) & set(PYTHON_TARGETS):
        from generator import python_jobs

        load(*python_jobs.TEMPLATES)


def runtime_notes(api: Api, options: PluginOptions) -> list[str]:
    """A note if the run writes the runtime but not the `_pb2` modules it imports."""
    if not set(options.targets) & set(PYTHON_TARGETS):
        return []
    from generator.python_jobs import writes_runtime

    if not writes_runtime(api, options):
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


def response_head(error: str = "") -> bytes:
    """The start of a CodeGeneratorResponse; file records follow (fields can come in any
    order, and repeated ones add up)."""
    head = plugin_pb2.CodeGeneratorResponse(supported_features=_FEATURES)
    if error:
        head.error = error
    return head.SerializeToString()


def file_records(outputs: Iterable[tuple[str, str]]) -> bytes:
    """The CodeGeneratorResponse.File records of `outputs`, to follow a head: the bytes
    protobuf writes for them, written here with one copy of each file fewer (a whole API's
    pages are over 100 MB)."""
    parts: list[bytes] = []
    for name, content in outputs:
        encoded_name, encoded = name.encode(), content.encode()
        fields = [_NAME_TAG, _varint(len(encoded_name)), encoded_name]
        fields += (_CONTENT_TAG, _varint(len(encoded)), encoded)
        parts += (_FILE_TAG, _varint(sum(map(len, fields))), *fields)
    return b"".join(parts)


def _varint(value: int) -> bytes:
    out = bytearray()
    while value > 0x7F:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _length_delimited_tag(number: int) -> bytes:
    return _varint(number << 3 | 2)


_FILE_TAG = _length_delimited_tag(plugin_pb2.CodeGeneratorResponse.FILE_FIELD_NUMBER)
_NAME_TAG = _length_delimited_tag(
    plugin_pb2.CodeGeneratorResponse.File.NAME_FIELD_NUMBER
)
_CONTENT_TAG = _length_delimited_tag(
    plugin_pb2.CodeGeneratorResponse.File.CONTENT_FIELD_NUMBER
)


def write_response(stream: BinaryIO, outputs: dict[str, str], error: str = "") -> None:
    """The response for `outputs` (or `error`), a file at a time, emptying `outputs` as it
    goes: the same bytes as the whole response serialized at once, without two more copies of
    every file."""
    stream.write(response_head(error))
    for name in list(outputs):
        stream.write(file_records([(name, outputs.pop(name))]))


@dataclass(frozen=True)
class Job:
    """One unit of rendering, and the group whose process runs it."""

    render: Render
    group: int  # consecutive jobs of a group run in one process: they share its views' caches


def render_targets(
    api: Api, options: PluginOptions, reformatted: list[str] | None = None
) -> dict[str, str]:
    """Every output of the run by name, rendered in this process."""
    return rendered(output_jobs(api, options, reformatted))


def rendered(jobs: Iterable[Job]) -> dict[str, str]:
    """The jobs' outputs by name, in job order, rendered in this process."""
    return {name: content for job in jobs for name, content in job.render()}


def answer_jobs(
    jobs: list[Job], processes: int, emit: Callable[[bytes], object]
) -> None:
    """The jobs' outputs as CodeGeneratorResponse.File records, in job order, to `emit`; the
    jobs rendered in `processes` processes (see `parallel`)."""
    parallel.run_in_order(
        [partial(_records, job.render) for job in jobs],
        processes,
        emit,
        [job.group for job in jobs],
    )


def output_jobs(
    api: Api, options: PluginOptions, reformatted: list[str] | None = None
) -> list[Job]:
    """The run's rendering, in the order its outputs are answered: independent jobs, so that
    they can run in any process (see `parallel`). A docs page path that two rpcs share is an
    error here, before any job runs."""
    jobs: list[Job] = []
    if "docs" in options.targets:
        docs = _reference(api, options)
        # The pages of a package in one process: they share most of their sections.
        packages: dict[str, int] = {}
        for service in docs.documented_services():
            group = packages.setdefault(service.package, len(packages))
            if "grpc" in docs.faces:
                jobs += [
                    Job(partial(docs.grpc_page, service, method), group)
                    for method in service.methods
                ]
                jobs.append(Job(partial(docs.index, service, "grpc"), group))
            rest = docs.rest_methods(service) if "rest" in docs.faces else []
            jobs += [
                Job(partial(docs.rest_page, service, method), group) for method in rest
            ]
            if rest:
                jobs.append(Job(partial(docs.index, service, "rest"), group))
        docs.work_out_shared_facts()  # before the processes that render fork
    python: list[Render] = []
    if set(options.targets) & set(PYTHON_TARGETS):
        from generator import python_jobs  # not imported for the docs alone

        python = python_jobs.renders(api, options, reformatted)
    first = 1 + max((job.group for job in jobs), default=-1)
    jobs += [Job(render, group) for group, render in enumerate(python, start=first)]
    return jobs


def _reference(api: Api, options: PluginOptions) -> Reference:
    from generator.docs_config import load_docs_config
    from generator.docs_faces import Reference
    from generator.docs_formats import docs_format

    return Reference(
        api,
        load_docs_config(options.docs_config),
        docs_format(options.docs_format, options.constraints),
        options.docs_api,
    )


class UnreadableRequest(Exception):
    """What protoc wrote to stdin is not a CodeGeneratorRequest."""


def _read_request() -> tuple[plugin_pb2.CodeGeneratorRequest, dict[str, bytes]]:
    """The request on stdin, its files' source information set apart."""
    try:
        return split_source_info(without_source_descriptors(sys.stdin.buffer.read()))
    except DecodeError as error:
        raise UnreadableRequest(
            f"cannot parse the CodeGeneratorRequest on stdin: {error}"
        ) from None


def without_source_descriptors(request: bytes) -> bytes:
    """A serialized request less its `source_file_descriptors`: protoc repeats there each file
    to generate, with its source-retention options, and nothing here reads them. On the whole
    public API they are half the bytes, and half the time of parsing. Bytes that do not split
    into fields are left as they are, for the parser to report."""
    kept: list[tuple[int, int]] = []
    try:
        for number, start, end in wire.field_spans(request):
            if number == _SOURCE_FILE_DESCRIPTORS:
                continue
            if kept and kept[-1][1] == start:
                kept[-1] = (kept[-1][0], end)  # one slice for a run of kept fields
            else:
                kept.append((start, end))
    except wire.WireError:
        return request
    if kept == [(0, len(request))]:
        return request
    return b"".join(request[start:end] for start, end in kept)


def main() -> None:
    """Entry point of `protoc-gen-python-custom`: protoc writes the request to stdin, and the
    answer goes out a job at a time, the jobs shared between processes on a multi-core machine
    (`jobs` option)."""
    # One request, then the process ends: the cycle collector would only walk the model over
    # and over (half the docs target's time on a whole API).
    gc.disable()
    reformatted: list[str] | None = [] if os.environ.get(REPORT_BLACK) else None
    stream = sys.stdout.buffer
    _widen_pipe(sys.stdin.buffer)
    _widen_pipe(stream)
    run = Run([], [], [], 1)
    problem = ""
    try:
        request, source_info = _read_request()
        run = plan_run(request, reformatted, source_info)
        del request, source_info  # see plan_run
        parallel.release_free_memory()  # the request's memory, before workers are forked
        # Black's changes are collected in this process only: a debugging aid, run alone.
        processes = 1 if reformatted is not None else run.processes
        stream.write(response_head())
        answer_jobs(run.jobs, processes, stream.write)
    except UnreadableRequest as unreadable:
        problem = str(unreadable)
    except GeneratorError as error:
        problem = str(error)
    except Exception as bug:  # a bug: still answer protoc with one line
        problem = (
            "internal error in protoc-gen-python-custom: "
            f"{type(bug).__name__}: {bug}"
        )
    for line in run.warnings + run.notes:
        print(f"protoc-gen-python-custom: {line}", file=sys.stderr)
    if reformatted is not None:
        print(
            f"protoc-gen-python-custom: black reformatted {len(reformatted)} files",
            *reformatted,
            sep="\n  ",
            file=sys.stderr,
        )
    if problem:
        # After files too, an error fails the run: protoc then writes none of them.
        stream.write(response_head(problem))
    stream.flush()


def command() -> NoReturn:
    """The `protoc-gen-python-custom` command: `main`, then the process ends without tearing
    down the model, which on a whole API frees millions of objects one by one (a quarter of a
    second)."""
    main()
    sys.stderr.flush()
    os._exit(0)


def _widen_pipe(stream: BinaryIO) -> None:
    """Protoc reads its plugin's answer 4 KB at a time: with room for more in the pipe, the
    plugin goes on rendering while protoc reads, rather than wait for each page to drain.
    The request comes through a pipe too: a wider one takes it in fewer, larger writes.
    """
    try:
        import fcntl

        fcntl.fcntl(stream.fileno(), getattr(fcntl, "F_SETPIPE_SZ"), 1 << 20)
    except (ImportError, AttributeError, OSError, ValueError):
        pass  # not Linux, not a pipe, or not allowed: the default pipe works, less well


def _records(render: Render) -> bytes:
    return file_records(render())
