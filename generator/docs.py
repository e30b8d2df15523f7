"""The docs view: one reference page per rpc, in the format of the official Yandex Cloud pages.

This module decides what a page holds (sections, their order and anchors, JSON skeletons, type
cells, row descriptions, links) and which page a reference in a comment points to, for one run
over a whole request; `templates/docs_page.md.j2` and `templates/_docs_section.md.j2` lay it out.
What pages share (message walks, JSON skeletons, parsed references, whole sections) is worked
out once per run: the whole public API is 2,389 pages.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Callable, Iterable, Iterator, NamedTuple, Sequence, Union

from generator.docs_config import DocsConfig, PackageDocs
from generator.errors import SchemaError
from generator.model import (
    OPERATION,
    WELL_KNOWN_TYPES,
    Api,
    Enum,
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
from generator.render import macro
from generator.rules import Constraint
from generator.runtime.contract import CheckKind

_PROTOBUF_DOCS = "https://developers.google.com/protocol-buffers/docs/reference"
WELL_KNOWN_LINKS = {
    "google.protobuf.Timestamp": f"{_PROTOBUF_DOCS}/google.protobuf#timestamp",
    "google.protobuf.FieldMask": f"{_PROTOBUF_DOCS}/csharp/class/google/protobuf/well-known-types/field-mask",
    "google.protobuf.Duration": f"{_PROTOBUF_DOCS}/csharp/class/google/protobuf/well-known-types/duration",
    "google.protobuf.Any": "https://developers.google.com/protocol-buffers/docs/proto3#any",
    "google.protobuf.Empty": f"{_PROTOBUF_DOCS}/google.protobuf#google.protobuf.Empty",
    "google.rpc.Status": "https://cloud.google.com/tasks/docs/reference/rpc/google.rpc#status",
}
_PAGE_TEMPLATE, _SECTION_TEMPLATE = "docs_page.md.j2", "_docs_section.md.j2"
TEMPLATES = (_PAGE_TEMPLATE, _SECTION_TEMPLATE)
_OPERATION_TITLE = "operation.Operation"
_ENUM, _MESSAGE, _SCALAR = Kind.ENUM, Kind.MESSAGE, Kind.SCALAR
# `[text]` not already followed by `(`: a reference to resolve.
_REFERENCE = re.compile(r"\[([^\[\]]+)\](?!\()")


def well_known_link(full_name: str) -> str | None:
    """Where a `google.*` type's documentation lives; other protobuf types follow the Timestamp scheme."""
    if full_name in WELL_KNOWN_LINKS:
        return WELL_KNOWN_LINKS[full_name]
    if full_name.startswith("google.protobuf."):
        return f"{_PROTOBUF_DOCS}/google.protobuf#{full_name.rsplit('.', 1)[1].lower()}"
    return None


@dataclass(frozen=True)
class DocsFormat:
    """A generation of the official pages: docs-format.md §1-§9 (`classic`), §10 (`current`)."""

    name: str
    source_path: bool  # the front matter names the page's path
    constraints: bool  # constraint sentences close a row's description
    unspecified_values: bool  # enum value lists include `*_UNSPECIFIED`
    expand_operations: bool  # Operation metadata, response: the rpc's option types


DOCS_FORMATS = {
    "classic": DocsFormat(
        "classic",
        source_path=True,
        constraints=False,
        unspecified_values=True,
        expand_operations=True,
    ),
    "current": DocsFormat(
        "current",
        source_path=False,
        constraints=True,
        unspecified_values=False,
        expand_operations=False,
    ),
}


def docs_format(name: str, constraints: bool = False) -> DocsFormat:
    """The format `name`; `constraints` adds the constraint sentences to one without them."""
    chosen = DOCS_FORMATS[name]
    return replace(chosen, constraints=True) if constraints else chosen


# --- the view ------------------------------------------------------------------------------------


class Row(NamedTuple):  # a tuple: pages have 150,000 rows
    name: str
    type_cell: str
    description: str


@dataclass(frozen=True, eq=False)  # pages share Section objects: identity is enough
class Section:
    title: str
    anchor: str
    json: str  # the JSON skeleton, "" for none
    comment: str
    rows: tuple[Row, ...]


@dataclass(frozen=True)
class Page:
    path: str
    source_path: bool  # whether the front matter names `path`
    title: str
    description: str
    signature: str
    sections: tuple[Section, ...]


