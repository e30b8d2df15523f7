"""A browsable HTML site of the reference pages that `make docs` writes, built with Yandex's own
documentation builder, @diplodoc/cli (the `yfm` command), pinned in tools/docs-site/.

    python tools/docs_site.py build --docs var/docs --site var/docs-site --proto proto \\
        [--config proto/docs.toml] [--stage DIR] [--yfm PATH] [--jobs N] [--check-links]
    python tools/docs_site.py serve --site var/docs-site [--port 8000]
    python tools/docs_site.py check --site var/docs-site

`build` never writes into the docs folder (the generator's): it copies every `.md` page below
it into a staging folder, at the URL each page has on the official site (the package's link
base, as the pages' own links name it: `en/_api-ref-grpc/baremetal/v1alpha/api-ref/grpc/Image/
list.md` is staged as `docs/baremetal/api-ref/grpc/Image/list.md`, so that a link to
`/docs/baremetal/api-ref/grpc/Image/list#...` finds it), adds what the builder needs (toc.yaml
listing every page, grouped by API and service; a landing page index.md; presets.yaml with
the variables the pages use; .yfm), runs the builder into the site folder and reports every
error and warning it printed. It exits non-zero on any error (with `--check-links`, a dangling
link of the built site is one).

`serve` serves the site on 127.0.0.1 the way the official site is served: `/a/b` answers with
`/a/b.html` (pages link to each other by extensionless absolute URLs). `check` runs the link
check of tools/site_links.py over a built site.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Sequence

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_YFM = ROOT / "var" / "diplodoc" / "node_modules" / ".bin" / "yfm"
# Variables the pages use, as the official documentation defines them: REST pages write their
# hosts as `{{ api-host }}` (`baremetal.{{ api-host }}`).
PRESETS = {"api-host": "api.cloud.yandex.net"}
SITE_TITLE = "API reference"
MANIFEST = "docs-site.json"  # written into the site: what was built from where

_TITLE = re.compile(r"^# (.+?)(?: \{#[^}]*\})?$", re.MULTILINE)
_INDEX_LINK = re.compile(r"\]\(([\w.-]+)\.md\)")
_PACKAGE = re.compile(r"^\s*package\s+([\w.]+)\s*;", re.MULTILINE)
_SERVICE = re.compile(r"^\s*service\s+\w+\s*\{", re.MULTILINE)
# The builder's report lines: `ERR path: line: CODE / name message`, `WARN ...`.
_DIAGNOSTIC = re.compile(r"^(ERR|WARN)\s+(.*)$")


# --- where each page goes ----------------------------------------------------------------------


def documented_packages(proto: Path) -> set[str]:
    """The packages of the .proto files under `proto` that declare a service, as the docs run
    sees them: `proto/third_party/googleapis` is searched for imports only."""
    vendored = (proto / "third_party" / "googleapis").resolve()
    packages = set()
    for path in proto.rglob("*.proto"):
        if path.resolve().is_relative_to(vendored):
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        package = _PACKAGE.search(text)
        if package and _SERVICE.search(text):
            packages.add(package.group(1))
    return packages


def url_folders(proto: Path, config: str) -> dict[str, str]:
    """Each folder the run writes pages to (below the docs folder) -> the folder of the site
    that serves them (the link base, without its leading `/`), for gRPC and REST pages. The settings are the generator's own, for the same
    packages as the run (its default link bases depend on them)."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from generator.docs_config import load_docs_config

    settings = load_docs_config(config).for_run(documented_packages(proto))
    folders: dict[str, str] = {}
    for docs in settings.values():
        for source, base in (
            (docs.source_path, docs.link_base),
            (docs.rest_source_path, docs.rest_link_base),
        ):
            folders[source.strip("/")] = base.strip("/")
    return folders


@dataclass
class Page:
    source: str  # below the docs folder
    target: str  # below the site's root, `.md`
    title: str


@dataclass
class Placement:
    pages: list[Page]
    # Pages below no folder of the run's packages, kept at their own paths.
    unclaimed: list[str]
    # Index pages of two packages that share a folder (baremetal v1alpha and v2): the second
    # is staged beside the first under another name. A warning: nothing links to an index.
    shared_indexes: list[str]
    # Method pages whose place another page has: a link to it cannot tell them apart.
    conflicts: list[str]


