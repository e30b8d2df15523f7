"""References in comments, resolved to links: the core that every face of the reference
shares (gRPC and REST pages, and index pages).

A comment names messages, enums, fields and rpcs in brackets (`[Image]`, `[ImageService.List]`,
`[image_id]`). `Names` resolves each name as protobuf resolves names from the comment's message,
else in every package of the request, once for all faces; `References` links it for one face:
`link_base(package)` says where a package's method pages are, so one class serves every face.
What resolves without knowing the page (a reference's target) is worked out once per comment;
where the link points (an anchor on the page, or another page: `LinkTargets`) depends on the
page.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator, Mapping, Protocol, Union

from generator.memos import Memos
from generator.model import (
    WELL_KNOWN_TYPES,
    Api,
    Enum,
    Kind,
    Message,
    Method,
    Service,
    resolve_name,
)
from generator.resources import ResourceGets

_PROTOBUF_DOCS = "https://developers.google.com/protocol-buffers/docs/reference"
WELL_KNOWN_LINKS = {
    "google.protobuf.Timestamp": f"{_PROTOBUF_DOCS}/google.protobuf#timestamp",
    "google.protobuf.FieldMask": f"{_PROTOBUF_DOCS}/csharp/class/google/protobuf/well-known-types/field-mask",
    "google.protobuf.Duration": f"{_PROTOBUF_DOCS}/csharp/class/google/protobuf/well-known-types/duration",
    "google.protobuf.Any": "https://developers.google.com/protocol-buffers/docs/proto3#any",
    "google.protobuf.Empty": f"{_PROTOBUF_DOCS}/google.protobuf#google.protobuf.Empty",
    "google.rpc.Status": "https://cloud.google.com/tasks/docs/reference/rpc/google.rpc#status",
}
# `[text]` not already followed by `(`: a reference to resolve.
REFERENCE = re.compile(r"\[([^\[\]]+)\](?!\()")


def well_known_link(full_name: str) -> str | None:
    """Where a `google.*` type's documentation lives; other protobuf types follow the Timestamp scheme."""
    if full_name in WELL_KNOWN_LINKS:
        return WELL_KNOWN_LINKS[full_name]
    if full_name.startswith("google.protobuf."):
        return f"{_PROTOBUF_DOCS}/google.protobuf#{full_name.rsplit('.', 1)[1].lower()}"
    return None


@dataclass(frozen=True)
class TypeReference:
    """A `[...]` reference to a message, enum or field: where it points depends on the page."""

    text: str
    anchor: str  # the message's or enum's full name
    host: str  # the message whose section on a page keeps the link on it ("" for none)
    target: str  # whose page the link points to otherwise (see `LinkTargets`)


# A comment with its references resolved as far as they can be without knowing the page.
Segments = tuple[Union[str, TypeReference], ...]


class PageContext(Protocol):
    """What a link needs of the page it is on."""

    @property
    def service(self) -> Service: ...
    @property
    def method(self) -> Method: ...
    @property
    def messages(self) -> frozenset[str]: ...  # the messages with a section on it


def lower_first(name: str) -> str:
    return name[:1].lower() + name[1:]


class Names:
    """Names in comments resolved to the request's messages, enums and services as protobuf
    resolves them: what a reference stands for before any face links it, worked out once per
    run for all faces."""

    def __init__(self, api: Api, services: Mapping[str, Service]) -> None:
        self.api = api
        self.services = services
        self._found: dict[tuple[str, str | None, str], str | None] = {}
        messages, enums = api.messages, api.enums
        self._exists: dict[str, Callable[[str], bool]] = {
            "service": lambda name: name in services,
            "type": lambda name: name in messages or name in enums,
            "message": lambda name: name in messages,
        }
        # Messages, enums and services (full name, package) by their names within their
        # package: made when a name is first looked up without a scope.
        self._relative_names: dict[str, list[tuple[str, str]]] | None = None

    def service(self, name: str, scope: str | None) -> str | None:
        return self._find(name, scope, "service")

    def type(self, name: str, scope: str | None) -> str | None:
        """A message or an enum."""
        return self._find(name, scope, "type")

    def message(self, name: str, scope: str | None) -> str | None:
        return self._find(name, scope, "message")

    def _find(self, name: str, scope: str | None, kind: str) -> str | None:
        """`name` resolved from `scope` as protobuf does; for scope None, the one element of
        the request that is some package's element `name` (`LogLevel.Level`,
        `v1.LogLevel.Level`...), if exactly one is."""
        key = (name, scope, kind)
        if key in self._found:
            return self._found[key]
        exists = self._exists[kind]
        if scope is not None:
            found = resolve_name(name, scope, exists)
        else:
            candidates = [c for c in self._named(name) if exists(c)]
            found = candidates[0] if len(candidates) == 1 else None
        self._found[key] = found
        return found

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
            for full_name, package in self._by_relative_name().get(
                ".".join(parts[cut:]), ()
            ):
                if (
                    cut == 0
                    or package == qualifier
                    or package.endswith("." + qualifier)
                ):
                    yield full_name

    def _by_relative_name(self) -> dict[str, list[tuple[str, str]]]:
        if self._relative_names is not None:
            return self._relative_names
        index: dict[str, list[tuple[str, str]]] = {}
        elements: list[Message | Enum | Service] = [
            *self.api.messages.values(),
            *self.api.enums.values(),
            *self.services.values(),
        ]
        for element in elements:
            relative = element.full_name.removeprefix(f"{element.package}.")
            index.setdefault(relative, []).append((element.full_name, element.package))
        self._relative_names = index
        return index