class SectionPlan(NamedTuple):  # a tuple: pages have 28,000 sections
    """One message section of a page: which message, in which tree, under which anchor."""

    message: str
    tree: int
    anchor: str
    json: bool
    # The rpc's operation types, on its operation.Operation section when the format expands them.
    operation: OperationTypes | None


@dataclass(frozen=True)
class PagePlan:
    service: Service
    method: Method
    url: str  # the page's address in links, without an anchor
    sections: tuple[SectionPlan, ...]
    messages: frozenset[str]  # the messages with a section
    tree1: frozenset[str]  # the messages of the request's tree
    enums: frozenset[str]  # the enums whose values a row lists


@dataclass(frozen=True)
class _TypeReference:
    """A `[...]` reference to a message, enum or field: where it points depends on the page."""

    text: str
    anchor: str  # the message's or enum's full name
    host: str  # the message whose section on a page keeps the link on it ("" for none)
    target: str  # whose page the link points to otherwise (see `_link_targets`)


# A comment with its references resolved as far as they can be without knowing the page.
_Segments = tuple[Union[str, _TypeReference], ...]


@dataclass(frozen=True)
class _SectionInputs:
    """What a message's section can take from the page it is on."""

    references: tuple[str, ...]  # its comments with `[...]`
    service: str  # the page's service, if a reference names one of its rpcs, else ""
    types: tuple[_TypeReference, ...]  # links on the page itself or to another one
    linked: tuple[str, ...]  # messages its rows link to: suffixed anchors in tree 2


def lower_first(name: str) -> str:
    return name[:1].lower() + name[1:]


def is_exact(constraint: Constraint) -> bool:
    """A bound of one number (`(length) = "20"`): the current pages print no sentence for it."""
    return constraint.bound is not None and constraint.bound.is_exact


# --- building pages ------------------------------------------------------------------------------