def place_pages(docs: Path, folders: dict[str, str]) -> Placement:
    """Every `.md` page below `docs`, at its place in the site."""
    by_length = sorted(folders, key=len, reverse=True)
    placement = Placement([], [], [], [])
    taken: dict[str, str] = {}
    for path in sorted(docs.rglob("*.md")):
        source = path.relative_to(docs).as_posix()
        for folder in by_length:
            if source.startswith(folder + "/"):
                target = folders[folder] + source[len(folder) :]
                break
        else:
            target = source
            placement.unclaimed.append(source)
        if target in taken:
            first = taken[target]
            stem = target.removesuffix(".md")
            # The parts of this page's folder that the first page's lacks (`v2`).
            own = [
                part for part in source.split("/")[:-2] if part not in first.split("/")
            ]
            suffix = "-".join(own) or "2"
            alternative = f"{stem}-{suffix}.md"
            while alternative in taken:
                alternative = alternative.removesuffix(".md") + "-2.md"
            line = (
                f"{source} and {first} both belong at {target}; staged as {alternative}"
            )
            (
                placement.shared_indexes
                if path.name == "index.md"
                else placement.conflicts
            ).append(line)
            target = alternative
        taken[target] = source
        title = _TITLE.search(path.read_text(encoding="utf-8"))
        placement.pages.append(
            Page(source, target, title.group(1).strip() if title else path.stem)
        )
    return placement


# --- the builder's project ----------------------------------------------------------------------


def _yaml_string(value: str) -> str:
    """`value` as a YAML double-quoted string (which a JSON string is)."""
    return json.dumps(value, ensure_ascii=False)


@dataclass
class Group:
    """The pages of one folder of the site (one API's gRPC or REST face), by service."""

    folder: str
    name: str = ""
    services: dict[str, list[Page]] = field(default_factory=dict)


def group_pages(pages: Iterable[Page]) -> list[Group]:
    groups: dict[str, Group] = {}
    for page in pages:
        service_folder = page.target.rpartition("/")[0]
        folder, _, service = service_folder.rpartition("/")
        group = groups.setdefault(folder, Group(folder))
        group.services.setdefault(service, []).append(page)
    for group in groups.values():
        # `BareMetal API, gRPC: ImageService.List` -> `BareMetal API, gRPC`.
        names = [
            page.title.partition(": ")[0]
            for service in group.services.values()
            for page in service
            if ": " in page.title
        ]
        group.name = max(set(names), key=names.count) if names else group.folder
    counts: dict[str, int] = {}
    for group in groups.values():
        counts[group.name] = counts.get(group.name, 0) + 1
    for group in groups.values():
        if counts[group.name] > 1 or group.name == group.folder:
            group.name = (
                f"{group.name} ({group.folder})"
                if group.name != group.folder
                else group.folder
            )
    return sorted(groups.values(), key=lambda group: (group.name.lower(), group.folder))


def ordered_service(pages: list[Page], stage: Path) -> list[tuple[str, Page]]:
    """A service's pages as toc items: its index first (with the index of a second package
    sharing the folder, `index-v2`), then its rpcs in the order the indexes list them (their
    declaration order), then any other page by name."""
    by_stem = {Path(page.target).stem: page for page in pages}
    items: list[tuple[str, Page]] = []
    order: list[str] = []
    for stem in sorted(
        stem for stem in by_stem if stem == "index" or stem.startswith("index-")
    ):
        index = by_stem.pop(stem)
        suffix = stem.removeprefix("index").removeprefix("-")
        items.append((f"Overview ({suffix})" if suffix else "Overview", index))
        order += _INDEX_LINK.findall((stage / index.target).read_text(encoding="utf-8"))
    for stem in [*order, *sorted(by_stem)]:
        page = by_stem.pop(stem, None)
        if page is not None:
            name = page.title.partition(": ")[2] or page.title
            items.append((name.rpartition(".")[2] or name, page))
    return items


def write_toc(stage: Path, groups: list[Group], title: str) -> None:
    lines = [f"title: {_yaml_string(title)}", "href: index.md", "items:"]
    for group in groups:
        lines += [f"  - name: {_yaml_string(group.name)}", "    items:"]
        for service in sorted(group.services, key=str.lower):
            lines += [f"      - name: {_yaml_string(service)}", "        items:"]
            for name, page in ordered_service(group.services[service], stage):
                lines += [
                    f"          - name: {_yaml_string(name)}",
                    f"            href: {_yaml_string(page.target)}",
                ]
    (stage / "toc.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")


def write_landing(stage: Path, groups: list[Group], title: str, pages: int) -> None:
    services = sum(len(group.services) for group in groups)
    lines = [
        "---",
        f"title: {_yaml_string(title)}",
        "---",
        "",
        f"# {title}",
        "",
        f"{pages} reference pages of {services} services in {len(groups)} sections, written "
        "by `make docs` of protoc-gen-python-custom and built by @diplodoc/cli.",
        "",
    ]
    for group in groups:
        links = []
        for service in sorted(group.services, key=str.lower):
            first = ordered_service(group.services[service], stage)[0][1]
            links.append(f"[{service}]({first.target})")
        lines += [f"- **{group.name}**: {', '.join(links)}", ""]
    (stage / "index.md").write_text("\n".join(lines), encoding="utf-8")


