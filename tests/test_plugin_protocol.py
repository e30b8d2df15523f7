"""The plugin as protoc runs it: a separate process, through both ways of naming it."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from google.protobuf.compiler import plugin_pb2

from generator.plugin import generate, without_source_descriptors, write_response
from generator.runtime.contract import RUNTIME_PROTOS
from generator.tree import include_dirs
from support import PROTO, TEST_PROTOS, make_request, varint

BIN = Path(sys.executable).parent
IMAGE_SERVICE = "yandex/cloud/baremetal/v1alpha/image_service.proto"
ERROR_CASES = TEST_PROTOS / "errors"


def run_protoc(
    out: Path, files: list[str], *extra: str, path: str | None = None, roots=(PROTO,)
) -> subprocess.CompletedProcess[str]:
    environment = dict(os.environ)
    if path is not None:
        environment["PATH"] = path
    command = [
        sys.executable,
        "-m",
        "grpc_tools.protoc",
        *(f"--proto_path={root}" for root in roots),
        *(f"--proto_path={include}" for include in include_dirs()),
        f"--python-custom_out={out}",
        *extra,
        *files,
    ]
    return subprocess.run(
        command, capture_output=True, text=True, env=environment, timeout=120
    )


def test_runs_from_path(tmp_path: Path) -> None:
    result = run_protoc(
        tmp_path,
        [IMAGE_SERVICE],
        f"--python-custom_opt=docs_config={PROTO / 'docs.toml'}",
        path=f"{BIN}{os.pathsep}{os.environ['PATH']}",
    )
    assert result.returncode == 0, result.stderr
    assert (
        tmp_path / "en/_api-ref-grpc/baremetal/v1alpha/api-ref/grpc/Image/update.md"
    ).is_file()


def test_runs_with_explicit_plugin_path(tmp_path: Path) -> None:
    plugin = BIN / "protoc-gen-python-custom"
    result = run_protoc(
        tmp_path,
        [IMAGE_SERVICE],
        f"--plugin=protoc-gen-python-custom={plugin}",
        path="/usr/bin:/bin",
    )
    assert result.returncode == 0, result.stderr
    assert (
        tmp_path / "en/_api-ref-grpc/baremetal/v1alpha/api-ref/grpc/Image/get.md"
    ).is_file()


def test_output_only_for_files_to_generate(tmp_path: Path) -> None:
    result = run_protoc(
        tmp_path, [IMAGE_SERVICE], path=f"{BIN}{os.pathsep}{os.environ['PATH']}"
    )
    assert result.returncode == 0, result.stderr
    written = sorted(
        str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file()
    )
    per_file = [
        name
        for name in written
        if not name.startswith("yc_runtime/") and name != "api_server.py"
    ]
    assert per_file and all(
        "/Image/" in name
        or name.startswith("yandex/cloud/baremetal/v1alpha/image_service_")
        for name in per_file
    ), written


def test_a_run_without_the_runtime_protos_notes_them(tmp_path: Path) -> None:
    """The runtime imports the operation modules: a run that writes it but leaves them out
    says so (the by-hand command of README names them)."""
    result = run_protoc(
        tmp_path, [IMAGE_SERVICE], path=f"{BIN}{os.pathsep}{os.environ['PATH']}"
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines() == [
        "protoc-gen-python-custom: note: yc_runtime imports the _pb2 modules of "
        "yandex/cloud/operation/operation.proto, "
        "yandex/cloud/operation/operation_service.proto, which this run does not "
        "generate: name them too (with --python_out and --grpc_python_out), or generate "
        "them into the same tree in another run"
    ]
    (tmp_path / "docs").mkdir()
    (tmp_path / "all").mkdir()
    docs_only = run_protoc(
        tmp_path / "docs",
        [IMAGE_SERVICE],
        "--python-custom_opt=targets=docs",
        path=f"{BIN}{os.pathsep}{os.environ['PATH']}",
    )
    assert docs_only.returncode == 0 and not docs_only.stderr, docs_only.stderr
    complete = run_protoc(
        tmp_path / "all",
        [IMAGE_SERVICE, *RUNTIME_PROTOS],
        path=f"{BIN}{os.pathsep}{os.environ['PATH']}",
    )
    assert complete.returncode == 0 and not complete.stderr, complete.stderr


def _one_line_failure(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.mark.parametrize(
    "option, expected",
    [
        ("colour=blue", ["'colour'", "targets", "docs_config"]),
        ("targets=docs+website", ["'docs+website'", "targets", "docs"]),
        ("targets", ["'targets' needs a value"]),
        ("docs_config=/no/such/file.toml", ["docs_config", "/no/such/file.toml"]),
        ("docs_format=newest", ["'newest'", "'docs_format'", "classic, current"]),
        ("jobs=two", ["'two'", "'jobs'", "number of processes"]),
    ],
)
def test_bad_option_gives_one_line_error(
    tmp_path: Path, option: str, expected: list[str]
) -> None:
    result = run_protoc(
        tmp_path,
        [IMAGE_SERVICE],
        f"--python-custom_opt={option}",
        path=f"{BIN}{os.pathsep}{os.environ['PATH']}",
    )
    line = _one_line_failure(result)
    for fragment in expected:
        assert fragment in line, line


# Broken schemas (tests/protos/errors) and what the one line about each must name.
BROKEN_SCHEMAS = [
    (
        "unresolved_metadata.proto",
        [
            "unresolved_metadata.proto",
            "acme.errors.v1.JobService.Start",
            "yandex.cloud.api.operation",
            "'StartMetadata'",
        ],
    ),
    (
        "bad_length.proto",
        [
            "bad_length.proto",
            "acme.errors.v1.Ticket.code",
            "yandex.cloud.length",
            "'abc'",
        ],
    ),
    (
        "bad_value.proto",
        ["bad_value.proto", "acme.errors.v1.Counter.amount", "yandex.cloud.value"],
    ),
    (
        "bad_pattern.proto",
        [
            "bad_pattern.proto",
            "acme.errors.v1.Label.key",
            "yandex.cloud.pattern",
            "regular expression",
        ],
    ),
    (
        "misplaced_size.proto",
        [
            "misplaced_size.proto",
            "acme.errors.v1.Basket.fruit",
            "yandex.cloud.size",
        ],
    ),
    (
        "misplaced_bytes.proto",
        [
            "misplaced_bytes.proto",
            "acme.errors.v1.Counter.amount",
            "yandex.cloud.bytes",
            "string, bytes and message fields",
        ],
    ),
]


@pytest.mark.parametrize("proto, expected", BROKEN_SCHEMAS)
def test_broken_schema_is_one_line_error_when_strict(
    tmp_path: Path, proto: str, expected: list[str]
) -> None:
    result = run_protoc(
        tmp_path,
        [proto],
        "--python-custom_opt=strict=true",
        roots=(ERROR_CASES, PROTO),
        path=f"{BIN}{os.pathsep}{os.environ['PATH']}",
    )
    line = _one_line_failure(result)
    for fragment in expected:
        assert fragment in line, line


@pytest.mark.parametrize("proto, expected", BROKEN_SCHEMAS)
def test_broken_schema_is_one_line_warning_by_default(
    tmp_path: Path, proto: str, expected: list[str]
) -> None:
    """Lenient by default: protoc succeeds, and stderr has one warning naming the problem."""
    result = run_protoc(
        tmp_path,
        [proto, *RUNTIME_PROTOS],
        f"--python_out={tmp_path}",
        roots=(ERROR_CASES, PROTO),
        path=f"{BIN}{os.pathsep}{os.environ['PATH']}",
    )
    assert result.returncode == 0, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert lines[0].startswith("protoc-gen-python-custom: warning: "), lines[0]
    for fragment in expected:
        assert fragment in lines[0], lines[0]


def _plugin_process(stdin: bytes) -> plugin_pb2.CodeGeneratorResponse:
    result = subprocess.run(
        [str(BIN / "protoc-gen-python-custom")],
        input=stdin,
        capture_output=True,
        timeout=60,
    )
    assert result.returncode == 0 and not result.stderr, result.stderr
    return plugin_pb2.CodeGeneratorResponse.FromString(result.stdout)


def test_garbage_request_gives_error_response() -> None:
    response = _plugin_process(b"\xff\xff\xff\x07 not a request")
    assert "CodeGeneratorRequest" in response.error
    assert not response.file


def test_declares_proto3_optional_and_is_deterministic() -> None:
    request = make_request(
        [IMAGE_SERVICE, *RUNTIME_PROTOS], f"docs_config={PROTO / 'docs.toml'}"
    ).SerializeToString()
    first, second = _plugin_process(request), _plugin_process(request)
    assert (
        first.supported_features
        & plugin_pb2.CodeGeneratorResponse.FEATURE_PROTO3_OPTIONAL
    )
    assert not first.error and first.file
    assert first.SerializeToString() == second.SerializeToString()


@pytest.mark.parametrize("jobs", ["", ",jobs=1", ",jobs=2", ",jobs=3"])
def test_the_process_answers_what_generate_answers(jobs: str) -> None:
    """main() writes the response a job at a time, the jobs shared between processes: the
    same bytes as generate()'s response serialized whole, whatever the number of processes.
    """
    request = make_request(
        [IMAGE_SERVICE, *RUNTIME_PROTOS], f"docs_config={PROTO / 'docs.toml'}{jobs}"
    )
    answer = subprocess.run(
        [str(BIN / "protoc-gen-python-custom")],
        input=request.SerializeToString(),
        capture_output=True,
        timeout=120,
    )
    assert answer.returncode == 0 and not answer.stderr, answer.stderr
    assert answer.stdout == generate(request).SerializeToString()


def _with_source_descriptors(request: plugin_pb2.CodeGeneratorRequest) -> bytes:
    """The request as protoc 26 and later send it: the files to generate again, in
    `source_file_descriptors`; here one more field after them (fields come in any order).
    """
    full = plugin_pb2.CodeGeneratorRequest()
    full.CopyFrom(request)
    generated = set(request.file_to_generate)
    full.source_file_descriptors.extend(
        item for item in request.proto_file if item.name in generated
    )
    later = plugin_pb2.CodeGeneratorRequest(parameter=request.parameter)
    return full.SerializeToString() + later.SerializeToString()


def test_source_file_descriptors_are_dropped_before_parsing() -> None:
    data = _with_source_descriptors(make_request([IMAGE_SERVICE], "targets=docs"))
    stripped = without_source_descriptors(data)
    expected = plugin_pb2.CodeGeneratorRequest.FromString(data)
    assert expected.source_file_descriptors
    expected.ClearField("source_file_descriptors")
    assert plugin_pb2.CodeGeneratorRequest.FromString(stripped) == expected
    assert len(stripped) < len(data)


@pytest.mark.parametrize(
    "data", [b"", b"\x0a\x05ab", b"\xff\xff\xff\x07 not a request", b"\x0b\x0c"]
)
def test_bytes_that_do_not_split_into_fields_are_left_to_the_parser(
    data: bytes,
) -> None:
    assert without_source_descriptors(data) == data


def test_the_process_answers_a_request_with_source_descriptors_as_without() -> None:
    request = make_request(
        [IMAGE_SERVICE, *RUNTIME_PROTOS], f"docs_config={PROTO / 'docs.toml'}"
    )
    answer = _plugin_process(_with_source_descriptors(request))
    assert answer.SerializeToString() == generate(request).SerializeToString()


def test_an_error_after_files_writes_none(tmp_path: Path) -> None:
    """main() may have answered files when a job fails: protoc then writes none of them."""
    plugin = tmp_path / "protoc-gen-late-error"
    plugin.write_text(
        f"#!{sys.executable}\n"
        "import sys\n"
        "from generator.plugin import file_records, response_head\n"
        "sys.stdin.buffer.read()\n"
        "sys.stdout.buffer.write(response_head() + file_records([('a.txt', 'a')])"
        " + response_head('a/b.proto: late'))\n"
    )
    plugin.chmod(0o755)
    out = tmp_path / "out"
    out.mkdir()
    result = run_protoc(
        out,
        [IMAGE_SERVICE],
        f"--plugin=protoc-gen-late-error={plugin}",
        f"--late-error_out={out}",
        path=f"{BIN}{os.pathsep}{os.environ['PATH']}",
    )
    assert result.returncode != 0 and "a/b.proto: late" in result.stderr
    assert not any(out.iterdir())


def test_an_error_is_answered_alone() -> None:
    buffer = io.BytesIO()
    write_response(buffer, {}, "a/b.proto: broken")
    response = plugin_pb2.CodeGeneratorResponse.FromString(buffer.getvalue())
    assert response.error == "a/b.proto: broken" and not response.file
    assert response.supported_features


@pytest.mark.parametrize(
    "targets, view",
    [(["docs"], "docs_faces"), (["server", "fieldmask"], "python_jobs")],
)
def test_the_views_of_the_targets_are_prepared(
    targets: list[str], view: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the plugin does while the model's other parts are built: the targets' templates
    compiled, and only theirs."""
    import importlib

    from generator import plugin, render

    loaded: list[str] = []
    monkeypatch.setattr(render, "load", lambda *names: loaded.extend(names))
    plugin.prepare_views(targets)
    expected = importlib.import_module(f"generator.{view}").TEMPLATES
    assert loaded == list(expected)
    for name in expected:  # names the environment finds
        render.environment().get_template(name)


