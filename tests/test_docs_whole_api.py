"""The docs target over a whole API in one run, as the official reference is built: a page for
every rpc, and every link of the run pointing to a page and anchor the run wrote.

Two whole APIs: the public API of ../shared/corpus (with comments, so with `[...]` references;
skipped where ../shared is absent), and the same API's descriptors from the official SDK wheel
in .venv-sdk (no comments, but type links across packages; `make test` installs it). The
current-format reference pages are reproduced byte for byte from the corpus.
"""

from __future__ import annotations

import ast
import tarfile
from pathlib import Path

import pytest
from google.protobuf import descriptor_pb2
from google.protobuf.compiler import plugin_pb2

from docs_links import Folders, check_links, folders_of, ranked_link_targets
from generator.docs_config import load_docs_config
from generator.docs_faces import Reference
from generator.docs_formats import docs_format as docs_format_named
from generator import wire
from generator.docs_tree import compile_tree
from generator.http import HTTP_EXTENSION
from generator.model import Api, build_api
from support import PROTO, ROOT, SHARED, make_request, run_plugin
from test_docs_golden import DOCS_CASES, GARDEN_FILES

CORPUS = SHARED / "corpus" / "cloudapi-00e9ff0.tar.gz"
CORPUS_CONFIG = ROOT / "tests" / "corpus_docs.toml"
REFERENCE_CURRENT = SHARED / "reference-current"
# The repository's copy of ../shared/reference-rest (see test_docs_golden).
REFERENCE_REST = ROOT / "tests" / "data" / "reference-rest"
SDK_SITE_PACKAGES = sorted((ROOT / ".venv-sdk" / "lib").glob("python3*/site-packages"))
FORMATS = ["classic", "current"]


def _request(
    files: list[descriptor_pb2.FileDescriptorProto], generate: list[str]
) -> plugin_pb2.CodeGeneratorRequest:
    return plugin_pb2.CodeGeneratorRequest(file_to_generate=generate, proto_file=files)


def _run(
    request: plugin_pb2.CodeGeneratorRequest, config: Path = CORPUS_CONFIG
) -> tuple[dict[str, str], Api, Folders]:
    """The pages of a run, its model, and the folders of each link base of the run."""
    request.parameter += f",docs_config={config}"
    pages = run_plugin(request)
    api = build_api(request.proto_file, request.file_to_generate)
    settings = load_docs_config(str(config)).for_run(
        service.package for service in api.services
    )
    return pages, api, folders_of(settings)


def _page_count(request: plugin_pb2.CodeGeneratorRequest) -> int:
    """The pages of the request's files on both faces: one per rpc and an index per service
    on the gRPC face; one per rpc with a google.api.http rule and an index per service with
    one on the REST face."""
    generated = set(request.file_to_generate)
    count = 0
    for proto in request.proto_file:
        if proto.name not in generated:
            continue
        for service in proto.service:
            rest = sum(1 for method in service.method if _has_http_rule(method))
            count += len(service.method) + 1 + rest + (1 if rest else 0)
    return count


def _has_http_rule(method: descriptor_pb2.MethodDescriptorProto) -> bool:
    return any(
        number == HTTP_EXTENSION
        for number, _, _ in wire.iter_fields(method.options.SerializeToString())
    )


def test_link_check_reports_links_to_missing_pages_and_anchors() -> None:
    files = [*GARDEN_FILES, "acme/tools/v1/shed.proto"]  # every page linked to
    request = make_request(files, "targets=docs", roots=(DOCS_CASES, PROTO))
    pages, api, folders = _run(request, DOCS_CASES / "docs.toml")
    assert not check_links(pages, api, folders).dangling
    get = "en/_api-ref-grpc/garden/v1/api-ref/grpc/Plant/get.md"
    pages[get] = (
        pages[get]
        .replace("(#acme.garden.v1.Plant.Leaf)", "(#acme.garden.v1.Plant.Root)", 1)
        .replace("/Forecast/list#List)", "/Forecast/lists#List)", 1)
    )
    rest_get = "en/_api-ref/garden/v1/api-ref/Glasshouse/get.md"
    assert "(/docs/garden/api-ref/Glasshouse/list#List)" in pages[rest_get]
    pages[rest_get] = pages[rest_get].replace(
        "(/docs/garden/api-ref/Glasshouse/list#List)",
        "(/docs/garden/api-ref/grpc/Glasshouse/list#List)",
        1,
    )
    dangling = check_links(pages, api, folders).dangling
    assert len(dangling) == 3, dangling
    assert any("no such anchor" in line for line in dangling)
    assert any("links the grpc face from the other" in line for line in dangling)


