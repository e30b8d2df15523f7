"""proto/ must match every fact in tests/data/wire-facts.md.

That file is the project's copy of ../shared/wire-facts.md (the facts as read from the published
descriptors of the real API), so that a fresh clone checks them too; where ../shared is present,
a test checks that the copy is current. The facts are parsed from the markdown at test time, so
that document stays the only source of truth. The parser refuses line shapes it does not know, so a change of format cannot make it parse
nothing and pass. Custom options are decoded from the raw bytes of the option messages: that reads
them the same whatever the import order of the extension modules (see the upb pitfall at the end
of wire-facts.md).
"""

from __future__ import annotations

import re
import shutil
import tempfile
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Iterable, Iterator, Mapping, Sequence, TypeAlias

import tomllib

import google.api.annotations_pb2
import google.api.http_pb2
import pytest
from google.protobuf import descriptor_pb2
from grpc_tools import protoc

ROOT = Path(__file__).resolve().parents[1]
PROTO = ROOT / "proto"
WIRE_FACTS = ROOT / "tests" / "data" / "wire-facts.md"
SHARED_WIRE_FACTS = ROOT.parent / "shared" / "wire-facts.md"

FieldProto: TypeAlias = descriptor_pb2.FieldDescriptorProto
SCALAR_TYPES = {
    name.removeprefix("TYPE_").lower(): number
    for name, number in FieldProto.Type.items()
    if name not in ("TYPE_MESSAGE", "TYPE_ENUM", "TYPE_GROUP")
}
OPTIONS_OF_KIND = {
    "field": "google.protobuf.FieldOptions",
    "oneof": "google.protobuf.OneofOptions",
    "rpc": "google.protobuf.MethodOptions",
}

# ---------------------------------------------------------------------------------------------
# The facts, as parsed from wire-facts.md


@dataclass
class FieldFact:
    name: str
    number: int
    type: str  # in the document's notation: `string`, `repeated a.B`, `map<string, string>`
    oneof: str | None


@dataclass
class MessageFact:
    full_name: str
    file: str
    reserved: list[tuple[int, int]]  # inclusive ranges, as the document writes them
    fields: list[FieldFact] = field(default_factory=list)
    enums: dict[str, list[tuple[str, int]]] = field(
        default_factory=dict
    )  # full name -> values


@dataclass
class ServiceFact:
    full_name: str
    file: str
    rpcs: dict[str, tuple[str, str]] = field(
        default_factory=dict
    )  # name -> (input, output)


@dataclass
class ExtensionFact:
    full_name: str
    file: str
    number: int
    type: str  # scalar name or message full name
    extendee: str


@dataclass
class FileFact:
    path: str
    package: str
    section: str  # the `## ` section the file is described in
    imports: set[str] | None = None
    messages: list[MessageFact] = field(default_factory=list)
    services: list[ServiceFact] = field(default_factory=list)
    extensions: list[ExtensionFact] = field(default_factory=list)


@dataclass(frozen=True)
class Element:
    """Something that can carry options: a field, a oneof or an rpc."""

    kind: str  # a key of OPTIONS_OF_KIND
    owner: str  # full name of the message or service
    name: str

    def __str__(self) -> str:
        return f"{self.kind} {self.owner}.{self.name}"


@dataclass
class WireFacts:
    files: dict[str, FileFact] = field(default_factory=dict)
    # Elements of the sections that have an options table -> their expected options, keyed by
    # extension full name. Elements absent from the table map to {}.
    options: dict[Element, dict[str, object]] = field(default_factory=dict)
    services_without_http: list[str] = field(default_factory=list)

    def messages(self) -> dict[str, MessageFact]:
        return {m.full_name: m for f in self.files.values() for m in f.messages}

    def services(self) -> dict[str, ServiceFact]:
        return {s.full_name: s for f in self.files.values() for s in f.services}

    def extensions(self) -> dict[str, ExtensionFact]:
        return {e.full_name: e for f in self.files.values() for e in f.extensions}


# ---------------------------------------------------------------------------------------------
# Parser. Every line inside a `#### file` section must be a known fact shape, a table line, or
# prose after the facts; anything else stops the parse with the line number.

