"""One plugin run over every file of the public API, all four targets, without an error; and
file by file: a file's server, client and field-mask modules do not depend on what else is in
the run. `make test` checks a sample of files (whole_api.sample_files); WHOLE_API_ALL_FILES=1
(`make whole-api`) checks every file."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from google.protobuf.compiler import plugin_pb2

from generator.model import StandardMethod
from generator.python_names import output_path
from generator.plugin import generate
from whole_api import ALL_FILES, ApiSource, GeneratedApi, report, sample_files

# Outputs that belong to one proto file; docs pages and api_server.py belong to the run.
PER_FILE_SUFFIXES = ("_server", "_client", "_fieldmask")
PER_FILE_TARGETS = "targets=server+client+fieldmask"


def test_every_file_generates_every_target(generated_api: GeneratedApi) -> None:
    """The run succeeded (generate_whole_api asserts it) and made each target's outputs for
    every file that calls for them."""
    outputs = generated_api.outputs
    model = generated_api.model
    missing = []
    for proto_file in model.generated_files:
        served = [s for s in proto_file.services if not s.is_framework]
        unary = [
            m
            for s in served
            for m in s.methods
            if not m.client_streaming and not m.server_streaming
        ]
        updates = [
            m
            for s in served
            for m in s.methods
            if s.resource and m.standard is StandardMethod.UPDATE
        ]
        expected = {
            output_path(proto_file.name, "_server"): bool(served),
            output_path(proto_file.name, "_client"): bool(unary),
            output_path(proto_file.name, "_fieldmask"): bool(updates),
            output_path(proto_file.name, "_pb2_grpc") + "i": bool(proto_file.services),
        }
        missing += [
            name for name, wanted in expected.items() if wanted and name not in outputs
        ]
        for method in updates:
            mask = method.input.rsplit(".", 1)[-1] + "Mask"
            if f"class {mask}" not in outputs.get(
                output_path(proto_file.name, "_fieldmask"), ""
            ):
                missing.append(f"{mask} in {proto_file.name}")
    assert not missing, missing
    services = [s for f in model.generated_files for s in f.services]
    rpcs = sum(len(s.methods) for s in services)
    # Both faces: gRPC pages below _api-ref-grpc, REST ones (for rpcs with a rule) below _api-ref.
    grpc = [n for n in outputs if n.endswith(".md") and "/_api-ref-grpc/" in n]
    rest = [n for n in outputs if n.endswith(".md") and "/_api-ref/" in n]
    grpc_indexes = [name for name in grpc if name.endswith("/index.md")]
    assert len(grpc_indexes) == len(services), "one gRPC index page per service"
    assert len(grpc) - len(grpc_indexes) == rpcs, "one gRPC docs page per rpc"
    with_rules = [s for s in services if any(m.http for m in s.methods)]
    rest_indexes = [name for name in rest if name.endswith("/index.md")]
    assert len(rest_indexes) == len(
        with_rules
    ), "one REST index per service with a rule"
    assert len(rest) - len(rest_indexes) == sum(
        1 for s in services for m in s.methods if m.http
    ), "one REST page per rpc with a rule"
    assert "api_server.py" in outputs
    report(generated_api.source, "services", len(services))
    report(generated_api.source, "rpcs", rpcs)


def per_file_outputs(name: str) -> list[str]:
    return [output_path(name, suffix) for suffix in PER_FILE_SUFFIXES] + [
        output_path(name, "_pb2_grpc") + "i"
    ]


def check_alone(source: ApiSource, generated: GeneratedApi, name: str) -> list[str]:
    """The per-file outputs of `name` generated alone, as protoc would send it, compared with
    the whole run's: the names of those that differ."""
    response = generate(source.request([name], PER_FILE_TARGETS))
    assert not response.error, response.error
    alone = {item.name: item.content for item in response.file}
    return [
        path
        for path in per_file_outputs(name)
        if alone.get(path) != generated.outputs.get(path)
    ]


def test_sampled_files_generate_alone_as_in_the_whole_run(
    api_source: ApiSource, generated_api: GeneratedApi
) -> None:
    if api_source.selected or ALL_FILES:
        pytest.skip(
            "every file is checked alone (WHOLE_API_ALL_FILES=1)"
            if ALL_FILES
            else "a slice is the sample itself: the SDK's whole run covers this"
        )
    sample = sample_files(api_source)
    assert len(sample) == 40
    differing = [
        path for name in sample for path in check_alone(api_source, generated_api, name)
    ]
    assert not differing, differing
    report(api_source, "files checked alone", len(sample))


@pytest.mark.skipif(
    not ALL_FILES,
    reason="every file alone (about 20 s over both sources) is one of the long checks: "
    "`make whole-api` (WHOLE_API_ALL_FILES=1) runs them all in about a minute and a half",
)
def test_every_file_generates_alone_as_in_the_whole_run(
    api_source: ApiSource, generated_api: GeneratedApi
) -> None:
    differing = [
        path
        for name in api_source.to_generate
        for path in check_alone(api_source, generated_api, name)
    ]
    assert not differing, differing
    report(api_source, "files checked alone", len(api_source.to_generate))


def test_the_plugin_process_answers_the_same_on_two_cores(
    generated_api: GeneratedApi,
) -> None:
    """The plugin as protoc runs it, its jobs shared between two processes (`jobs=2`, so that
    it forks on any machine): every output, in the same order, as the in-process run."""
    request = generated_api.source.request(generated_api.source.to_generate)
    request.parameter = "jobs=2"
    answer = subprocess.run(
        [str(Path(sys.executable).parent / "protoc-gen-python-custom")],
        input=request.SerializeToString(),
        capture_output=True,
        timeout=600,
    )
    assert answer.returncode == 0, answer.stderr.decode()
    response = plugin_pb2.CodeGeneratorResponse.FromString(answer.stdout)
    assert not response.error, response.error
    assert [item.name for item in response.file] == list(generated_api.outputs)
    different = [
        item.name
        for item in response.file
        if item.content != generated_api.outputs[item.name]
    ]
    assert not different, different[:10]