# --- the public API from ../shared/corpus ---------------------------------------------------------


@pytest.fixture(scope="module")
def corpus_request(
    tmp_path_factory: pytest.TempPathFactory,
) -> plugin_pb2.CodeGeneratorRequest:
    if not CORPUS.exists():
        pytest.skip(f"{CORPUS} is absent (a fresh clone has no ../shared)")
    root = tmp_path_factory.mktemp("corpus")
    with tarfile.open(CORPUS) as archive:
        archive.extractall(root, filter="data")
    tree = compile_tree(root)
    return _request(list(tree.descriptors.file), list(tree.files))


class Runs:
    """Whole-API runs by format, each made once."""

    def __init__(self, request: plugin_pb2.CodeGeneratorRequest) -> None:
        self.request = request
        self.done: dict[str, tuple[dict[str, str], Api, Folders]] = {}

    def __call__(self, docs_format: str) -> tuple[dict[str, str], Api, Folders]:
        if docs_format not in self.done:
            run = plugin_pb2.CodeGeneratorRequest()
            run.CopyFrom(self.request)
            run.parameter = f"targets=docs,docs_format={docs_format}"
            self.done[docs_format] = _run(run)
        return self.done[docs_format]


@pytest.fixture(scope="module")
def corpus_runs(corpus_request: plugin_pb2.CodeGeneratorRequest) -> Runs:
    return Runs(corpus_request)


@pytest.mark.parametrize("docs_format", FORMATS)
def test_corpus_has_a_page_for_every_rpc_and_service(
    corpus_runs: Runs, docs_format: str
) -> None:
    pages, _, _ = corpus_runs(docs_format)
    assert len(pages) == _page_count(corpus_runs.request) > 2000


@pytest.mark.parametrize("docs_format", FORMATS)
def test_corpus_links_point_to_pages_and_anchors_of_the_run(
    corpus_runs: Runs, docs_format: str
) -> None:
    report = check_links(*corpus_runs(docs_format))
    print(f"corpus, {docs_format}: {report.summary()}")
    assert not report.dangling, "\n".join(report.dangling[:20])
    assert report.cross_page > 1000 and report.same_page > 10_000, report.summary()


@pytest.mark.parametrize("docs_format", FORMATS)
def test_corpus_reference_to_another_package_links_to_its_first_page(
    corpus_runs: Runs, docs_format: str
) -> None:
    """docs-format.md §8: `[LogLevel.Level]` in Workflows names the logging package's enum;
    it links to the first page of that package (services by name, rpcs in declaration order)
    that lists its values: ExportService.Get in this commit of the API."""
    pages, _, _ = corpus_runs(docs_format)
    workflow = pages[
        "en/_api-ref-grpc/serverless/workflows/v1/workflows/api-ref/grpc/Workflow/get.md"
    ]
    assert (
        "See [LogLevel.Level](/docs/logging/api-ref/grpc/Export/get"
        "#yandex.cloud.logging.v1.LogLevel.Level) for details."
    ) in workflow


@pytest.mark.parametrize("docs_format", FORMATS)
def test_corpus_link_targets_are_the_best_ranked_pages(
    corpus_runs: Runs, docs_format: str
) -> None:
    """Every message and enum of the whole API, on both faces: the page a reference from
    elsewhere links (worked out from the pages that lead to it) is the one its definition
    names, every page walked (`docs_links.ranked_link_targets`)."""
    _, api, _ = corpus_runs(docs_format)
    reference = Reference(
        api,
        load_docs_config(str(CORPUS_CONFIG)),
        docs_format_named(docs_format),
        "grpc+rest",
    )
    names = [*api.messages, *api.enums]
    for references in (reference.grpc.references, reference.rest.references):
        ranked = ranked_link_targets(references.targets)
        found = {name: references.targets.page_of(name) for name in names}
        assert found == {name: ranked.get(name) for name in names}
        assert len(ranked) > 5000


