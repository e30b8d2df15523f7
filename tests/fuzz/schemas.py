"""Hypothesis strategies for random Yandex-style schemas, built directly as FileDescriptorProtos.

A schema is one or two `.proto` files in random packages, shaped as protoc would send them to a
plugin: messages with scalar, enum, message, map and repeated fields, nested types, enums whose
first value is zero, real oneofs and proto3 `optional` (a synthetic oneof per field), services
with and without `(yandex.cloud.api.operation)`, often one resource-shaped service with the
standard methods, `yandex.cloud` validation options serialized into the options' bytes, and
leading comments in SourceCodeInfo. The imports (validation.proto, the operation protos,
well-known types, google/rpc/status) are the real descriptors, compiled once.

Options may be malformed on purpose. Each deliberate problem is recorded as a `Culprit`: where
the plugin must (or may) report a problem (a warning, or with `strict=true` an error when the
file is generated), and what the line must name.
"""

from __future__ import annotations

import enum
import functools
import keyword
from dataclasses import dataclass, field
from typing import Callable, Iterable

from google.protobuf import descriptor_pb2, descriptor_pool
from google.protobuf.compiler import plugin_pb2
from hypothesis import strategies as st

from support import compile_descriptors, varint

FDP = descriptor_pb2.FieldDescriptorProto
Draw = Callable[..., object]

BASE_PROTOS = (
    "yandex/cloud/validation.proto",
    "yandex/cloud/api/operation.proto",
    "yandex/cloud/operation/operation.proto",
    "google/protobuf/duration.proto",
    "google/protobuf/empty.proto",
    "google/protobuf/field_mask.proto",
    "google/protobuf/struct.proto",
    "google/protobuf/wrappers.proto",
    "google/rpc/status.proto",
)
OPERATION = "yandex.cloud.operation.Operation"
# Messages of the imports that random fields, rpcs and operation options may use.
BASE_MESSAGES = [
    "google.protobuf.Timestamp",
    "google.protobuf.Duration",
    "google.protobuf.FieldMask",
    "google.protobuf.Empty",
    "google.protobuf.Any",
    "google.protobuf.Struct",
    "google.protobuf.Value",
    "google.protobuf.StringValue",
    "google.protobuf.Int64Value",
    "google.protobuf.BoolValue",
    "google.protobuf.DoubleValue",
    "google.rpc.Status",
    OPERATION,
]
DURATION = "google.protobuf.Duration"
TIMESTAMP = "google.protobuf.Timestamp"
# Wrappers whose value `value` bounds, by what they wrap.
WRAPPED = {
    "google.protobuf.StringValue": "string",
    "google.protobuf.Int64Value": "int64",
    "google.protobuf.DoubleValue": "double",
}

# Extension numbers of yandex/cloud/validation.proto and yandex/cloud/api/operation.proto.
EXACTLY_ONE = 101400
FIELD_EXTENSIONS = {
    "required": 101501,
    "pattern": 101502,
    "value": 101503,
    "size": 101504,
    "length": 101505,
    "unique": 101506,
    "map_key": 101510,
    "bytes": 101511,
}
MAP_KEY_FIELDS = {"value": 1, "pattern": 2, "length": 3}
OPERATION_EXTENSION = 87334

SCALARS = {
    "double": FDP.TYPE_DOUBLE,
    "float": FDP.TYPE_FLOAT,
    "int64": FDP.TYPE_INT64,
    "uint64": FDP.TYPE_UINT64,
    "int32": FDP.TYPE_INT32,
    "fixed64": FDP.TYPE_FIXED64,
    "fixed32": FDP.TYPE_FIXED32,
    "bool": FDP.TYPE_BOOL,
    "string": FDP.TYPE_STRING,
    "bytes": FDP.TYPE_BYTES,
    "uint32": FDP.TYPE_UINT32,
    "sfixed32": FDP.TYPE_SFIXED32,
    "sfixed64": FDP.TYPE_SFIXED64,
    "sint32": FDP.TYPE_SINT32,
    "sint64": FDP.TYPE_SINT64,
}
INTEGERS = frozenset(
    "int64 uint64 int32 fixed64 fixed32 uint32 sfixed32 sfixed64 sint32 sint64".split()
)
FLOATS = frozenset({"double", "float"})
MAP_KEYS = sorted(INTEGERS | {"string", "bool"})


@functools.cache
def base_files() -> tuple[descriptor_pb2.FileDescriptorProto, ...]:
    """The real descriptors of the imports, in dependency order (compiled once)."""
    return tuple(compile_descriptors(BASE_PROTOS).file)


# ---- protobuf wire format, for option bytes ----------------------------------------------


def length_delimited(number: int, payload: bytes) -> bytes:
    return varint(number << 3 | 2) + varint(len(payload)) + payload


def varint_field(number: int, value: int) -> bytes:
    return varint(number << 3) + varint(value)


def option_bytes(name: str, value: object) -> bytes:
    """One validation option as the bytes protoc writes into FieldOptions."""
    number = FIELD_EXTENSIONS[name]
    if isinstance(value, bool):
        return varint_field(number, int(value))
    if isinstance(value, dict):
        spec = b"".join(
            length_delimited(MAP_KEY_FIELDS[key], text.encode())
            for key, text in value.items()
        )
        return length_delimited(number, spec)
    assert isinstance(value, str)
    return length_delimited(number, value.encode())


def operation_bytes(metadata: str, response: str) -> bytes:
    inner = b""
    if metadata:
        inner += length_delimited(1, metadata.encode())
    if response:
        inner += length_delimited(2, response.encode())
    return length_delimited(OPERATION_EXTENSION, inner)


# Option bytes that protoc never writes: values of the wrong wire type. (Bad UTF-8 or a truncated
# message would fail to parse here already, once validation_pb2 is imported in this process: see
# test_undecodable_option_bytes, which goes through the plugin's own process instead.)
GARBAGE_OPTIONS = [
    varint_field(FIELD_EXTENSIONS["pattern"], 5),
    varint_field(FIELD_EXTENSIONS["map_key"], 1),
    length_delimited(FIELD_EXTENSIONS["required"], b"x"),
]


# ---- names -------------------------------------------------------------------------------