class DocsBuilder:
    """Pages of every rpc of the request's files to generate; references resolve against the
    whole request, as the official reference is built from the whole API."""

    def __init__(
        self,
        api: Api,
        config: DocsConfig,
        docs_format: DocsFormat = DOCS_FORMATS["classic"],
    ) -> None:
        self.api = api
        self.config = config
        self.format = docs_format
        self.services = {service.full_name: service for service in api.services}
        self.settings = config.for_run(s.package for s in self.services.values())
        self._walks: dict[str, tuple[str, ...]] = {}
        self._plans: dict[str, PagePlan] = {}
        self._enum_fields: dict[str, frozenset[str]] = {}
        self._fields: dict[str, frozenset[str]] = {}
        # The JSON of each message whose expansion never varies.
        self._objects: dict[str, str] = {}
        self._segments: dict[tuple[str, str, str], _Segments] = {}
        self._value_lists: dict[str, str] = {}
        # By message and service, and by message and "" where the service does not matter.
        self._inputs: dict[tuple[str, str], _SectionInputs] = {}
        self._rpc_names: dict[str, frozenset[str]] = {}
        self._bracketed: dict[str, frozenset[str]] = {}
        self._rows: dict[str, tuple[tuple[str, str | None, str | None], ...]] = {}
        self._sections: dict[tuple[object, ...], Section] = {}
        self._rendered: dict[Section, str] = {}
        self._section_layout = macro(_SECTION_TEMPLATE, "section")
        self._page_layout = macro(_PAGE_TEMPLATE, "page")

    def package_docs(self, package: str) -> PackageDocs:
        return self.settings.get(package) or self.config.package(package)

    def documented_services(self) -> list[Service]:
        """The services whose rpcs get pages, in the order of the files to generate, once no two
        rpcs share a page path (e.g. services `Foo` and `FooService`)."""
        written: dict[str, str] = {}  # page path -> the rpc it documents
        services = []
        for proto_file in self.api.generated_files:
            for service in proto_file.services:
                for method in service.methods:
                    path = self.page_path(service, method)
                    if path in written:
                        raise SchemaError(
                            proto_file.name,
                            method.full_name,
                            f"its docs page {path} is that of {written[path]} too",
                        )
                    written[path] = method.full_name
                services.append(service)
        return services

    def pages(self) -> Iterator[Page]:
        for service in self.documented_services():
            for method in service.methods:
                yield self.page(service, method)

    def page_path(self, service: Service, method: Method) -> str:
        settings = self.package_docs(service.package)
        return (
            f"{settings.source_path}/{service.short_name}/{lower_first(method.name)}.md"
        )

    def render(self, page: Page) -> str:
        """The page's Markdown; a section that other pages have too is laid out once."""
        sections = []
        for section in page.sections:
            text = self._rendered.get(section)
            if text is None:
                text = self._rendered[section] = self._section_layout(section)
            sections.append(text)
        return self._page_layout(page, sections)

    # --- what a page holds ----------------------------------------------------------------------

    def plan(self, service: Service, method: Method) -> PagePlan:
        found = self._plans.get(method.full_name)
        if found is not None:
            return found
        roots1, roots2 = self._roots(method)
        tree1 = self._walk(roots1)
        tree2 = self._walk(roots2)
        operation = method.operation if self.format.expand_operations else None
        in_tree1 = frozenset(tree1)
        sections = [
            SectionPlan(name, 1, name, index == 0, None)
            for index, name in enumerate(tree1)
        ]
        for index, name in enumerate(tree2):
            sections.append(
                SectionPlan(
                    name,
                    2,
                    name + "2" if name in in_tree1 else name,
                    index == 0,
                    operation if index == 0 and name == OPERATION else None,
                )
            )
        messages = in_tree1.union(tree2)
        plan = self._plans[method.full_name] = PagePlan(
            service=service,
            method=method,
            url=self.page_url(service, method.name),
            sections=tuple(sections),
            messages=messages,
            tree1=in_tree1,
            enums=frozenset().union(*(self._enums_of(name) for name in messages)),
        )
        return plan

    def _roots(self, method: Method) -> tuple[list[str], list[str]]:
        """Where the page's two trees start: the request; the response, or the Operation
        with the rpc's operation types when the format expands them."""
        if method.output != OPERATION:
            return [method.input], [method.output]
        operation = method.operation if self.format.expand_operations else None
        if operation:
            return [method.input], [OPERATION, operation.metadata, operation.response]
        return [method.input], [OPERATION]

    def _walk(self, roots: Sequence[str]) -> list[str]:
        """Depth-first, pre-order from each root in turn, each message once. A message seen
        from an earlier root was walked with everything under it, so each root's own walk,
        less what was seen, is the same."""
        if len(roots) == 1:
            return list(self._walk_from(roots[0]))
        emitted: list[str] = []
        seen: set[str] = set()
        for root in roots:
            for name in self._walk_from(root):
                if name not in seen:
                    seen.add(name)
                    emitted.append(name)
        return emitted

    def _walk_from(self, root: str) -> tuple[str, ...]:
        """A message, then the messages its fields refer to; never `google.*` ones."""
        found = self._walks.get(root)
        if found is not None:
            return found
        messages = self.api.messages
        emitted: list[str] = []
        seen: set[str] = set()
        pending = [root]  # a stack: each message's fields are taken in order
        while pending:
            name = pending.pop()
            if name in seen or name.startswith("google.") or name not in messages:
                continue
            seen.add(name)
            emitted.append(name)
            pending += reversed(
                [
                    item.message_type
                    for item in messages[name].fields
                    if item.message_type
                ]
            )
        found = self._walks[root] = tuple(emitted)
        return found

    def _enums_of(self, message: str) -> frozenset[str]:
        """The enums whose values the message's rows list."""
        found = self._enum_fields.get(message)
        if found is None:
            found = self._enum_fields[message] = frozenset(
                item.type.name
                for item in self.api.messages[message].fields
                if item.type.kind is _ENUM
            )
        return found

    def page_url(self, service: Service, method_name: str) -> str:
        link_base = self.package_docs(service.package).link_base
        return f"{link_base}/{service.short_name}/{lower_first(method_name)}"

    @cached_property
    def _link_targets(self) -> dict[str, Method]:
        """The page (its rpc) a reference from elsewhere points to, for each message and enum:
        pages of its own package first; among them its service's Get page for a resource, else
        the first page that renders it (services by name, rpcs in declaration order). Worked
        out from the pages' trees, without planning every page: a process plans only the pages
        it renders."""
        ranked: dict[str, tuple[int, Method]] = {}
        for service in sorted(
            self.services.values(), key=lambda s: (s.package, s.name)
        ):
            resource = service.resource.message if service.resource else ""
            for method in service.methods:
                is_get = method.standard is StandardMethod.GET
                for name, package in self._page_elements(method):
                    rank = (0 if package == service.package else 2) + (
                        0 if is_get and name == resource else 1
                    )
                    if name not in ranked or rank < ranked[name][0]:
                        ranked[name] = (rank, method)
        return {name: method for name, (_, method) in ranked.items()}

    def _page_elements(self, method: Method) -> Iterator[tuple[str, str]]:
        """The messages and enums the rpc's page renders, with their packages (some more than
        once): what its plan's `messages` and `enums` hold, without planning the page.
        """
        roots1, roots2 = self._roots(method)
        for root in roots1 + roots2:
            for message in self._walk_from(root):
                yield message, self.api.messages[message].package
                for name in self._enums_of(message):
                    enum = self.api.enums.get(name)
                    if enum is not None:
                        yield name, enum.package

    # --- rendering one page ---------------------------------------------------------------------

    def page(self, service: Service, method: Method) -> Page:
        plan = self.plan(service, method)
        settings = self.package_docs(service.package)
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
            path=self.page_path(service, method),
            source_path=self.format.source_path,
            title=f"{settings.title}, gRPC: {service.name}.{method.name}",
            description=self.rewrite(method.comment, None, plan),
            signature=signature,
            sections=tuple(self._section(plan, section) for section in plan.sections),
        )

    def _section(self, plan: PagePlan, section: SectionPlan) -> Section:
        """The section, made once for all pages that give it the same inputs."""
        inputs = self._section_inputs(section.message, plan.service)
        operation = section.operation
        linked = inputs.linked
        if operation:
            linked += (operation.metadata, operation.response)
        key = (
            section.message,
            section.anchor,
            section.json,
            self._is_output_operation(section),
            (operation.metadata, operation.response) if operation else None,
            inputs.service,
            (
                tuple([self._is_local(reference, plan) for reference in inputs.types])
                if inputs.types
                else ()
            ),
            (
                tuple([name for name in linked if name in plan.tree1])
                if section.tree == 2 and linked
                else ()
            ),
        )
        found = self._sections.get(key)
        if found is None:
            found = self._sections[key] = self._make_section(plan, section)
        return found

    def _section_inputs(self, name: str, service: Service) -> _SectionInputs:
        """What a section takes from its page."""
        found = self._inputs.get((name, service.full_name))
        if found is None:
            found = self._inputs[name, service.full_name] = self._make_inputs(
                name, service
            )
        return found

    def _make_inputs(self, name: str, service: Service) -> _SectionInputs:
        """The inputs, shared by the services whose rpcs the comments do not name."""
        plain = self._inputs.get((name, ""))
        if plain is None:
            message = self.api.messages[name]
            comments = [message.comment]
            linked = []
            for item in message.fields:
                comments.append(item.comment)
                comments += self._value_comments(item)
                if item.message_type:
                    linked.append(item.message_type)
            comments += (oneof.comment for oneof in message.oneofs)
            references = tuple(c.rstrip() for c in comments if "[" in c)
            plain = self._with_references(name, references, tuple(linked), service, "")
            self._inputs[name, ""] = plain
        owner = self._rpc_owner(plain.references, service)
        if not owner:
            return plain
        return self._with_references(
            name, plain.references, plain.linked, service, owner
        )

    def _with_references(
        self,
        name: str,
        references: tuple[str, ...],
        linked: tuple[str, ...],
        service: Service,
        owner: str,
    ) -> _SectionInputs:
        message = self.api.messages[name]
        types = {
            segment
            for comment in references
            for segment in self._parse(
                comment, message, service, service if owner else None
            )
            if isinstance(segment, _TypeReference)
        }
        ordered = tuple(sorted(types, key=lambda reference: reference.text))
        return _SectionInputs(references, owner, ordered, linked)

    def _rpc_owner(self, comments: Iterable[str], service: Service) -> str:
        """The service's name if a `[...]` of the comments names one of its rpcs (`[List]`),
        else "": the one way the service changes what a message's comments say."""
        names = self._rpc_names.get(service.full_name)
        if names is None:
            names = self._rpc_names[service.full_name] = frozenset(
                method.name for method in service.methods
            )
        for comment in comments:
            texts = self._bracketed.get(comment)
            if texts is None:
                texts = self._bracketed[comment] = frozenset(
                    _REFERENCE.findall(comment)
                )
            if not texts.isdisjoint(names):
                return service.full_name
        return ""

    def _value_comments(self, item: Field) -> Iterator[str]:
        """The comments of the enum values a field's row lists."""
        if item.type.kind is _ENUM and item.type.name in self.api.enums:
            yield from (
                value.comment for value in self.api.enums[item.type.name].values
            )

    @staticmethod
    def _is_output_operation(section: SectionPlan) -> bool:
        """The Operation an rpc returns, titled as in the signature (one only used as a field
        type is titled by its name)."""
        return section.message == OPERATION and section.json and section.tree == 2

    def _make_section(self, plan: PagePlan, section: SectionPlan) -> Section:
        message = self.api.messages[section.message]
        rows = []
        for (name, cell, description), item in zip(
            self._row_parts(message), message.fields
        ):
            override = (
                _operation_override(section.operation, item)
                if section.operation
                else None
            )
            if override:
                cell = self._message_cell(override, plan, section)
            elif cell is None:
                cell = self._type_cell(item, plan, section)
            if description is None:
                description = self._description(message, item, plan)
            rows.append(Row(name, cell, description))
        return Section(
            title=(
                _OPERATION_TITLE if self._is_output_operation(section) else message.name
            ),
            anchor=section.anchor,
            json=(
                self._json_object(section.message, section.operation, ())
                if section.json
                else ""
            ),
            comment=self.rewrite(message.comment, message, plan),
            rows=tuple(rows),
        )

    def _row_parts(
        self, message: Message
    ) -> tuple[tuple[str, str | None, str | None], ...]:
        """Per field: the row's name, and its type cell and description where they read the
        same on every page (None where they do not: a link to a message, a reference).
        """
        found = self._rows.get(message.full_name)
        if found is not None:
            return found
        parts = []
        for item in message.fields:
            links = item.message_type and not item.message_type.startswith("google.")
            references = (
                "[" in item.comment
                or (item.oneof and "[" in message.oneof(item.oneof).comment)
                or any("[" in comment for comment in self._value_comments(item))
            )
            parts.append(
                (
                    item.name + ("[]" if item.repeated else ""),
                    None if links else self._type_cell(item, None, None),
                    None if references else self._description(message, item, None),
                )
            )
        found = self._rows[message.full_name] = tuple(parts)
        return found

    def _description(self, message: Message, item: Field, plan: PagePlan | None) -> str:
        """A row's description; `plan` may be None for one without references."""
        parts = []
        comment = self.rewrite(item.comment, message, plan)
        if item.rules.constraints and item.rules.required:
            comment = "Required field. " + comment
        if comment:
            parts.append(comment)
        if item.oneof:
            oneof = message.oneof(item.oneof)
            parts.append(f"Includes only one of the fields {_code_list(oneof.fields)}.")
            if oneof.comment:
                parts.append(self.rewrite(oneof.comment, message, plan))
        if item.type.kind is _ENUM:
            values = self._enum_values(item.type.name, message, plan)
            if values:
                parts.append(values)
        if self.format.constraints and item.rules.constraints:
            sentences = [
                c.sentence
                for c in item.rules.constraints
                if c.kind is not CheckKind.REQUIRED and not is_exact(c)
            ]
            if sentences:
                parts.append(
                    " ".join(sentences).replace("|", "\\|")
                )  # `|` would end the table cell
        return "\n\n".join(parts)

    def _enum_values(
        self, enum_name: str, message: Message, plan: PagePlan | None
    ) -> str:
        """`- `NAME`: comment` lines; continuation lines of a comment are indented."""
        known = self._value_lists.get(enum_name)
        if known is not None:
            return known
        enum = self.api.enums.get(enum_name)
        if enum is None:
            return ""
        lines = []
        for value in enum.values:
            if not self.format.unspecified_values and value.name.endswith(
                "_UNSPECIFIED"
            ):
                continue
            comment = self.rewrite(value.comment, message, plan)
            if not comment:
                lines.append(f"- `{value.name}`")
                continue
            first, *rest = comment.split("\n")
            indented = [f"  {line}" if line else "" for line in rest]
            lines.append("\n".join([f"- `{value.name}`: {first}", *indented]))
        text = "\n".join(lines)
        # Without references the list reads the same on every page.
        if not any("[" in value.comment for value in enum.values):
            self._value_lists[enum_name] = text
        return text

    def _type_cell(
        self, item: Field, plan: PagePlan | None, section: SectionPlan | None
    ) -> str:
        if item.map_key and item.map_value:
            key = self._ref_cell(item.map_key, plan, section)
            value = self._ref_cell(item.map_value, plan, section)
            return f"**object** (map<{key}, {value}>)"
        return self._ref_cell(item.type, plan, section)

    def _ref_cell(
        self, ref: TypeRef, plan: PagePlan | None, section: SectionPlan | None
    ) -> str:
        if ref.kind is _SCALAR:
            return f"**{ref.scalar}**"
        if ref.kind is _ENUM:
            return f"enum **{ref.name.rsplit('.', 1)[-1]}**"
        return self._message_cell(ref.name, plan, section)

    def _message_cell(
        self, name: str, plan: PagePlan | None, section: SectionPlan | None
    ) -> str:
        if name.startswith("google."):
            link = well_known_link(name)
            return f"**[{name}]({link})**" if link else f"**{name}**"
        assert plan and section, "a link to a message is made for its page"
        # Rows of tree 2 link to the suffixed anchor of a message tree 1 has too.
        anchor = name + "2" if section.tree == 2 and name in plan.tree1 else name
        return f"**[{name.rsplit('.', 1)[-1]}](#{anchor})**"

    # --- JSON skeletons -------------------------------------------------------------------------

    def _json_object(
        self, name: str, operation: OperationTypes | None, ancestors: tuple[str, ...]
    ) -> str:
        """The skeleton of a message, its nested lines indented from the first line's depth."""
        # A message on no cycle expands the same wherever it is: its text is kept.
        reusable = operation is None and name not in self._cyclic
        if reusable and name in self._objects:
            return self._objects[name]
        message = self.api.messages[name]
        fields = message.fields
        lines = ["{"]
        inner = ancestors + (name,)
        for index, item in enumerate(fields):
            if item.oneof and (index == 0 or fields[index - 1].oneof != item.oneof):
                oneof = message.oneof(item.oneof)
                lines.append(
                    f"  // Includes only one of the fields {_code_list(oneof.fields)}"
                )
            override = _operation_override(operation, item)
            value = (
                self._json_message(override, inner)
                if override
                else self._json_value(item, inner)
            )
            comma = "," if index < len(fields) - 1 else ""
            lines.append(f'  "{item.name}": {_indent(value)}{comma}')
            if item.oneof and (
                index == len(fields) - 1 or fields[index + 1].oneof != item.oneof
            ):
                lines.append("  // end of the list of possible fields")
        text = "\n".join(lines) + "\n}" if fields else "{}"
        if reusable:
            self._objects[name] = text
        return text

    def _json_value(self, item: Field, ancestors: tuple[str, ...]) -> str:
        if item.map_key and item.map_value:
            return f'"map<{_json_type_name(item.map_key)}, {_json_type_name(item.map_value)}>"'
        if item.type.kind is _MESSAGE:
            element = self._json_message(item.type.name, ancestors)
        else:
            element = f'"{_json_type_name(item.type)}"'
        return f"[\n  {_indent(element)}\n]" if item.repeated else element

    def _json_message(self, name: str, ancestors: tuple[str, ...]) -> str:
        # google.* types are named, not expanded; a message inside itself would never end.
        if (
            name.startswith("google.")
            or name in ancestors
            or name not in self.api.messages
        ):
            return f'"{name}"'
        return self._json_object(name, None, ancestors)

    @cached_property
    def _cyclic(self) -> frozenset[str]:
        """Messages that contain themselves, directly or not (Tarjan's strongly connected
        components over non-map message fields, iteratively)."""
        edges = {
            name: [
                item.type.name
                for item in message.fields
                if item.type.kind is Kind.MESSAGE
                and item.type.name in self.api.messages
            ]
            for name, message in self.api.messages.items()
        }
        index: dict[str, int] = {}
        low: dict[str, int] = {}
        stack: list[str] = []
        on_stack: set[str] = set()
        cyclic: set[str] = set()
        for start in edges:
            if start in index:
                continue
            work = [(start, 0)]
            while work:
                name, position = work.pop()
                if position == 0:
                    index[name] = low[name] = len(index)
                    stack.append(name)
                    on_stack.add(name)
                targets = edges[name]
                if position < len(targets):
                    work.append((name, position + 1))
                    target = targets[position]
                    if target not in index:
                        work.append((target, 0))
                    elif target in on_stack:
                        low[name] = min(low[name], index[target])
                    continue
                if low[name] == index[name]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == name:
                            break
                    if len(component) > 1 or name in edges[name]:
                        cyclic.update(component)
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[name])
        return frozenset(cyclic)

    # --- references in comments -----------------------------------------------------------------

    def rewrite(self, text: str, scope: Message | None, plan: PagePlan | None) -> str:
        """A comment as the page prints it: trailing whitespace dropped, references resolved.
        `scope` is the message the comment belongs to (None for the rpc's own comment);
        `plan` may be None for a text without `[`."""
        text = text.rstrip()
        if "[" not in text:
            return text
        assert plan is not None, "references resolve for a page"
        service = plan.service
        rpcs = service if self._rpc_owner((text,), service) else None
        return self._join(self._parse(text, scope, service, rpcs), plan)

    def _parse(
        self,
        text: str,
        scope: Message | None,
        service: Service,
        rpcs: Service | None,
    ) -> _Segments:
        """`text` with its references resolved from `scope` (the comment's message; for an
        rpc's comment, None: its `service`); `[Rpc]` names an rpc of `rpcs` if given."""
        scope_name = scope.full_name if scope else service.full_name
        key = (text, scope_name, rpcs.full_name if rpcs else "")
        found = self._segments.get(key)
        if found is not None:
            return found
        parts: list[str | _TypeReference] = []
        last = 0
        for match in _REFERENCE.finditer(text):
            resolved = self._resolve(match.group(1), scope, scope_name, rpcs)
            if resolved is not None:
                parts += [text[last : match.start()], resolved]
                last = match.end()
        parts.append(text[last:])
        found = self._segments[key] = _merged(parts)
        return found

    def _join(self, segments: _Segments, plan: PagePlan) -> str:
        if len(segments) == 1 and isinstance(segments[0], str):
            return segments[0]
        return "".join(
            segment if isinstance(segment, str) else self._type_link(segment, plan)
            for segment in segments
        )

    def _type_link(self, reference: _TypeReference, plan: PagePlan) -> str:
        """`#anchor` on the page it is documented on, else that page's URL, else plain text."""
        if self._is_local(reference, plan):
            return f"[{reference.text}](#{reference.anchor})"
        target = self._link_targets.get(reference.target)
        if target is None:
            return f"[{reference.text}]"
        service = self.services[target.full_name.rpartition(".")[0]]
        url = self.page_url(service, target.name)
        return f"[{reference.text}]({url}#{reference.anchor})"

    def _is_local(self, reference: _TypeReference, plan: PagePlan) -> bool:
        return (
            reference.host in plan.messages
            or self._link_targets.get(reference.target) is plan.method
        )

    def _resolve(
        self,
        text: str,
        scope: Message | None,
        scope_name: str,
        rpcs: Service | None,
    ) -> str | _TypeReference | None:
        """What `[text]` stands for: an rpc, a message, enum or field, or a field of the
        comment's message. Names resolve as protobuf resolves them from the comment's message
        (or the rpc's service); one that resolves to nothing there is looked up in every
        package of the request, and must name one element there."""
        if rpcs and rpcs.method(text):
            return f"[{text}]({self.page_url(rpcs, text)}#{text})"
        for lookup in (scope_name, None):
            url = self._method_url(text, lookup)
            if url:
                return f"[{text}]({url})"
            reference = self._type_reference(text, lookup)
            if reference is not None:
                return reference
            if lookup and scope and text in self._field_names(scope):
                return f"`{text}`"
        return self._configured_method_url(text)

    def _find(
        self, name: str, scope: str | None, exists: Callable[[str], bool]
    ) -> str | None:
        """`name` resolved from `scope` as protobuf does; for scope None, the one element of
        the request that is some package's element `name` (`LogLevel.Level`,
        `v1.LogLevel.Level`...), if exactly one is."""
        if scope is not None:
            return resolve_name(name, scope, exists)
        found = [candidate for candidate in self._named(name) if exists(candidate)]
        return found[0] if len(found) == 1 else None

    def _named(self, name: str) -> Iterator[str]:
        """The elements that `name` names from outside their package: their name within the
        package, after as many of the package's last parts as it likes
        (`yandex.cloud.logging.v1.LogLevel.Level` is named by `LogLevel.Level`,
        `v1.LogLevel.Level`... and by its full name)."""
        parts = name.split(".")
        if "" in parts:  # no element's name has an empty part
            return
        for cut in range(len(parts)):
            qualifier = ".".join(parts[:cut])
            for full_name, package in self._by_relative_name.get(
                ".".join(parts[cut:]), ()
            ):
                if (
                    cut == 0
                    or package == qualifier
                    or package.endswith("." + qualifier)
                ):
                    yield full_name

    @cached_property
    def _by_relative_name(self) -> dict[str, list[tuple[str, str]]]:
        """Messages, enums and services (full name, package) by their names within their
        package."""
        index: dict[str, list[tuple[str, str]]] = {}
        elements: list[Message | Enum | Service] = [
            *self.api.messages.values(),
            *self.api.enums.values(),
            *self.services.values(),
        ]
        for element in elements:
            relative = element.full_name.removeprefix(f"{element.package}.")
            index.setdefault(relative, []).append((element.full_name, element.package))
        return index

    def _field_names(self, message: Message) -> frozenset[str]:
        found = self._fields.get(message.full_name)
        if found is None:
            found = self._fields[message.full_name] = frozenset(
                item.name for item in message.fields
            )
        return found

    def _method_url(self, text: str, scope: str | None) -> str | None:
        """`[Service.Method]`, `[package.Service.Method]`: the rpc's page."""
        service_name, _, method_name = text.rpartition(".")
        if not service_name:
            return None
        target = self._find(service_name, scope, lambda name: name in self.services)
        if target is None or not self.services[target].method(method_name):
            return None
        return f"{self.page_url(self.services[target], method_name)}#{method_name}"

    def _configured_method_url(self, text: str) -> str | None:
        """A service of a package the request has no service of: linked by the URL scheme if
        the package is configured."""
        service_name, _, method_name = text.rpartition(".")
        package, _, short = service_name.rpartition(".")
        if (
            package
            and package not in self.settings
            and self.config.is_configured(package)
            and short.endswith("Service")
            and method_name[:1].isupper()
        ):
            link_base = self.package_docs(package).link_base
            return f"[{text}]({link_base}/{short[: -len('Service')]}/{lower_first(method_name)}#{method_name})"
        return None

    def _type_reference(
        self, text: str, scope: str | None
    ) -> str | _TypeReference | None:
        """`[Message]`, `[Message.Enum]`, `[Message.field]` or a well-known type."""
        if text in WELL_KNOWN_LINKS or text in WELL_KNOWN_TYPES:
            return f"[{text}]({well_known_link(text)})"
        target = self._find(text, scope, self._is_type)
        if target is not None and target.startswith("google."):
            link = well_known_link(target)
            return f"[{text}]({link})" if link else None
        if target is not None and target in self.api.enums:
            # A nested enum is documented with its message, or else where its values are listed.
            parent = target.rpartition(".")[0]
            host = parent if parent in self.api.messages else ""
            return _TypeReference(text, target, host, target)
        if target is not None:
            return _TypeReference(text, target, target, target)
        prefix, _, field_name = text.rpartition(".")
        if prefix:
            owner = self._find(prefix, scope, lambda name: name in self.api.messages)
            if owner is not None and field_name in self._field_names(
                self.api.messages[owner]
            ):
                return _TypeReference(text, owner, owner, owner)
        return None

    def _is_type(self, name: str) -> bool:
        return name in self.api.messages or name in self.api.enums


def _operation_override(operation: OperationTypes | None, item: Field) -> str | None:
    """On the operation.Operation section, `metadata` and `response` stand for the rpc's types."""
    if operation is None or item.type.name != "google.protobuf.Any":
        return None
    return {"metadata": operation.metadata, "response": operation.response}.get(
        item.name
    )


def _indent(text: str) -> str:
    """A JSON value placed one level deeper: every line after its first moves right."""
    return text.replace("\n", "\n  ")


def _json_type_name(ref: TypeRef) -> str:
    if ref.kind is _SCALAR:
        return ref.scalar
    return ref.name if ref.is_google else ref.name.rsplit(".", 1)[-1]


def _code_list(names: tuple[str, ...]) -> str:
    return ", ".join(f"`{name}`" for name in names)


def _merged(parts: list[str | _TypeReference]) -> _Segments:
    """Adjacent strings joined into one, so that text without references is a single string."""
    merged: list[str | _TypeReference] = []
    for part in parts:
        if isinstance(part, str) and merged and isinstance(merged[-1], str):
            merged[-1] += part
        else:
            merged.append(part)
    return tuple(merged) or ("",)
