"""The field-mask view: per update request, the paths an update mask may name and typed helpers
over the runtime's `MaskSpec`. `templates/fieldmask.py.j2` lays it out."""

from __future__ import annotations

from dataclasses import dataclass

from generator.layout import exploded, tuple_expression
from generator.model import Api, MaskNode, ProtoFile, StandardMethod
from generator.python_names import Imports, message_module, python_literal
from generator.runtime.contract import FIELDMASK, MaskKind
from generator.runtime_names import imports as runtime_imports
from generator.runtime_names import member, name, version_check
from generator.server import mask_class_name

_CLASS_INDENT = 4  # of the statements in a class of fieldmask.py.j2


@dataclass(frozen=True)
class MaskClass:
    name: str
    request: str  # Python expression of the request class
    resource: str
    request_name: str
    resource_name: str
    mask_field: str  # the request's FieldMask field
    fields: str  # the MaskField tree, as a Python expression
    allowed_paths: str  # a tuple expression, laid out after `ALLOWED_PATHS: Final = `


@dataclass(frozen=True)
class FieldMaskModule:
    source: str
    runtime_imports: tuple[str, ...]
    version_check: str
    imports: tuple[str, ...]
    classes: tuple[MaskClass, ...]


def _node(node: MaskNode) -> str:
    arguments = [
        python_literal(node.name),
        python_literal(node.json_name),
        member(node.kind),
    ]
    if node.children:
        arguments.append(exploded("(", [_node(child) for child in node.children], ")"))
    return exploded(f"{name(FIELDMASK, 'MaskField')}(", arguments, ")")


def _paths(nodes: tuple[MaskNode, ...], prefix: str = "") -> list[str]:
    found = []
    for node in nodes:
        found.append(prefix + node.name)
        if node.kind is MaskKind.MAP:
            found.append(f"{prefix}{node.name}.<key>")
        found.extend(_paths(node.children, f"{prefix}{node.name}."))
    return found


def update_methods(proto_file: ProtoFile):  # type: ignore[no-untyped-def]
    for service in proto_file.services:
        for method in service.methods:
            if method.standard is StandardMethod.UPDATE and service.resource:
                yield service, method


def fieldmask_module(api: Api, proto_file: ProtoFile) -> FieldMaskModule | None:
    methods = list(update_methods(proto_file))
    if not methods:
        return None
    modules = {message_module(api, m.input) for _, m in methods} | {
        message_module(api, s.resource.message) for s, _ in methods
    }
    imports = Imports(api, modules)
    classes = []
    for service, method in methods:
        resource = service.resource
        nodes = api.mask_tree(api.mirrored_fields(method.input, resource.message))
        fields = exploded("(", [_node(node) for node in nodes], ")") if nodes else "()"
        classes.append(
            MaskClass(
                name=mask_class_name(method),
                request=imports.message(method.input),
                resource=imports.message(resource.message),
                request_name=method.input.rsplit(".", 1)[-1],
                resource_name=resource.message.rsplit(".", 1)[-1],
                mask_field=method.shape.mask_field if method.shape else "",
                fields=fields,
                allowed_paths=tuple_expression(
                    [python_literal(path) for path in _paths(nodes)],
                    _CLASS_INDENT,
                    before="ALLOWED_PATHS: Final = ",
                ),
            )
        )
    return FieldMaskModule(
        proto_file.name,
        runtime_imports(FIELDMASK),
        version_check(),
        tuple(imports.lines()),
        tuple(classes),
    )