PYTHON_HAZARDS = [
    "from", "class", "def", "lambda", "import", "global", "yield", "async", "await",
    "return", "pass", "in", "is", "not", "and", "or", "if", "else", "for", "while", "try",
    "with", "as", "del", "raise", "assert", "match", "case", "type", "str", "int", "list",
    "dict", "object", "print", "self", "cls", "request", "context", "timeout", "metadata",
    "close", "connection", "retry", "grpc", "result", "operation", "runtime", "annotations",
]  # fmt: skip
API_FIELDS = [
    "id", "name", "description", "folder_id", "labels", "status", "created_at",
    "update_mask", "page_size", "page_token", "next_page_token", "filter", "order_by",
    "operation_id", "spec", "value", "key", "uri", "done", "error", "response",
]  # fmt: skip
MESSAGE_HAZARDS = [
    "Image", "Operation", "Empty", "Status", "Request", "Response", "Service", "Timestamp",
    "Any", "Field", "Enum", "Message", "Type", "Object", "List", "Dict", "Metadata",
    "Error", "Client", "Servicer", "Mask", "Spec", "Grpc", "Validation", "Runtime", "Rules",
    "Bound", "Check", "Violation", "Path", "Spec2",
]  # fmt: skip
SNAKE = st.from_regex(r"[a-z][a-z0-9]{0,7}(_[a-z0-9]{1,6}){0,2}", fullmatch=True)
FIELD_NAMES = st.one_of(
    SNAKE, st.sampled_from(PYTHON_HAZARDS), st.sampled_from(API_FIELDS)
)
CAMEL = st.from_regex(r"[A-Z][a-z][a-zA-Z0-9]{0,10}", fullmatch=True)
TYPE_NAMES = st.one_of(CAMEL, st.sampled_from(MESSAGE_HAZARDS))
SERVICE_NAMES = st.one_of(
    CAMEL.map(lambda name: name + "Service"), CAMEL, st.just("Service")
)
METHOD_NAMES = st.one_of(
    st.sampled_from(
        "Get List Create Update Delete ListOperations Start Stop Move Watch Do".split()
    ),
    # An rpc `Index` would have its service's index page for its page: an error.
    CAMEL.filter(lambda name: name != "Index"),
)
# Not a Python keyword: `from yandex.cloud.if.v1 import x_pb2` cannot be written, so protoc's
# own Python output is unusable there, and so is any code that imports it.
PACKAGE_PART = st.from_regex(r"[a-z][a-z0-9_]{0,7}", fullmatch=True).filter(
    lambda part: not part.startswith("v")
    and "__" not in part
    and not keyword.iskeyword(part)
)
VERSION = st.sampled_from(["v1", "v1alpha", "v2beta1", "v3"])
PACKAGES = st.one_of(
    st.builds(
        lambda parts, version: ".".join(["yandex", "cloud", *parts, version]),
        st.lists(PACKAGE_PART, min_size=1, max_size=2),
        VERSION,
    ),
    st.builds(
        lambda parts, version: ".".join(parts + version),
        st.lists(PACKAGE_PART, min_size=1, max_size=3),
        st.lists(VERSION, max_size=1),
    ),
    st.just(""),
).filter(lambda package: package.split(".")[:3] != ["yandex", "cloud", "operation"])
FILE_STEMS = st.from_regex(r"[a-z][a-z0-9_]{0,8}(-[a-z0-9]{1,4})?", fullmatch=True)


def json_name(name: str) -> str:
    """protoc's default json_name: underscores dropped, the letter after one upper-cased."""
    out, upper = [], False
    for char in name:
        if char == "_":
            upper = True
        else:
            out.append(char.upper() if upper else char)
            upper = False
    return "".join(out)


def map_entry_name(name: str) -> str:
    """protoc's name for the entry message of map field `name`."""
    out, upper = [], True
    for char in name:
        if char == "_":
            upper = True
        else:
            out.append(char.upper() if upper and "a" <= char <= "z" else char)
            upper = False
    return "".join(out) + "Entry"


def snake_case(name: str) -> str:
    import re

    return re.sub(
        r"(?<=[a-z0-9])([A-Z])|(?<=[A-Z])([A-Z])(?=[a-z])", r"_\1\2", name
    ).lower()


# ---- comments ----------------------------------------------------------------------------

COMMENT_TOKENS = [
    '"', "'", '"""', "'''", "\\", "\\n", "[X]", "[Image]", "[ImageService.List]",
    "[text](https://example.com/a_(b))", "`code`", "``", "{{ x }}", "{% if x %}", "{#",
    "|", "<b>", "&amp;", "*", "_", "#", "\t", "\r", "\x0c", "\x0b", "\u2028", "\x85",
    "\x1c", "😀", "ünïcödé", "中文字", "  ", "%s", "{}", "$(x)", "-", ">", "1.", "    code",
]  # fmt: skip
# Anything protoc lets through in a `//` comment: every character but NUL and the line break.
COMMENT_TEXT = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00\n"),
    max_size=50,
)


def comment_lines(references: list[str]) -> st.SearchStrategy[str]:
    tokens = st.sampled_from(COMMENT_TOKENS)
    words = st.one_of(tokens, st.sampled_from(references).map(lambda r: f"[{r}]"))
    line = st.one_of(
        COMMENT_TEXT,
        st.lists(st.one_of(words, st.just(" "), SNAKE), max_size=8).map("".join),
    )
    return st.lists(line, min_size=1, max_size=4).map(
        lambda lines: "".join(f" {text}\n" for text in lines)
    )


# ---- validation options ------------------------------------------------------------------


class Expect(enum.Enum):
    VALID = "valid"  # the plugin must accept it silently
    PROBLEM = "problem"  # the plugin must report it: a warning, or an error when strict
    EITHER = "either"  # the plugin may do either


@dataclass(frozen=True)
class Culprit:
    """A deliberate problem: the error line must name `file`, `element` and `option`."""

    file: str
    element: str
    option: str
    expect: Expect
    note: str = ""


def _bounds(number: st.SearchStrategy[int]) -> st.SearchStrategy[str]:
    """`N`, `<N`, `<=N`, `>N`, `>=N`, `==N` or `A-B`, as validation.proto defines them."""
    return st.one_of(
        number.map(str),
        st.builds(
            lambda op, n: f"{op}{n}",
            st.sampled_from(["<", "<=", ">", ">=", "=="]),
            number,
        ),
        st.tuples(number, number).map(lambda ab: f"{min(ab)}-{max(ab)}"),
    )


