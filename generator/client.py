"""The client view: per service, a sync and an asyncio client class with one typed method per rpc.
`templates/client.py.j2` lays it out."""

from __future__ import annotations

import keyword
from dataclasses import dataclass, replace
from typing import Sequence

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
from generator.runtime.contract import (
    CLIENT,
    CLIENT_FLAVOURS,
    ConnectionCall,
)
from generator.runtime_names import imports as runtime_imports
from generator.runtime_names import name as runtime_name
from generator.runtime_names import version_check

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
    """A method of one flavour of client: it builds the request message from its parameters,
    then hands it to the connection."""

    name: str
    docstring: str
    request_annotation: str  # of the `request` parameter, laid out like a Parameter's
    positional: tuple[Parameter, ...]  # may be passed by position
    keywords: tuple[Parameter, ...]  # keyword-only
    build: str  # the runtime function that builds the request message
    build_arguments: tuple[str, ...]
    connection_call: str  # the connection's method that sends it
    call_arguments: tuple[str, ...]  # before `timeout=timeout`
    coroutine: bool  # `async def`, and the connection's call awaited
    returns: str  # the return annotation, laid out after `) -> `


@dataclass(frozen=True)
class ClientClass:
    """One flavour of a service's client (blocking or asyncio) over the runtime's connection."""

    name: str
    docstring: str
    asynchronous: bool
    channel: str  # the grpc channel class it can be given
    connection: str  # the runtime class it calls through
    methods: tuple[ClientMethod, ...]


@dataclass(frozen=True)
class ClientModule:
    source: str
    runtime_imports: tuple[str, ...]
    version_check: str
    imports: tuple[str, ...]
    classes: tuple[ClientClass, ...]


def python_name(name: str, taken: frozenset[str]) -> str:
    """A usable Python name: keywords and names already taken get a trailing underscore."""
    return name + "_" if keyword.iskeyword(name) or name in taken else name


