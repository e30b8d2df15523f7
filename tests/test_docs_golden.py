"""Docs pages: the official reference pages byte for byte, and golden pages for edge cases."""

from __future__ import annotations

from pathlib import Path

import pytest

from support import (
    GENERATED,
    GOLDEN,
    PROTO,
    ROOT,
    SHARED,
    TEST_PROTOS,
    make_request,
    run_plugin,
)

# The official pages this project was specified from: the repository's copy of
# ../shared/reference, so that a fresh clone checks them too (a test keeps the copy current).
REFERENCE = ROOT / "tests" / "data" / "reference"
SHARED_REFERENCE = SHARED / "reference"
REFERENCE_PAGES = sorted(REFERENCE.rglob("*.md"))
# A reference page at reference/<product>/... was published at en/_api-ref-grpc/<product>/...
DOCS_PREFIX = "en/_api-ref-grpc"

DOCS_CASES = TEST_PROTOS / "docs"
GARDEN_FILES = [
    "acme/garden/v1/plant.proto",
    "acme/garden/v1/plant_service.proto",
    "acme/garden/v1/climate.proto",
    "acme/garden/v1/glasshouse.proto",
    "acme/weather/v1/forecast.proto",
]
# The golden pages of each docs format, below tests/golden/.
GOLDEN_DIRS = {"classic": "docs", "current": "docs-current"}


def _published_path(reference_page: Path) -> str:
    return f"{DOCS_PREFIX}/{reference_page.relative_to(REFERENCE)}"


# The image API and the configuration API its comments link to, as `make generate` runs them.
IMAGE_FILES = [
    "yandex/cloud/baremetal/v1alpha/image_service.proto",
    "yandex/cloud/baremetal/v1alpha/configuration_service.proto",
]


@pytest.fixture(scope="module")
def image_pages() -> dict[str, str]:
    return run_plugin(
        make_request(IMAGE_FILES, f"targets=docs,docs_config={PROTO / 'docs.toml'}")
    )


def test_reference_pages_exist() -> None:
    assert len(REFERENCE_PAGES) >= 3, f"no reference pages under {REFERENCE}"


@pytest.mark.skipif(
    not SHARED_REFERENCE.is_dir(),
    reason="../shared/reference is absent (a fresh clone): the repository's copy is used",
)
def test_the_copy_of_the_reference_pages_is_current() -> None:
    def pages(root: Path) -> dict[str, bytes]:
        return {
            str(page.relative_to(root)): page.read_bytes()
            for page in root.rglob("*.md")
        }

    assert pages(REFERENCE) == pages(
        SHARED_REFERENCE
    ), "tests/data/reference differs from ../shared/reference: copy it again"


@pytest.mark.parametrize("reference_page", REFERENCE_PAGES, ids=lambda page: page.stem)
def test_reference_page_reproduced_byte_for_byte(
    reference_page: Path, image_pages: dict[str, str]
) -> None:
    expected = reference_page.read_text(encoding="utf-8")
    assert image_pages[_published_path(reference_page)] == expected


@pytest.mark.parametrize("reference_page", REFERENCE_PAGES, ids=lambda page: page.stem)
def test_committed_copy_equals_reference_page(reference_page: Path) -> None:
    committed = GENERATED / _published_path(reference_page)
    assert committed.read_bytes() == reference_page.read_bytes()


# The REST pages and index pages this project is specified from (docs-format-rest.md): the
# repository's copy of ../shared/reference-rest.
REFERENCE_REST = ROOT / "tests" / "data" / "reference-rest"
SHARED_REFERENCE_REST = SHARED / "reference-rest"


@pytest.mark.skipif(
    not SHARED_REFERENCE_REST.is_dir(),
    reason="../shared/reference-rest is absent (a fresh clone): the repository's copy is used",
)
def test_the_copy_of_the_rest_reference_is_current() -> None:
    def files(root: Path) -> dict[str, bytes]:
        return {
            str(path.relative_to(root)): path.read_bytes()
            for path in root.rglob("*")
            if path.is_file()
        }

    assert files(REFERENCE_REST) == files(
        SHARED_REFERENCE_REST
    ), "tests/data/reference-rest differs from ../shared/reference-rest: copy it again"


def test_grpc_index_page_reproduced_byte_for_byte(image_pages: dict[str, str]) -> None:
    """docs-format-rest.md §12.2: the image API's gRPC index, classic (with sourcePath)."""
    reference = REFERENCE_REST / "en/baremetal/api-ref/grpc/Image/index.md"
    published = "en/_api-ref-grpc/baremetal/v1alpha/api-ref/grpc/Image/index.md"
    expected = reference.read_text(encoding="utf-8")
    assert image_pages[published] == expected
    assert (GENERATED / published).read_text(encoding="utf-8") == expected


