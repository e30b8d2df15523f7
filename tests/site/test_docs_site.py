"""The reference pages as an HTML site built by @diplodoc/cli (`make docs-site`,
tools/docs_site.py), its links (tools/site_links.py), and its pages in headless Chromium.

The tests that build a site need the pinned builder (`make diplodoc`, under var/diplodoc) and
Chromium (`/usr/bin/chromium`, Debian's package); they run under `make test-site`, which sets
DOCS_SITE_TESTS=1, and skip, saying why, under `make test` or where either is missing. The
tests of how pages are staged need neither and always run.
"""

from __future__ import annotations

import functools
import html.parser
import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Iterator

import pytest

from support import PROTO, ROOT, SHARED

sys.path.insert(0, str(ROOT / "tools"))
import docs_site  # noqa: E402
import site_links  # noqa: E402

CORPUS = SHARED / "corpus" / "cloudapi-00e9ff0.tar.gz"
CORPUS_CONFIG = ROOT / "tests" / "corpus_docs.toml"
PROTO_CONFIG = PROTO / "docs.toml"
CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
# What the builder warns about on the corpus's pages, all of it from the text of proto
# comments, which the pages carry as the official ones do:
KNOWN_CORPUS_WARNINGS = {
    # `<id>`, `<table>`, `<field>` written bare in comments ("with given <id>"): shown as text
    # (the site allows no HTML), but linted as inline HTML.
    "MD033 no-inline-html",
    # Inline code over 100 characters in a comment (a filter expression).
    "YFM001 inline-code-length",
    # monitoring's dashboard comments: "a template with mustache expressions ({{expression}})".
    "variable expression",
    # baremetal v1alpha and v2 share a folder (tests/corpus_docs.toml, as the official
    # reference does) and both write an index page for services of the same name.
    "docs-site shared index",
}

needs_site_tools = pytest.mark.skipif(
    not os.environ.get("DOCS_SITE_TESTS")
    or not docs_site.DEFAULT_YFM.exists()
    or not CHROMIUM.exists(),
    reason=(
        "the site's tests run under `make test-site` (DOCS_SITE_TESTS=1)"
        if not os.environ.get("DOCS_SITE_TESTS")
        else (
            f"{docs_site.DEFAULT_YFM} is missing: `make diplodoc` installs it"
            if not docs_site.DEFAULT_YFM.exists()
            else f"{CHROMIUM} is missing: `apt-get install chromium`"
        )
    ),
)


