"""The whole public API, from each source (the SDK's descriptors, the corpus tarball when
present), generated once per session and served by one api_server.py; see tests/whole_api.py.

A summary of what was covered (files, modules, services, round trips) closes the test run.
"""

from __future__ import annotations

from typing import Iterator

import grpc
import pytest

from support import ServerProcess
from whole_api import (
    ALL_FILES,
    REPORT,
    ApiSource,
    GeneratedApi,
    Unavailable,
    generate_whole_api,
    load_corpus,
    load_sdk,
    report,
    sample_files,
)


@pytest.fixture(scope="session", params=["sdk", "corpus"])
def api_source(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> ApiSource:
    """The SDK's API whole; the corpus whole with WHOLE_API_ALL_FILES=1, else a slice (the
    sample of whole_api.sample_files), which keeps `make test` short: the SDK's API is the same
    API whole."""
    try:
        if request.param == "sdk":
            return load_sdk()
        corpus = load_corpus(tmp_path_factory.mktemp("corpus"))
    except Unavailable as reason:
        pytest.skip(str(reason))
    return corpus if ALL_FILES else corpus.slice(sample_files(corpus))


@pytest.fixture(scope="session")
def generated_api(
    api_source: ApiSource, tmp_path_factory: pytest.TempPathFactory
) -> GeneratedApi:
    generated = generate_whole_api(api_source, tmp_path_factory.mktemp("generated"))
    report(api_source, "files", len(api_source.to_generate))
    report(api_source, "rejected by protoc", len(api_source.rejected))
    report(api_source, "plugin outputs", len(generated.outputs))
    report(api_source, "plugin seconds", round(generated.seconds, 1))
    report(api_source, "warnings", len(generated.warnings))
    return generated


@pytest.fixture(scope="session")
def api_server(generated_api: GeneratedApi) -> Iterator[ServerProcess]:
    # Round trips build each resource on its own, with made-up ids in fields that name
    # other resources: the checks of references have tests of their own.
    server = ServerProcess(
        generated_api.root, "--db", ":memory:", "--no-reference-checks"
    ).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def api_channel(api_server: ServerProcess) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(api_server.address) as channel:
        yield channel


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not REPORT:
        return
    terminalreporter.section("the whole public API")
    for label, facts in REPORT.items():
        terminalreporter.write_line(
            f"{label}: " + ", ".join(f"{key} {value}" for key, value in facts.items())
        )