# The classic REST pages of the image API in ../shared/reference-rest, from proto/
# (docs-format-rest.md: generation G2, with sourcePath); the current ones are from the corpus
# (tests/test_docs_whole_api.py).
CLASSIC_REST_PAGES = [
    "Image/list.md",
    "Image/create.md",
    "Image/get.md",
    "Image/index.md",
]


@pytest.mark.parametrize("page", CLASSIC_REST_PAGES)
def test_rest_page_reproduced_byte_for_byte(
    page: str, image_pages: dict[str, str]
) -> None:
    expected = (REFERENCE_REST / "en/baremetal/api-ref" / page).read_text(
        encoding="utf-8"
    )
    published = f"en/_api-ref/baremetal/v1alpha/api-ref/{page}"
    assert image_pages[published] == expected
    assert (GENERATED / published).read_text(encoding="utf-8") == expected


def test_docs_api_picks_the_faces() -> None:
    def faces(option: str) -> set[str]:
        pages = run_plugin(
            make_request(
                IMAGE_FILES,
                f"targets=docs,docs_api={option},docs_config={PROTO / 'docs.toml'}",
            )
        )
        return {"grpc" if "/_api-ref-grpc/" in path else "rest" for path in pages}

    assert faces("grpc") == {"grpc"}
    assert faces("rest") == {"rest"}
    assert faces("grpc+rest") == faces("rest+grpc") == {"grpc", "rest"}


def garden_pages(docs_format: str) -> dict[str, str]:
    request = make_request(
        GARDEN_FILES,
        f"targets=docs,docs_format={docs_format},docs_config={DOCS_CASES / 'docs.toml'}",
        roots=(DOCS_CASES, PROTO),
    )
    return run_plugin(request)


@pytest.mark.parametrize("docs_format", sorted(GOLDEN_DIRS))
def test_golden_pages(docs_format: str, update_golden: bool) -> None:
    """Every page of the edge-case API equals its golden copy (`make golden` rewrites them)."""
    pages = garden_pages(docs_format)
    golden_root = GOLDEN / GOLDEN_DIRS[docs_format]
    if update_golden:
        for old in golden_root.rglob("*.md"):
            old.unlink()
        for name, content in pages.items():
            (golden_root / name).parent.mkdir(parents=True, exist_ok=True)
            (golden_root / name).write_text(content, encoding="utf-8")
    golden = {
        str(path.relative_to(golden_root)): path.read_text(encoding="utf-8")
        for path in golden_root.rglob("*.md")
    }
    assert sorted(pages) == sorted(
        golden
    ), f"pages differ from {golden_root}: run `make golden`"
    for name, content in pages.items():
        assert (
            content == golden[name]
        ), f"{name} differs from its golden copy: run `make golden` and review the diff"


def test_constraints_option_appends_the_sentences_of_newer_pages() -> None:
    files = ["yandex/cloud/baremetal/v1alpha/image_service.proto"]
    options = f"targets=docs,constraints=true,docs_config={PROTO / 'docs.toml'}"
    pages = run_plugin(make_request(files, options))
    update = pages[f"{DOCS_PREFIX}/baremetal/v1alpha/api-ref/grpc/Image/update.md"]
    assert (
        "Existing set of `labels` is completely replaced by the provided set.\n\n"
        "The maximum string length in characters for each value is 63. "
        "The string length in characters for each key must be 1-63. "
        "Each key must match the regular expression ` [a-z][-_0-9a-z]* `. "
        "Each value must match the regular expression ` [-_0-9a-z]* `. "
        "No more than 64 per resource. ||"
    ) in update
    assert (
        "The name must be unique within the folder.\n\n"
        "The string length in characters must be 2-63. "
        "Value must match the regular expression ` [a-z]([-a-z0-9]*[a-z0-9])? `. ||"
    ) in update
    assert (
        "Description of the image.\n\nThe maximum string length in characters is 1024. ||"
        in update
    )
    listing = pages[f"{DOCS_PREFIX}/baremetal/v1alpha/api-ref/grpc/Image/list.md"]
    assert "Default value is 20.\n\nThe maximum value is 100. ||" in listing
    create = pages[f"{DOCS_PREFIX}/baremetal/v1alpha/api-ref/grpc/Image/create.md"]
    assert "Required field. URI of the source image" in create
    get = pages[f"{DOCS_PREFIX}/baremetal/v1alpha/api-ref/grpc/Image/get.md"]
    # `(length) = "20"`: an exact bound, which the newer pages leave out (as in delete.md of
    # reference-current).
    assert (
        "use a [ImageService.List](/docs/baremetal/api-ref/grpc/Image/list#List) request.\n\n"
        "Value must match the regular expression ` [a-z][a-z0-9]* `. ||"
    ) in get