def write_project(stage: Path, groups: list[Group], title: str, pages: int) -> None:
    write_toc(stage, groups, title)
    write_landing(stage, groups, title, pages)
    presets = [
        "default:",
        *(f"  {key}: {_yaml_string(value)}" for key, value in PRESETS.items()),
    ]
    (stage / "presets.yaml").write_text("\n".join(presets) + "\n", encoding="utf-8")
    # English pages; no VCS (the stage is no checkout); the pages are Markdown, not HTML.
    (stage / ".yfm").write_text(
        "lang: en\nlangs: [en]\nvcs:\n  enabled: false\nallowHtml: false\n",
        encoding="utf-8",
    )


def stage_pages(docs: Path, stage: Path, pages: list[Page]) -> None:
    if stage.exists():
        shutil.rmtree(stage)
    for page in pages:
        destination = stage / page.target
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(docs / page.source, destination)


# --- running the builder ------------------------------------------------------------------------


@dataclass
class BuildReport:
    returncode: int
    seconds: float
    errors: list[str]
    warnings: list[str]
    output: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.errors


def run_builder(yfm: Path, stage: Path, site: Path, jobs: int) -> BuildReport:
    if not yfm.exists():
        raise SystemExit(
            f"docs-site: {yfm} is missing: install the pinned builder with `make diplodoc`"
        )
    if site.exists():
        shutil.rmtree(site)
    command = [
        str(yfm),
        "build",
        "--input",
        str(stage),
        "--output",
        str(site),
        "--quiet",
    ]
    if jobs:
        command += ["--jobs", str(jobs)]
    started = time.monotonic()
    result = subprocess.run(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "NO_COLOR": "1", "FORCE_COLOR": "0"},
    )
    seconds = time.monotonic() - started
    errors: list[str] = []
    warnings: list[str] = []
    for line in result.stdout.splitlines():
        match = _DIAGNOSTIC.match(line.strip())
        if match:
            (errors if match.group(1) == "ERR" else warnings).append(match.group(2))
    return BuildReport(result.returncode, seconds, errors, warnings, result.stdout)


_LINT = re.compile(r"^\S+: \d+: (\w+) / ([\w-]+) ")
_VARIABLE = re.compile(r"^Variable (.+?) not found in \S+")


def kind(line: str) -> str:
    """What a report line is about: its lint rule (`MD033 no-inline-html`), the variable not
    found (`variable api-host`), or the line itself."""
    if line.startswith("docs-site: ") and " both belong at " in line:
        return (
            "docs-site shared index"
            if "/index.md " in line
            else "docs-site shared page"
        )
    lint = _LINT.match(line)
    if lint:
        return f"{lint.group(1)} {lint.group(2)}"
    variable = _VARIABLE.match(line)
    if variable:
        return f"variable {variable.group(1)}"
    return line


def kinds(lines: Iterable[str]) -> str:
    counts: dict[str, int] = {}
    for line in lines:
        counts[kind(line)] = counts.get(kind(line), 0) + 1
    return ", ".join(f"{count} {name}" for name, count in sorted(counts.items()))


def builder_version(yfm: Path) -> str:
    package = yfm.parents[1] / "@diplodoc" / "cli" / "package.json"
    try:
        return str(json.loads(package.read_text(encoding="utf-8"))["version"])
    except (OSError, KeyError, ValueError):
        return "unknown"