FILE_HEADING = re.compile(
    r"#### `(?P<path>[\w/]+\.proto)`"
    r"(?: \((?:package `(?P<package>[\w.]+)`|imports: (?P<imports>[^)]*))\))?"
)
IMPORTS_LINE = re.compile(r"imports:(?: (?P<imports>.*))?")
BULLET = re.compile(r"\s*[-*+] ")
MESSAGE_LINE = re.compile(
    r"- message `(?P<name>[\w.]+)`(?: \(reserved (?P<reserved>[^)]+)\))?"
)
SERVICE_LINE = re.compile(r"- service `(?P<name>[\w.]+)`")
EXTENSION_LINE = re.compile(
    r"- extension `(?P<name>[\w.]+)` = (?P<number>\d+), type `(?P<type>[\w.]+)`,"
    r" extends `(?P<extendee>[\w.]+)`"
)
FIELD_LINE = re.compile(
    r"  - `(?P<name>\w+)` = (?P<number>\d+): (?P<repeated>repeated )?`(?P<type>[^`]+)`"
    r"(?: \(oneof `(?P<oneof>\w+)`\))?"
)
ENUM_LINE = re.compile(r"  - enum `(?P<name>\w+)`: (?P<values>.+)")
ENUM_VALUE = re.compile(r"(?P<name>\w+)=(?P<number>-?\d+)")
RPC_LINE = re.compile(
    r"  - rpc `(?P<name>\w+)`\((?P<input>[\w.]+)\) returns \((?P<output>[\w.]+)\)"
)
MAP_TYPE = re.compile(r"map<(?P<key>\w+), (?P<value>[\w.]+)>")
RESERVED_RANGE = re.compile(r"(?P<start>\d+)(?:-(?P<end>\d+))?")
TABLE_HEADER = re.compile(r"\| element \| options \|")
TABLE_RULE = re.compile(r"\|(?: *:?-+:? *\|)+")
TABLE_ROW = re.compile(r"\| (?P<element>.+?) \| (?P<options>.+) \|")
FIELD_ELEMENT = re.compile(r"`(?P<message>\w+)\.(?P<name>\w+)`")
RPC_ELEMENT = re.compile(r"rpc `(?P<service>\w+)\.(?P<name>\w+)`")
SAME_AS = re.compile(r"same as `(?P<message>\w+)\.(?P<name>\w+)`")
EXTENSION_BODY = re.compile(r"`\((?P<extension>[\w.]+)\)` (?P<body>.+)")
ASSIGNMENT = re.compile(
    r"(?P<key>\w+)=(?:`(?P<text>[^`]*)`|(?P<word>true|false)|\{(?P<nested>(?:`[^`]*`|[^`}])*)\})"
    r"(?: \((?P<note>[^)]*)\))?"
)
NOTES = {"each value"}  # annotations that explain an option and carry no value
NO_HTTP = "In this version the service has no `google.api.http` options."


@dataclass
class TableRow:
    section: str
    line: int
    element: str
    options: str