@pytest.mark.parametrize(
    "outputs",
    [
        [],
        [("a.py", "")],
        [("docs/Я/index.md", "Ключ — значение\n"), ("b.md", "x" * 127)],
        [("long.md", "y" * 128), ("longer.md", "z" * 20_000)],
        [("huge.md", "w" * 2_100_000)],  # lengths of one to four bytes
    ],
)
def test_file_records_are_what_protobuf_writes(outputs: list[tuple[str, str]]) -> None:
    from generator.plugin import file_records

    response = plugin_pb2.CodeGeneratorResponse()
    for name, content in outputs:
        response.file.add(name=name, content=content)
    assert file_records(outputs) == response.SerializeToString()


def test_source_info_that_does_not_parse_is_the_request_that_does_not() -> None:
    """The plugin parses each file's source information apart, later: bytes there that are
    no SourceCodeInfo are answered as a request that does not parse, naming the file."""
    request = make_request([IMAGE_SERVICE])
    files = b""
    for proto_file in request.proto_file:
        payload = proto_file.SerializeToString()
        if proto_file.name == IMAGE_SERVICE:  # more source information: a truncated tag
            payload += b"\x4a\x03\xff\xff\xff"
        files += b"\x7a" + varint(len(payload)) + payload
    rest = plugin_pb2.CodeGeneratorRequest(file_to_generate=request.file_to_generate)
    answer = _plugin_process(files + rest.SerializeToString())
    assert answer.error.startswith(
        "cannot parse the CodeGeneratorRequest"
    ), answer.error
    assert IMAGE_SERVICE in answer.error and not answer.file
