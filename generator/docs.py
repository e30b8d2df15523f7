"""The docs view: one reference page per rpc, in the format of the official Yandex Cloud pages.

This module decides what a page holds (sections, their order and anchors, JSON skeletons, type
cells, row descriptions, links); `templates/docs_page.md.j2` lays it out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from typing import Iterator, Union

from generator.docs_config import DocsConfig
from generator.errors import SchemaError
from generator.model import (
    OPERATION,
    Api,
    Field,
    Kind,
    Message,
    Method,
    OperationTypes,
    Service,
    StandardMethod,
    TypeRef,
    resolve_name,
)

_PROTOBUF_DOCS = "https://developers.google.com/protocol-buffers/docs/reference"
WELL_KNOWN_LINKS = {
    "google.protobuf.Timestamp": f"{_PROTOBUF_DOCS}/google.protobuf#timestamp",
    "google.protobuf.FieldMask": f"{_PROTOBUF_DOCS}/csharp/class/google/protobuf/well-known-types/field-mask",
    "google.protobuf.Duration": f"{_PROTOBUF_DOCS}/csharp/class/google/protobuf/well-known-types/duration",
    "google.protobuf.Any": "https://developers.google.com/protocol-buffers/docs/proto3#any",
    "google.protobuf.Empty": f"{_PROTOBUF_DOCS}/google.protobuf#google.protobuf.Empty",
    "google.rpc.Status": "https://cloud.google.com/tasks/docs/reference/rpc/google.rpc#status",
}
_OPERATION_TITLE = "operation.Operation"
# `[text]` not already followed by `(`: a reference to resolve.
_REFERENCE = re.compile(r"\[([^\[\]]+)\](?!\()")


def well_known_link(full_name: str) -> str | None:
    """Where a `google.*` type's documentation lives; other protobuf types follow the Timestamp scheme."""
    if full_name in WELL_KNOWN_LINKS:
        return WELL_KNOWN_LINKS[full_name]
    if full_name.startswith("google.protobuf."):
        return f"{_PROTOBUF_DOCS}/google.protobuf#{full_name.rsplit('.', 1)[1].lower()}"
    return None


# --- the view ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class JsonComment:
    text: str
    kind: str = "comment"


@dataclass(frozen=True)
class JsonMember:
    key: str
    value: "JsonValue"
    comma: bool
    kind: str = "member"


@dataclass(frozen=True)
class JsonObject:
    members: tuple[Union[JsonMember, JsonComment], ...]
    kind: str = "object"


@dataclass(frozen=True)
class JsonArray:
    element: "JsonValue"
    kind: str = "array"


JsonValue = Union[str, JsonObject, JsonArray]


@dataclass(frozen=True)
class Row:
    name: str
    type_cell: str
    description: str


@dataclass(frozen=True)
class Section:
    title: str
    anchor: str
    json: JsonObject | None
    comment: str
    rows: tuple[Row, ...]


@dataclass(frozen=True)
class Page:
    path: str
    title: str
    description: str
    signature: str
    sections: tuple[Section, ...]


@dataclass(frozen=True)
class SectionPlan:
    """One message section of a page: which message, in which tree, under which anchor."""

    message: str
    tree: int
    anchor: str
    json: bool
    operation: (
        OperationTypes | None
    )  # the rpc's operation types, on its operation.Operation section


@dataclass(frozen=True)
class PagePlan:
    service: Service
    method: Method
    sections: tuple[SectionPlan, ...]

    @cached_property
    def messages(self) -> frozenset[str]:
        return frozenset(section.message for section in self.sections)

    def anchor(self, message: str, tree: int) -> str:
        """The anchor rows of `tree` link to: tree 2 uses the suffixed anchor for tree-1 messages."""
        if tree == 2 and any(
            s.message == message and s.tree == 1 for s in self.sections
        ):
            return message + "2"
        return message


def lower_first(name: str) -> str:
    return name[:1].lower() + name[1:]


# --- building pages ------------------------------------------------------------------------------