class FactsParser:
    def __init__(self) -> None:
        self.facts = WireFacts()
        self.section = ""
        self.file: FileFact | None = None
        self.parent: MessageFact | ServiceFact | None = None  # owner of indented items
        self.prose_seen = False
        self.table_state = "none"  # none -> header -> rows
        self.rows: list[TableRow] = []
        self.no_http_sections: set[str] = set()
        self.line_number = 0

    def parse(self, text: str) -> WireFacts:
        for self.line_number, line in enumerate(text.splitlines(), start=1):
            self.feed(line.rstrip())
        self.resolve_tables()
        return self.facts

    def fail(self, problem: str) -> AssertionError:
        return AssertionError(f"wire-facts.md line {self.line_number}: {problem}")

    def require(
        self, match: re.Match[str] | None, what: str, line: str
    ) -> re.Match[str]:
        if match is None:
            raise self.fail(f"not a {what}: {line!r}")
        return match

    def feed(self, line: str) -> None:
        if line.startswith("#"):
            self.heading(line)
        elif not line:
            self.table_state = "none"  # a blank line ends a table
        elif line.startswith("|"):
            self.prose_seen = True
            self.table_line(line)
        elif self.file is None:
            return  # prose between headings carries no facts
        elif BULLET.match(line) or line.startswith("imports:"):
            if self.prose_seen:
                raise self.fail(f"fact line after prose: {line!r}")
            self.fact_line(line)
        else:
            self.prose_line(line)

    def heading(self, line: str) -> None:
        self.file, self.parent, self.prose_seen, self.table_state = (
            None,
            None,
            False,
            "none",
        )
        if line.startswith("#### "):
            self.start_file(
                self.require(FILE_HEADING.fullmatch(line), "file heading", line)
            )
        elif line.startswith("## "):
            self.section = line.removeprefix("## ")
        elif not line.startswith("# "):
            raise self.fail(f"unexpected heading level: {line!r}")

    def start_file(self, match: re.Match[str]) -> None:
        path = match["path"]
        if path in self.facts.files:
            raise self.fail(f"{path} is described twice")
        # The image API section names no package: its files follow the Yandex Cloud layout, in
        # which the package is the directory path (as it is for every file that names one).
        package = match["package"] or ".".join(Path(path).parent.parts)
        self.file = FileFact(path=path, package=package, section=self.section)
        self.facts.files[path] = self.file
        if match["imports"] is not None:
            self.set_imports(match["imports"])

    def set_imports(self, text: str) -> None:
        assert self.file
        if self.file.imports is not None:
            raise self.fail(f"imports of {self.file.path} given twice")
        self.file.imports = set(self.backticked_list(text.strip()))

    def backticked_list(self, text: str) -> list[str]:
        items = text.split(", ") if text else []
        for item in items:
            if not re.fullmatch(r"`[^`]+`", item):
                raise self.fail(
                    f"expected a `name` in a comma-separated list: {text!r}"
                )
        return [item.strip("`") for item in items]

    def qualify(self, name: str) -> str:
        assert self.file
        if "." not in name:
            return f"{self.file.package}.{name}"
        if not name.startswith(self.file.package + "."):
            raise self.fail(f"{name} is outside package {self.file.package}")
        return name

    def fact_line(self, line: str) -> None:
        assert self.file
        if match := IMPORTS_LINE.fullmatch(line):
            self.set_imports(match["imports"] or "")
        elif match := MESSAGE_LINE.fullmatch(line):
            reserved = self.reserved_ranges(match["reserved"] or "")
            self.parent = MessageFact(
                self.qualify(match["name"]), self.file.path, reserved
            )
            self.file.messages.append(self.parent)
        elif match := SERVICE_LINE.fullmatch(line):
            self.parent = ServiceFact(self.qualify(match["name"]), self.file.path)
            self.file.services.append(self.parent)
        elif match := EXTENSION_LINE.fullmatch(line):
            self.parent = None
            self.check_type_name(match["type"])
            extension = ExtensionFact(
                self.qualify(match["name"]),
                self.file.path,
                int(match["number"]),
                match["type"],
                match["extendee"],
            )
            self.file.extensions.append(extension)
        elif line.startswith("  - "):
            self.member_line(line)
        else:
            raise self.fail(f"unknown fact line: {line!r}")

    def member_line(self, line: str) -> None:
        if isinstance(self.parent, MessageFact):
            if match := FIELD_LINE.fullmatch(line):
                self.check_type_name(match["type"])
                kind = (
                    f"repeated {match['type']}" if match["repeated"] else match["type"]
                )
                member = FieldFact(
                    match["name"], int(match["number"]), kind, match["oneof"]
                )
                self.parent.fields.append(member)
                return
            if match := ENUM_LINE.fullmatch(line):
                values = [self.enum_value(text) for text in match["values"].split(", ")]
                self.parent.enums[f"{self.parent.full_name}.{match['name']}"] = values
                return
        if isinstance(self.parent, ServiceFact):
            if match := RPC_LINE.fullmatch(line):
                self.parent.rpcs[match["name"]] = (match["input"], match["output"])
                return
        raise self.fail(
            f"unknown member line (or no message/service above it): {line!r}"
        )

    def enum_value(self, text: str) -> tuple[str, int]:
        match = self.require(ENUM_VALUE.fullmatch(text), "NAME=number enum value", text)
        return match["name"], int(match["number"])

    def reserved_ranges(self, text: str) -> list[tuple[int, int]]:
        ranges = []
        for item in text.split(", ") if text else []:
            match = self.require(RESERVED_RANGE.fullmatch(item), "reserved range", item)
            ranges.append((int(match["start"]), int(match["end"] or match["start"])))
        return ranges

    def check_type_name(self, name: str) -> None:
        """Types must be scalars, maps or full names; a short name would be ambiguous."""
        if map_type := MAP_TYPE.fullmatch(name):
            for part in (map_type["key"], map_type["value"]):
                self.check_type_name(part)
        elif name not in SCALAR_TYPES and "." not in name:
            raise self.fail(f"type {name!r} is neither a scalar nor a full name")

    def prose_line(self, line: str) -> None:
        assert self.file
        if not (self.file.messages or self.file.services or self.file.extensions):
            raise self.fail(f"prose before any fact of {self.file.path}: {line!r}")
        self.prose_seen = True
        if line == NO_HTTP:
            self.no_http_sections.add(self.section)

    def table_line(self, line: str) -> None:
        if self.table_state == "none":
            self.require(
                TABLE_HEADER.fullmatch(line), "`| element | options |` header", line
            )
            self.table_state = "header"
        elif self.table_state == "header":
            self.require(TABLE_RULE.fullmatch(line), "table rule", line)
            self.table_state = "rows"
        else:
            match = self.require(TABLE_ROW.fullmatch(line), "table row", line)
            row = TableRow(
                self.section, self.line_number, match["element"], match["options"]
            )
            self.rows.append(row)

    # Tables are resolved after the whole document is read, so rows may name any element of
    # their section and "same as" may point at any row.

    def resolve_tables(self) -> None:
        expected_by_row: dict[Element, dict[str, object]] = {}
        same_as: dict[Element, tuple[Element, int]] = {}
        for row in self.rows:
            self.line_number = row.line
            element = self.resolve_element(row.section, row.element)
            if element in expected_by_row or element in same_as:
                raise self.fail(f"{element} has two rows")
            if match := SAME_AS.fullmatch(row.options):
                target = self.resolve_element(
                    row.section, f"`{match['message']}.{match['name']}`"
                )
                same_as[element] = (target, row.line)
            else:
                expected_by_row[element] = self.expected_options(element, row.options)
        for element, (target, line) in same_as.items():
            self.line_number = line
            if target not in expected_by_row:
                raise self.fail(
                    f"{element} is the same as {target}, which has no options row"
                )
            expected_by_row[element] = expected_by_row[target]
        for section in {row.section for row in self.rows}:
            for element in self.elements_of_section(section):
                self.facts.options[element] = expected_by_row.pop(element, {})
        assert (
            not expected_by_row
        ), f"table rows outside their section: {expected_by_row}"
        for section in self.no_http_sections:
            self.facts.services_without_http += [
                service.full_name for service in self.section_services(section)
            ]

    def section_files(self, section: str) -> list[FileFact]:
        return [file for file in self.facts.files.values() if file.section == section]

    def section_services(self, section: str) -> list[ServiceFact]:
        return [
            service for file in self.section_files(section) for service in file.services
        ]

    def elements_of_section(self, section: str) -> Iterator[Element]:
        for file in self.section_files(section):
            for message in file.messages:
                for member in message.fields:
                    yield Element("field", message.full_name, member.name)
                for oneof in dict.fromkeys(m.oneof for m in message.fields if m.oneof):
                    yield Element("oneof", message.full_name, oneof)
            for service in file.services:
                for rpc in service.rpcs:
                    yield Element("rpc", service.full_name, rpc)

    def resolve_element(self, section: str, text: str) -> Element:
        """`Message.field` or rpc `Service.Method`, by short name within the section's files."""
        files = self.section_files(section)
        if match := FIELD_ELEMENT.fullmatch(text):
            short, kind, owner_name = match["message"], "field", "message"
            owners: list[MessageFact | ServiceFact] = [
                m for f in files for m in f.messages
            ]
        else:
            match = self.require(RPC_ELEMENT.fullmatch(text), "table element", text)
            short, kind, owner_name = match["service"], "rpc", "service"
            owners = [s for f in files for s in f.services]
        owners = [o for o in owners if o.full_name.rsplit(".", 1)[-1] == short]
        names = {name for owner in owners for name in member_names(owner)}
        if len(owners) != 1 or match["name"] not in names:
            raise self.fail(
                f"{text} names no single {owner_name} member of section {section!r}"
            )
        return Element(kind, owners[0].full_name, match["name"])

    def expected_options(self, element: Element, text: str) -> dict[str, object]:
        """Options of one row, keyed by extension full name, typed like the decoded bytes."""
        extensions = self.facts.extensions()
        if match := EXTENSION_BODY.fullmatch(text):
            if match["extension"] not in extensions:
                raise self.fail(f"unknown extension {match['extension']}")
            raw: dict[str, object] = {
                match["extension"]: self.assignments(match["body"])
            }
        else:
            raw = {
                self.extension_by_short_name(key): v
                for key, v in self.assignments(text).items()
            }
        expected = {}
        for name, value in raw.items():
            extension = extensions[name]
            if extension.extendee != OPTIONS_OF_KIND[element.kind]:
                raise self.fail(
                    f"{name} extends {extension.extendee}, not options of a {element}"
                )
            expected[name] = self.typed(extension.type, value, name)
        return expected

    def extension_by_short_name(self, short: str) -> str:
        names = [
            name for name in self.facts.extensions() if name.rsplit(".", 1)[-1] == short
        ]
        if len(names) != 1:
            raise self.fail(f"option {short!r} names {len(names)} extensions: {names}")
        return names[0]

    def typed(self, type_name: str, value: object, where: str) -> object:
        message = self.facts.messages().get(type_name)
        if message:
            if not isinstance(value, dict):
                raise self.fail(f"{where} takes a {type_name} {{...}}, not {value!r}")
            types = {member.name: member.type for member in message.fields}
            unknown = set(value) - set(types)
            if unknown:
                raise self.fail(f"{type_name} has no fields {sorted(unknown)}")
            return {
                key: self.typed(types[key], v, f"{where}.{key}")
                for key, v in value.items()
            }
        if type_name == "bool" and isinstance(value, bool):
            return value
        if type_name == "string" and isinstance(value, str):
            return value
        raise self.fail(f"{where}: {value!r} is not a {type_name}")

    def assignments(self, text: str) -> dict[str, object]:
        """Reads `key=value, key=value`; values are `text`, true/false or {nested}."""
        values: dict[str, object] = {}
        position = 0
        while True:
            match = ASSIGNMENT.match(text, position)
            if match is None:
                raise self.fail(f"cannot read options at {text[position:]!r}")
            if match["key"] in values:
                raise self.fail(f"option {match['key']} given twice")
            if match["note"] is not None and match["note"] not in NOTES:
                raise self.fail(f"unknown annotation ({match['note']})")
            if match["nested"] is not None:
                values[match["key"]] = self.assignments(match["nested"])
            elif match["word"] is not None:
                values[match["key"]] = match["word"] == "true"
            else:
                values[match["key"]] = match["text"]
            position = match.end()
            if position == len(text):
                return values
            if not text.startswith(", ", position):
                raise self.fail(f"expected ', ' at {text[position:]!r}")
            position += 2