def build(
    docs: Path,
    site: Path,
    proto: Path,
    config: str = "",
    stage: Path | None = None,
    yfm: Path = DEFAULT_YFM,
    jobs: int = 0,
    title: str = SITE_TITLE,
    report: Callable[[str], None] = print,
) -> BuildReport:
    """Stages the pages below `docs`, builds the site into `site` and reports on it. The
    report's errors are the builder's and the places two pages claim."""
    if not docs.is_dir():
        raise SystemExit(
            f"docs-site: {docs} is not a directory (run `make docs` first)"
        )
    stage = stage or site.with_name(site.name + ".src")
    placement = place_pages(docs, url_folders(proto, config))
    pages = placement.pages
    if not pages:
        raise SystemExit(f"docs-site: no .md pages below {docs}")
    stage_pages(docs, stage, pages)
    groups = group_pages(pages)
    write_project(stage, groups, title, len(pages))
    report(
        f"docs-site: staged {len(pages)} pages of {sum(len(g.services) for g in groups)} "
        f"services in {len(groups)} sections from {docs} to {stage}"
    )
    for source in placement.unclaimed:
        report(
            f"docs-site: note: {source} is below no folder of the run's packages; kept at its path"
        )
    result = run_builder(yfm, stage, site, jobs)
    result.errors[:0] = [f"docs-site: {line}" for line in placement.conflicts]
    result.warnings[:0] = [f"docs-site: {line}" for line in placement.shared_indexes]
    version = builder_version(yfm)
    if site.is_dir():
        manifest = {
            "builder": f"@diplodoc/cli {version}",
            "docs": str(docs),
            "proto": str(proto),
            "seconds": round(result.seconds, 1),
            "errors": result.errors,
            "warnings": result.warnings,
            "pages": {page.target: page.source for page in pages},
        }
        (site / MANIFEST).write_text(
            json.dumps(manifest, indent=1) + "\n", encoding="utf-8"
        )
    for line in result.errors:
        report(f"ERR {line}")
    for line in result.warnings:
        report(f"WARN {line}")
    report(
        f"docs-site: @diplodoc/cli {version} built {site} in {result.seconds:.1f} s: "
        f"{len(result.errors)} errors, {len(result.warnings)} warnings"
        + (
            f" (the builder's exit code: {result.returncode})"
            if result.returncode
            else ""
        )
    )
    for label, lines in (("errors", result.errors), ("warnings", result.warnings)):
        if lines:
            report(f"docs-site: {label} by kind: {kinds(lines)}")
    if result.returncode and not result.errors:
        report(
            "docs-site: the builder failed without an ERR line; the end of its output:"
        )
        report(result.output[-4000:])
    return result


# --- serving ------------------------------------------------------------------------------------


class SiteHandler(http.server.SimpleHTTPRequestHandler):
    """Static files, with `/a/b` answered by `/a/b.html` as on the official site."""

    def translate_path(self, path: str) -> str:
        local = super().translate_path(path)
        if not os.path.exists(local) and os.path.exists(local + ".html"):
            return local + ".html"
        return local

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        if os.environ.get("DOCS_SITE_LOG"):
            super().log_message(format, *args)


def serve(site: Path, port: int, host: str = "127.0.0.1") -> None:
    handler = functools.partial(SiteHandler, directory=str(site))
    with http.server.ThreadingHTTPServer((host, port), handler) as server:
        print(
            f"serving {site} at http://{host}:{server.server_address[1]}/", flush=True
        )
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass


# --- the command --------------------------------------------------------------------------------


def main(arguments: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    making = commands.add_parser("build", help="stage the pages and build the site")
    making.add_argument(
        "--docs", type=Path, required=True, help="the pages (make docs' OUT)"
    )
    making.add_argument("--site", type=Path, required=True, help="where the site goes")
    making.add_argument(
        "--proto", type=Path, required=True, help="the API the pages are of"
    )
    making.add_argument(
        "--config", default="", help="the docs configuration of the run"
    )
    making.add_argument(
        "--stage", type=Path, help="the builder's input (default: SITE.src)"
    )
    making.add_argument(
        "--yfm", type=Path, default=DEFAULT_YFM, help="the builder's command"
    )
    making.add_argument("--jobs", type=int, default=0, help="the builder's threads")
    making.add_argument("--title", default=SITE_TITLE, help="the site's title")
    making.add_argument(
        "--check-links",
        action="store_true",
        help="then check the site's links (tools/site_links.py); a dangling one is an error",
    )
    serving = commands.add_parser("serve", help="serve a built site on 127.0.0.1")
    serving.add_argument("--site", type=Path, required=True)
    serving.add_argument("--port", type=int, default=8000)
    checking = commands.add_parser("check", help="check every link of a built site")
    checking.add_argument("--site", type=Path, required=True)
    parsed = parser.parse_args(arguments)
    if parsed.command == "build":
        result = build(
            parsed.docs,
            parsed.site,
            parsed.proto,
            parsed.config,
            parsed.stage,
            parsed.yfm,
            parsed.jobs,
            parsed.title,
        )
        links_ok = True
        if parsed.check_links and parsed.site.is_dir():
            links_ok = check(parsed.site)
        return 0 if result.ok and links_ok else 1
    if parsed.command == "serve":
        serve(parsed.site, parsed.port)
        return 0
    return 0 if check(parsed.site) else 1


def check(site: Path) -> bool:
    """Prints the link check of a built site; false if a link is dangling."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from site_links import check_site

    links = check_site(site)
    print(f"docs-site: links: {links.summary()}")
    for kind, lines in links.unresolved.items():
        if lines:
            print(
                f"docs-site: {len(lines)} links resolve as on the official site, no better: {kind}"
            )
    for line in links.problems():
        print(f"ERR {line}")
    return links.ok


if __name__ == "__main__":
    sys.exit(main())
