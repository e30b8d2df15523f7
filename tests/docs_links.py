"""Checks the links of a run's docs pages against the pages and anchors the same run wrote.

A link is checked when it points into the run: `#anchor` on its own page, a method page beside
an index page (`get.md`), or `<link base>/<Service>/<rpc>#anchor` of a package of the run, on
either face. Other URLs (written by hand in comments, or well-known types') are counted as
external. A page's anchors are its sections' `{#...}` ids, its rpc's name (what
`[Service.Method]` links name), and the full names of the enums its sections' messages declare
or whose values its rows list (what `[Message.Enum]` links name). A link from a page of one
face to a page of the other is dangling too: each face links within itself.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Mapping

from generator.docs_links import LinkTargets
from generator.model import Api, Kind, Method, StandardMethod

_LINK = re.compile(r"\[([^\[\]]*)\]\(([^()\s]*)\)")
_HEADING = re.compile(r"^## .* \{#([^}]+)\}$", re.MULTILINE)
_TITLE = re.compile(r"^# .*, (?:gRPC|REST): [\w.]+\.(\w+)$", re.MULTILINE)
_SIGNATURE = re.compile(r"^\*\*rpc .*\*\*$", re.MULTILINE)


@dataclass
class LinkReport:
    pages: int = 0
    same_page: int = 0  # `#anchor` links checked
    cross_page: int = 0  # links to another page of the run checked
    external: int = 0
    dangling: list[str] = field(default_factory=list)

    @property
    def checked(self) -> int:
        return self.same_page + self.cross_page

    def summary(self) -> str:
        return (
            f"{self.pages} pages, {self.checked} links checked ({self.same_page} on the "
            f"same page, {self.cross_page} to other pages), {self.external} external, "
            f"{len(self.dangling)} dangling"
        )


def page_anchors(
    content: str, api: Api, nested_enums: Mapping[str, list[str]]
) -> set[str]:
    anchors = set(_HEADING.findall(content))
    title = _TITLE.search(content)
    if title:
        anchors.add(title.group(1))
    for anchor in list(anchors):
        message = api.messages.get(anchor) or (
            api.messages.get(anchor[:-1]) if anchor.endswith("2") else None
        )
        if message is not None:
            anchors.update(
                item.type.name for item in message.fields if item.type.kind is Kind.ENUM
            )
            anchors.update(nested_enums.get(message.full_name, ()))
    return anchors


@dataclass(frozen=True)
class Folders:
    """Where the pages a link base names are written, on each face: packages may share a
    link base and write their pages to folders of their own."""

    by_link_base: Mapping[str, tuple[str, ...]]
    rest_link_bases: frozenset[str]
    rest_folders: tuple[str, ...]

    def face_of_page(self, path: str) -> str:
        return "rest" if path.startswith(self.rest_folders) else "grpc"


def folders_of(settings: Mapping[str, object]) -> Folders:
    """The folders of a run's package settings (docs_config.PackageDocs by package)."""
    by_link_base: dict[str, list[str]] = {}
    rest_bases, rest_folders = set(), set()
    for docs in settings.values():
        by_link_base.setdefault(docs.link_base, []).append(docs.source_path)  # type: ignore[attr-defined]
        by_link_base.setdefault(docs.rest_link_base, []).append(docs.rest_source_path)  # type: ignore[attr-defined]
        rest_bases.add(docs.rest_link_base)  # type: ignore[attr-defined]
        rest_folders.add(docs.rest_source_path + "/")  # type: ignore[attr-defined]
    return Folders(
        {base: tuple(paths) for base, paths in by_link_base.items()},
        frozenset(rest_bases),
        tuple(sorted(rest_folders)),
    )


def check_links(pages: Mapping[str, str], api: Api, folders: Folders) -> LinkReport:
    nested_enums: dict[str, list[str]] = {}
    for enum in api.enums:
        nested_enums.setdefault(enum.rpartition(".")[0], []).append(enum)
    anchors = {
        path: page_anchors(content, api, nested_enums)
        for path, content in pages.items()
    }
    report = LinkReport(pages=len(pages))
    for path, content in pages.items():
        signature = _SIGNATURE.search(content)
        for match in _LINK.finditer(content):
            url = match.group(2)
            target_path, _, anchor = url.partition("#")
            if not target_path:
                # The signature names a `google.*` output by its full name: §2 of the format.
                in_signature = (
                    signature and signature.start() <= match.start() < signature.end()
                )
                if in_signature and anchor.startswith("google."):
                    continue
                report.same_page += 1
                if anchor not in anchors[path]:
                    report.dangling.append(f"{path}: {match.group(0)}: no such anchor")
                continue
            if "/" not in target_path and target_path.endswith(".md"):
                # An index page's link to a method page beside it (`get.md`).
                report.cross_page += 1
                target = f"{path.rpartition('/')[0]}/{target_path}"
                if target not in anchors:
                    report.dangling.append(
                        f"{path}: {match.group(0)}: no page {target}"
                    )
                continue
            base, _, page = target_path.rpartition("/")
            base, _, service = base.rpartition("/")
            if base not in folders.by_link_base or not service:
                report.external += 1
                continue
            report.cross_page += 1
            face = "rest" if base in folders.rest_link_bases else "grpc"
            candidates = [
                f"{folder}/{service}/{page}.md" for folder in folders.by_link_base[base]
            ]
            target = next((c for c in candidates if c in anchors), candidates[0])
            if face != folders.face_of_page(path):
                report.dangling.append(
                    f"{path}: {match.group(0)}: links the {face} face from the other"
                )
            elif target not in anchors:
                report.dangling.append(f"{path}: {match.group(0)}: no page {target}")
            elif anchor not in anchors[target]:
                report.dangling.append(
                    f"{path}: {match.group(0)}: no anchor {anchor!r} on {target}"
                )
    return report


def ranked_link_targets(references: LinkTargets) -> dict[str, Method]:
    """What `LinkTargets.page_of` answers, worked out the long way as its definition
    reads: every page of the face walked, each message and enum ranked by each page that
    renders it (its own package's pages first, among them its service's Get page for a
    resource), the first page of the best rank kept (services by package and name, rpcs in
    declaration order)."""
    api = references.api
    ranked: dict[str, tuple[int, Method]] = {}
    for service in sorted(
        references.services.values(), key=lambda s: (s.package, s.name)
    ):
        resource = service.resource.message if service.resource else ""
        for method in service.methods:
            if not references.has_page(method):
                continue
            is_get = method.standard is StandardMethod.GET
            for message in references.page_messages(method):
                names = [message] + [
                    item.type.name
                    for item in api.messages[message].fields
                    if item.type.kind is Kind.ENUM and item.type.name in api.enums
                ]
                for name in names:
                    package = (api.messages.get(name) or api.enums[name]).package
                    rank = (0 if package == service.package else 2) + (
                        0 if is_get and name == resource else 1
                    )
                    if name not in ranked or rank < ranked[name][0]:
                        ranked[name] = (rank, method)
    return {name: method for name, (_, method) in ranked.items()}