def member_names(owner: MessageFact | ServiceFact) -> list[str]:
    if isinstance(owner, MessageFact):
        return [member.name for member in owner.fields]
    return list(owner.rpcs)


def parse_wire_facts(text: str) -> WireFacts:
    return FactsParser().parse(text)


FACTS = parse_wire_facts(WIRE_FACTS.read_text(encoding="utf-8"))

# ---------------------------------------------------------------------------------------------
# The descriptors compiled from proto/


def compile_proto_tree(proto_root: Path) -> descriptor_pb2.FileDescriptorSet:
    googleapis = Path(google.api.annotations_pb2.__file__).resolve().parents[2]
    inputs = sorted(
        str(path.relative_to(proto_root)) for path in proto_root.rglob("*.proto")
    )
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / "set.pb"
        arguments = [
            "protoc",
            f"--proto_path={proto_root}",
            f"--proto_path={resources.files('grpc_tools') / '_proto'}",
            f"--proto_path={googleapis}",
            f"--descriptor_set_out={out}",
            "--include_imports",
            "--include_source_info",
            *inputs,
        ]
        assert protoc.main(arguments) == 0, f"protoc failed on {proto_root}"
        return descriptor_pb2.FileDescriptorSet.FromString(out.read_bytes())


@dataclass
class Descriptors:
    """The compiled descriptors, by file name and by full name."""

    files: dict[str, descriptor_pb2.FileDescriptorProto] = field(default_factory=dict)
    messages: dict[str, descriptor_pb2.DescriptorProto] = field(default_factory=dict)
    enums: dict[str, descriptor_pb2.EnumDescriptorProto] = field(default_factory=dict)
    services: dict[str, descriptor_pb2.ServiceDescriptorProto] = field(
        default_factory=dict
    )
    extensions: dict[str, FieldProto] = field(default_factory=dict)

    @classmethod
    def of(cls, descriptor_set: descriptor_pb2.FileDescriptorSet) -> Descriptors:
        index = cls()
        for file in descriptor_set.file:
            index.files[file.name] = file
            prefix = f"{file.package}." if file.package else ""
            index.add_messages(prefix, file.message_type)
            index.enums.update({prefix + enum.name: enum for enum in file.enum_type})
            index.services.update(
                {prefix + service.name: service for service in file.service}
            )
            index.extensions.update({prefix + ext.name: ext for ext in file.extension})
        return index

    def add_messages(
        self, prefix: str, messages: Iterable[descriptor_pb2.DescriptorProto]
    ) -> None:
        for message in messages:
            full_name = prefix + message.name
            self.messages[full_name] = message
            self.enums.update(
                {f"{full_name}.{enum.name}": enum for enum in message.enum_type}
            )
            self.add_messages(full_name + ".", message.nested_type)


