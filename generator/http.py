"""HTTP rules: what an rpc's `google.api.http` option says, read from the options' bytes.

The option is decoded as the typed `google.api.HttpRule` (googleapis-common-protos) rather than
by `wire.decode_message`, which merges repeated message fields and would collapse
`additional_bindings`. The path template follows the grammar of `google/api/http.proto`:

    Template = "/" Segments [ Verb ] ;
    Segments = Segment { "/" Segment } ;
    Segment  = "*" | "**" | LITERAL | Variable ;
    Variable = "{" FieldPath [ "=" Segments ] "}" ;
    FieldPath = IDENT { "." IDENT } ;
    Verb     = ":" LITERAL ;

A rule whose bytes, template or field names are wrong is a problem naming the rpc; the rpc then
has no rule (`parse_rule` raises `HttpRuleError`, `check_fields` returns what is wrong).
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from typing import Callable, Iterable, Sequence

from google.api import http_pb2
from google.protobuf.message import DecodeError

from generator import wire

HTTP_OPTION = "google.api.http"
# The extension's number on google.protobuf.MethodOptions (google/api/annotations.proto).
HTTP_EXTENSION = 72295728
_LENGTH_DELIMITED = 2
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# A literal segment: anything but the characters the grammar gives a meaning to.
_LITERAL = re.compile(r"[^/{}=*:]+")


class HttpRuleError(ValueError):
    """The option does not make a rule; the message says why."""


@dataclass(frozen=True)
class PathVariable:
    """`{field_path}` or `{field_path=segments}` in a path template."""

    field_path: tuple[str, ...]
    segments: str = "*"  # what the variable matches, as written after `=`

    @property
    def field(self) -> str:
        """The top-level request field the variable names (or leads into)."""
        return self.field_path[0]

    @property
    def dotted(self) -> str:
        return ".".join(self.field_path)


Segment = str | PathVariable  # a literal, "*", "**", or a variable


@dataclass(frozen=True)
class PathTemplate:
    text: str  # as written in the rule
    segments: tuple[Segment, ...]
    verb: str = ""  # the custom verb after the last `:`, e.g. `rotate`, or ""

    @property
    def variables(self) -> tuple[PathVariable, ...]:
        return tuple(s for s in self.segments if isinstance(s, PathVariable))

    @property
    def ends_with_variable(self) -> bool:
        """The last segment is a variable: the path names one thing (`/keys/{key_id}`)."""
        return bool(self.segments) and isinstance(self.segments[-1], PathVariable)


@dataclass(frozen=True)
class Placement:
    """Where a request's top-level fields go, as `google/api/http.proto` says: the fields
    that path variables name, the body, and the query string (each in declaration order).
    """

    path: tuple[str, ...]
    body: tuple[str, ...]
    query: tuple[str, ...]


@dataclass(frozen=True)
class HttpBinding:
    method: str  # GET, PUT, POST, DELETE, PATCH, or a custom pattern's kind as written
    path: PathTemplate
    body: str = ""  # "" (no body), "*" (every field not in the path), or a field path
    response_body: str = ""  # "" (the whole response), or a response field path

    def placement(self, fields: Sequence[str]) -> Placement:
        """Where each of the request's top-level `fields` (in declaration order) goes."""
        in_path = {variable.field for variable in self.path.variables}
        # A variable naming a nested field takes only that field out of its message.
        whole = {v.field for v in self.path.variables if len(v.field_path) == 1}
        path = tuple(name for name in fields if name in in_path)
        rest = tuple(name for name in fields if name not in whole)
        if self.body == "*":
            return Placement(path, rest, ())
        if self.body:
            body_field = self.body.split(".")[0]
            return Placement(
                path,
                tuple(n for n in rest if n == body_field),
                tuple(n for n in rest if n != body_field and n not in in_path),
            )
        return Placement(path, (), tuple(n for n in rest if n not in in_path))


@dataclass(frozen=True)
class HttpRule:
    """An rpc's rule: its binding and the additional ones, in the order written."""

    binding: HttpBinding
    additional: tuple[HttpBinding, ...] = ()

    @property
    def bindings(self) -> tuple[HttpBinding, ...]:
        return (self.binding, *self.additional)


def option_bytes(method_options: bytes) -> bytes | None:
    """The `google.api.http` value in serialized MethodOptions, its occurrences joined (which
    merges them, as a parser would); None when the option is absent."""
    if not method_options:
        return None
    found = [
        value
        for number, wire_type, value in wire.iter_fields(method_options)
        if number == HTTP_EXTENSION and wire_type == _LENGTH_DELIMITED
    ]
    return b"".join(found) if found else None  # type: ignore[arg-type]


def parse_rule(data: bytes) -> HttpRule:
    """The rule in the option's bytes; HttpRuleError when they make none."""
    try:
        raw = http_pb2.HttpRule.FromString(data)
    except DecodeError as error:
        raise HttpRuleError(f"cannot decode: {error}") from None
    binding = _binding(raw)
    additional = []
    for index, extra in enumerate(raw.additional_bindings):
        if extra.additional_bindings:
            raise HttpRuleError(
                f"additional_bindings[{index}] has additional_bindings of its own "
                "(only the top-level rule may have them)"
            )
        try:
            additional.append(_binding(extra))
        except HttpRuleError as wrong:
            raise HttpRuleError(f"additional_bindings[{index}]: {wrong}") from None
    return HttpRule(binding, tuple(additional))


