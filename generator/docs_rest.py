"""The REST face of the reference: one page per rpc with a `google.api.http` rule, in the
format of the official pages (docs-format-rest.md): the `apiPlayground` front matter, the HTTP
request line, the path, query and body parameters, the response, and a section per message,
all with JSON names and JSON types. `templates/docs_rest_page.md.j2` lays a page out.

What differs from the gRPC face is here; what both share (references in comments, constraint
sentences, the docs formats) comes from `docs_links`, `rules` and `docs_formats`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, NamedTuple, Sequence

from generator import docs_yaml
from generator.docs_config import PackageDocs
from generator.docs_formats import (
    DocsFormat,
    is_exact,
    table_text,
    value_line,
)
from generator.docs_json import EMPTY, STATUS
from generator.docs_links import Names, References, TypeReference, lower_first
from generator.docs_playground import Playground
from generator.docs_rest_messages import Anchors, RestMessage, RestMessages
from generator.http import HttpBinding
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
)
from generator.render import macro
from generator.runtime.contract import CheckKind

TEMPLATE = "docs_rest_page.md.j2"

TIMESTAMP_TEXT = """String in [RFC3339](https://www.ietf.org/rfc/rfc3339.txt) text format. The range of possible values is from
`0001-01-01T00:00:00Z` to `9999-12-31T23:59:59.999999999Z`, i.e. from 0 to 9 digits for fractions of a second.

To work with values in this field, use the APIs described in the
[Protocol Buffers reference](https://developers.google.com/protocol-buffers/docs/reference/overview).
In some languages, built-in datetime utilities do not support nanosecond precision (9 digits)."""


def field_mask_text(json_name: str) -> str:
    """What a FieldMask field says instead of its comment (§9.8, with its typo `off`)."""
    return f"""A comma-separated names off ALL fields to be updated.
Only the specified fields will be changed. The others will be left untouched.
If the field is specified in `` {json_name} `` and no value for that field was sent in the request,
the field's value will be reset to the default. The default value for most fields is null or 0.

If `` {json_name} `` is not sent in the request, all fields' values will be updated.
Fields specified in the request will be updated to provided values.
The rest of the fields will be reset to the default."""


class Row(NamedTuple):
    name: str
    type_cell: str
    description: str


@dataclass(frozen=True, eq=False)  # pages share Section objects: identity is enough
class Section:
    title: str
    anchor: str  # "" for none
    intro: str  # a line before the JSON ("**HTTP Code: 200 - OK**"), or ""
    json: str
    comment: str
    rows: tuple[Row, ...]

    @property
    def heading(self) -> str:
        return f"{self.title} {{#{self.anchor}}}" if self.anchor else self.title


# google.rpc.Status has a fixed section, not its proto's comments (§7.4).
STATUS_SECTION = Section(
    "Status",
    STATUS,
    "",
    "",
    "The error result of the operation in case of failure or cancellation.",
    (
        Row(
            "code",
            "**integer** (int32)",
            "Error code. An enum value of [google.rpc.Code](https://github.com/googleapis/googleapis/blob/master/google/rpc/code.proto).",
        ),
        Row("message", "**string**", "An error message."),
        Row(
            "details[]",
            "**object**",
            "A list of messages that carry the error details.",
        ),
    ),
)


@dataclass(frozen=True)
class Request:
    """One binding of the rpc: its request line and sections."""

    line: str  # `GET https://host/path`
    sections: tuple[Section, ...]


@dataclass(frozen=True)
class RestPage:
    path: str
    source_path: bool
    playground: str  # the `apiPlayground` YAML, indented as in the front matter
    title: str
    description: str
    requests: tuple[Request, ...]


@dataclass(frozen=True)
class RestPlan:
    """What links on a page need: its rpc and the messages with a section (or an anchor) on it."""

    service: Service
    method: Method
    messages: frozenset[str]


@dataclass(frozen=True)
class _Binding:
    """A binding worked out: which request fields go where, and the messages of each tree."""

    binding: HttpBinding
    suffix: str  # of every anchor of the binding's part of the page: "", "2"...
    path: tuple[Field, ...]
    query: tuple[Field, ...]
    body: tuple[Field, ...]
    has_body: bool
    tree1: tuple[str, ...]  # messages with a section, from the query and body fields
    tree2: tuple[str, ...]  # from the response
    request_anchors: Anchors  # of the sections of the request's part of the page
    response_anchors: Anchors  # of the response's part


# `(-- ... --)`: directives to api-linter, not documentation (§3.3).
_LINTER = re.compile(r"\(--.*?--\)", re.S)


class RestBuilder:
    """REST pages of a run; references resolve against the whole request, through REST pages."""

    def __init__(
        self,
        api: Api,
        docs_format: DocsFormat,
        settings: Callable[[str], PackageDocs],
        configured: Callable[[str], bool],
        services: dict[str, Service],
        cyclic: Callable[[], frozenset[str]],
        names: Names | None = None,
        memos: Memos | None = None,
    ) -> None:
        """`cyclic()`: the messages that contain themselves (their JSON depends on where);
        `names`: the run's name resolution, shared with the gRPC face; `memos`: where it
        keeps what pages share (see `Memos`)."""
        self.api = api
        self.format = docs_format
        self.settings = settings
        self.memos = memos or Memos()
        self.messages = RestMessages(api, cyclic, self.memos)
        self._bindings: dict[str, tuple[_Binding, ...]] = self.memos.new()
        self.playground = Playground(self)
        self._rendered: dict[Section, str] = self.memos.new()
        self._section_layout = macro(TEMPLATE, "section")
        self._page_layout = macro(TEMPLATE, "page")
        # Rows and YAML properties that read the same on every page (no reference, no link
        # to a section), by message, field, and whether it is a path parameter.
        self._rows: dict[tuple[str, str, bool, bool], Row] = self.memos.new()
        self._descriptions: dict[tuple[str, str, bool, bool], str] = self.memos.new()
        # By enum, and for YAML.
        self._value_lists: dict[tuple[str, bool], str] = self.memos.new()
        self._sections_made: dict[tuple[object, ...], Section] = self.memos.new()
        # What a message's comments name, by message and the page's service (see
        # `reference_context`).
        self._contexts: dict[tuple[str, str], tuple[str, tuple[TypeReference, ...]]] = (
            self.memos.new()
        )
        self._context_types: dict[tuple[str, str], tuple[TypeReference, ...]] = (
            self.memos.new()
        )
        self.references = References(
            api,
            services,
            lambda package: settings(package).rest_link_base,
            configured,
            self._page_messages,
            has_page=lambda method: method.http is not None,
            json_names=True,
            names=names,
            memos=self.memos,
        )

    def page_path(self, service: Service, method: Method) -> str:
        folder = self.settings(service.package).rest_source_path
        return f"{folder}/{service.short_name}/{lower_first(method.name)}.md"

    # --- what a page holds ----------------------------------------------------------------------

    def bindings(self, method: Method) -> tuple[_Binding, ...]:
        found = self._bindings.get(method.full_name)
        if found is None:
            assert method.http is not None, "a REST page is for an rpc with a rule"
            found = self._bindings[method.full_name] = tuple(
                self._binding(method, binding, "" if index == 0 else str(index + 1))
                for index, binding in enumerate(method.http.bindings)
            )
        return found

    def _binding(self, method: Method, binding: HttpBinding, suffix: str) -> _Binding:
        """§5: the fields top-level path variables name are the path; with a body (of any
        kind) every other field is the body, else the query."""
        fields = self.api.messages[method.input].fields
        whole = {v.field for v in binding.path.variables if len(v.field_path) == 1}
        path = tuple(item for item in fields if item.name in whole)
        rest = tuple(item for item in fields if item.name not in whole)
        has_body = bool(binding.body)
        query, body = ((), rest) if has_body else (rest, ())
        tree1 = self._walk(
            [method.input], [(item, item.message_type) for item in query + body]
        )
        operation = self._operation(method)
        tree2 = (
            self._walk(
                [method.output], self.messages.read(method.output, operation).fields
            )
            if method.output in self.api.messages
            else ()
        )
        requested = frozenset(tree1) | ({method.input} if query or body else set())
        return _Binding(
            binding,
            suffix,
            path,
            query,
            body,
            has_body,
            tree1,
            tree2,
            Anchors(suffix),
            Anchors(suffix, requested),
        )

    def _operation(self, method: Method) -> OperationTypes | None:
        """The rpc's operation types where the format expands them (§7.3)."""
        if method.output == OPERATION and self.format.expand_operations:
            return method.operation
        return None

    def _walk(
        self, roots: Sequence[str], fields: Sequence[tuple[Field, str]]
    ) -> tuple[str, ...]:
        """The messages with a section below `fields` (each with the message it refers to):
        depth-first, pre-order, in field order, each once; `roots` are never sections of
        their own."""
        seen = set(roots)
        emitted: list[str] = []
        sectioned = self.messages.sectioned
        pending = [target for _, target in reversed(fields)]
        while pending:
            name = pending.pop()
            if name not in sectioned or name in seen:
                continue
            seen.add(name)
            emitted.append(name)
            pending += reversed(
                [item.message_type for item in self.api.messages[name].fields]
            )
        return tuple(emitted)

    def plan(self, service: Service, method: Method) -> RestPlan:
        messages: set[str] = set()
        for binding in self.bindings(method):
            if binding.query or binding.body:
                messages.add(method.input)
            messages.update(binding.tree1, binding.tree2)
            messages.add(method.output)
        return RestPlan(service, method, frozenset(messages))

    def _page_messages(self, method: Method) -> list[str]:
        """The messages the rpc's REST page documents."""
        return self.plan_messages(method) if method.http is not None else []

    def plan_messages(self, method: Method) -> list[str]:
        names: list[str] = []
        for binding in self.bindings(method):
            if binding.query or binding.body:
                names.append(method.input)
            names += binding.tree1
            if method.output in self.api.messages:
                names.append(method.output)
            names += binding.tree2
        return names

    def render(self, page: RestPage) -> str:
        """The page's Markdown; a section that other pages have too is laid out once."""
        texts = []
        for request in page.requests:
            laid_out = []
            for section in request.sections:
                text = self._rendered.get(section)
                if text is None:
                    text = self._rendered[section] = self._section_layout(section)
                laid_out.append(text)
            texts.append(laid_out)
        return self._page_layout(page, texts)

    # --- the page -------------------------------------------------------------------------------

    def page(self, service: Service, method: Method) -> RestPage:
        settings = self.settings(service.package)
        plan = self.plan(service, method)
        host = settings.host(service.name)
        bindings = self.bindings(method)
        requests = []
        playground = []
        for binding in bindings:
            url = f"https://{host}{self._path(method, binding.binding)}"
            requests.append(
                Request(
                    f"{binding.binding.method.upper()} {url}",
                    self._sections(plan, binding),
                )
            )
            playground.append(self.playground.request(plan, binding, url))
        description = _LINTER.sub("", method.comment)
        body = description.rstrip()
        return RestPage(
            path=self.page_path(service, method),
            source_path=self.format.source_path,
            playground=docs_yaml.dump({"apiPlayground": playground}),
            title=f"{settings.title}, REST: {service.short_name}.{method.name}",
            description=(
                self.references.rewrite(body, None, plan) + description[len(body) :]
                if body
                else ""
            ),
            requests=tuple(requests),
        )

    def _path(self, method: Method, binding: HttpBinding) -> str:
        """The rule's path, top-level variables under their JSON names (§4.1, §4.2)."""
        names = {
            item.name: item.json_name for item in self.api.messages[method.input].fields
        }

        def rename(match: re.Match[str]) -> str:
            field, rest = match.group(1), match.group(2)
            return "{" + names.get(field, field) + rest + "}"

        return re.sub(
            r"\{([A-Za-z_][A-Za-z0-9_]*)((?:=[^}]*)?)\}", rename, binding.path.text
        )

    def _sections(self, plan: RestPlan, binding: _Binding) -> tuple[Section, ...]:
        method = plan.method
        request = self.api.messages[method.input]
        anchors = binding.request_anchors
        sections = []
        if binding.path:
            rows = tuple(
                self._row(request, item, item.message_type, plan, anchors, path=True)
                for item in binding.path
            )
            sections.append(Section("Path parameters", "", "", "", "", rows))
        if binding.query:
            rows = tuple(
                self._row(request, item, item.message_type, plan, anchors)
                for item in binding.query
            )
            sections.append(
                Section("Query parameters", anchors.of(method.input), "", "", "", rows)
            )
        if binding.body:
            rows = tuple(
                self._row(request, item, item.message_type, plan, anchors)
                for item in binding.body
            )
            json = self.messages.json_fields(
                [(item, item.message_type) for item in binding.body],
                request,
                (method.input,),
            )
            sections.append(
                Section("Body parameters", anchors.of(method.input), "", json, "", rows)
            )
        for name in binding.tree1:
            sections.append(self._section(self.messages.read(name), anchors, plan))
        anchors = binding.response_anchors
        if method.output in self.api.messages:
            output = self.messages.read(method.output, self._operation(method))
            sections.append(self._section(output, anchors, plan, response=True))
        for name in binding.tree2:
            sections.append(self._section(self.messages.read(name), anchors, plan))
        return tuple(sections)

    def _section(
        self,
        facts: RestMessage,
        anchors: Anchors,
        plan: RestPlan,
        response: bool = False,
    ) -> Section:
        """A message's section (or the response's), made once for every page that gives it
        the same anchors and the same reading of its references."""
        key = (
            facts,
            response,
            anchors.key(facts.anchored),
            self.reference_context(facts, plan),
        )
        found = self._sections_made.get(key)
        if found is None:
            found = self._sections_made[key] = self._make_section(
                facts, anchors, plan, response
            )
        return found

    def _make_section(
        self, facts: RestMessage, anchors: Anchors, plan: RestPlan, response: bool
    ) -> Section:
        message = facts.message
        anchor = anchors.of(message.full_name)
        if message.full_name == STATUS and not response:
            return Section(STATUS_SECTION.title, anchor, *_after_anchor(STATUS_SECTION))
        return Section(
            "Response" if response else message.name,
            anchor,
            "**HTTP Code: 200 - OK**" if response else "",
            (
                self.messages.json_fields(facts.fields, message, (message.full_name,))
                if response
                else ""
            ),
            self.references.rewrite(message.comment, message, plan),
            tuple(
                self._row(
                    message, item, target, plan, anchors, operation=facts.operation
                )
                for item, target in facts.fields
            ),
        )

    def reference_context(
        self, facts: RestMessage, plan: RestPlan
    ) -> tuple[object, ...]:
        """What a message's section takes from the page through its comments' references:
        whether they name the page's service's rpcs, and which links stay on the page.
        """
        if not facts.references:
            return ()
        name = facts.message.full_name
        found = self._contexts.get((name, plan.service.full_name))
        if found is None:
            found = self._contexts[name, plan.service.full_name] = self._named_types(
                facts, plan.service
            )
        owner, types = found
        return (owner, tuple([self.references.is_local(t, plan) for t in types]))

    def _named_types(
        self, facts: RestMessage, service: Service
    ) -> tuple[str, tuple[TypeReference, ...]]:
        """Whether a message's comments name rpcs of `service` (its name, else ""), and the
        messages, enums and fields they name, in order, each once (as for any service whose
        rpcs they do not name)."""
        name = facts.message.full_name
        owner = self.references.rpc_owner(facts.references, service)
        types = self._context_types.get((name, owner))
        if types is None:
            rpcs = service if owner else None
            found = {
                segment
                for comment in facts.references
                for segment in self.references.parse(
                    comment, facts.message, service, rpcs
                )
                if isinstance(segment, TypeReference)
            }
            types = self._context_types[name, owner] = tuple(
                sorted(found, key=lambda reference: (reference.text, reference.anchor))
            )
        return owner, types

    # --- rows -----------------------------------------------------------------------------------

    def _row(
        self,
        message: Message,
        item: Field,
        target: str,
        plan: RestPlan,
        anchors: Anchors,
        path: bool = False,
        operation: OperationTypes | None = None,
    ) -> Row:
        """A field's row. Its description reads the same on every page unless its comments
        have references, and its type cell unless it links to a section: those are made once.
        """
        # An expanded Operation's rows read alike but for a response of Empty, which leaves
        # `error` alone in the oneof.
        dropped = operation is not None and operation.response == EMPTY
        key = (message.full_name, item.name, path, dropped)
        plain = self.messages.is_plain(message, item)
        linked = target in self.messages.sectioned
        if plain and not linked:
            found = self._rows.get(key)
            if found is not None:
                return found
        description = self._descriptions.get(key) if plain else None
        if description is None:
            parts = self.description_parts(
                message, item, plan, path, yaml=False, operation=operation
            )
            description = table_text("\n\n".join(parts))
            if plain:
                self._descriptions[key] = description
        name = item.json_name + ("[]" if item.repeated else "")
        cell = self.messages.type_cell(message, item, target, anchors)
        found = Row(name, cell, description)
        if plain and not linked:
            self._rows[key] = found
        return found

    def description_parts(
        self,
        message: Message,
        item: Field,
        plan: RestPlan,
        path: bool,
        yaml: bool,
        operation: OperationTypes | None = None,
    ) -> list[str]:
        """§9.1: [Required field. ]comment (a FieldMask's fixed text), the Timestamp text,
        constraint sentences, the oneof line and comment, the enum's values."""
        parts = []
        if item.type.name == "google.protobuf.FieldMask":
            comment = field_mask_text(item.json_name)
        else:
            comment = self.references.rewrite(item.comment, message, plan)
        required = item.rules.required or (path and not yaml)
        if required:
            comment = f"Required field. {comment}" if comment else "Required field."
        if comment:
            parts.append(comment)
        if item.type.name == "google.protobuf.Timestamp":
            parts.append(TIMESTAMP_TEXT)
        if self.format.constraints and item.rules.constraints:
            sentences = [
                c.sentence
                for c in item.rules.constraints
                if c.kind is not CheckKind.REQUIRED and not is_exact(c)
            ]
            if sentences:
                parts.append(" ".join(sentences))
        if item.oneof:
            oneof = message.oneof(item.oneof)
            members = self.messages.read(message.full_name, operation).oneofs
            parts.append(f"Includes only one of the fields {members[item.oneof]}.")
            if oneof.comment:
                parts.append(self.references.rewrite(oneof.comment, message, plan))
        if item.type.kind is Kind.ENUM and item.type.name in self.api.enums:
            parts.append(self._enum_values(item.type.name, message, plan, yaml))
        return parts

    def _enum_values(
        self, name: str, message: Message, plan: RestPlan, yaml: bool
    ) -> str:
        """`- `NAME`: comment` lines; the current format drops the value numbered 0 (§9.5);
        YAML keeps a comment's first sentence (§2.8). Without references the list reads the
        same on every page: it is made once."""
        found = self._value_lists.get((name, yaml))
        if found is not None:
            return found
        values = self.api.enums[name].values
        lines = []
        for value in values:
            if value.number == 0 and not self.format.unspecified_values:
                continue
            comment = self.references.rewrite(value.comment, message, plan)
            if yaml:
                comment = _first_sentence(comment)
            lines.append(value_line(value.name, comment))
        found = "\n".join(lines)
        if not any("[" in value.comment for value in values):
            self._value_lists[name, yaml] = found
        return found


def _after_anchor(section: Section) -> tuple[str, str, str, tuple[Row, ...]]:
    return section.intro, section.json, section.comment, section.rows


def _first_sentence(text: str) -> str:
    match = re.search(r"\.(\s)", text)
    return text[: match.start() + 1] if match else text