def test_corpus_current_format_reproduces_reference_pages(corpus_runs: Runs) -> None:
    reference = sorted(REFERENCE_CURRENT.rglob("*.md"))
    assert reference, f"no pages under {REFERENCE_CURRENT}"
    pages, _, _ = corpus_runs("current")
    assert len(reference) == 2
    for page in reference:
        published = f"en/_api-ref-grpc/{page.relative_to(REFERENCE_CURRENT)}"
        assert pages[published] == page.read_text(encoding="utf-8"), published


# The current REST pages and REST index of ../shared/reference-rest, from the corpus.
CURRENT_REST_PAGES = {
    "Image/delete.md": "en/_api-ref/baremetal/v1alpha/api-ref/Image/delete.md",
    "BootImage/listBootImages.md": "en/_api-ref/baremetal/v2/api-ref/BootImage/listBootImages.md",
    "BootImage/index.md": "en/_api-ref/baremetal/v2/api-ref/BootImage/index.md",
}


@pytest.mark.parametrize("page", sorted(CURRENT_REST_PAGES))
def test_corpus_current_format_reproduces_the_rest_pages(
    corpus_runs: Runs, page: str
) -> None:
    pages, _, _ = corpus_runs("current")
    reference = REFERENCE_REST / "en/baremetal/api-ref" / page
    assert pages[CURRENT_REST_PAGES[page]] == reference.read_text(encoding="utf-8")


def test_corpus_current_format_reproduces_the_grpc_index_pages(
    corpus_runs: Runs,
) -> None:
    """docs-format-rest.md §12.2: the gRPC index of a service, in the current format."""
    pages, _, _ = corpus_runs("current")
    reference = REFERENCE_REST / "en/baremetal/api-ref/grpc/BootImage/index.md"
    published = "en/_api-ref-grpc/baremetal/v2/api-ref/grpc/BootImage/index.md"
    assert pages[published] == reference.read_text(encoding="utf-8")


# --- the same API from the official SDK wheel's descriptors ------------------------------------


def serialized_file(module: Path) -> bytes | None:
    """The FileDescriptorProto a generated _pb2 module registers: `AddSerializedFile(b'...')`."""
    source = module.read_text(encoding="utf-8")
    if "AddSerializedFile" not in source:
        return None
    for node in ast.walk(ast.parse(source)):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "AddSerializedFile"
        ):
            data = ast.literal_eval(node.args[0])
            assert isinstance(data, bytes), module
            return data
    return None


def sdk_descriptors(site_packages: Path) -> list[descriptor_pb2.FileDescriptorProto]:
    """Every file descriptor the SDK's `yandex` modules register, with the `google` ones they
    import, dependencies first (as protoc sends them)."""
    found: dict[str, descriptor_pb2.FileDescriptorProto] = {}
    for package in ("yandex", "google"):
        for module in sorted((site_packages / package).rglob("*_pb2.py")):
            data = serialized_file(module)
            if data is not None:
                proto = descriptor_pb2.FileDescriptorProto.FromString(data)
                found.setdefault(proto.name, proto)
    ordered: dict[str, descriptor_pb2.FileDescriptorProto] = {}

    def add(name: str) -> None:
        if name not in ordered:
            for dependency in found[name].dependency:
                add(dependency)
            ordered[name] = found[name]

    for name in sorted(found):
        if name.startswith("yandex/"):
            add(name)
    return list(ordered.values())


@pytest.fixture(scope="module")
def sdk_runs() -> Runs:
    if not SDK_SITE_PACKAGES:
        pytest.fail(
            "the official SDK's virtualenv is missing: `make test` creates .venv-sdk"
        )
    files = sdk_descriptors(SDK_SITE_PACKAGES[0])
    generate = [proto.name for proto in files if proto.name.startswith("yandex/")]
    return Runs(_request(files, generate))


@pytest.mark.parametrize("docs_format", FORMATS)
def test_sdk_api_links_point_to_pages_and_anchors_of_the_run(
    sdk_runs: Runs, docs_format: str
) -> None:
    pages, api, folders = sdk_runs(docs_format)
    assert len(pages) == _page_count(sdk_runs.request) > 2000
    report = check_links(pages, api, folders)
    print(f"SDK descriptors, {docs_format}: {report.summary()}")
    assert not report.dangling, "\n".join(report.dangling[:20])
    assert report.same_page > 10_000, report.summary()