def type_name_of(field_proto: FieldProto) -> str:
    if field_proto.type in (FieldProto.TYPE_MESSAGE, FieldProto.TYPE_ENUM):
        return field_proto.type_name.lstrip(".")
    names = [
        name for name, number in SCALAR_TYPES.items() if number == field_proto.type
    ]
    return names[0]


def describe_field_type(field_proto: FieldProto, descriptors: Descriptors) -> str:
    """The field's type in the notation of wire-facts.md."""
    entry = descriptors.messages.get(field_proto.type_name.lstrip("."))
    if entry is not None and entry.options.map_entry:
        key, value = sorted(entry.field, key=lambda member: member.number)
        return f"map<{type_name_of(key)}, {type_name_of(value)}>"
    base = type_name_of(field_proto)
    return (
        f"repeated {base}" if field_proto.label == FieldProto.LABEL_REPEATED else base
    )


def oneof_of(
    field_proto: FieldProto, message: descriptor_pb2.DescriptorProto
) -> str | None:
    # A proto3 `optional` field sits in a synthetic oneof that is not part of the wire facts.
    if not field_proto.HasField("oneof_index") or field_proto.proto3_optional:
        return None
    return message.oneof_decl[field_proto.oneof_index].name


# ---------------------------------------------------------------------------------------------
# Raw option bytes. Decoding by the extension numbers of the facts reads options the same whether
# or not protobuf knew the extensions when it parsed the descriptors.