class DocsBuilder:
    def __init__(self, api: Api, config: DocsConfig, constraints: bool = False) -> None:
        self.api = api
        self.config = config
        self.constraints = constraints  # append constraint sentences, as newer pages do

    def pages(self) -> Iterator[Page]:
        written: dict[str, str] = {}  # page path -> the rpc it documents
        for proto_file in self.api.generated_files:
            for service in proto_file.services:
                for method in service.methods:
                    page = self.page(service, method)
                    if page.path in written:  # e.g. services `Foo` and `FooService`
                        raise SchemaError(
                            proto_file.name,
                            method.full_name,
                            f"its docs page {page.path} is that of "
                            f"{written[page.path]} too",
                        )
                    written[page.path] = method.full_name
                    yield page

    # --- what a page holds ----------------------------------------------------------------------

    def plan(self, service: Service, method: Method) -> PagePlan:
        tree1 = self._walk([method.input])
        if method.output == OPERATION:
            roots = [OPERATION]
            if method.operation:
                roots += [method.operation.metadata, method.operation.response]
            tree2 = self._walk(roots)
        else:
            tree2 = self._walk([method.output])
        sections = [
            SectionPlan(name, 1, name, index == 0, None)
            for index, name in enumerate(tree1)
        ]
        in_tree1 = set(tree1)
        for index, name in enumerate(tree2):
            anchor = name + "2" if name in in_tree1 else name
            operation = method.operation if index == 0 and name == OPERATION else None
            sections.append(SectionPlan(name, 2, anchor, index == 0, operation))
        return PagePlan(service, method, tuple(sections))

    def _walk(self, roots: list[str]) -> list[str]:
        """Depth-first, pre-order: a message, then the messages its fields refer to."""
        emitted: list[str] = []
        seen: set[str] = set()

        def visit(name: str) -> None:
            if (
                name in seen
                or name.startswith("google.")
                or name not in self.api.messages
            ):
                return
            seen.add(name)
            emitted.append(name)
            for item in self.api.message(name).fields:
                if item.message_type:
                    visit(item.message_type)

        for root in roots:
            visit(root)
        return emitted

    @cached_property
    def _page_of_message(self) -> dict[str, PagePlan]:
        """For links from other pages: a resource's Get page, else the first page rendering it."""
        pages: dict[str, PagePlan] = {}
        for service in self.api.services:
            get = service.standard_method(StandardMethod.GET)
            if service.resource and get:
                pages.setdefault(service.resource.message, self.plan(service, get))
        for service in self.api.services:
            for method in service.methods:
                plan = self.plan(service, method)
                for name in plan.messages:
                    pages.setdefault(name, plan)
        return pages

    def page_url(self, service: Service, method_name: str) -> str:
        link_base = self.config.package(service.package).link_base
        return f"{link_base}/{service.short_name}/{lower_first(method_name)}"

    # --- rendering one page ---------------------------------------------------------------------

    def page(self, service: Service, method: Method) -> Page:
        plan = self.plan(service, method)
        settings = self.config.package(service.package)
        links = _Links(self, plan)
        output_section = next((s for s in plan.sections if s.tree == 2), None)
        output_name = (
            _OPERATION_TITLE
            if method.output == OPERATION
            else method.output.rsplit(".", 1)[-1]
        )
        output_anchor = output_section.anchor if output_section else method.output
        input_name = method.input.rsplit(".", 1)[-1]
        signature = f"rpc {method.name} ([{input_name}](#{method.input})) returns ([{output_name}](#{output_anchor}))"
        return Page(
            path=f"{settings.source_path}/{service.short_name}/{lower_first(method.name)}.md",
            title=f"{settings.title}, gRPC: {service.name}.{method.name}",
            description=links.rewrite(method.comment, None),
            signature=signature,
            sections=tuple(
                self._section(plan, section, links) for section in plan.sections
            ),
        )

    def _section(
        self, plan: PagePlan, section: SectionPlan, links: "_Links"
    ) -> Section:
        message = self.api.message(section.message)
        # The Operation an rpc returns is titled as in the signature; one only used as a field type is not.
        title = (
            _OPERATION_TITLE
            if section.message == OPERATION and section.json and section.tree == 2
            else message.name
        )
        return Section(
            title=title,
            anchor=section.anchor,
            json=(
                self._skeleton(section.message, section.operation, ())
                if section.json
                else None
            ),
            comment=links.rewrite(message.comment, message),
            rows=tuple(
                self._row(plan, section, message, item, links)
                for item in message.fields
            ),
        )

    def _row(
        self,
        plan: PagePlan,
        section: SectionPlan,
        message: Message,
        item: Field,
        links: "_Links",
    ) -> Row:
        override = _operation_override(section.operation, item)
        type_cell = (
            self._message_cell(override, plan, section.tree)
            if override
            else self._type_cell(item, plan, section.tree)
        )
        parts = []
        comment = links.rewrite(item.comment, message)
        if item.rules.required:
            comment = "Required field. " + comment
        if comment:
            parts.append(comment)
        if item.oneof:
            oneof = message.oneof(item.oneof)
            parts.append(f"Includes only one of the fields {_code_list(oneof.fields)}.")
            if oneof.comment:
                parts.append(links.rewrite(oneof.comment, message))
        if item.type.kind is Kind.ENUM:
            parts.append(self._enum_values(item.type.name, message, links))
        if self.constraints:
            sentences = [
                c.sentence for c in item.rules.constraints if c.kind != "required"
            ]
            if sentences:
                parts.append(
                    " ".join(sentences).replace("|", "\\|")
                )  # `|` would end the table cell
        return Row(
            item.name + ("[]" if item.repeated else ""), type_cell, "\n\n".join(parts)
        )

    def _enum_values(self, enum_name: str, message: Message, links: "_Links") -> str:
        enum = self.api.enums.get(enum_name)
        if enum is None:
            return ""
        lines = []
        for value in enum.values:
            comment = links.rewrite(value.comment, message)
            if not comment:
                lines.append(f"- `{value.name}`")
                continue
            first, *rest = comment.split("\n")
            indented = [f"  {line}" if line else "" for line in rest]
            lines.append("\n".join([f"- `{value.name}`: {first}", *indented]))
        return "\n".join(lines)

    def _type_cell(self, item: Field, plan: PagePlan, tree: int) -> str:
        if item.is_map:
            assert item.map_key and item.map_value
            key = self._ref_cell(item.map_key, plan, tree)
            return (
                f"**object** (map<{key}, {self._ref_cell(item.map_value, plan, tree)}>)"
            )
        return self._ref_cell(item.type, plan, tree)

    def _ref_cell(self, ref: TypeRef, plan: PagePlan, tree: int) -> str:
        if ref.kind is Kind.SCALAR:
            return f"**{ref.scalar}**"
        if ref.kind is Kind.ENUM:
            return f"enum **{ref.name.rsplit('.', 1)[-1]}**"
        return self._message_cell(ref.name, plan, tree)

    def _message_cell(self, name: str, plan: PagePlan, tree: int) -> str:
        if name.startswith("google."):
            link = well_known_link(name)
            return f"**[{name}]({link})**" if link else f"**{name}**"
        return f"**[{name.rsplit('.', 1)[-1]}](#{plan.anchor(name, tree)})**"

    # --- JSON skeletons -------------------------------------------------------------------------

    def _skeleton(
        self, name: str, operation: OperationTypes | None, ancestors: tuple[str, ...]
    ) -> JsonObject:
        fields = self.api.message(name).fields
        members: list[Union[JsonMember, JsonComment]] = []
        for index, item in enumerate(fields):
            if item.oneof and (index == 0 or fields[index - 1].oneof != item.oneof):
                oneof = self.api.message(name).oneof(item.oneof)
                members.append(
                    JsonComment(
                        f"Includes only one of the fields {_code_list(oneof.fields)}"
                    )
                )
            override = _operation_override(operation, item)
            if override:
                value: JsonValue = self._json_message(override, ancestors + (name,))
            else:
                value = self._json_value(item, ancestors + (name,))
            members.append(JsonMember(item.name, value, comma=index < len(fields) - 1))
            if item.oneof and (
                index == len(fields) - 1 or fields[index + 1].oneof != item.oneof
            ):
                members.append(JsonComment("end of the list of possible fields"))
        return JsonObject(tuple(members))

    def _json_value(self, item: Field, ancestors: tuple[str, ...]) -> JsonValue:
        if item.is_map:
            assert item.map_key and item.map_value
            return f"map<{_json_type_name(item.map_key)}, {_json_type_name(item.map_value)}>"
        if item.type.kind is Kind.MESSAGE:
            element: JsonValue = self._json_message(item.type.name, ancestors)
        else:
            element = _json_type_name(item.type)
        return JsonArray(element) if item.repeated else element

    def _json_message(self, name: str, ancestors: tuple[str, ...]) -> JsonValue:
        # google.* types are named, not expanded; a message inside itself would never end.
        if (
            name.startswith("google.")
            or name in ancestors
            or name not in self.api.messages
        ):
            return name
        return self._skeleton(name, None, ancestors)


