"""The reference of a run: the faces that option `docs_api` picks (gRPC, REST or both), each
with its method pages and a service index page, and the paths they are written to.

A face is one builder of method pages (`docs.DocsBuilder` for gRPC, `docs_rest.RestBuilder`
for REST) and index pages (`docs_index`); this module says which pages a run writes, checks
that no two share a path, and renders each.
"""

from __future__ import annotations

from typing import Iterator

from generator.docs import DocsBuilder
from generator.docs_config import DocsConfig
from generator.docs_formats import DocsFormat
from generator.docs_index import TEMPLATE as INDEX_TEMPLATE
from generator.docs_index import index_page
from generator.docs_rest import TEMPLATE as REST_TEMPLATE
from generator.docs_rest import RestBuilder
from generator.errors import SchemaError
from generator.memos import Memos
from generator.model import Api, Method, Service
from generator.render import render

TEMPLATES = (*DocsBuilder.TEMPLATES, REST_TEMPLATE)


class Reference:
    """Every page of the run's services on the faces asked for."""

    def __init__(
        self, api: Api, config: DocsConfig, docs_format: DocsFormat, faces: str
    ) -> None:
        self.api = api
        self.faces = faces.split("+")
        # What pages share, kept within bounds (see `Memos`).
        self.memos = Memos()
        self._package: str | None = None
        self.grpc = DocsBuilder(api, config, docs_format, self.memos)
        self.rest = RestBuilder(
            api,
            docs_format,
            self.grpc.package_docs,
            lambda package: package not in self.grpc.settings
            and config.is_configured(package),
            self.grpc.services,
            lambda: self.grpc.cyclic,
            self.grpc.references.names,
            self.memos,
        )

    def work_out_shared_facts(self) -> None:
        """Works out now what the pages of every service need: the messages on a cycle, and
        the way back from each message to the rpcs whose pages render it (for the links to
        other pages). The processes forked to render pages then share them, where each would
        work them out again."""
        self.grpc.cyclic
        self.api.referrers

    @property
    def format(self) -> DocsFormat:
        return self.grpc.format

    def documented_services(self) -> list[Service]:
        """The services whose rpcs get pages, in the order of the files to generate, once no
        two pages share a path (services `Foo` and `FooService`, an rpc `Index` beside its
        service's index, two packages configured into one folder with a service each of one
        name): that is an error naming both."""
        written: dict[str, str] = {}  # page path -> what it documents
        services = []
        for proto_file in self.api.generated_files:
            for service in proto_file.services:
                for path, element, what in self._paths(service):
                    if path in written:
                        raise SchemaError(
                            proto_file.name,
                            element,
                            f"its docs {what} {path} is that of {written[path]} too",
                        )
                    written[path] = (
                        f"the index of {element}" if what == "index" else element
                    )
                services.append(service)
        return services

    def _paths(self, service: Service) -> Iterator[tuple[str, str, str]]:
        settings = self.grpc.package_docs(service.package)
        if "grpc" in self.faces:
            yield f"{settings.source_path}/{service.short_name}/index.md", service.full_name, "index"
            for method in service.methods:
                yield self.grpc.page_path(service, method), method.full_name, "page"
        if "rest" in self.faces and self.rest_methods(service):
            yield f"{settings.rest_source_path}/{service.short_name}/index.md", service.full_name, "index"
            for method in self.rest_methods(service):
                yield self.rest.page_path(service, method), method.full_name, "page"

    @staticmethod
    def rest_methods(service: Service) -> list[Method]:
        """The rpcs with a REST page: those with a `google.api.http` rule (§12.3)."""
        return [method for method in service.methods if method.http is not None]

    # --- the pages of one service, each a (path, text) -----------------------------------------

    def grpc_page(self, service: Service, method: Method) -> list[tuple[str, str]]:
        self._in_package(service.package)
        page = self.grpc.page(service, method)
        return [(page.path, self.grpc.render(page))]

    def rest_page(self, service: Service, method: Method) -> list[tuple[str, str]]:
        self._in_package(service.package)
        page = self.rest.page(service, method)
        return [(page.path, self.rest.render(page))]

    def index(self, service: Service, face: str) -> list[tuple[str, str]]:
        self._in_package(service.package)
        settings = self.grpc.package_docs(service.package)
        methods = service.methods if face == "grpc" else self.rest_methods(service)
        page = index_page(service, settings, self.format.source_path, face, methods)
        return [(page.path, render(INDEX_TEMPLATE, page=page))]

    def _in_package(self, package: str) -> None:
        """Keeps the memos within bounds between one package's pages and the next's (see
        `Memos`)."""
        if package != self._package:
            self.memos.trim()
            self._package = package