class LinkTargets:
    """The page a reference from elsewhere to a message or enum links, on one face."""

    def __init__(
        self,
        api: Api,
        services: Mapping[str, Service],
        page_messages: Callable[[Method], Iterable[str]],
        has_page: Callable[[Method], bool],
    ) -> None:
        """`page_messages(method)`: the messages an rpc's page renders; `has_page(method)`:
        whether the rpc has a page on this face."""
        self.api = api
        self.services = services
        self.page_messages = page_messages
        self.has_page = has_page
        self._gets = ResourceGets(api.messages, api.enums)
        self._targets: dict[str, Method | None] = {}
        self._page_elements: dict[str, frozenset[str]] = {}
        self._elements: dict[str, tuple[str, ...]] = {}
        # The rpcs with a page on this face, and those pages by the messages their walks
        # start from: made when a link first asks.
        self._page_list: list[tuple[Service, Method]] | None = None
        self._by_root: dict[str, list[int]] | None = None

    def page_of(self, name: str) -> Method | None:
        """The page (its rpc) a reference from elsewhere to a message or enum points to:
        pages of its own package first; among them its service's Get page for a resource,
        else the first page that renders it (services by package and name, rpcs in
        declaration order); None if no page does. Worked out for the names that links ask
        for, a hundred or so of the whole public API's thousands, each from the pages whose
        messages lead to it (`Api.referrers`), so a process walks few pages besides its own.
        """
        if name in self._targets:
            return self._targets[name]
        element = self.api.messages.get(name) or self.api.enums.get(name)
        found = None
        if element is not None:
            pages, listed = self._pages_reaching(name), self._pages()
            own = [p for p in pages if listed[p][0].package == element.package]
            others = [p for p in pages if listed[p][0].package != element.package]
            found = self._first_rendering(name, own) or self._first_rendering(
                name, others
            )
        self._targets[name] = found
        return found

    def _first_rendering(self, name: str, pages: list[int]) -> Method | None:
        """Of `pages`, the first Get page of a service whose resource `name` is, else the
        first page at all, that renders it."""
        listed = self._pages()
        for position in pages:
            service, method = listed[position]
            resource, gets = self._gets.of(service)
            if (
                resource == name
                and method.name in gets
                and name in self._elements_on(method)
            ):
                return method
        for position in pages:
            method = listed[position][1]
            if name in self._elements_on(method):
                return method
        return None

    def _pages(self) -> list[tuple[Service, Method]]:
        """The rpcs with a page on this face, in the order `page_of` prefers them."""
        if self._page_list is not None:
            return self._page_list
        self._page_list = [
            (service, method)
            for service in sorted(
                self.services.values(), key=lambda s: (s.package, s.name)
            )
            for method in service.methods
            if self.has_page(method)
        ]
        return self._page_list

    def _pages_by_root(self) -> dict[str, list[int]]:
        """The pages (positions in `_pages`) by the messages their walks start from: the
        request, the response, and the operation's types."""
        if self._by_root is not None:
            return self._by_root
        found: dict[str, list[int]] = {}
        for position, (_, method) in enumerate(self._pages()):
            roots = {method.input, method.output}
            if method.operation:
                roots.update((method.operation.metadata, method.operation.response))
            for root in roots:
                found.setdefault(root, []).append(position)
        self._by_root = found
        return found

    def _pages_reaching(self, name: str) -> list[int]:
        """The pages, in order, whose walks may come to the message or enum `name`: those
        that start from a message with a way down to it."""
        referrers = self.api.referrers
        reaching = {name}
        pending = [name]
        while pending:
            for holder in referrers.get(pending.pop(), ()):
                if holder not in reaching:
                    reaching.add(holder)
                    pending.append(holder)
        by_root = self._pages_by_root()
        return sorted(
            {position for root in reaching for position in by_root.get(root, ())}
        )

    def _elements_on(self, method: Method) -> frozenset[str]:
        """The messages and enums the rpc's page renders."""
        found = self._page_elements.get(method.full_name)
        if found is None:
            found = self._page_elements[method.full_name] = frozenset(
                name
                for message in self.page_messages(method)
                for name in self._elements_of(message)
            )
        return found

    def _elements_of(self, name: str) -> tuple[str, ...]:
        """A message and the enums its rows list: a page renders them together (worked out
        once per message)."""
        found = self._elements.get(name)
        if found is None:
            enums = self.api.enums
            found = self._elements[name] = (
                name,
                *(
                    item.type.name
                    for item in self.api.messages[name].fields
                    if item.type.kind is Kind.ENUM and item.type.name in enums
                ),
            )
        return found