def _operation_override(operation: OperationTypes | None, item: Field) -> str | None:
    """On the operation.Operation section, `metadata` and `response` stand for the rpc's types."""
    if operation is None or item.type.name != "google.protobuf.Any":
        return None
    return {"metadata": operation.metadata, "response": operation.response}.get(
        item.name
    )


def _json_type_name(ref: TypeRef) -> str:
    if ref.kind is Kind.SCALAR:
        return ref.scalar
    return ref.name if ref.is_google else ref.name.rsplit(".", 1)[-1]


def _code_list(names: tuple[str, ...]) -> str:
    return ", ".join(f"`{name}`" for name in names)


# --- references in comments ----------------------------------------------------------------------


class _Links:
    """Rewrites `[...]` references in the comments of one page."""

    def __init__(self, builder: DocsBuilder, plan: PagePlan) -> None:
        self.builder = builder
        self.api = builder.api
        self.plan = plan

    def rewrite(self, text: str, message: Message | None) -> str:
        return _REFERENCE.sub(
            lambda match: self._resolve(match.group(1), message) or match.group(0), text
        )

    def _resolve(self, text: str, message: Message | None) -> str | None:
        url = self._method_url(text) or self._type_url(text, message)
        if url:
            return f"[{text}]({url})"
        if message and message.field(text):
            return f"`{text}`"
        return None

    def _method_url(self, text: str) -> str | None:
        service = self.plan.service
        if service.method(text):
            return f"{self.builder.page_url(service, text)}#{text}"
        if "." not in text:
            return None
        service_name, method_name = text.rsplit(".", 1)
        services = {s.full_name: s for s in self.api.services}
        target_name = resolve_name(
            service_name, service.package, lambda candidate: candidate in services
        )
        if target_name is not None:
            target = services[target_name]
            return (
                f"{self.builder.page_url(target, method_name)}#{method_name}"
                if target.method(method_name)
                else None
            )
        # A service the request does not contain: link by the URL scheme if its package is configured.
        package, _, short = service_name.rpartition(".")
        if (
            package
            and self.builder.config.is_configured(package)
            and short.endswith("Service")
            and method_name[:1].isupper()
        ):
            link_base = self.builder.config.package(package).link_base
            return f"{link_base}/{short[: -len('Service')]}/{lower_first(method_name)}#{method_name}"
        return None

    def _type_url(self, text: str, message: Message | None) -> str | None:
        scope = message.full_name if message else self.plan.service.full_name
        target = self.api.resolve(text, scope)
        if target is not None and target in self.api.messages:
            host, anchor = target, target
        elif target is not None and target in self.api.enums:
            host, anchor = target.rsplit(".", 1)[0], target
        elif "." in text:
            prefix, field_name = text.rsplit(".", 1)
            owner = self.api.resolve(prefix, scope)
            if (
                owner is None
                or owner not in self.api.messages
                or not self.api.message(owner).field(field_name)
            ):
                return None
            host = anchor = owner
        else:
            return None
        if host in self.plan.messages:
            return f"#{anchor}"
        page = self.builder._page_of_message.get(host)
        if page is None:
            return None
        return f"{self.builder.page_url(page.service, page.method.name)}#{anchor}"
