"""Checks every link of a site that @diplodoc/cli built (tools/docs_site.py) against the files
and element ids of the same site.

A built page is an HTML shell whose content is in its `diplodoc-state` JSON (`data.html`, the
body the browser renders, HTML-escaped once more): the check reads the links and ids there,
and the links of the table of contents (`toc.js`). Pages link by paths from the site's root:
`docs/a/b.html#x` (the builder's own links, under the page's `<base href>` of the root) and
`/docs/a/b#x` (the official site's extensionless URLs the generated pages write; the site is
served at the root, as `tools/docs_site.py serve` does). A path is resolved to the file, the
file plus `.html`, or its `index.html`.

Each link falls into one of:
- external: a URL with a scheme (`https:`, `mailto:`);
- ok: the file exists and, if the link names an anchor, an element of that page has that id;
- outside: an absolute path below none of the site's folders (another product's pages of
  the official site, such as `/docs/api-design-guide/...` or, in a build of part of an API,
  `/docs/resource-manager/...`): the site does not claim to hold them.

Links that do not resolve, but in one of the ways the official pages do (the generator follows
their format), each recognised by what the built page shows rather than by a list:
- title anchor: the page exists and the anchor is the rpc its title names (`#List` on
  `.../Folder/list`, what `[FolderService.List]` links name). The title is the page's `<h1>`,
  which the builder gives no id: the browser shows the top of the page, where the title is;
- enum anchor: the page exists and the anchor is the full name of an enum (`[Message.Enum]`
  links, docs-format.md) that the page lists as a field's type (`enum <strong>Level</strong>`,
  or `<strong>enum</strong> (Level)` on REST pages), its values in that row. Enums have no
  section, so no element has the id: the browser shows the top of the page;
- signature anchor: the rpc's signature names a `google.*` output by its full name as an
  anchor of its own page (`[Empty](#google.protobuf.Empty)`, docs-format.md §2), a section no
  page has;
- comment link: a relative link that the builder did not write (its links end in `.html`)
  and that names no file: text of a proto comment that Markdown reads as a link, such as
  `[variables](docs/compute/concepts/...)` written without its leading `/`, or a pattern
  `|[a-z]([-_a-z0-9]{0,61}[a-z0-9])?` whose `|` ends the table cell and so its inline code,
  leaving `[a-z](...)`.
- dangling: anything else that points into the site (a missing page below one of its
  folders, a missing anchor). `LinkCheck.ok` is false if there is any.
"""

from __future__ import annotations

import html
import json
import re
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

_STATE = re.compile(
    r'<script type="application/json" id="diplodoc-state">(.*?)</script>', re.DOTALL
)
_HREF = re.compile(r'<a\s[^>]*?href="([^"]*)"')
_ID = re.compile(r'\sid="([^"]*)"')
_TOC = re.compile(r"^window\.__DATA__\.data\.toc = (.*);\s*$", re.DOTALL)
_SIGNATURE = re.compile(r"<p><strong>rpc .*?</strong></p>", re.DOTALL)
MANIFEST = "docs-site.json"
UNRESOLVED = ("title anchor", "enum anchor", "signature anchor", "comment link")


@dataclass
class BuiltPage:
    path: str  # below the site's root
    title: str
    body: str  # the rendered HTML of its content
    ids: set[str]


def read_page(site: Path, file: Path) -> BuiltPage | None:
    """The content of a page the builder wrote, or None for an HTML file without it."""
    text = file.read_text(encoding="utf-8")
    state = _STATE.search(text)
    if state is None:
        return None
    data = json.loads(state.group(1))["data"]
    body = html.unescape(data.get("html", ""))
    return BuiltPage(
        file.relative_to(site).as_posix(),
        data.get("title", ""),
        body,
        set(_ID.findall(body)),
    )


def site_pages(site: Path) -> dict[str, BuiltPage]:
    pages = {}
    for file in sorted(site.rglob("*.html")):
        if file.relative_to(site).parts[0].startswith("_"):
            continue  # the builder's bundles
        page = read_page(site, file)
        if page is not None:
            pages[page.path] = page
    return pages


def toc_links(site: Path) -> list[str]:
    toc = site / "toc.js"
    if not toc.exists():
        return []
    match = _TOC.match(toc.read_text(encoding="utf-8"))
    if match is None:
        raise ValueError(f"{toc}: not the table of contents the builder writes")
    links: list[str] = []

    def walk(item: dict[str, Any]) -> None:
        if item.get("href"):
            links.append(item["href"])
        for child in item.get("items", ()):
            walk(child)

    walk(json.loads(match.group(1)))
    return links