class References:
    """The references of comments, linked for one face of the reference."""

    def __init__(
        self,
        api: Api,
        services: Mapping[str, Service],
        link_base: Callable[[str], str],
        configured: Callable[[str], bool],
        page_messages: Callable[[Method], Iterable[str]],
        has_page: Callable[[Method], bool] = lambda method: True,
        json_names: bool = False,
        names: Names | None = None,
        memos: Memos | None = None,
    ) -> None:
        """`link_base(package)`: where its method pages are; `configured(package)`: whether a
        package the request has no service of has pages to link to; `page_messages(method)`:
        the messages an rpc's page renders (some more than once), each with the enums its rows
        list; `has_page(method)`:
        whether the rpc has a page on this face (one without is named in plain text);
        `json_names`: fields are named by their JSON names (`[Image.folder_id]` reads
        `Image.folderId`, `[folder_id]` reads `folderId`), as REST pages name them; `names`:
        the run's name resolution, which the faces share; `memos`: where it keeps the
        comments it has parsed (see `Memos`; the names and link targets are kept for the run).
        """
        self.api = api
        self.services = services
        self.names = names or Names(api, services)
        self.link_base = link_base
        self.configured = configured
        self.page_messages = page_messages
        self.has_page = has_page
        self.json_names = json_names
        self._fields: dict[str, frozenset[str]] = {}
        memos = memos or Memos()
        self._segments: dict[tuple[str, str, str], Segments] = memos.new()
        self._rpc_names: dict[str, frozenset[str]] = {}
        self._bracketed: dict[str, frozenset[str]] = memos.new()
        self.targets = LinkTargets(api, services, page_messages, has_page)

    def page_url(self, service: Service, method_name: str) -> str:
        link_base = self.link_base(service.package)
        return f"{link_base}/{service.short_name}/{lower_first(method_name)}"

    def rpc_owner(self, comments: Iterable[str], service: Service) -> str:
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
                texts = self._bracketed[comment] = frozenset(REFERENCE.findall(comment))
            if not texts.isdisjoint(names):
                return service.full_name
        return ""

    def rewrite(
        self, text: str, scope: Message | None, plan: PageContext | None
    ) -> str:
        """A comment as the page prints it: trailing whitespace dropped, references resolved.
        `scope` is the message the comment belongs to (None for the rpc's own comment);
        `plan` may be None for a text without `[`."""
        text = text.rstrip()
        if "[" not in text:
            return text
        assert plan is not None, "references resolve for a page"
        service = plan.service
        rpcs = service if self.rpc_owner((text,), service) else None
        return self._join(self.parse(text, scope, service, rpcs), plan)

    def parse(
        self,
        text: str,
        scope: Message | None,
        service: Service,
        rpcs: Service | None,
    ) -> Segments:
        """`text` with its references resolved from `scope` (the comment's message; for an
        rpc's comment, None: its `service`); `[Rpc]` names an rpc of `rpcs` if given."""
        scope_name = scope.full_name if scope else service.full_name
        key = (text, scope_name, rpcs.full_name if rpcs else "")
        found = self._segments.get(key)
        if found is not None:
            return found
        parts: list[str | TypeReference] = []
        last = 0
        for match in REFERENCE.finditer(text):
            resolved = self._resolve(match.group(1), scope, scope_name, rpcs)
            if resolved is not None:
                parts += [text[last : match.start()], resolved]
                last = match.end()
        parts.append(text[last:])
        found = self._segments[key] = merged(parts)
        return found

    def _join(self, segments: Segments, plan: PageContext) -> str:
        if len(segments) == 1 and isinstance(segments[0], str):
            return segments[0]
        return "".join(
            segment if isinstance(segment, str) else self._type_link(segment, plan)
            for segment in segments
        )

    def _type_link(self, reference: TypeReference, plan: PageContext) -> str:
        """`#anchor` on the page it is documented on, else that page's URL, else plain text."""
        if self.is_local(reference, plan):
            return f"[{reference.text}](#{reference.anchor})"
        target = self.targets.page_of(reference.target)
        if target is None:
            return f"[{reference.text}]"
        service = self.services[target.full_name.rpartition(".")[0]]
        url = self.page_url(service, target.name)
        return f"[{reference.text}]({url}#{reference.anchor})"

    def is_local(self, reference: TypeReference, plan: PageContext) -> bool:
        return (
            reference.host in plan.messages
            or self.targets.page_of(reference.target) is plan.method
        )

    def _resolve(
        self,
        text: str,
        scope: Message | None,
        scope_name: str,
        rpcs: Service | None,
    ) -> str | TypeReference | None:
        """What `[text]` stands for: an rpc, a message, enum or field, or a field of the
        comment's message. Names resolve as protobuf resolves them from the comment's message
        (or the rpc's service); one that resolves to nothing there is looked up in every
        package of the request, and must name one element there."""
        named = rpcs.method(text) if rpcs else None
        if rpcs and named:
            if not self.has_page(named):
                return None
            return f"[{text}]({self.page_url(rpcs, text)}#{text})"
        for lookup in (scope_name, None):
            url = self._method_url(text, lookup)
            if url:
                return f"[{text}]({url})"
            reference = self._type_reference(text, lookup)
            if reference is not None:
                return reference
            if lookup and scope and text in self._field_names(scope):
                return f"`{self._field_text(scope, text)}`"
        return self._configured_method_url(text)

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
        target = self.names.service(service_name, scope)
        if target is None:
            return None
        method = self.services[target].method(method_name)
        if method is None or not self.has_page(method):
            return None
        return f"{self.page_url(self.services[target], method_name)}#{method_name}"

    def _configured_method_url(self, text: str) -> str | None:
        """A service of a package the request has no service of: linked by the URL scheme if
        the package is configured."""
        service_name, _, method_name = text.rpartition(".")
        package, _, short = service_name.rpartition(".")
        if (
            package
            and self.configured(package)
            and short.endswith("Service")
            and method_name[:1].isupper()
        ):
            link_base = self.link_base(package)
            return f"[{text}]({link_base}/{short[: -len('Service')]}/{lower_first(method_name)}#{method_name})"
        return None

    def _type_reference(
        self, text: str, scope: str | None
    ) -> str | TypeReference | None:
        """`[Message]`, `[Message.Enum]`, `[Message.field]` or a well-known type."""
        if text in WELL_KNOWN_LINKS or text in WELL_KNOWN_TYPES:
            return f"[{text}]({well_known_link(text)})"
        target = self.names.type(text, scope)
        if target is not None and target.startswith("google."):
            link = well_known_link(target)
            return f"[{text}]({link})" if link else None
        if target is not None and target in self.api.enums:
            # A nested enum is documented with its message, or else where its values are listed.
            parent = target.rpartition(".")[0]
            host = parent if parent in self.api.messages else ""
            return TypeReference(text, target, host, target)
        if target is not None:
            return TypeReference(text, target, target, target)
        prefix, _, field_name = text.rpartition(".")
        if prefix:
            owner = self.names.message(prefix, scope)
            if owner is not None and field_name in self._field_names(
                self.api.messages[owner]
            ):
                named = (
                    f"{prefix}.{self._field_text(self.api.messages[owner], field_name)}"
                )
                return TypeReference(named, owner, owner, owner)
        return None

    def _field_text(self, message: Message, name: str) -> str:
        """A field as this face names it."""
        if not self.json_names:
            return name
        found = message.field(name)
        return found.json_name if found else name


def merged(parts: list[str | TypeReference]) -> Segments:
    """Adjacent strings joined into one, so that text without references is a single string."""
    merged: list[str | TypeReference] = []
    for part in parts:
        if isinstance(part, str) and merged and isinstance(merged[-1], str):
            merged[-1] += part
        else:
            merged.append(part)
    return tuple(merged) or ("",)