COUNTS = st.integers(1, 100)
INT_VALUES = st.integers(-(2**31), 2**31 - 1)
GOOD_LENGTH = _bounds(COUNTS)
GOOD_INT_VALUE = st.one_of(
    _bounds(INT_VALUES),
    st.lists(INT_VALUES, min_size=2, max_size=4).map(lambda xs: ",".join(map(str, xs))),
)
FINITE = st.floats(-1e6, 1e6, allow_nan=False).map(lambda x: repr(round(x, 3)))
GOOD_FLOAT_VALUE = st.one_of(
    FINITE,
    st.builds(
        lambda op, x: f"{op}{x}", st.sampled_from(["<", "<=", ">", ">="]), FINITE
    ),
    st.tuples(st.integers(0, 10), st.integers(11, 99)).map(
        lambda ab: f"{ab[0]}.5-{ab[1]}.25"
    ),
)
GOOD_DURATION = st.sampled_from(
    ["1s", "<=24h", ">=500ms", "1s-1h", "1s,2s,5m", ">0s", "1.5h"]
)
GOOD_TIMESTAMP = st.sampled_from(
    [
        "19700101T000000.000000000-21051231T235959.999999999",
        ">=20240101T000000",
        "<20300101T120000.5",
    ]
)
GOOD_STRING_VALUE = st.one_of(
    st.sampled_from(["a,b,c", "ONE", "x, y", "STANDARD,PREMIUM"]),
    st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=10),
)
GOOD_PATTERNS = [
    "[a-z][a-z0-9]*", "[a-z]([-a-z0-9]*[a-z0-9])?", "[-_0-9a-z]*", "a|b|c", "\\d{1,3}",
    "[^\"']*", "(?i)abc", ".*", "[a-z]{1,3}\\.\\w+", "`x`", "\\\\", "[\\]\\[]", "ü+",
    "\"\"\"", "{{x}}", "\\|", "[|]", "'", "$", "\\n",
]  # fmt: skip
BAD_PATTERNS = ["(", "[a-", "*a", "a{2,1}", "(?P<1>x)", "\\", "(?<", "[z-a]"]
BAD_BOUNDS = ["abc", "5-", "", "<", "3-1", "1.5", "1 2", "<=x", "--", "0x10", "1e3"]
NON_FINITE = ["inf", "-inf", "nan", "<=1e400", "1e309-2e309", "1,nan"]
RANDOM_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)


@dataclass(frozen=True)
class Shape:
    """What a field holds, as validation options see it."""

    collection: str  # "", "repeated" or "map"
    element: str  # a scalar name, "enum", or a message full name
    key: str = ""  # the key scalar of a map

    @property
    def is_string(self) -> bool:
        """A string, or a StringValue: `(pattern)` and `(length)` apply to its string."""
        return self.element == "string" or WRAPPED.get(self.element) == "string"


@functools.cache
def option_strategies(shape: Shape, name: str) -> tuple[
    st.SearchStrategy[tuple[object, Expect, str]] | None,
    st.SearchStrategy[tuple[object, Expect, str]] | None,
]:
    """Strategies for values of validation option `name` on a field of `shape`: one of values
    the plugin must accept (None if the option does not apply), one of malformed values (with
    what the plugin must do about each, and a note for failure messages)."""

    def ok(
        values: st.SearchStrategy[object],
    ) -> st.SearchStrategy[tuple[object, Expect, str]]:
        return values.map(lambda v: (v, Expect.VALID, ""))

    def bad(
        values: Iterable[object] | st.SearchStrategy[object],
        note: str,
        expect: Expect = Expect.PROBLEM,
    ) -> st.SearchStrategy[tuple[object, Expect, str]]:
        strategy = (
            values
            if isinstance(values, st.SearchStrategy)
            else st.sampled_from(list(values))
        )
        return strategy.map(lambda v: (v, expect, note))

    good: list[st.SearchStrategy[tuple[object, Expect, str]]] = []
    wrong: list[st.SearchStrategy[tuple[object, Expect, str]]] = []
    is_integer, is_float = shape.element in INTEGERS, shape.element in FLOATS
    if name == "required":
        good.append(ok(st.booleans()))
    elif name == "unique":
        if shape.collection == "repeated":
            good.append(ok(st.booleans()))
        else:
            wrong.append(bad([True], "unique on a field that is not repeated"))
    elif name == "pattern":
        if shape.is_string:
            good.append(ok(st.sampled_from(GOOD_PATTERNS)))
            wrong.append(bad(BAD_PATTERNS, "bad regular expression"))
            wrong.append(bad(RANDOM_TEXT, "random pattern", Expect.EITHER))
        else:
            wrong.append(bad(["[a-z]*"], "pattern on a non-string field"))
    elif name == "length":
        if shape.is_string or shape.element == "bytes":
            good.append(ok(GOOD_LENGTH))
            wrong.append(bad(BAD_BOUNDS, "bad length"))
            wrong.append(bad(RANDOM_TEXT, "random length", Expect.EITHER))
        else:
            wrong.append(
                bad(["1", "<=5"], "length on a field of neither strings nor bytes")
            )
    elif name == "size":
        if shape.collection:
            good.append(ok(GOOD_LENGTH))
            wrong.append(bad(BAD_BOUNDS, "bad size"))
        else:
            wrong.append(bad(["<=5"], "size on a single value"))
    elif name == "bytes":  # the size of strings, bytes and serialized messages
        if (
            shape.element not in SCALARS
            and shape.element != "enum"
            or shape.element
            in (
                "string",
                "bytes",
            )
        ):
            good.append(ok(GOOD_LENGTH))
            wrong.append(bad(BAD_BOUNDS, "bad bytes"))
        else:
            wrong.append(bad(["<=5"], "bytes on a number, bool or enum field"))
    elif name == "value":  # on wrappers it bounds the wrapped value
        is_integer = is_integer or WRAPPED.get(shape.element) in INTEGERS
        is_float = is_float or WRAPPED.get(shape.element) in FLOATS
        if is_integer:
            good.append(ok(GOOD_INT_VALUE))
            wrong.append(bad(BAD_BOUNDS[:3] + ["1.5", "x,1"], "bad integer value"))
        elif is_float:
            good.append(ok(GOOD_FLOAT_VALUE))
            wrong.append(bad(["abc", "5-", "", "1,x"], "bad float value"))
            wrong.append(bad(NON_FINITE, "a bound that is not a finite number"))
        elif shape.element == "string" or WRAPPED.get(shape.element) == "string":
            good.append(ok(GOOD_STRING_VALUE))
        elif shape.element == TIMESTAMP:
            good.append(ok(GOOD_TIMESTAMP))
            wrong.append(bad(["2024-01-01", "20241301T000000", "1s"], "bad timestamp"))
        elif shape.element == DURATION:
            good.append(ok(GOOD_DURATION))
            wrong.append(
                bad(
                    ["5x", "1", "s", "1s-", "1d", "1" + "0" * 400 + "h"], "bad duration"
                )
            )
        else:
            wrong.append(bad(["1"], "value on a field it cannot bound"))
    elif name == "map_key":
        if shape.collection == "map":
            key_ok: list[st.SearchStrategy[tuple[str, str]]] = []
            key_bad: list[st.SearchStrategy[tuple[str, str]]] = []
            if shape.key == "string":
                key_ok.append(
                    st.tuples(st.just("pattern"), st.sampled_from(GOOD_PATTERNS))
                )
                key_ok.append(st.tuples(st.just("length"), GOOD_LENGTH))
                key_ok.append(st.tuples(st.just("value"), GOOD_STRING_VALUE))
                key_bad.append(
                    st.tuples(st.just("pattern"), st.sampled_from(BAD_PATTERNS[:4]))
                )
                key_bad.append(
                    st.tuples(st.just("length"), st.sampled_from(["abc", "5-", "3-1"]))
                )
            else:  # pattern and length measure string keys only
                key_bad.append(st.tuples(st.just("pattern"), st.just("[a-z]*")))
                key_bad.append(st.tuples(st.just("length"), st.just("1-5")))
            if shape.key in INTEGERS:
                key_ok.append(st.tuples(st.just("value"), GOOD_INT_VALUE))
                key_bad.append(
                    st.tuples(st.just("value"), st.sampled_from(["abc", "5-", "1.5"]))
                )
            elif shape.key == "bool":  # a value bound does not apply
                key_bad.append(st.tuples(st.just("value"), st.just("1")))
            if key_ok:
                good.append(
                    ok(st.lists(st.one_of(key_ok), min_size=1, max_size=3).map(dict))
                )
            if key_bad:
                wrong.append(
                    bad(st.tuples(st.one_of(key_bad)).map(dict), "bad map_key")
                )
        else:
            wrong.append(
                bad([{"length": "1-5"}], "map_key on a field that is not a map")
            )
    return (st.one_of(good) if good else None), (st.one_of(wrong) if wrong else None)