def read_varint(data: bytes, position: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[position]
        value |= (byte & 0x7F) << shift
        position += 1
        if not byte & 0x80:
            return value, position
        shift += 7


def iter_wire_fields(data: bytes) -> Iterator[tuple[int, int | bytes]]:
    """Yields (field number, value) of every field: an int for varints, bytes otherwise."""
    position = 0
    while position < len(data):
        key, position = read_varint(data, position)
        number, wire_type = key >> 3, key & 7
        if wire_type == 0:
            value, position = read_varint(data, position)
            yield number, value
        elif wire_type == 2:
            length, position = read_varint(data, position)
            yield number, data[position : position + length]
            position += length
        elif wire_type in (1, 5):
            size = 8 if wire_type == 1 else 4
            yield number, data[position : position + size]
            position += size
        else:
            raise AssertionError(f"unsupported wire type {wire_type} in option bytes")


def decode_value(type_name: str, raw: int | bytes) -> object:
    message = FACTS.messages().get(type_name)
    if message is not None:
        assert isinstance(raw, bytes), f"{type_name} option is not length-delimited"
        members = {member.number: member for member in message.fields}
        decoded: dict[str, object] = {}
        for number, value in iter_wire_fields(raw):
            member = members.get(number)
            name, kind = (member.name, member.type) if member else (f"#{number}", "?")
            decoded[name] = decode_value(kind, value)
        return decoded
    if type_name == "string" and isinstance(raw, bytes):
        return raw.decode("utf-8")
    if type_name == "bool" and isinstance(raw, int):
        return raw != 0
    return raw  # an unexpected shape stays raw and shows up in the comparison


def decode_options(options: bytes, kind: str) -> dict[str, object]:
    """The options of the facts' extensions set on an element of `kind`, by full name."""
    extensions = {
        extension.number: extension
        for extension in FACTS.extensions().values()
        if extension.extendee == OPTIONS_OF_KIND[kind]
    }
    found: dict[str, object] = {}
    for number, raw in iter_wire_fields(options):
        extension = extensions.get(number)
        if extension is None:
            continue  # not one of the facts' extensions (e.g. `deprecated`, `google.api.http`)
        value = decode_value(extension.type, raw)
        previous = found.get(extension.full_name)
        # Repeated occurrences of a message option merge, as protobuf does.
        found[extension.full_name] = (
            {**previous, **value}
            if isinstance(previous, dict) and isinstance(value, dict)
            else value
        )
    return found


# ---------------------------------------------------------------------------------------------
# Comparisons. Each returns a list of problems, so that tests can print them all and the
# mutation test can run every check on a modified copy of proto/.


def file_problems(fact: FileFact, descriptors: Descriptors) -> list[str]:
    proto = descriptors.files.get(fact.path)
    if proto is None:
        return [f"{fact.path}: no such file in proto/"]
    problems = []
    if proto.package != fact.package:
        problems.append(
            f"{fact.path}: package {proto.package!r}, expected {fact.package!r}"
        )
    expected_imports = set(fact.imports or ())
    if any(rule.startswith(f"{proto.package}.") for rule in HTTP_RULES) and any(
        f"{proto.package}.{service.name}.{method.name}" in HTTP_RULES
        for service in proto.service
        for method in service.method
    ):
        expected_imports.add(ANNOTATIONS)
    if set(proto.dependency) != expected_imports:
        problems.append(
            f"{fact.path}: imports {sorted(proto.dependency)}, expected {sorted(expected_imports)}"
        )
    prefix = proto.package + "."
    declared: dict[
        str, tuple[set[str], Sequence[MessageFact | ServiceFact | ExtensionFact]]
    ] = {
        "messages": ({prefix + m.name for m in proto.message_type}, fact.messages),
        "services": ({prefix + s.name for s in proto.service}, fact.services),
        "extensions": ({prefix + e.name for e in proto.extension}, fact.extensions),
        "enums": ({prefix + e.name for e in proto.enum_type}, []),
    }
    for what, (actual, facts) in declared.items():
        expected = {item.full_name for item in facts}
        if actual != expected:
            problems.append(
                f"{fact.path}: top-level {what} {sorted(actual)}, expected {sorted(expected)}"
            )
    return problems


def message_problems(fact: MessageFact, descriptors: Descriptors) -> list[str]:
    message = descriptors.messages.get(fact.full_name)
    if message is None:
        return [f"{fact.file}: no message {fact.full_name}"]
    where = f"message {fact.full_name}"
    problems = []
    reserved = sorted(
        (r.start, r.end - 1) for r in message.reserved_range
    )  # end is exclusive
    if reserved != sorted(fact.reserved):
        problems.append(
            f"{where}: reserved {reserved}, expected {sorted(fact.reserved)}"
        )
    actual = {
        member.name: (
            member.number,
            describe_field_type(member, descriptors),
            oneof_of(member, message),
        )
        for member in message.field
    }
    expected = {
        member.name: (member.number, member.type, member.oneof)
        for member in fact.fields
    }
    problems += compare_members(
        where, "field", actual, expected, "(number, type, oneof)"
    )
    problems += nested_problems(fact, message, descriptors)
    return problems


def nested_problems(
    fact: MessageFact, message: descriptor_pb2.DescriptorProto, descriptors: Descriptors
) -> list[str]:
    where = f"message {fact.full_name}"
    problems = []
    extra_types = [
        nested.name for nested in message.nested_type if not nested.options.map_entry
    ]
    if extra_types:
        problems.append(
            f"{where}: nested messages {extra_types} are not in the wire facts"
        )
    actual_enums = {f"{fact.full_name}.{enum.name}" for enum in message.enum_type}
    if actual_enums != set(fact.enums):
        problems.append(
            f"{where}: nested enums {sorted(actual_enums)}, expected {sorted(fact.enums)}"
        )
    for name in actual_enums & set(fact.enums):
        actual = {value.name: value.number for value in descriptors.enums[name].value}
        problems += compare_members(
            f"enum {name}", "value", actual, dict(fact.enums[name]), "number"
        )
    return problems


def compare_members(
    where: str,
    what: str,
    actual: Mapping[str, object],
    expected: Mapping[str, object],
    shape: str,
) -> list[str]:
    problems = [
        f"{where}: missing {what} {name!r}" for name in expected if name not in actual
    ]
    problems += [
        f"{where}: extra {what} {name!r}" for name in actual if name not in expected
    ]
    problems += [
        f"{where}: {what} {name!r} {shape} is {actual[name]}, expected {expected[name]}"
        for name in expected
        if name in actual and actual[name] != expected[name]
    ]
    return problems


def service_problems(fact: ServiceFact, descriptors: Descriptors) -> list[str]:
    service = descriptors.services.get(fact.full_name)
    if service is None:
        return [f"{fact.file}: no service {fact.full_name}"]
    actual = {
        method.name: (
            ("stream " if method.client_streaming else "")
            + method.input_type.lstrip("."),
            ("stream " if method.server_streaming else "")
            + method.output_type.lstrip("."),
        )
        for method in service.method
    }
    return compare_members(
        f"service {fact.full_name}", "rpc", actual, fact.rpcs, "(input, output)"
    )


def extension_problems(fact: ExtensionFact, descriptors: Descriptors) -> list[str]:
    extension = descriptors.extensions.get(fact.full_name)
    if extension is None:
        return [f"{fact.file}: no extension {fact.full_name}"]
    actual = (
        extension.number,
        describe_field_type(extension, descriptors),
        extension.extendee,
    )
    expected = (fact.number, fact.type, "." + fact.extendee)
    if actual != expected:
        return [
            f"extension {fact.full_name}: (number, type, extendee) is {actual}, expected {expected}"
        ]
    return []


def element_options(element: Element, descriptors: Descriptors) -> bytes | None:
    """The serialized options of the element, or None if it does not exist."""
    members: Iterable[
        descriptor_pb2.MethodDescriptorProto
        | FieldProto
        | descriptor_pb2.OneofDescriptorProto
    ] = []
    if element.kind == "rpc" and element.owner in descriptors.services:
        members = descriptors.services[element.owner].method
    elif element.owner in descriptors.messages:
        message = descriptors.messages[element.owner]
        members = message.field if element.kind == "field" else message.oneof_decl
    for member in members:
        if member.name == element.name:
            return member.options.SerializeToString()
    return None


def option_problems(
    element: Element, expected: dict[str, object], descriptors: Descriptors
) -> list[str]:
    raw = element_options(element, descriptors)
    if raw is None:
        return [f"{element}: not found"]  # the message/service checks say why
    actual = decode_options(raw, element.kind)
    if actual != expected:
        return [f"{element}: options are {actual}, expected {expected}"]
    return []


# The one exception to "no google.api.http options": the rules issue 20 gives proto/ (see
# the file's header), by rpc, as google.api.HttpRule fields.
HTTP_RULES = tomllib.loads(
    (ROOT / "tests" / "data" / "http-rules.toml").read_text(encoding="utf-8")
)["rules"]
ANNOTATIONS = "google/api/annotations.proto"


def http_problems(service_name: str, descriptors: Descriptors) -> list[str]:
    """Every rpc of the service has exactly the rule http-rules.toml gives it, or none."""
    http = google.api.annotations_pb2.http.number
    service = descriptors.services.get(service_name)
    methods = service.method if service else []
    problems = []
    for method in methods:
        name = f"{service_name}.{method.name}"
        found = [
            value
            for number, value in iter_wire_fields(method.options.SerializeToString())
            if number == http
        ]
        expected = HTTP_RULES.get(name)
        if expected is None and found:
            problems.append(f"rpc {name} has a google.api.http option")
        elif expected is not None:
            rule = google.api.http_pb2.HttpRule.FromString(b"".join(found))
            written = {
                descriptor.name: value for descriptor, value in rule.ListFields()
            }
            if written != expected:
                problems.append(
                    f"rpc {name}: google.api.http {written}, expected {expected}"
                )
    return problems


def all_problems(facts: WireFacts, descriptors: Descriptors) -> list[str]:
    problems = []
    for file in facts.files.values():
        problems += file_problems(file, descriptors)
    for message in facts.messages().values():
        problems += message_problems(message, descriptors)
    for service in facts.services().values():
        problems += service_problems(service, descriptors)
    for extension in facts.extensions().values():
        problems += extension_problems(extension, descriptors)
    for element, expected in facts.options.items():
        problems += option_problems(element, expected, descriptors)
    for service_name in facts.services_without_http:
        problems += http_problems(service_name, descriptors)
    return problems


# ---------------------------------------------------------------------------------------------
# Tests


@pytest.fixture(scope="module")
def descriptors() -> Descriptors:
    return Descriptors.of(compile_proto_tree(PROTO))


def report(problems: list[str]) -> str:
    return "proto/ disagrees with wire-facts.md:\n  " + "\n  ".join(problems)


def test_parser_found_plausible_facts() -> None:
    # Guards against a format change that makes the parser read (almost) nothing.
    assert len(FACTS.files) >= 6, sorted(FACTS.files)
    assert all(
        file.imports is not None for file in FACTS.files.values()
    ), "a file lacks imports"
    image_service = FACTS.services().get("yandex.cloud.baremetal.v1alpha.ImageService")
    assert image_service and len(image_service.rpcs) == 6, image_service
    assert len(FACTS.messages()) >= 15, sorted(FACTS.messages())
    assert len(FACTS.extensions()) >= 10, sorted(FACTS.extensions())
    with_options = [element for element, expected in FACTS.options.items() if expected]
    assert len(with_options) >= 18, with_options
    assert FACTS.services_without_http == [
        "yandex.cloud.baremetal.v1alpha.ImageService"
    ]


@pytest.mark.parametrize(
    "bad_line",
    [
        "- mesage `Typo`",
        "  - `id` = one: `string`",
        "  - `id` = 1: `Image`",  # a short type name would be ambiguous
        "* message `Bullet`",
    ],
)
def test_parser_rejects_unknown_line_shapes(bad_line: str) -> None:
    text = f"## Section\n\n#### `a/b/c.proto` (package `a.b`)\nimports: \n- message `M`\n{bad_line}\n"
    with pytest.raises(AssertionError, match="line 6"):
        parse_wire_facts(text)


@pytest.mark.parametrize(
    "options, problem",
    [
        ("pattern=[a-z]", "cannot read options"),  # value without backticks
        ("pattern=`x` (per key)", "unknown annotation"),
        ("color=`red`", "names 0 extensions"),
        ("same as `M.missing`", "names no single message member"),
    ],
)
def test_parser_rejects_unreadable_option_rows(options: str, problem: str) -> None:
    text = (
        "## Section\n\n#### `a/b/c.proto` (package `a.b`)\nimports: \n"
        "- extension `a.b.pattern` = 5, type `string`, extends `google.protobuf.FieldOptions`\n"
        "- message `M`\n  - `id` = 1: `string`\n\nOptions:\n\n"
        f"| element | options |\n|---|---|\n| `M.id` | {options} |\n"
    )
    with pytest.raises(AssertionError, match=f"line 13: .*{re.escape(problem)}"):
        parse_wire_facts(text)


@pytest.mark.parametrize("path", sorted(FACTS.files))
def test_file(path: str, descriptors: Descriptors) -> None:
    problems = file_problems(FACTS.files[path], descriptors)
    assert not problems, report(problems)


@pytest.mark.parametrize("name", sorted(FACTS.messages()))
def test_message(name: str, descriptors: Descriptors) -> None:
    problems = message_problems(FACTS.messages()[name], descriptors)
    assert not problems, report(problems)


@pytest.mark.parametrize("name", sorted(FACTS.services()))
def test_service(name: str, descriptors: Descriptors) -> None:
    problems = service_problems(FACTS.services()[name], descriptors)
    assert not problems, report(problems)


@pytest.mark.parametrize("name", sorted(FACTS.extensions()))
def test_extension(name: str, descriptors: Descriptors) -> None:
    problems = extension_problems(FACTS.extensions()[name], descriptors)
    assert not problems, report(problems)


# Every field, oneof and rpc of a section with an options table: the listed options exactly, and
# none on elements the table does not list.
@pytest.mark.parametrize("element", sorted(FACTS.options, key=str), ids=str)
def test_options(element: Element, descriptors: Descriptors) -> None:
    problems = option_problems(element, FACTS.options[element], descriptors)
    assert not problems, report(problems)


@pytest.mark.parametrize("name", FACTS.services_without_http)
def test_http_options_are_those_of_http_rules_toml(
    name: str, descriptors: Descriptors
) -> None:
    problems = http_problems(name, descriptors)
    assert not problems, report(problems)


def test_unmodified_tree_has_no_problems(descriptors: Descriptors) -> None:
    # The same aggregate the mutation test relies on must be clean on the real tree.
    problems = all_problems(FACTS, descriptors)
    assert not problems, report(problems)


# Small edits to a copy of proto/ that the comparison must notice: (file, old, new, expected
# words in a problem).
MUTATIONS = {
    "field number": (
        "yandex/cloud/endpoint/api_endpoint.proto",
        "string address = 2;",
        "string address = 3;",
        ["ApiEndpoint", "'address'", "(2, 'string', None)"],
    ),
    "missing option": (
        "yandex/cloud/baremetal/v1alpha/image_service.proto",
        'string uri = 11 [(required) = true, (length) = "<=1024"];',
        'string uri = 11 [(length) = "<=1024"];',
        ["CreateImageRequest.uri", "yandex.cloud.required"],
    ),
    "extra option": (
        "yandex/cloud/baremetal/v1alpha/image_service.proto",
        "google.protobuf.FieldMask update_mask = 2;",
        "google.protobuf.FieldMask update_mask = 2 [(required) = true];",
        ["UpdateImageRequest.update_mask", "yandex.cloud.required"],
    ),
    "operation metadata": (
        "yandex/cloud/baremetal/v1alpha/image_service.proto",
        'metadata: "DeleteImageMetadata"',
        'metadata: "UpdateImageMetadata"',
        ["ImageService.Delete", "DeleteImageMetadata"],
    ),
    "http rule": (
        "yandex/cloud/baremetal/v1alpha/image_service.proto",
        'delete: "/baremetal/v1alpha/images/{image_id}"',
        'delete: "/baremetal/v1alpha/image/{image_id}"',
        ["ImageService.Delete", "google.api.http"],
    ),
    "map to repeated": (
        "yandex/cloud/baremetal/v1alpha/image.proto",
        "map<string, string> labels = 200;",
        "repeated string labels = 200;",
        ["Image", "'labels'", "map<string, string>"],
    ),
}


@pytest.mark.parametrize("mutation", sorted(MUTATIONS))
def test_mutated_copy_is_caught(mutation: str, tmp_path: Path) -> None:
    path, old, new, words = MUTATIONS[mutation]
    copy = tmp_path / "proto"
    shutil.copytree(PROTO, copy)
    source = (copy / path).read_text(encoding="utf-8")
    assert (
        source.count(old) == 1
    ), f"{old!r} must occur once in {path} for this mutation"
    (copy / path).write_text(source.replace(old, new), encoding="utf-8")
    problems = all_problems(FACTS, Descriptors.of(compile_proto_tree(copy)))
    assert any(all(word in problem for word in words) for problem in problems), report(
        problems
    )


@pytest.mark.skipif(
    not SHARED_WIRE_FACTS.is_file(),
    reason="../shared/wire-facts.md is absent (a fresh clone): the repository's copy is checked",
)
def test_the_copy_of_the_facts_is_current() -> None:
    assert (
        WIRE_FACTS.read_text() == SHARED_WIRE_FACTS.read_text()
    ), "tests/data/wire-facts.md differs from ../shared/wire-facts.md: copy it again"
