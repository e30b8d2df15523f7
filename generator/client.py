"""The client view: per service, a sync and an asyncio client class with one typed method per rpc.
`templates/client.py.j2` lays it out."""

from __future__ import annotations

import keyword
from dataclasses import dataclass

from generator.layout import (
    Brackets,
    Either,
    Expression,
    annotation,
    return_annotation,
)
from generator.model import (
    FIELD_MASK,
    OPERATION,
    Api,
    Field,
    Kind,
    Method,
    ProtoFile,
    Service,
    StandardMethod,
    snake_case,
)
from generator.python_names import (
    Imports,
    docstring,
    message_module,
    python_literal,
)

_PYTHON_TYPES = {
    "string": "str",
    "bytes": "bytes",
    "bool": "bool",
    "double": "float",
    "float": "float",
}
# Names a generated method cannot take: the client's own members and parameters.
_CLIENT_MEMBERS = frozenset({"close", "connection"})
_METHOD_PARAMETERS = frozenset({"self", "request", "timeout"})
# Where client.py.j2 puts a method's parameters and its return annotation.
_PARAMETER_INDENT = 8
_SIGNATURE_INDENT = 4


@dataclass(frozen=True)
class Parameter:
    name: str  # the Python parameter
    field: str  # the request field it sets
    annotation: str  # laid out between `name: ` and ` = None,`

    @property
    def argument(self) -> str:
        """The argument that sets the field: `field=name`, or `**{"field": name}` for a field
        named after a Python keyword, which cannot be a keyword argument."""
        if keyword.iskeyword(self.field):
            return f"**{{{python_literal(self.field)}: {self.name}}}"
        return f"{self.field}={self.name}"


@dataclass(frozen=True)
class ClientMethod:
    name: str
    path: str  # the gRPC method path, /package.Service/Method
    docstring: str
    request: str
    request_annotation: str  # of the `request` parameter, laid out like a Parameter's
    positional: tuple[Parameter, ...]  # may be passed by position
    keywords: tuple[Parameter, ...]  # keyword-only
    kind: str  # call, operation, pages
    response: str  # call: the reply; operation: its response; pages: the page
    returns: str  # call: the return annotation, laid out after `) -> `
    metadata: str  # operation: its metadata message
    item: str  # pages: the item message
    items_field: str
    update: bool  # computes update_mask from the fields given
    id_field: str  # update: the request field naming the resource, not a masked field


@dataclass(frozen=True)
class ClientService:
    name: str
    docstring: str
    async_docstring: str
    methods: tuple[ClientMethod, ...]


@dataclass(frozen=True)
class ClientModule:
    source: str
    imports: tuple[str, ...]
    services: tuple[ClientService, ...]


def python_name(name: str, taken: frozenset[str]) -> str:
    """A usable Python name: keywords and names already taken get a trailing underscore."""
    return name + "_" if keyword.iskeyword(name) or name in taken else name


class ClientBuilder:
    def __init__(self, api: Api) -> None:
        self.api = api

    def module(self, proto_file: ProtoFile) -> ClientModule | None:
        services = [s for s in proto_file.services if not s.is_framework]
        methods = [
            m
            for s in services
            for m in s.methods
            if not m.client_streaming and not m.server_streaming
        ]
        if not methods:
            return None
        imports = Imports(self.api, self._modules(methods))
        return ClientModule(
            source=proto_file.name,
            imports=tuple(imports.lines()),
            services=tuple(self._service(service, imports) for service in services),
        )

    def _modules(self, methods: list[Method]) -> set[str]:
        modules: set[str] = set()
        for method in methods:
            modules.add(message_module(self.api, method.input))
            modules.add(message_module(self.api, method.output))
            if method.operation:
                modules.add(message_module(self.api, method.operation.metadata_message))
                modules.add(message_module(self.api, method.operation.response))
            if method.paging:
                modules.add(message_module(self.api, method.paging.item_type))
            for item in self.api.message(method.input).fields:
                for ref in (item.type, item.map_value):
                    if ref and ref.kind in (Kind.MESSAGE, Kind.ENUM) and ref.name:
                        modules.add(message_module(self.api, ref.name))
        return modules

    def _service(self, service: Service, imports: Imports) -> ClientService:
        methods = tuple(
            self._method(service, method, imports)
            for method in service.methods
            if not method.client_streaming and not method.server_streaming
        )
        # A blank comment (spaces only) makes no docstring: the class needs one.
        summary = service.comment if service.comment.strip() else service.name
        return ClientService(
            service.name,
            docstring(summary, " " * 4),
            docstring(
                f"{summary}\n\nThe asyncio client: the same methods, as coroutines.",
                " " * 4,
            ),
            methods,
        )

    def _method(
        self, service: Service, method: Method, imports: Imports
    ) -> ClientMethod:
        request = self.api.message(method.input)
        update = (
            method.standard is StandardMethod.UPDATE and service.resource is not None
        )
        parameters = []
        for item in request.fields:
            if update and item.name == "update_mask" and item.type.name == FIELD_MASK:
                annotated: Expression = Either(
                    (imports.message(FIELD_MASK), "Sequence[str]", "None")
                )
            else:
                annotated = self._annotation(item, imports)
            name = python_name(item.name, _METHOD_PARAMETERS)
            parameters.append(Parameter(name, item.name, _laid_out(name, annotated)))
        kind = (
            "operation"
            if method.operation and method.output == OPERATION
            else "pages" if method.paging else "call"
        )
        response = imports.message(
            method.operation.response
            if kind == "operation" and method.operation
            else method.output
        )
        return ClientMethod(
            name=python_name(snake_case(method.name), _CLIENT_MEMBERS),
            path=f"/{service.full_name}/{method.name}",
            docstring=docstring(method.comment, " " * 8),
            request=imports.message(method.input),
            request_annotation=_laid_out(
                "request", Either((imports.message(method.input), "None"))
            ),
            positional=tuple(parameters[:1]),
            keywords=tuple(parameters[1:]),
            kind=kind,
            response=response,
            returns=return_annotation(response, _SIGNATURE_INDENT, ":"),
            metadata=(
                imports.message(method.operation.metadata_message)
                if kind == "operation" and method.operation
                else ""
            ),
            item=imports.message(method.paging.item_type) if method.paging else "",
            items_field=method.paging.items_field if method.paging else "",
            update=update,
            id_field=(
                service.resource.request_id_field if update and service.resource else ""
            ),
        )

    def _annotation(self, item: Field, imports: Imports) -> Either:
        if item.is_map:
            assert item.map_key and item.map_value
            key = self._element(item.map_key, imports)
            value = self._element(item.map_value, imports)
            return Either((Brackets("Mapping[", (key, value), "]"), "None"))
        element = self._element(item.type, imports)
        # An enum field takes the value's name too.
        alternatives = (element, "str") if item.type.kind is Kind.ENUM else (element,)
        if item.repeated:
            each = alternatives[0] if len(alternatives) == 1 else Either(alternatives)
            return Either((Brackets("Iterable[", (each,), "]"), "None"))
        return Either((*alternatives, "None"))

    def _element(self, ref, imports: Imports) -> str:  # type: ignore[no-untyped-def]
        if ref.kind is Kind.SCALAR:
            return _PYTHON_TYPES.get(ref.scalar, "int")
        return imports.message(ref.name)


def _laid_out(name: str, annotated: Expression) -> str:
    return annotation(annotated, _PARAMETER_INDENT, f"{name}: ", " = None,")