# ---- the builder -------------------------------------------------------------------------


@dataclass
class Schema:
    request: plugin_pb2.CodeGeneratorRequest
    files: list[descriptor_pb2.FileDescriptorProto]  # the random ones
    culprits: list[Culprit]

    @property
    def strict(self) -> bool:
        return "strict=true" in self.request.parameter

    @property
    def expect(self) -> Expect:
        """Whether the plugin must fail: only with strict=true, for a problem in a file it
        generates (problems of imported files are warnings even then)."""
        generated = set(self.request.file_to_generate)
        kinds = {
            c.expect for c in self.culprits if self.strict and c.file in generated
        } | {Expect.EITHER for c in self.culprits if c.expect is Expect.EITHER}
        if Expect.PROBLEM in kinds:
            return Expect.PROBLEM
        return Expect.EITHER if kinds else Expect.VALID

    def __repr__(self) -> str:
        """The random files as protobuf text, without the imports, which never change."""
        files = "\n".join(f"# {f.name}\n{f}" for f in self.files)
        return (
            f"Schema(parameter={self.request.parameter!r}, "
            f"file_to_generate={list(self.request.file_to_generate)!r},\n{files}\n"
            f"{self.describe()})"
        )

    def _repr_pretty_(self, printer, cycle) -> None:  # type: ignore[no-untyped-def]
        printer.text(repr(self))  # how hypothesis prints a falsifying example

    def describe(self) -> str:
        lines = [f"expect {self.expect.value}; culprits:"]
        lines += [f"  {c}" for c in self.culprits]
        return "\n".join(lines)


@dataclass
class _File:
    proto: descriptor_pb2.FileDescriptorProto
    comments: list[tuple[tuple[int, ...], str]] = field(default_factory=list)
    # Full names of messages and enums this file defines (map entries excluded).
    messages: list[str] = field(default_factory=list)
    enums: list[str] = field(default_factory=list)


