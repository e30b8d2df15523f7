"""The index page of a service on either face of the reference: its comment and a table of
its rpcs, each linked to its page with the first line of its comment (`<Svc>/index.md`,
docs-format-rest.md §12). `templates/docs_index.md.j2` lays it out.
"""

from __future__ import annotations

from dataclasses import dataclass

from generator.docs_config import PackageDocs
from generator.docs_links import lower_first
from typing import Sequence

from generator.model import Method, Service

TEMPLATE = "docs_index.md.j2"


@dataclass(frozen=True)
class IndexRow:
    name: str  # the rpc
    file: str  # its page, relative to the index: `get.md`
    description: str  # the first line of its comment, "" for none


@dataclass(frozen=True)
class IndexPage:
    path: str
    source_path: bool  # whether the front matter names `path`
    title: str
    description: str  # the service's comment
    rows: tuple[IndexRow, ...]


def index_page(
    service: Service,
    settings: PackageDocs,
    source_path: bool,
    face: str = "grpc",
    methods: Sequence[Method] | None = None,
) -> IndexPage:
    """The index of `service` on `face` (`grpc`, `rest`), whose package's pages are placed by
    `settings`: `methods` (by default every rpc), in declaration order."""
    if face == "grpc":
        folder, title = settings.source_path, f"gRPC: {service.name}"
    else:
        folder, title = settings.rest_source_path, f"REST: {service.short_name}"
    return IndexPage(
        path=f"{folder}/{service.short_name}/index.md",
        source_path=source_path,
        title=f"{settings.title}, {title}",
        description=service.comment.rstrip(),
        rows=tuple(
            IndexRow(
                method.name,
                f"{lower_first(method.name)}.md",
                first_line(method.comment),
            )
            for method in (service.methods if methods is None else methods)
        ),
    )


def first_line(comment: str) -> str:
    """The first line of a comment, not its first sentence or paragraph (§12.4)."""
    return comment.strip().split("\n", 1)[0].rstrip()
