"""The docs view: one reference page per rpc, in the format of the official Yandex Cloud pages.

This module decides what a page holds (sections, their order and anchors, JSON skeletons, type
cells, row descriptions, links) and which page a reference in a comment points to, for one run
over a whole request; `templates/docs_page.md.j2` and `templates/_docs_section.md.j2` lay it out.
What pages share (message walks, JSON skeletons, parsed references, whole sections) is worked
out once per run: the whole public API is 2,389 pages.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import ClassVar, Iterator, NamedTuple, Sequence

from generator.docs_config import DocsConfig, PackageDocs
from generator.docs_formats import (
    DOCS_FORMATS,
    DocsFormat,
    code_list,
    docs_format,
    indent_json,
    is_exact,
    table_text,
    value_line,
)
from generator.docs_index import TEMPLATE as INDEX_TEMPLATE
from generator.docs_links import (
    References,
    TypeReference,
    lower_first,
    well_known_link,
)
from generator.errors import SchemaError
from generator.memos import Memos
from generator.model import (
    OPERATION,
    Api,
    Field,
    Kind,
    Message,
    Method,
    OperationTypes,
    Service,
    TypeRef,
)
from generator.render import macro
from generator.rules import Constraint
from generator.runtime.contract import CheckKind

_PAGE_TEMPLATE, _SECTION_TEMPLATE = "docs_page.md.j2", "_docs_section.md.j2"
_OPERATION_TITLE = "operation.Operation"
_ENUM, _MESSAGE, _SCALAR = Kind.ENUM, Kind.MESSAGE, Kind.SCALAR


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


@dataclass(frozen=True)
class _SectionInputs:
    """What a message's section can take from the page it is on."""

    references: tuple[str, ...]  # its comments with `[...]`
    service: str  # the page's service, if a reference names one of its rpcs, else ""
    types: tuple[TypeReference, ...]  # links on the page itself or to another one
    linked: tuple[str, ...]  # messages its rows link to: suffixed anchors in tree 2


# --- building pages ------------------------------------------------------------------------------