class SchemaBuilder:
    """Draws one schema; `draw` is hypothesis' draw function."""

    def __init__(
        self,
        draw: Draw,
        malformed: bool,
        options_rate: float,
        parameters: st.SearchStrategy[str],
    ) -> None:
        self.draw = draw
        self.parameters = parameters
        self.malformed = malformed
        self.options_rate = options_rate
        self.taken: set[str] = set()  # full names of every symbol defined so far
        # Services by package and name without `Service`: their docs pages' directory.
        self.service_stems: set[tuple[str, str]] = set()
        self.raw: dict[str, descriptor_pb2.DescriptorProto] = {}
        self.culprits: list[Culprit] = []
        self.files: list[_File] = []

    # --- small helpers ---

    def chance(self, probability: float) -> bool:
        """True with `probability`; shrinks to False, so minimal examples have less in them."""
        return self.draw(st.integers(0, 999)) >= 1000 * (1 - probability)

    def fresh(self, scope: str, names: st.SearchStrategy[str]) -> str:
        name = self.draw(names)
        base, counter = name, 2
        while _join(scope, name) in self.taken:
            name, counter = f"{base}{counter}", counter + 1
        self.taken.add(_join(scope, name))
        return name

    def fresh_service(self, scope: str, names: st.SearchStrategy[str]) -> str:
        """A fresh service name whose docs directory (the name without `Service`) is its
        own: `Aa` and `AaService` of one package would share their pages, an error."""
        while True:
            name = self.fresh(scope, names)
            stem = (
                scope,
                name[: -len("Service")] if name.endswith("Service") else name,
            )
            if stem not in self.service_stems:
                self.service_stems.add(stem)
                return name

    # --- files ---

    def build(self) -> Schema:
        package = self.draw(PACKAGES)
        # Not `a.b.v1` beside `yandex.cloud.a.b.v1`: by default both document into one folder,
        # which the docs configuration refuses (each package needs its own).
        folder = package.removeprefix("yandex.cloud.")
        second_package = self.draw(
            st.one_of(
                st.just(package),
                PACKAGES.filter(
                    lambda other: other == package
                    or other.removeprefix("yandex.cloud.") != folder
                ),
            )
        )
        packages = [package] + ([second_package] if self.chance(0.4) else [])
        stems: set[str] = set()
        for package_name in packages:
            stem = self.draw(
                FILE_STEMS.filter(lambda s: s.replace("-", "_") not in stems)
            )
            stems.add(stem.replace("-", "_"))
            directory = package_name.replace(".", "/")
            name = f"{directory}/{stem}.proto" if directory else f"{stem}.proto"
            proto = descriptor_pb2.FileDescriptorProto(
                name=name, package=package_name, syntax="proto3"
            )
            proto.dependency.extend(f.name for f in base_files())
            if self.files:
                proto.dependency.append(self.files[-1].proto.name)
            self.files.append(_File(proto))
        self.taken.update(_symbols(base_files()))
        # Types first, so that fields may refer to any of them (themselves included).
        skeletons = []
        for index, current in enumerate(self.files):
            for position in range(self.draw(st.integers(0, 2))):
                current.proto.enum_type.append(
                    self.enum(current, current.proto.package, (5, position))
                )
            for position in range(self.draw(st.integers(1, 4))):
                message = current.proto.message_type.add()
                skeletons += self.skeleton(
                    current, current.proto.package, message, (4, position)
                )
        for current, full_name, message, path in skeletons:
            self.fill(current, full_name, message, path)
        last = self.files[-1]
        if self.chance(0.7):
            self.resource_api(last)
        for current in self.files:
            for _ in range(self.draw(st.integers(0, 2))):
                self.random_service(current)
        for current in self.files:
            self.comment_everything(current)
        files = [f.proto for f in self.files]
        request = plugin_pb2.CodeGeneratorRequest(
            file_to_generate=[
                f.name for f in files if f is files[-1] or self.chance(0.5)
            ],
            parameter=self.draw(self.parameters),
            proto_file=[*base_files(), *files],
        )
        request.compiler_version.major = 5
        return Schema(request, files, self.culprits)

    def available_messages(self, current: _File) -> list[str]:
        index = self.files.index(current)
        return [m for f in self.files[: index + 1] for m in f.messages] + list(
            BASE_MESSAGES
        )

    def available_enums(self, current: _File) -> list[str]:
        index = self.files.index(current)
        return [e for f in self.files[: index + 1] for e in f.enums]

    # --- types ---

    def enum(
        self,
        current: _File,
        scope: str,
        path: tuple[int, ...],
        name: str = "",
        values: list[str] | None = None,
    ) -> descriptor_pb2.EnumDescriptorProto:
        name = name or self.fresh(scope, TYPE_NAMES)
        full_name = _join(scope, name)
        result = descriptor_pb2.EnumDescriptorProto(name=name)
        prefix = snake_case(name).upper()
        if values is None:
            count = self.draw(st.integers(1, 4))
            values = [f"{prefix}_UNSPECIFIED"] + [
                f"{prefix}_{self.draw(st.from_regex(r'[A-Z][A-Z0-9]{0,6}', fullmatch=True))}"
                for _ in range(count - 1)
            ]
        numbers = self.draw(
            st.lists(
                st.integers(1, 2**31 - 1),
                unique=True,
                min_size=len(values),
                max_size=len(values),
            )
        )
        seen: set[str] = set()
        for index, value in enumerate(values):
            if _join(scope, value) in self.taken or value in seen:
                continue
            seen.add(value)
            self.taken.add(_join(scope, value))
            result.value.add(name=value, number=0 if index == 0 else numbers[index])
        current.enums.append(full_name)
        current.comments.append((path, ""))
        for index in range(len(result.value)):
            current.comments.append((path + (2, index), ""))
        return result

    def skeleton(self, current: _File, scope: str, message: descriptor_pb2.DescriptorProto, path: tuple[int, ...], depth: int = 0, name: str = ""):  # type: ignore[no-untyped-def]
        message.name = name or self.fresh(scope, TYPE_NAMES)
        full_name = _join(scope, message.name)
        self.raw[full_name] = message
        current.messages.append(full_name)
        current.comments.append((path, ""))
        found = [(current, full_name, message, path)]
        if depth < 2:
            for position in range(self.draw(st.integers(0, 2 - depth))):
                nested = message.nested_type.add()
                found += self.skeleton(
                    current, full_name, nested, path + (3, position), depth + 1
                )
            for position in range(self.draw(st.integers(0, 1))):
                message.enum_type.append(
                    self.enum(current, full_name, path + (4, position))
                )
        return found

    # --- fields ---

    def fill(
        self,
        current: _File,
        full_name: str,
        message: descriptor_pb2.DescriptorProto,
        path: tuple[int, ...],
        count: int | None = None,
    ) -> None:
        for _ in range(self.draw(st.integers(0, 6)) if count is None else count):
            self.random_field(current, full_name, message, path)

    def new_field(
        self, message: descriptor_pb2.DescriptorProto, name: str | None = None
    ) -> descriptor_pb2.FieldDescriptorProto | None:
        """A field with a fresh name and number, or None when `name` is taken."""
        used = {f.name for f in message.field} | {o.name for o in message.oneof_decl}
        # upb checks a field's JSON name against the oneofs' names too (`a_00` and `a00`).
        used_json = {json_name(n).lower() for n in used}
        if name is None:
            name = self.draw(FIELD_NAMES)
            base, counter = name, 2
            while name in used or json_name(name).lower() in used_json:
                name, counter = f"{base}{counter}", counter + 1
        elif name in used or json_name(name).lower() in used_json:
            return None
        numbers = {f.number for f in message.field}
        number = self.draw(
            st.one_of(
                st.integers(1, 30), st.integers(1, 18999), st.integers(20000, 2**29 - 1)
            )
        )
        while number in numbers or 19000 <= number <= 19999:
            number = number % 536870911 + 1
        return message.field.add(
            name=name,
            json_name=json_name(name),
            number=number,
            label=FDP.LABEL_OPTIONAL,
        )

    def element_type(
        self, current: _File, allow_message: bool = True
    ) -> tuple[str, int, str]:
        """(shape element, descriptor type, type_name) of a random single value."""
        enums = self.available_enums(current)
        kinds = (
            ["scalar"]
            + (["enum"] if enums else [])
            + (["message"] if allow_message else [])
        )
        kind = self.draw(st.sampled_from(kinds))
        if kind == "scalar":
            scalar = self.draw(st.sampled_from(sorted(SCALARS)))
            return scalar, SCALARS[scalar], ""
        if kind == "enum":
            return "enum", FDP.TYPE_ENUM, "." + self.draw(st.sampled_from(enums))
        target = self.draw(st.sampled_from(self.available_messages(current)))
        return target, FDP.TYPE_MESSAGE, "." + target

    def set_type(
        self, raw: descriptor_pb2.FieldDescriptorProto, type_: int, type_name: str
    ) -> None:
        raw.type = type_  # type: ignore[assignment]
        if type_name:
            raw.type_name = type_name

    def random_field(
        self,
        current: _File,
        full_name: str,
        message: descriptor_pb2.DescriptorProto,
        path: tuple[int, ...],
    ) -> None:
        shape_kind = self.draw(
            st.sampled_from(
                ["single", "single", "repeated", "map", "optional", "oneof"]
            )
        )
        if shape_kind == "oneof":
            self.oneof(current, full_name, message, path)
            return
        raw = self.new_field(message)
        assert raw is not None
        if shape_kind == "map":
            entry_name = map_entry_name(raw.name)
            if _join(full_name, entry_name) in self.taken or any(
                n.name == entry_name for n in message.nested_type
            ):
                shape_kind = "single"
            else:
                self.taken.add(_join(full_name, entry_name))
                key = self.draw(st.sampled_from(MAP_KEYS))
                value, value_type, value_type_name = self.element_type(current)
                entry = message.nested_type.add(name=entry_name)
                entry.options.map_entry = True
                entry.field.add(name="key", json_name="key", number=1, label=FDP.LABEL_OPTIONAL, type=SCALARS[key])  # type: ignore[arg-type]
                value_field = entry.field.add(
                    name="value", json_name="value", number=2, label=FDP.LABEL_OPTIONAL
                )
                self.set_type(value_field, value_type, value_type_name)
                raw.label = FDP.LABEL_REPEATED  # type: ignore[assignment]
                self.set_type(raw, FDP.TYPE_MESSAGE, f".{full_name}.{entry_name}")
                self.finish_field(
                    current,
                    full_name,
                    raw,
                    path,
                    len(message.field) - 1,
                    Shape("map", value, key),
                )
                return
        element, type_, type_name = self.element_type(
            current, allow_message=shape_kind != "optional" or self.chance(0.3)
        )
        self.set_type(raw, type_, type_name)
        if shape_kind == "repeated":
            raw.label = FDP.LABEL_REPEATED  # type: ignore[assignment]
        if shape_kind == "optional":
            raw.proto3_optional = True
            synthetic = "_" + raw.name
            while any(o.name == synthetic for o in message.oneof_decl):
                synthetic = "X" + synthetic
            raw.oneof_index = len(message.oneof_decl)
            message.oneof_decl.add(name=synthetic)
        self.finish_field(
            current,
            full_name,
            raw,
            path,
            len(message.field) - 1,
            Shape("repeated" if shape_kind == "repeated" else "", element),
        )

    def oneof(
        self,
        current: _File,
        full_name: str,
        message: descriptor_pb2.DescriptorProto,
        path: tuple[int, ...],
    ) -> None:
        """A real oneof, placed before the synthetic ones, with its fields declared together."""
        used = {f.name for f in message.field} | {o.name for o in message.oneof_decl}
        used_json = {json_name(n).lower() for n in used}
        name = self.draw(
            SNAKE.filter(
                lambda n: n not in used and json_name(n).lower() not in used_json
            )
        )
        synthetic_start = next(
            (
                i
                for i, o in enumerate(message.oneof_decl)
                if o.name.startswith(("_", "X"))
            ),
            len(message.oneof_decl),
        )
        # Insert the real oneof before the synthetic ones, renumbering their fields.
        decls = list(message.oneof_decl)
        decls.insert(synthetic_start, descriptor_pb2.OneofDescriptorProto(name=name))
        for raw in message.field:
            if raw.HasField("oneof_index") and raw.oneof_index >= synthetic_start:
                raw.oneof_index += 1
        del message.oneof_decl[:]
        message.oneof_decl.extend(decls)
        index = synthetic_start
        oneof_path = path + (8, index)
        # Comments are keyed by path: shift those of the oneofs that moved.
        current.comments[:] = [
            (
                (
                    p[:-1] + (p[-1] + 1,)
                    if p[: len(path) + 1] == path + (8,)
                    and len(p) == len(path) + 2
                    and p[-1] >= index
                    else p
                ),
                text,
            )
            for p, text in current.comments
        ]
        current.comments.append((oneof_path, ""))
        if self.chance(self.options_rate):
            exactly_one = self.draw(st.booleans())
            message.oneof_decl[index].options.MergeFromString(
                varint_field(EXACTLY_ONE, int(exactly_one))
            )
        for _ in range(self.draw(st.integers(1, 3))):
            raw = self.new_field(message)
            assert raw is not None
            element, type_, type_name = self.element_type(current)
            self.set_type(raw, type_, type_name)
            raw.oneof_index = index
            self.finish_field(
                current,
                full_name,
                raw,
                path,
                len(message.field) - 1,
                Shape("", element),
            )

    def finish_field(
        self,
        current: _File,
        full_name: str,
        raw: descriptor_pb2.FieldDescriptorProto,
        path: tuple[int, ...],
        index: int,
        shape: Shape,
    ) -> None:
        current.comments.append((path + (2, index), ""))
        if self.chance(self.options_rate):
            self.validation_options(current, f"{full_name}.{raw.name}", raw, shape)

    def validation_options(
        self,
        current: _File,
        element: str,
        raw: descriptor_pb2.FieldDescriptorProto,
        shape: Shape,
    ) -> None:
        """Options that apply to the field, with valid values; with `malformed`, now and then
        a bad value, an option that does not apply, or bytes protoc would never write.
        """
        strategies = {
            name: option_strategies(shape, name) for name in sorted(FIELD_EXTENSIONS)
        }
        applicable = sorted(
            name for name, (good, _) in strategies.items() if good is not None
        )
        names = self.draw(
            st.lists(st.sampled_from(applicable), max_size=4, unique=True)
        )
        data = b""
        for name in names:
            good, wrong = strategies[name]
            use_wrong = wrong is not None and self.malformed and self.chance(0.1)
            value, expect, note = self.draw(wrong if use_wrong else good)  # type: ignore[misc,arg-type]
            data += option_bytes(name, value)
            self.note(current, element, name, value, expect, note)
        if self.malformed and self.chance(0.05):
            name = self.draw(
                st.sampled_from(
                    sorted(
                        n
                        for n, (_, wrong) in strategies.items()
                        if wrong is not None and n not in names
                    )
                )
            )
            value, expect, note = self.draw(strategies[name][1])  # type: ignore[misc,arg-type]
            data += option_bytes(name, value)
            self.note(current, element, name, value, expect, note)
        if self.malformed and self.chance(0.02):
            garbage = self.draw(st.sampled_from(GARBAGE_OPTIONS))
            data += garbage
            self.culprits.append(
                Culprit(
                    current.proto.name,
                    element,
                    "",
                    Expect.PROBLEM,
                    f"undecodable option bytes {garbage!r}",
                )
            )
        raw.options.MergeFromString(data)

    def note(
        self,
        current: _File,
        element: str,
        name: str,
        value: object,
        expect: Expect,
        note: str,
    ) -> None:
        if expect is not Expect.VALID:
            self.culprits.append(
                Culprit(
                    current.proto.name,
                    element,
                    f"yandex.cloud.{name}",
                    expect,
                    f"{note}: {value!r}",
                )
            )

    # --- services ---

    def operation_option(
        self,
        current: _File,
        method: descriptor_pb2.MethodDescriptorProto,
        element: str,
        metadata: str,
        response: str,
    ) -> None:
        """Attaches `(yandex.cloud.api.operation)`, sometimes naming a type that does not exist."""
        package = current.proto.package

        def spelled(name: str) -> str:
            relative = (
                name[len(package) + 1 :]
                if package and name.startswith(package + ".")
                else name
            )
            return self.draw(st.sampled_from([relative, relative, name, "." + name]))

        metadata, response = spelled(metadata), spelled(response)
        if self.malformed and self.chance(0.05):
            part = self.draw(st.sampled_from(["metadata", "response"]))
            wrong = self.draw(
                st.sampled_from(
                    [
                        "",
                        "NoSuchMessage",
                        "google.protobuf.NoSuch",
                        "..",
                        "a.b.",
                        "Status",
                    ]
                )
            )
            if part == "metadata":
                metadata = wrong
            else:
                response = wrong
            # No metadata is fine (the operation has none); an enum name (`Status`) or a
            # missing one never names a message, but "Status" may name a message of the
            # schema, so it may pass.
            if part == "metadata" and not wrong:
                expect = Expect.VALID
            else:
                expect = Expect.EITHER if wrong == "Status" else Expect.PROBLEM
            if expect is not Expect.VALID:
                self.culprits.append(
                    Culprit(
                        current.proto.name,
                        element,
                        "yandex.cloud.api.operation",
                        expect,
                        f"{part} = {wrong!r}",
                    )
                )
        method.options.MergeFromString(operation_bytes(metadata, response))

    def random_service(self, current: _File) -> None:
        proto = current.proto
        service = proto.service.add(
            name=self.fresh_service(proto.package, SERVICE_NAMES)
        )
        current.comments.append(((6, len(proto.service) - 1), ""))
        messages = [m for m in self.available_messages(current)]
        names: set[str] = set()
        for position in range(self.draw(st.integers(1, 4))):
            name = self.draw(METHOD_NAMES.filter(lambda n: n not in names))
            names.add(name)
            method = service.method.add(
                name=name,
                input_type="." + self.draw(st.sampled_from(messages)),
                client_streaming=self.chance(0.1),
                server_streaming=self.chance(0.1),
            )
            current.comments.append(((6, len(proto.service) - 1, 2, position), ""))
            if self.chance(0.4):
                method.output_type = "." + OPERATION
                self.operation_option(
                    current,
                    method,
                    f"{_join(proto.package, service.name)}.{name}",
                    self.draw(st.sampled_from(messages)),
                    self.draw(st.sampled_from(messages)),
                )
            else:
                method.output_type = "." + self.draw(st.sampled_from(messages))

    def resource_api(self, current: _File) -> None:
        """A resource message and a service with the standard methods, as in proto/, with
        random omissions, extra fields and options."""
        proto, package = current.proto, current.proto.package
        resource_name = self.fresh(package, TYPE_NAMES)
        snake = snake_case(resource_name)
        resource = proto.message_type.add()
        resource_path = (4, len(proto.message_type) - 1)
        status_values = self.draw(
            st.lists(
                st.sampled_from(["CREATING", "READY", "ERROR", "DELETING", "UPDATING"]),
                unique=True,
            )
        )
        status_enum = None
        if self.chance(0.7):
            status_enum = self.fresh(_join(package, resource_name), st.just("Status"))
        self.skeleton(
            current, package, resource, resource_path, depth=2, name=resource_name
        )
        full = _join(package, resource_name)
        if status_enum:
            resource.enum_type.append(
                self.enum(
                    current,
                    full,
                    resource_path + (4, len(resource.enum_type)),
                    status_enum,
                    ["STATUS_UNSPECIFIED", *status_values],
                )
            )
        parent = self.draw(
            st.sampled_from(["folder_id", "hangar_id", "cloud_id", "", "parent_id"])
        )

        def standard(
            message: descriptor_pb2.DescriptorProto,
            path: tuple[int, ...],
            owner: str,
            name: str,
            kind: str,
            mutate: float = 0.05,
        ) -> None:
            """Adds field `name` of the usual `kind`, or, rarely, of another type."""
            raw = self.new_field(message, name)
            if raw is None:
                return
            if self.chance(mutate):
                element, type_, type_name = self.element_type(current)
                self.set_type(raw, type_, type_name)
                self.finish_field(
                    current,
                    owner,
                    raw,
                    path,
                    len(message.field) - 1,
                    Shape("", element),
                )
                return
            if kind == "map":
                entry_name = map_entry_name(name)
                if _join(owner, entry_name) in self.taken:
                    message.field.remove(raw)
                    return
                self.taken.add(_join(owner, entry_name))
                entry = message.nested_type.add(name=entry_name)
                entry.options.map_entry = True
                entry.field.add(
                    name="key",
                    json_name="key",
                    number=1,
                    label=FDP.LABEL_OPTIONAL,
                    type=FDP.TYPE_STRING,
                )
                entry.field.add(
                    name="value",
                    json_name="value",
                    number=2,
                    label=FDP.LABEL_OPTIONAL,
                    type=FDP.TYPE_STRING,
                )
                raw.label = FDP.LABEL_REPEATED  # type: ignore[assignment]
                self.set_type(raw, FDP.TYPE_MESSAGE, f".{owner}.{entry_name}")
                shape = Shape("map", "string", "string")
            elif kind in SCALARS:
                self.set_type(raw, SCALARS[kind], "")
                shape = Shape("", kind)
            elif kind == "status":
                if status_enum is None:
                    message.field.remove(raw)
                    return
                self.set_type(raw, FDP.TYPE_ENUM, f".{full}.{status_enum}")
                shape = Shape("", "enum")
            else:  # a message
                repeated = kind.startswith("repeated ")
                target = kind.removeprefix("repeated ")
                self.set_type(raw, FDP.TYPE_MESSAGE, "." + target)
                if repeated:
                    raw.label = FDP.LABEL_REPEATED  # type: ignore[assignment]
                shape = Shape("repeated" if repeated else "", target)
            self.finish_field(current, owner, raw, path, len(message.field) - 1, shape)

        def keep(probability: float = 0.85) -> bool:
            return self.chance(probability)

        for name, kind in [
            ("id", "string"),
            (parent, "string"),
            ("name", "string"),
            ("description", "string"),
            ("created_at", "google.protobuf.Timestamp"),
            ("status", "status"),
            ("labels", "map"),
        ]:
            if name and keep():
                standard(resource, resource_path, full, name, kind)
        # Extra fields, some of which requests mirror (same name and type).
        self.fill(current, full, resource, resource_path, self.draw(st.integers(0, 3)))
        extras = [
            f
            for f in resource.field
            if f.name
            not in (
                "id",
                parent,
                "name",
                "description",
                "created_at",
                "status",
                "labels",
            )
        ]

        def request(
            name: str,
        ) -> tuple[descriptor_pb2.DescriptorProto, tuple[int, ...], str]:
            message = proto.message_type.add()
            path = (4, len(proto.message_type) - 1)
            self.skeleton(
                current,
                package,
                message,
                path,
                depth=2,
                name=self.fresh(package, st.just(name)),
            )
            return message, path, _join(package, message.name)

        def id_field(message, path, owner) -> None:  # type: ignore[no-untyped-def]
            standard(message, path, owner, f"{snake}_id", "string", mutate=0.03)

        def mirrored(message, path, owner) -> None:  # type: ignore[no-untyped-def]
            for name, kind in [
                (parent, "string"),
                ("name", "string"),
                ("description", "string"),
                ("labels", "map"),
            ]:
                if name and keep():
                    standard(message, path, owner, name, kind)
            for extra in extras:
                if keep(0.6) and self.new_field(message, extra.name) is not None:
                    copy = message.field[-1]
                    number = copy.number
                    copy.CopyFrom(extra)
                    copy.number = number
                    copy.ClearField("options")
                    if copy.HasField("oneof_index"):
                        copy.ClearField("oneof_index")
                        copy.proto3_optional = False
                    if copy.type_name.startswith(
                        f".{full}."
                    ) and copy.type_name.endswith("Entry"):
                        message.field.remove(copy)  # a map entry belongs to its message
                        continue
                    current.comments.append((path + (2, len(message.field) - 1), ""))

        service = proto.service.add(
            name=self.fresh_service(package, st.just(f"{resource_name}Service"))
        )
        service_path = (6, len(proto.service) - 1)
        current.comments.append((service_path, ""))
        service_name = _join(package, service.name)

        def method(
            name: str,
            input_type: str,
            output_type: str,
            operation: tuple[str, str] | None = None,
        ) -> None:
            added = service.method.add(
                name=name, input_type="." + input_type, output_type="." + output_type
            )
            current.comments.append((service_path + (2, len(service.method) - 1), ""))
            if operation:
                self.operation_option(
                    current, added, f"{service_name}.{name}", *operation
                )

        def metadata(name: str) -> str:
            message, path, owner = request(name)
            if keep():
                id_field(message, path, owner)
            return owner

        if keep():
            message, path, owner = request(f"Get{resource_name}Request")
            id_field(message, path, owner)
            method("Get", owner, full)
        if keep():
            message, path, owner = request(f"List{resource_name}sRequest")
            for name, kind in [
                (parent, "string"),
                ("page_size", "int64"),
                ("page_token", "string"),
                ("filter", "string"),
                ("order_by", "string"),
            ]:
                if name and keep(0.9):
                    standard(message, path, owner, name, kind)
            reply, reply_path, reply_owner = request(f"List{resource_name}sResponse")
            standard(
                reply,
                reply_path,
                reply_owner,
                snake + "s",
                f"repeated {full}",
                mutate=0.02,
            )
            standard(
                reply, reply_path, reply_owner, "next_page_token", "string", mutate=0.02
            )
            method("List", owner, reply_owner)
        for verb in ("Create", "Update"):
            if keep():
                message, path, owner = request(f"{verb}{resource_name}Request")
                if verb == "Update":
                    id_field(message, path, owner)
                    standard(
                        message,
                        path,
                        owner,
                        "update_mask",
                        "google.protobuf.FieldMask",
                        mutate=0.02,
                    )
                mirrored(message, path, owner)
                method(
                    verb,
                    owner,
                    OPERATION,
                    (metadata(f"{verb}{resource_name}Metadata"), full),
                )
        if keep():
            message, path, owner = request(f"Delete{resource_name}Request")
            id_field(message, path, owner)
            method(
                "Delete",
                owner,
                OPERATION,
                (metadata(f"Delete{resource_name}Metadata"), "google.protobuf.Empty"),
            )
        if keep():
            message, path, owner = request(f"List{resource_name}OperationsRequest")
            id_field(message, path, owner)
            for name, kind in [("page_size", "int64"), ("page_token", "string")]:
                standard(message, path, owner, name, kind, mutate=0.02)
            reply, reply_path, reply_owner = request(
                f"List{resource_name}OperationsResponse"
            )
            standard(
                reply,
                reply_path,
                reply_owner,
                "operations",
                f"repeated {OPERATION}",
                mutate=0.02,
            )
            standard(
                reply, reply_path, reply_owner, "next_page_token", "string", mutate=0.02
            )
            method("ListOperations", owner, reply_owner)
        if keep(0.3):
            message, path, owner = request(f"Start{resource_name}Request")
            id_field(message, path, owner)
            method(
                "Start",
                owner,
                OPERATION,
                (metadata(f"Start{resource_name}Metadata"), full),
            )

    # --- comments ---

    def comment_everything(self, current: _File) -> None:
        references = [m.rsplit(".", 1)[-1] for f in self.files for m in f.messages]
        references += [
            f"{s.name}.{m.name}"
            for f in self.files
            for s in f.proto.service
            for m in s.method
        ]
        references += ["Operation", "google.protobuf.Empty"]
        lines = comment_lines(references)
        info = current.proto.source_code_info
        for path, _ in current.comments:
            if self.chance(0.6):
                location = info.location.add(path=path, span=[0, 0, 0])
                if self.chance(0.02):
                    # A file that is not UTF-8 (Latin-1, say): protoc passes the comment's
                    # bytes on as they are, and Python's proto2 strings give them as bytes.
                    text = self.draw(lines).encode() + b"\xff\xe9\n"
                    location.MergeFromString(length_delimited(3, text))
                else:
                    location.leading_comments = self.draw(lines)