def _binding(raw: http_pb2.HttpRule) -> HttpBinding:
    pattern = raw.WhichOneof("pattern")
    if pattern is None:
        raise HttpRuleError("no HTTP method (get, put, post, delete, patch or custom)")
    if pattern == "custom":
        if not raw.custom.kind:
            raise HttpRuleError("a custom pattern without a kind")
        method, text = raw.custom.kind, raw.custom.path
    else:
        method, text = sys.intern(pattern.upper()), getattr(raw, pattern)
    return HttpBinding(method, parse_template(text), raw.body, raw.response_body)


def parse_template(text: str) -> PathTemplate:
    """A path template by the grammar above; HttpRuleError saying where it fails."""
    if not text.startswith("/"):
        raise HttpRuleError(f"path {text!r} does not start with '/'")
    body, verb = text, ""
    # The verb is what follows the last ':' outside a variable.
    depth, colon = 0, -1
    for index, char in enumerate(text):
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
        elif char == ":" and depth == 0:
            colon = index
    if depth != 0:
        raise HttpRuleError(f"path {text!r}: unbalanced braces")
    if colon >= 0:
        body, verb = text[:colon], text[colon + 1 :]
        if not _LITERAL.fullmatch(verb):
            raise HttpRuleError(f"path {text!r}: bad verb {verb!r}")
    segments = _segments(body[1:], text, in_variable=False)
    return PathTemplate(text, tuple(segments), verb)


def _segments(part: str, text: str, in_variable: bool) -> list[Segment]:
    found: list[Segment] = []
    for raw in _split_outside_braces(part, text):
        if raw in ("*", "**") or _LITERAL.fullmatch(raw):
            found.append(sys.intern(raw))  # see model.py on shared strings
        elif raw.startswith("{") and raw.endswith("}") and not in_variable:
            found.append(_variable(raw[1:-1], text))
        else:
            raise HttpRuleError(f"path {text!r}: bad segment {raw!r}")
    return found


def _split_outside_braces(part: str, text: str) -> list[str]:
    pieces, depth, start = [], 0, 0
    for index, char in enumerate(part):
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
        elif char == "/" and depth == 0:
            pieces.append(part[start:index])
            start = index + 1
    pieces.append(part[start:])
    if any(not piece for piece in pieces):
        raise HttpRuleError(f"path {text!r}: an empty segment")
    return pieces


def _variable(inside: str, text: str) -> PathVariable:
    name, _, pattern = inside.partition("=")
    path = tuple(map(sys.intern, name.split(".")))
    if not all(_IDENT.fullmatch(part) for part in path):
        raise HttpRuleError(f"path {text!r}: bad field path {name!r}")
    if "=" in inside:
        if "{" in pattern or "}" in pattern:
            raise HttpRuleError(f"path {text!r}: a variable inside a variable")
        _segments(pattern, text, in_variable=True)  # checks it
        return PathVariable(path, pattern)
    return PathVariable(path)


# `lookup(message, field)`: the field's message type ("" if it holds no message) and whether it
# is repeated or a map; None when the message has no such field.
FieldLookup = Callable[[str, str], "tuple[str, bool] | None"]


def check_fields(
    rule: HttpRule, request: str, response: str, lookup: FieldLookup
) -> list[str]:
    """What is wrong with the field names of `rule` for an rpc from `request` to `response`
    (full message names): path variables and `body` must name request fields, and
    `response_body` a response field."""
    wrong: list[str] = []
    for index, binding in enumerate(rule.bindings):
        where = f"additional_bindings[{index - 1}]: " if index else ""
        for variable in binding.path.variables:
            problem = _resolve(request, variable.field_path, lookup, leaf_scalar=True)
            if problem:
                wrong.append(f"{where}path variable {{{variable.dotted}}}: {problem}")
        if binding.body not in ("", "*"):
            problem = _resolve(request, tuple(binding.body.split(".")), lookup)
            if problem:
                wrong.append(f"{where}body {binding.body!r}: {problem}")
        if binding.response_body:
            path = tuple(binding.response_body.split("."))
            problem = _resolve(response, path, lookup)
            if problem:
                wrong.append(
                    f"{where}response_body {binding.response_body!r}: {problem}"
                )
    return wrong


def _resolve(
    message: str,
    path: Iterable[str],
    lookup: FieldLookup,
    leaf_scalar: bool = False,
) -> str:
    """Why `path` names no field from `message` ("" if it does); with `leaf_scalar`, the
    field must also hold one value that is not a message, as a path variable must."""
    path = tuple(path)
    current = message
    for depth, name in enumerate(path):
        found = lookup(current, name)
        if found is None:
            return f"{current} has no field {name!r}"
        field_message, many = found
        last = depth == len(path) - 1
        if last:
            if leaf_scalar and many:
                return f"{current}.{name} is repeated or a map"
            if leaf_scalar and field_message:
                return f"{current}.{name} is a message"
            return ""
        if many or not field_message:
            return f"{current}.{name} is not a message field to go into"
        current = field_message
    return ""