class ClientBuilder:
    def __init__(self, api: Api) -> None:
        self.api = api

    def module(self, proto_file: ProtoFile) -> ClientModule | None:
        services = [s for s in proto_file.services if not s.is_framework]
        methods = [m for s in services for m in s.methods if _unary(m)]
        if not methods:
            return None
        imports = Imports(self.api, self._modules(methods))
        return ClientModule(
            source=proto_file.name,
            runtime_imports=runtime_imports(CLIENT),
            version_check=version_check(),
            imports=tuple(imports.lines()),
            classes=tuple(
                client
                for service in services
                for client in self._classes(service, imports)
            ),
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

    def _classes(self, service: Service, imports: Imports) -> list[ClientClass]:
        """The service's client of each flavour, in CLIENT_FLAVOURS order."""
        # Each method's flavours, worked out together: they differ in two fields.
        methods = [
            self._methods(service, method, imports)
            for method in service.methods
            if _unary(method)
        ]
        # A blank comment (spaces only) makes no docstring: the class needs one.
        summary = service.comment if service.comment.strip() else service.name
        classes = []
        for index, flavour in enumerate(CLIENT_FLAVOURS):
            text = summary
            if flavour.asynchronous:
                text += "\n\nThe asyncio client: the same methods, as coroutines."
            classes.append(
                ClientClass(
                    name=f"{flavour.prefix}{service.name}Client",
                    docstring=docstring(text, " " * 4),
                    asynchronous=flavour.asynchronous,
                    channel=(
                        "grpc.aio.Channel" if flavour.asynchronous else "grpc.Channel"
                    ),
                    connection=runtime_name(CLIENT, flavour.connection),
                    methods=tuple(flavours[index] for flavours in methods),
                )
            )
        return classes

    def _methods(
        self, service: Service, method: Method, imports: Imports
    ) -> tuple[ClientMethod, ...]:
        """The method in each flavour of client, in CLIENT_FLAVOURS order."""
        request = self.api.message(method.input)
        update = (
            method.standard is StandardMethod.UPDATE and service.resource is not None
        )
        parameters = []
        mask_parameter = ""  # an Update's: the client computes the mask when it is None
        for item in request.fields:
            name = python_name(item.name, _METHOD_PARAMETERS)
            mask_field = method.shape.mask_field if update and method.shape else ""
            if mask_field and item.name == mask_field:
                annotated: Expression = Either(
                    (imports.message(FIELD_MASK), "Sequence[str]", "None")
                )
                mask_parameter = name
            else:
                annotated = self._annotation(item, imports)
            parameters.append(Parameter(name, item.name, _laid_out(name, annotated)))
        path = python_literal(f"/{service.full_name}/{method.name}")
        if method.operation and method.output == OPERATION:
            call = ConnectionCall.OPERATION
            response = imports.message(method.operation.response)
            second = imports.message(method.operation.metadata_message)
            returns = [
                _generic(runtime_name(CLIENT, flavour.operation), response, second)
                for flavour in CLIENT_FLAVOURS
            ]
            call_arguments: tuple[str, ...] = (path, "message", response, second)
        elif method.paging:
            call = ConnectionCall.PAGES
            response = imports.message(method.output)
            item_type = imports.message(method.paging.item_type)
            returns = [
                _generic(runtime_name(CLIENT, flavour.pager), response, item_type)
                for flavour in CLIENT_FLAVOURS
            ]
            items_field = python_literal(method.paging.items_field)
            call_arguments = (path, "message", response, items_field)
        else:
            call = ConnectionCall.CALL
            response = imports.message(method.output)
            returns = [return_annotation(response, _SIGNATURE_INDENT, ":")] * len(
                CLIENT_FLAVOURS
            )
            call_arguments = (path, "message", response)
        request_class = imports.message(method.input)
        if mask_parameter:
            assert service.resource is not None
            build = runtime_name(CLIENT, "build_update")
            leading: tuple[str, ...] = (
                request_class,
                "request",
                mask_parameter,
                python_literal(method.shape.mask_field),  # type: ignore[union-attr]
                _flat_literals(method.shape.key_fields),  # type: ignore[union-attr]
            )
        else:
            build = runtime_name(CLIENT, "build")
            leading = (request_class, "request")
        fields = tuple(p.argument for p in parameters if p.name != mask_parameter)
        common = ClientMethod(
            name=python_name(snake_case(method.name), _CLIENT_MEMBERS),
            docstring=docstring(method.comment, " " * 8),
            request_annotation=_laid_out("request", Either((request_class, "None"))),
            positional=tuple(parameters[:1]),
            keywords=tuple(parameters[1:]),
            build=build,
            build_arguments=leading + fields,
            connection_call=call.value,
            call_arguments=call_arguments,
            coroutine=False,
            returns=returns[0],
        )
        return tuple(
            replace(
                common,
                # A pager is made at once; it calls (and awaits) as it is iterated.
                coroutine=flavour.asynchronous and call is not ConnectionCall.PAGES,
                returns=flavour_returns,
            )
            for flavour, flavour_returns in zip(CLIENT_FLAVOURS, returns)
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


def _unary(method: Method) -> bool:
    return not method.client_streaming and not method.server_streaming


def _generic(runtime_class: str, *parameters: str) -> str:
    """`Class[A, B]` as a return annotation, one parameter per line (the magic trailing comma
    keeps black from joining them), laid out as `return_annotation` lays out."""
    lines = "".join(f"{' ' * _SIGNATURE_INDENT}{item},\n" for item in parameters)
    return f"{runtime_class}[\n{lines}]"


def _laid_out(name: str, annotated: Expression) -> str:
    return annotation(annotated, _PARAMETER_INDENT, f"{name}: ", " = None,")


def _flat_literals(values: Sequence[str]) -> str:
    """A one-line tuple of string literals."""
    inner = ", ".join(python_literal(v) for v in values)
    return f"({inner},)" if len(values) == 1 else f"({inner})"