def write_pages(proto: Path, out: Path, docs_format: str, config: Path) -> Path:
    """`make docs`: the pages of every rpc under `proto`."""
    subprocess.run(
        [
            sys.executable,
            "-m",
            "generator.docs_tree",
            "--proto",
            str(proto),
            "--out",
            str(out),
            "--format",
            docs_format,
            "--config",
            str(config),
        ],
        cwd=ROOT,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    return out


# --- staging (no builder needed) ----------------------------------------------------------------


@pytest.fixture(scope="module")
def proto_pages(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_pages(PROTO, tmp_path_factory.mktemp("docs"), "classic", PROTO_CONFIG)


def test_pages_are_staged_at_the_urls_their_links_name(proto_pages: Path) -> None:
    placement = docs_site.place_pages(
        proto_pages, docs_site.url_folders(PROTO, str(PROTO_CONFIG))
    )
    targets = {page.source: page.target for page in placement.pages}
    assert len(targets) == len(list(proto_pages.rglob("*.md")))
    assert not placement.unclaimed and not placement.conflicts
    grpc = "en/_api-ref-grpc/baremetal/v1alpha/api-ref/grpc/Image/list.md"
    assert targets[grpc] == "docs/baremetal/api-ref/grpc/Image/list.md"
    rest = "en/_api-ref/baremetal/v1alpha/api-ref/Image/list.md"
    if rest in targets:
        assert targets[rest] == "docs/baremetal/api-ref/Image/list.md"
    # Every link of the pages into a folder of the site names a page staged there.
    staged = set(targets.values())
    folders = {target.rsplit("/", 2)[0] for target in staged}
    for source in targets:
        text = (proto_pages / source).read_text(encoding="utf-8")
        for url in re.findall(r"\]\((/docs/[^)#\s]+)", text):
            path = url.lstrip("/")
            if path.rsplit("/", 2)[0] in folders:
                assert f"{path}.md" in staged, f"{source}: {url}"


def test_toc_lists_every_page_once_index_first(
    proto_pages: Path, tmp_path: Path
) -> None:
    placement = docs_site.place_pages(
        proto_pages, docs_site.url_folders(PROTO, str(PROTO_CONFIG))
    )
    docs_site.stage_pages(proto_pages, tmp_path, placement.pages)
    groups = docs_site.group_pages(placement.pages)
    docs_site.write_project(tmp_path, groups, "Test", len(placement.pages))
    toc = (tmp_path / "toc.yaml").read_text(encoding="utf-8")
    hrefs = re.findall(r'^\s+href: "([^"]+)"$', toc, re.MULTILINE)
    assert sorted(hrefs) == sorted(page.target for page in placement.pages)
    image = [
        href for href in hrefs if href.startswith("docs/baremetal/api-ref/grpc/Image/")
    ]
    assert image[:3] == [
        "docs/baremetal/api-ref/grpc/Image/index.md",
        "docs/baremetal/api-ref/grpc/Image/get.md",  # the index's order: declaration order
        "docs/baremetal/api-ref/grpc/Image/list.md",
    ]
    assert '- name: "BareMetal API, gRPC"' in toc
    assert "api-host: " in (tmp_path / "presets.yaml").read_text(encoding="utf-8")
    landing = (tmp_path / "index.md").read_text(encoding="utf-8")
    assert "[Image](docs/baremetal/api-ref/grpc/Image/index.md)" in landing


def test_index_pages_of_packages_sharing_a_folder_are_both_staged(
    tmp_path: Path,
) -> None:
    for version, rpc in (("v1alpha", "get"), ("v2", "getImage")):
        folder = tmp_path / f"en/_api-ref-grpc/x/{version}/api-ref/grpc/Image"
        folder.mkdir(parents=True)
        (folder / "index.md").write_text(
            f"# X API, gRPC: ImageService\n\n[{rpc}]({rpc}.md)\n"
        )
        (folder / f"{rpc}.md").write_text(f"# X API, gRPC: ImageService.{rpc}\n")
    folders = {
        f"en/_api-ref-grpc/x/{version}/api-ref/grpc": "docs/x/api-ref/grpc"
        for version in ("v1alpha", "v2")
    }
    placement = docs_site.place_pages(tmp_path, folders)
    assert sorted(page.target for page in placement.pages) == [
        "docs/x/api-ref/grpc/Image/get.md",
        "docs/x/api-ref/grpc/Image/getImage.md",
        "docs/x/api-ref/grpc/Image/index-v2.md",
        "docs/x/api-ref/grpc/Image/index.md",
    ]
    assert len(placement.shared_indexes) == 1 and not placement.conflicts
    assert (
        docs_site.kind(f"docs-site: {placement.shared_indexes[0]}")
        == "docs-site shared index"
    )


def test_report_lines_are_sorted_by_kind() -> None:
    lines = [
        "docs/a/list.md: 97: MD033 / no-inline-html Inline HTML [Element: field]",
        "docs/a/get.md: 5: MD033 / no-inline-html Inline HTML [Element: id]",
        "Variable api-host not found in docs/a/get.md",
    ]
    assert docs_site.kinds(lines) == "2 MD033 no-inline-html, 1 variable api-host"


# --- building with @diplodoc/cli ----------------------------------------------------------------


class Dom(html.parser.HTMLParser):
    """What a browser made of a page: its tables, element ids and visible text."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.tables = 0
        self.ids: set[str] = set()
        self.text: list[str] = []
        self.h1: list[str] = []
        self._skip = 0
        self._in_h1 = False
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        self.tables += tag == "table"
        self._in_h1 = self._in_h1 or tag == "h1"
        self.ids.update(value for name, value in attrs if name == "id" and value)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._skip -= 1
        if tag == "h1":
            self._in_h1 = False

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.text.append(data)
            if self._in_h1:
                self.h1.append(data)


@pytest.fixture(scope="module")
def serve() -> Iterator:
    servers = []

    def start(site: Path) -> str:
        handler = functools.partial(docs_site.SiteHandler, directory=str(site))
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def dump_dom(url: str, profile: Path) -> Dom:
    """The DOM of `url` once headless Chromium has run the page's scripts."""
    profile.mkdir(parents=True)
    result = subprocess.run(
        [
            str(CHROMIUM),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={profile}",
            "--virtual-time-budget=10000",
            "--dump-dom",
            url,
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return Dom(result.stdout)


def build_site(
    docs: Path, site: Path, proto: Path, config: Path
) -> docs_site.BuildReport:
    lines: list[str] = []
    result = docs_site.build(docs, site, proto, str(config), report=lines.append)
    for line in lines:
        if not line.startswith(("ERR ", "WARN ")):
            print(line)
    for line in result.errors:
        print(f"ERR {line}")
    return result


@pytest.fixture(scope="module", params=["classic", "current"])
def proto_site(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, Path, docs_site.BuildReport]:
    root = tmp_path_factory.mktemp(f"proto-{request.param}")
    docs = write_pages(PROTO, root / "docs", request.param, PROTO_CONFIG)
    return docs, root / "site", build_site(docs, root / "site", PROTO, PROTO_CONFIG)


@needs_site_tools
def test_proto_site_builds_without_errors(proto_site) -> None:
    docs, site, result = proto_site
    assert result.ok, result.errors or result.output[-4000:]
    assert not [
        line for line in result.warnings if docs_site.kind(line).startswith("variable")
    ]
    assert not result.warnings, "\n".join(result.warnings)
    pages = site_links.site_pages(site)
    # Every page, and the landing page.
    assert len(pages) == len(list(docs.rglob("*.md"))) + 1
    assert "index.html" in pages


@needs_site_tools
def test_proto_site_links_resolve(proto_site) -> None:
    _, site, _ = proto_site
    check = site_links.check_site(site)
    print(check.summary())
    assert check.ok, "\n".join(check.problems())
    # The only links that do not resolve are those naming an rpc's title (`#List`).
    assert not any(
        check.unresolved[kind]
        for kind in site_links.UNRESOLVED
        if kind != "title anchor"
    )
    assert check.counts["ok"] > 200


def _expectations(markdown: str) -> tuple[int, set[str], str]:
    tables = len(re.findall(r"^#\|$", markdown, re.MULTILINE))
    anchors = set(re.findall(r"^#+ .* \{#([^}]+)\}$", markdown, re.MULTILINE))
    title = re.search(r"^# (.+)$", markdown, re.MULTILINE).group(1)
    return tables, anchors, title


@needs_site_tools
@pytest.mark.parametrize(
    "page",
    ["docs/baremetal/api-ref/grpc/Image/list", "docs/baremetal/api-ref/Image/list"],
    ids=["grpc", "rest"],
)
def test_proto_page_renders_in_chromium(
    proto_site, serve, tmp_path: Path, page: str
) -> None:
    docs, site, _ = proto_site
    placed = json.loads((site / docs_site.MANIFEST).read_text(encoding="utf-8"))[
        "pages"
    ]
    if f"{page}.md" not in placed:
        pytest.skip(f"the docs run wrote no {page}.md")
    markdown = (docs / placed[f"{page}.md"]).read_text(encoding="utf-8")
    tables, anchors, title = _expectations(markdown)
    assert tables and anchors
    dom = dump_dom(f"{serve(site)}/{page}", tmp_path / "profile")
    text = "".join(dom.text)
    # Each `#|` table became an HTML table; none of its markup is left as text.
    assert dom.tables == tables
    assert "#|" not in text and "||" not in text
    # Each section's `{#...}` anchor is an element id: yandex.cloud.baremetal.v1alpha.ListImagesResponse.
    assert "yandex.cloud.baremetal.v1alpha.ListImagesResponse" in anchors
    assert anchors <= dom.ids, sorted(anchors - dom.ids)
    assert "".join(dom.h1).strip() == title
    if "/grpc/" not in page:
        # The request line's host, `baremetal.{{ api-host }}`, took presets.yaml's value.
        assert (
            "GET https://baremetal.api.cloud.yandex.net/baremetal/v1alpha/images"
            in text
        )
        assert "{{" not in text


@needs_site_tools
def test_builder_errors_fail_the_build(proto_pages: Path, tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    shutil.copytree(proto_pages, docs)
    index = next(docs.rglob("grpc/Image/index.md"))
    index.write_text(
        index.read_text(encoding="utf-8") + "\n\n[Gone](gone.md)\n", encoding="utf-8"
    )
    result = docs_site.build(
        docs, tmp_path / "site", PROTO, str(PROTO_CONFIG), report=print
    )
    assert not result.ok
    assert any("YFM003" in line and "gone.html" in line for line in result.errors)
    assert (
        docs_site.main(
            [
                "build",
                "--docs",
                str(docs),
                "--site",
                str(tmp_path / "site"),
                "--proto",
                str(PROTO),
                "--config",
                str(PROTO_CONFIG),
            ]
        )
        == 1
    )


@needs_site_tools
def test_link_check_finds_missing_pages_and_anchors(proto_site, tmp_path: Path) -> None:
    _, site, _ = proto_site
    broken = tmp_path / "site"
    shutil.copytree(site, broken)
    (broken / "docs/baremetal/api-ref/grpc/Image/get.html").unlink()
    listing = broken / "docs/baremetal/api-ref/grpc/Image/list.html"
    text = listing.read_text(encoding="utf-8")
    assert 'id=\\"yandex.cloud.baremetal.v1alpha.ListImagesResponse\\"' in text
    listing.write_text(
        text.replace(
            'id=\\"yandex.cloud.baremetal.v1alpha.ListImagesResponse\\"',
            'id=\\"renamed\\"',
        ),
        encoding="utf-8",
    )
    check = site_links.check_site(broken)
    assert not check.ok
    problems = "\n".join(check.problems())
    assert "Image/get.html: no such page" in problems
    assert (
        "no element with id 'yandex.cloud.baremetal.v1alpha.ListImagesResponse'"
        in problems
    )


# --- the whole public API -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def corpus_site(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, Path, docs_site.BuildReport, float]:
    if not CORPUS.exists():
        pytest.skip(f"{CORPUS} is absent (it comes with ../shared)")
    root = tmp_path_factory.mktemp("corpus")
    with tarfile.open(CORPUS) as archive:
        archive.extractall(root / "proto", filter="data")
    docs = write_pages(root / "proto", root / "docs", "current", CORPUS_CONFIG)
    started = time.monotonic()
    result = build_site(docs, root / "site", root / "proto", CORPUS_CONFIG)
    return docs, root / "site", result, time.monotonic() - started


@needs_site_tools
def test_corpus_site_builds_without_errors(corpus_site) -> None:
    docs, site, result, seconds = corpus_site
    print(
        f"corpus site: {len(list(docs.rglob('*.md')))} pages built in {seconds:.0f} s"
    )
    assert result.ok, "\n".join(result.errors) or result.output[-4000:]
    by_kind = Counter(docs_site.kind(line) for line in result.warnings)
    for name, count in sorted(by_kind.items()):
        examples = [line for line in result.warnings if docs_site.kind(line) == name][
            :3
        ]
        print(f"  {count} {name}, e.g.\n    " + "\n    ".join(examples))
    # No variable but the monitoring comments' `{{expression}}` is unresolved: api-host is.
    assert set(by_kind) <= KNOWN_CORPUS_WARNINGS, set(by_kind) - KNOWN_CORPUS_WARNINGS
    assert len(site_links.site_pages(site)) == len(list(docs.rglob("*.md"))) + 1


@needs_site_tools
def test_corpus_site_links_resolve(corpus_site) -> None:
    _, site, _, _ = corpus_site
    check = site_links.check_site(site)
    print(check.summary())
    for kind, links in check.unresolved.items():
        targets = Counter(link.split(": ", 1)[1] for link in links)
        print(
            f"  {len(links)} {kind}: "
            + ", ".join(f"{t} ({n})" for t, n in targets.most_common(4))
        )
    assert check.ok, "\n".join(check.problems()[:50])
    assert check.counts["ok"] > 50_000