def _join(scope: str, name: str) -> str:
    return f"{scope}.{name}" if scope else name


def _symbols(files: Iterable[descriptor_pb2.FileDescriptorProto]) -> set[str]:
    """Every full name the files define, package prefixes included."""
    found: set[str] = set()

    def visit(scope: str, message: descriptor_pb2.DescriptorProto) -> None:
        name = _join(scope, message.name)
        found.add(name)
        found.update(_join(name, f.name) for f in message.field)
        for nested in message.nested_type:
            visit(name, nested)
        for nested_enum in message.enum_type:
            found.add(_join(name, nested_enum.name))
            found.update(_join(name, v.name) for v in nested_enum.value)

    for proto in files:
        parts = proto.package.split(".") if proto.package else []
        found.update(".".join(parts[: i + 1]) for i in range(len(parts)))
        for message in proto.message_type:
            visit(proto.package, message)
        for top_enum in proto.enum_type:
            found.add(_join(proto.package, top_enum.name))
            found.update(_join(proto.package, v.name) for v in top_enum.value)
        for service in proto.service:
            found.add(_join(proto.package, service.name))
        for extension in proto.extension:
            found.add(_join(proto.package, extension.name))
    return found


PARAMETERS = st.one_of(
    st.just(""),
    st.builds(
        lambda targets, constraints, docs_format, unique, page, strict: ",".join(
            item
            for item in (
                f"targets={'+'.join(targets)}" if targets else "",
                f"constraints={constraints}" if constraints else "",
                f"docs_format={docs_format}" if docs_format else "",
                f"unique_names={unique}" if unique else "",
                f"default_page_size={page}" if page else "",
                f"strict={strict}" if strict else "",
            )
            if item
        ),
        st.lists(
            st.sampled_from(["server", "client", "fieldmask", "docs"]), unique=True
        ),
        st.sampled_from(["", "true", "false"]),
        st.sampled_from(["", "classic", "current"]),
        st.sampled_from(["", "true", "false"]),
        st.sampled_from([0, 1, 20, 1000]),
        st.sampled_from(["", "true", "false"]),
    ),
)


@st.composite
def schemas(
    draw: Draw,
    malformed: bool = True,
    options_rate: float = 0.3,
    parameters: st.SearchStrategy[str] = PARAMETERS,
) -> Schema:
    """A random schema; with `malformed`, some options are wrong on purpose (see culprits)."""
    schema = SchemaBuilder(draw, malformed, options_rate, parameters).build()
    check_descriptors(schema.request)
    return schema


def check_descriptors(request: plugin_pb2.CodeGeneratorRequest) -> None:
    """protobuf's own checks, so that a schema the strategy got wrong fails as a strategy bug."""
    pool = descriptor_pool.DescriptorPool()
    for proto in request.proto_file:
        try:
            pool.Add(proto)
        except Exception as error:  # noqa: BLE001 - any complaint is the strategy's bug
            raise AssertionError(
                f"the strategy built an invalid schema ({error}):\n{proto}"
            ) from None
