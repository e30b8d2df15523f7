"""How proto elements are named in generated Python: modules, import aliases, type expressions."""

from __future__ import annotations

import re
from collections import Counter
from functools import lru_cache
from typing import Iterable

from generator.layout import LINE_LENGTH, import_statement
from generator.model import Api


@lru_cache(maxsize=None)
def module_name(proto_file: str, suffix: str) -> str:
    """`a/b/c.proto` + `_pb2` -> `a.b.c_pb2`, as protoc's Python generator names modules."""
    return proto_file[: -len(".proto")].replace("-", "_").replace("/", ".") + suffix


def output_path(proto_file: str, suffix: str) -> str:
    return module_name(proto_file, suffix).replace(".", "/") + ".py"


def python_literal(value: object) -> str:
    """A literal as black writes it: strings in double quotes unless that needs more escapes."""
    if isinstance(value, str):
        return _string_literal(value)
    if isinstance(value, float):  # black writes `1e+16` as `1e16`
        return repr(value).replace("e+", "e")
    return repr(value)


@lru_cache(maxsize=None)  # the same names and sentences come back often
def _string_literal(value: str) -> str:
    text = repr(value)
    # Black's rule: double quotes, unless they take more escapes than single ones.
    if text.startswith("'") and value.count('"') <= value.count("'"):
        text = '"' + text[1:-1].replace("\\'", "'").replace('"', '\\"') + '"'
    return text


_LINE_BREAK = re.compile(r"\r\n|[\r\n]")


def docstring(text: str, indent: str) -> str:
    """A docstring literal for a comment, laid out exactly as black lays docstrings out at
    `indent`: lines re-indented (PEP 257), trailing spaces dropped, closing quotes on their
    own line when the last line would be too long. "" for an empty comment."""
    body = text.replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
    if _LINE_BREAK.search(body):  # Python reads a lone \r in source as a line break too
        body = _reindent(body, indent)
    else:
        body = body.strip()
    if not body:
        return ""
    if body[0] == '"':
        body = " " + body
    padded = body + " " if body[-1] == '"' else body
    lines = padded.splitlines()
    if len(lines) > 1 and len(lines[-1]) + 3 > LINE_LENGTH:
        # The closing quotes go on a line of their own, and the last line is not padded.
        return f'"""{body}\n{indent}"""'
    return f'"""{padded}"""'


def _reindent(body: str, indent: str) -> str:
    lines = []
    for line in _LINE_BREAK.split(body):
        stripped = line.lstrip()
        if stripped and stripped != line:
            line = line[: len(line) - len(stripped)].expandtabs(4) + stripped
        lines.append(line)
    margins = [len(line) - len(line.lstrip()) for line in lines[1:] if line.lstrip()]
    trimmed = [lines[0].strip()]
    if not margins:  # nothing but blank lines after the first
        return trimmed[0]
    margin = min(margins)
    for index, line in enumerate(lines[1:]):
        content = line[margin:].rstrip()
        last = index == len(lines) - 2
        trimmed.append(indent + content if content or last else "")
    return "\n".join(trimmed)


class Imports:
    """The modules a generated file imports, each under a unique, stable alias."""

    def __init__(self, api: Api, modules: Iterable[str]) -> None:
        self.api = api
        self.aliases = _aliases(sorted(set(modules)))

    def lines(self) -> list[str]:
        """The import statements, in black's layout."""
        return [
            import_statement(module, alias) for module, alias in self.aliases.items()
        ]

    def message(self, full_name: str) -> str:
        """The Python expression for a message or enum class, e.g. `image_pb2.Image.Status`."""
        if full_name.startswith("google.protobuf."):
            module = f"google.protobuf.{_well_known_module(full_name)}"
            return f"{self.aliases[module]}.{full_name[len('google.protobuf.'):]}"
        element = self.api.messages.get(full_name) or self.api.enums[full_name]
        package = element.package
        relative = full_name[len(package) + 1 :] if package else full_name
        return f"{self.aliases[module_name(element.file, '_pb2')]}.{relative}"


def _aliases(modules: list[str]) -> dict[str, str]:
    """Each module's alias: its last name, or as many of its last names as set it apart from
    every other module's, joined by `_` (`v1_image_pb2`)."""
    parts = {module: module.split(".") for module in modules}
    aliases: dict[str, str] = {}
    pending = modules
    depth = 1
    while pending:
        candidates = {module: "_".join(parts[module][-depth:]) for module in modules}
        counts = Counter(candidates.values())
        still = []
        for module in pending:
            if counts[candidates[module]] == 1 or depth >= len(parts[module]):
                aliases[module] = candidates[module]
            else:
                still.append(module)
        pending = still
        depth += 1
    return {module: aliases[module] for module in modules}


def message_module(api: Api, full_name: str) -> str:
    """The module that defines a message or enum."""
    if full_name.startswith("google.protobuf."):
        return f"google.protobuf.{_well_known_module(full_name)}"
    element = api.messages.get(full_name) or api.enums[full_name]
    return module_name(element.file, "_pb2")


# The protobuf runtime module of each google.protobuf message.
_WELL_KNOWN_MODULES = {
    "any_pb2": "Any",
    "api_pb2": "Api Method Mixin",
    "duration_pb2": "Duration",
    "empty_pb2": "Empty",
    "field_mask_pb2": "FieldMask",
    "source_context_pb2": "SourceContext",
    "struct_pb2": "Struct Value ListValue NullValue",
    "timestamp_pb2": "Timestamp",
    "type_pb2": "Type Field Enum EnumValue Option Syntax",
    "wrappers_pb2": "DoubleValue FloatValue Int64Value UInt64Value Int32Value UInt32Value "
    "BoolValue StringValue BytesValue",
}
_WELL_KNOWN_FILES = {
    name: module
    for module, names in _WELL_KNOWN_MODULES.items()
    for name in names.split()
}


def _well_known_module(full_name: str) -> str:
    # By the name after `google.protobuf.`: a nested type (Field.Kind) is in its parent's module.
    return _WELL_KNOWN_FILES[full_name.split(".")[2]]