@dataclass
class LinkCheck:
    pages: int = 0
    counts: Counter[str] = field(default_factory=Counter)  # by kind
    dangling: list[str] = field(default_factory=list)
    # The links that resolve as the official pages' do not, by kind (see the module's doc).
    unresolved: dict[str, list[str]] = field(
        default_factory=lambda: {kind: [] for kind in UNRESOLVED}
    )
    outside: Counter[str] = field(default_factory=Counter)  # by target

    @property
    def ok(self) -> bool:
        return self.pages > 0 and not self.dangling

    def summary(self) -> str:
        kinds = ", ".join(
            f"{self.counts[kind]} {kind}"
            for kind in ("ok", "outside", "external", *UNRESOLVED, "dangling")
        )
        return f"{self.pages} pages, {sum(self.counts.values())} links: {kinds}"

    def problems(self) -> list[str]:
        return [f"dangling: {line}" for line in self.dangling]


def _target(site: Path, path: str) -> str | None:
    """The file below `site` that a root-relative path names, if any."""
    path = path.strip("/")
    candidates = (
        [f"{path}/index.html"]
        if path == ""
        else [
            path,
            f"{path}.html",
            f"{path}/index.html",
        ]
    )
    for candidate in candidates:
        if (site / candidate).is_file():
            return candidate
    return None


def check_site(site: Path) -> LinkCheck:
    pages = site_pages(site)
    manifest = site / MANIFEST
    folders: list[str] = []
    if manifest.exists():
        placed = json.loads(manifest.read_text(encoding="utf-8")).get("pages", {})
        # The folders of the site's sections: a page's path less its service and file.
        folders = sorted({target.rsplit("/", 2)[0] for target in placed})
    result = LinkCheck(pages=len(pages))
    sources = [
        (path, href)
        for path, page in pages.items()
        for href in _HREF.findall(page.body)
    ]
    sources += [("toc.js", href) for href in toc_links(site)]
    for source, href in sources:
        kind = _classify(site, pages, folders, source, href, result)
        result.counts[kind] += 1
    return result


def _classify(
    site: Path,
    pages: dict[str, BuiltPage],
    folders: list[str],
    source: str,
    href: str,
    result: LinkCheck,
) -> str:
    parts = urlsplit(href)
    if parts.scheme or href.startswith("//"):
        return "external"
    path, anchor = unquote(parts.path), unquote(parts.fragment)
    if not path:
        # `#x` alone: under the page's `<base href>` of the root it would leave the page.
        result.dangling.append(
            f"{source}: {href}: a bare anchor (the builder rewrites these)"
        )
        return "dangling"
    target = _target(site, path)
    if target is None:
        inside = any(
            path.strip("/") == folder or path.strip("/").startswith(folder + "/")
            for folder in folders
        )
        if not inside:
            result.outside[path] += 1
            return "outside"
        if not href.startswith("/") and ".html" not in href:
            result.unresolved["comment link"].append(f"{source}: {href}")
            return "comment link"
        result.dangling.append(f"{source}: {href}: no such page")
        return "dangling"
    if not anchor:
        return "ok"
    page = pages.get(target)
    if page is None:
        result.dangling.append(f"{source}: {href}: {target} is not a built page")
        return "dangling"
    if anchor in page.ids:
        return "ok"
    # `BareMetal API, gRPC: ImageService.List` (or `..., REST: Image.List`) -> `List`.
    if page.title.rpartition(".")[2] == anchor and ": " in page.title:
        result.unresolved["title anchor"].append(f"{source}: {href}")
        return "title anchor"
    name = re.escape(anchor.rpartition(".")[2])
    if re.search(
        rf"enum <strong>{name}</strong>|<strong>enum</strong> \({name}\)", page.body
    ):
        result.unresolved["enum anchor"].append(f"{source}: {href}")
        return "enum anchor"
    if target == source and anchor.startswith("google."):
        signature = _SIGNATURE.search(page.body)
        if signature and f'href="{href}"' in signature.group(0):
            result.unresolved["signature anchor"].append(f"{source}: {href}")
            return "signature anchor"
    result.dangling.append(
        f"{source}: {href}: no element with id {anchor!r} on {target}"
    )
    return "dangling"


if __name__ == "__main__":
    check = check_site(Path(sys.argv[1]))
    print(check.summary())
    for line in check.problems():
        print(line)
    sys.exit(0 if check.ok else 1)