class DocsBuilder:
    """gRPC pages of every rpc of the request's files to generate; references resolve against
    the whole request, as the official reference is built from the whole API."""

    TEMPLATES: ClassVar[tuple[str, ...]] = (
        _PAGE_TEMPLATE,
        _SECTION_TEMPLATE,
        INDEX_TEMPLATE,
    )

    def __init__(
        self,
        api: Api,
        config: DocsConfig,
        docs_format: DocsFormat = DOCS_FORMATS["classic"],
        memos: Memos | None = None,
    ) -> None:
        """`memos`: where it keeps what pages share (see `Memos`)."""
        self.api = api
        self.config = config
        self.format = docs_format
        self.services = {service.full_name: service for service in api.services}
        self.settings = config.for_run(s.package for s in self.services.values())
        self.memos = memos or Memos()
        self._cyclic: frozenset[str] | None = None
        self._walks: dict[str, tuple[str, ...]] = self.memos.new()
        self._plans: dict[str, PagePlan] = self.memos.new()
        # The JSON of each message whose expansion never varies.
        self._objects: dict[str, str] = self.memos.new()
        self._value_lists: dict[str, str] = self.memos.new()
        # By message and service, and by message and "" where the service does not matter.
        self._inputs: dict[tuple[str, str], _SectionInputs] = self.memos.new()
        self._rows: dict[str, tuple[tuple[str, str | None, str | None], ...]] = (
            self.memos.new()
        )
        self._sections: dict[tuple[object, ...], Section] = self.memos.new()
        self._rendered: dict[Section, str] = self.memos.new()
        self.references = References(
            api,
            self.services,
            lambda package: self.package_docs(package).link_base,
            lambda package: package not in self.settings
            and config.is_configured(package),
            self._page_messages,
            memos=self.memos,
        )
        self._section_layout = macro(_SECTION_TEMPLATE, "section")
        self._page_layout = macro(_PAGE_TEMPLATE, "page")

    def package_docs(self, package: str) -> PackageDocs:
        return self.settings.get(package) or self.config.package(package)

    def pages(self) -> Iterator[Page]:
        for proto_file in self.api.generated_files:
            for service in proto_file.services:
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
            url=self.references.page_url(service, method.name),
            sections=tuple(sections),
            messages=messages,
            tree1=in_tree1,
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

    def _page_messages(self, method: Method) -> Iterator[str]:
        """The messages the rpc's page renders (some more than once): what its plan's
        `messages` holds, without planning the page."""
        roots1, roots2 = self._roots(method)
        for root in roots1 + roots2:
            yield from self._walk_from(root)

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
            description=self.references.rewrite(method.comment, None, plan),
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
                tuple(
                    [
                        self.references.is_local(reference, plan)
                        for reference in inputs.types
                    ]
                )
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
        owner = self.references.rpc_owner(plain.references, service)
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
            for segment in self.references.parse(
                comment, message, service, service if owner else None
            )
            if isinstance(segment, TypeReference)
        }
        ordered = tuple(sorted(types, key=lambda reference: reference.text))
        return _SectionInputs(references, owner, ordered, linked)

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
            comment=self.references.rewrite(message.comment, message, plan),
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
        comment = self.references.rewrite(item.comment, message, plan)
        if item.rules.constraints and item.rules.required:
            comment = "Required field. " + comment
        if comment:
            parts.append(comment)
        if item.oneof:
            oneof = message.oneof(item.oneof)
            parts.append(f"Includes only one of the fields {code_list(oneof.fields)}.")
            if oneof.comment:
                parts.append(self.references.rewrite(oneof.comment, message, plan))
        if item.type.kind is _ENUM:
            values = self._enum_values(item.type.name, message, plan)
            if values:
                parts.append(values)
        # Code spans of the comments with `|` in triple backticks; a constraint's pattern
        # with `\|` (either way, a `|` would end the table cell).
        parts = [table_text(part) for part in parts]
        if self.format.constraints and item.rules.constraints:
            sentences = [
                c.sentence
                for c in item.rules.constraints
                if c.kind is not CheckKind.REQUIRED and not is_exact(c)
            ]
            if sentences:
                parts.append(" ".join(sentences).replace("|", "\\|"))
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
            comment = self.references.rewrite(value.comment, message, plan)
            lines.append(value_line(value.name, comment))
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
        reusable = operation is None and name not in self.cyclic
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
                    f"  // Includes only one of the fields {code_list(oneof.fields)}"
                )
            override = _operation_override(operation, item)
            value = (
                self._json_message(override, inner)
                if override
                else self._json_value(item, inner)
            )
            comma = "," if index < len(fields) - 1 else ""
            lines.append(f'  "{item.name}": {indent_json(value)}{comma}')
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
        return f"[\n  {indent_json(element)}\n]" if item.repeated else element

    def _json_message(self, name: str, ancestors: tuple[str, ...]) -> str:
        # google.* types are named, not expanded; a message inside itself would never end.
        if (
            name.startswith("google.")
            or name in ancestors
            or name not in self.api.messages
        ):
            return f'"{name}"'
        return self._json_object(name, None, ancestors)

    @property
    def cyclic(self) -> frozenset[str]:
        """Messages that contain themselves, directly or not, worked out once."""
        if self._cyclic is None:
            self._cyclic = self._find_cyclic()
        return self._cyclic

    def _find_cyclic(self) -> frozenset[str]:
        """Tarjan's strongly connected components over non-map message fields, iteratively.
        A message without a message field is on no cycle: the walk leaves those out, and the
        fields that lead to them."""
        fields = {
            name: [
                item.type.name
                for item in message.fields
                if item.type.kind is Kind.MESSAGE
                and item.type.name in self.api.messages
            ]
            for name, message in self.api.messages.items()
        }
        edges = {
            name: [target for target in targets if fields[target]]
            for name, targets in fields.items()
            if targets
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


def _operation_override(operation: OperationTypes | None, item: Field) -> str | None:
    """On the operation.Operation section, `metadata` and `response` stand for the rpc's types."""
    if operation is None or item.type.name != "google.protobuf.Any":
        return None
    return {"metadata": operation.metadata, "response": operation.response}.get(
        item.name
    )


def _json_type_name(ref: TypeRef) -> str:
    if ref.kind is _SCALAR:
        return ref.scalar
    return ref.name if ref.is_google else ref.name.rsplit(".", 1)[-1]
