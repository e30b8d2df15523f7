"""The model: frozen dataclasses over the request's descriptors, shared by every renderer.

Messages, enums and services refer to each other by full name (no leading dot) and are looked up
through `Api`. Comments are indexed once per file by descriptor path. Derived facts (operation
types, paging, HTTP rules, validation rules) are computed here, and what each rpc means to the
server (resources, standard methods, actions) in `resources`, each once.
"""

from __future__ import annotations

import enum
import re
import sys
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Callable, Iterable, Mapping, NamedTuple, Sequence

from google.protobuf import descriptor_pb2

from generator import errors, http, native, parallel, rules, wire
from generator.kept import keep
from generator.errors import Problem, ProblemsError
from generator.runtime.contract import ActionKind, MaskKind
from generator.runtime.contract import ResponseKind as ResponseKind
from generator.rules import (
    FieldRules,
    FieldShape,
    field_rules,
)
from generator.source_info import parsed_source_info, readable_file_names, text

FieldType = descriptor_pb2.FieldDescriptorProto.Type

OPERATION = "yandex.cloud.operation.Operation"
OPERATION_OPTION = "yandex.cloud.api.operation"
ANY = "google.protobuf.Any"
VALIDATION_PACKAGE = "yandex.cloud"
EMPTY = "google.protobuf.Empty"
FIELD_MASK = "google.protobuf.FieldMask"
# Messages that ship with the protobuf runtime: option values may name them without an import.
WELL_KNOWN_TYPES = frozenset(
    "google.protobuf." + name
    for name in (
        "Any Api BoolValue BytesValue DoubleValue Duration Empty Enum EnumValue Field FieldMask "
        "FloatValue Int32Value Int64Value ListValue Method Mixin Option SourceContext StringValue "
        "Struct Timestamp Type UInt32Value UInt64Value Value"
    ).split()
)

SCALAR_NAMES = {
    FieldType.TYPE_DOUBLE: "double",
    FieldType.TYPE_FLOAT: "float",
    FieldType.TYPE_INT64: "int64",
    FieldType.TYPE_UINT64: "uint64",
    FieldType.TYPE_INT32: "int32",
    FieldType.TYPE_FIXED64: "fixed64",
    FieldType.TYPE_FIXED32: "fixed32",
    FieldType.TYPE_BOOL: "bool",
    FieldType.TYPE_STRING: "string",
    FieldType.TYPE_BYTES: "bytes",
    FieldType.TYPE_UINT32: "uint32",
    FieldType.TYPE_SFIXED32: "sfixed32",
    FieldType.TYPE_SFIXED64: "sfixed64",
    FieldType.TYPE_SINT32: "sint32",
    FieldType.TYPE_SINT64: "sint64",
}

# Enum values of descriptor.proto as plain ints: attribute lookups on its enum wrappers are slow.
_TYPE_ENUM = int(FieldType.TYPE_ENUM)
_MESSAGE_TYPES = (int(FieldType.TYPE_MESSAGE), int(FieldType.TYPE_GROUP))
_LABEL_REPEATED = int(descriptor_pb2.FieldDescriptorProto.LABEL_REPEATED)
_FIELD_OPTIONS = "google.protobuf.FieldOptions"
_VALIDATION_PREFIX = VALIDATION_PACKAGE + "."
_NO_RULES = FieldRules()
_NO_HTTP_RULE = "the rpc gets no HTTP rule"

# Descriptor path components (field numbers in descriptor.proto).
_FILE_MESSAGE, _FILE_ENUM, _FILE_SERVICE = 4, 5, 6
_MESSAGE_FIELD, _MESSAGE_NESTED, _MESSAGE_ENUM, _MESSAGE_ONEOF = 2, 3, 4, 8
_ENUM_VALUE, _SERVICE_METHOD = 2, 2

# Services of the framework itself, served by the runtime rather than from descriptors.
FRAMEWORK_SERVICES = frozenset(
    {
        "yandex.cloud.operation.OperationService",
        "yandex.cloud.endpoint.ApiEndpointService",
    }
)


# The actions the runtime implements, as the model names them.
Action = ActionKind


class Kind(enum.Enum):
    """What a field holds."""

    SCALAR = "scalar"
    ENUM = "enum"
    MESSAGE = "message"
    MAP = "map"


class StandardMethod(enum.Enum):
    """A standard method, recognised by its name, HTTP binding and shape (see `resources`)."""

    GET = "get"
    LIST = "list"
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"
    LIST_OPERATIONS = "list_operations"


@dataclass(frozen=True)
class TypeRef:
    """The type of a field, a map key or a map value."""

    kind: Kind
    scalar: str = ""  # proto scalar name, for Kind.SCALAR
    name: str = ""  # full name of the enum or message

    @property
    def is_google(self) -> bool:
        return self.name.startswith("google.")


@dataclass(frozen=True)
class Field:
    name: str
    json_name: str
    number: int
    type: TypeRef  # for maps, Kind.MAP; key and value are in map_key / map_value
    repeated: bool  # true for repeated fields, false for maps
    comment: str
    rules: FieldRules
    oneof: str = ""  # the name of the real (not synthetic) oneof holding the field
    optional: bool = False  # proto3 `optional`
    map_key: TypeRef | None = None
    map_value: TypeRef | None = None
    _message_type: str | None = field(
        default=None, init=False, repr=False, compare=False
    )

    @property
    def is_map(self) -> bool:
        return self.type.kind is Kind.MAP

    @property
    def collection(self) -> str:
        """ "map", "repeated" or "" for a single value: how element-wise rules apply."""
        return "map" if self.is_map else "repeated" if self.repeated else ""

    @property  # message walks ask each field over and over: kept
    def message_type(self) -> str:
        """The message this field refers to (the value message for maps), or ""."""
        found: str | None = getattr(self, "_message_type", None)  # see `kept`
        if found is None:
            ref = self.map_value if self.map_value else self.type
            found = keep(
                self, "_message_type", ref.name if ref.kind is Kind.MESSAGE else ""
            )
        return found


@dataclass(frozen=True)
class Oneof:
    name: str
    comment: str
    fields: tuple[str, ...]
    exactly_one: bool


@dataclass(frozen=True)
class Message:
    full_name: str
    name: str
    file: str
    package: str
    comment: str
    fields: tuple[Field, ...]
    oneofs: tuple[Oneof, ...]
    # By name, made on first use (see `kept`): standard methods and paging ask for fields by
    # name over and over, and the docs views for a field's oneof on every row.
    _fields_by_name: dict[str, Field] | None = field(
        default=None, init=False, repr=False, compare=False
    )
    _oneofs_by_name: dict[str, Oneof] | None = field(
        default=None, init=False, repr=False, compare=False
    )

    def field(self, name: str) -> Field | None:
        found: dict[str, Field] | None = getattr(self, "_fields_by_name", None)
        if found is None:
            found = keep(self, "_fields_by_name", {f.name: f for f in self.fields})
        return found.get(name)

    def oneof(self, name: str) -> Oneof:
        found: dict[str, Oneof] | None = getattr(self, "_oneofs_by_name", None)
        if found is None:
            found = keep(self, "_oneofs_by_name", {o.name: o for o in self.oneofs})
        return found[name]


@dataclass(frozen=True)
class EnumValue:
    name: str
    number: int
    comment: str


@dataclass(frozen=True)
class Enum:
    full_name: str
    name: str
    file: str
    package: str
    comment: str
    values: tuple[EnumValue, ...]


@dataclass(frozen=True)
class OperationTypes:
    """The messages named by a method's `(yandex.cloud.api.operation)` option, as full names.

    `metadata` is "" when the option names none (the operation has no metadata); a type that
    resolves to nothing is taken as untyped `google.protobuf.Any`."""

    metadata: str
    response: str

    @property
    def metadata_message(self) -> str:
        """What `Operation.metadata` holds: the named message, else untyped Any."""
        return self.metadata or ANY


@dataclass(frozen=True)
class Paging:
    """How an rpc pages: its request takes a `page_token`, its reply gives the
    `next_page_token` and holds the items in its one repeated message field."""

    items_field: str
    item_type: str  # the items' message, as a full name


@dataclass(frozen=True)
class Method:
    name: str
    full_name: str
    input: str
    output: str
    comment: str
    client_streaming: bool
    server_streaming: bool
    operation: OperationTypes | None
    # How the rpc pages, if it does (every view reads this).
    paging: Paging | None = None
    # Its `google.api.http` rule, if it has a sound one.
    http: http.HttpRule | None = None
    # What the server makes of it (see `resources`): a standard method, or an action it
    # implements, with the messages' parts it reads; and why, in words.
    standard: StandardMethod | None = None
    action: Action | None = None
    shape: MethodShape | None = None
    reason: str = ""


@dataclass(frozen=True)
class MethodShape:
    """The parts of an rpc's messages that the server reads and writes for its meaning."""

    key_fields: tuple[str, ...] = ()  # the request fields that name the resource
    # List, ListOperations, listing referring resources: the response's items, whether it
    # pages, the request field that scopes it, and request fields compared for equality;
    # request fields the server cannot honour (UNIMPLEMENTED when set).
    items_field: str = ""
    paged: bool = False
    parent_field: str = ""  # List: the scope; Move: the destination
    filter_fields: tuple[str, ...] = ()
    unsupported_fields: tuple[str, ...] = ()
    # Create: request fields copied to the resource, and fields describing it whole
    # (`<resource>_spec`, or of the resource's type).
    copy_fields: tuple[str, ...] = ()
    spec_fields: tuple[str, ...] = ()
    mask_field: str = ""  # Update: its FieldMask ("" for a whole update)
    response: ResponseKind = ResponseKind.RESOURCE
    response_field: str = ""  # WRAPPED: the response's field that holds the resource
    synchronous: bool = False  # answers at once rather than with an Operation
    # Listing referring resources: their message and the field that names this one.
    target: str = ""
    target_field: str = ""


@dataclass(frozen=True)
class KeyPart:
    """A field of the resource that names it, and the request field that carries it."""

    # Of the resource: `id`, `cluster_id`, `name`; "" for a parent it does not record (the
    # server keeps it beside the resource).
    field: str
    request_field: str  # of requests: `key_id`, `cluster_id`, `database_name`


@dataclass(frozen=True)
class Lifecycle:
    """The resource's status field and the enum values (full value names, "" when the enum
    has none) it shows: ready, and while an operation or an action changes it."""

    field: str
    enum: str
    ready: str
    creating: str = ""
    updating: str = ""
    deleting: str = ""
    starting: str = ""
    stopping: str = ""
    stopped: str = ""
    restarting: str = ""


@dataclass(frozen=True)
class Reference:
    """A field of a resource that may name another resource by id, by its name (`network_id`
    a `Network` of the same package); a server serving both links them (`runtime/links.py`).
    """

    field: str
    target: str  # the named resource's message
    repeated: bool


@dataclass(frozen=True)
class Resource:
    """The resource a service manages (see `resources`)."""

    message: str
    key: tuple[KeyPart, ...]  # a parent's part first, its own last
    generated_id: (
        bool  # the server makes the key's own part (`id`, `dataset_id`) on Create
    )
    parent_field: str  # e.g. `folder_id` (a key's first part), or "" for no parent
    name_field: str  # "" when the resource has no `name`
    created_at_field: str = ""  # a Timestamp `created_at`, set on Create
    lifecycle: Lifecycle | None = None
    # Fields storage indexes for Lists: top-level scalars, enums and Timestamps.
    indexed_fields: tuple[str, ...] = ()
    references: tuple[Reference, ...] = ()

    @property
    def id_field(self) -> str:
        """The resource's own name among its fields: the key's last part."""
        return self.key[-1].field

    @property
    def request_id_field(self) -> str:
        """How requests name the resource's own part: `image_id`, `key_id`."""
        return self.key[-1].request_field

    @property
    def label(self) -> str:
        """The resource's name in words, for messages: `PrivateSubnet` -> `private subnet`."""
        return snake_case(self.message.rsplit(".", 1)[-1]).replace("_", " ")


@dataclass(frozen=True)
class Service:
    name: str
    full_name: str
    package: str
    file: str
    comment: str
    methods: tuple[Method, ...]
    resource: Resource | None

    @property
    def is_framework(self) -> bool:
        return self.full_name in FRAMEWORK_SERVICES

    @property
    def short_name(self) -> str:
        """The name without the `Service` suffix, as used in doc paths."""
        return (
            self.name[: -len("Service")] if self.name.endswith("Service") else self.name
        )

    def method(self, name: str) -> Method | None:
        return next((m for m in self.methods if m.name == name), None)

    def standard_method(self, kind: StandardMethod) -> Method | None:
        return next((m for m in self.methods if m.standard is kind), None)


@dataclass(frozen=True)
class MaskNode:
    """A field an update mask may name; `children` are the sub-fields of a message field."""

    name: str
    json_name: str
    kind: MaskKind
    children: tuple["MaskNode", ...] = ()


@dataclass(frozen=True)
class ProtoFile:
    name: str
    package: str
    messages: tuple[
        str, ...
    ]  # every message of the file, nested ones included, in order
    enums: tuple[str, ...]
    services: tuple[Service, ...]
    generate: bool  # listed in file_to_generate


@dataclass(frozen=True)
class Api:
    files: tuple[ProtoFile, ...]
    messages: Mapping[str, Message] = field(hash=False)
    enums: Mapping[str, Enum] = field(hash=False)
    # Schema problems the model went on after, in the order found (see errors.Problem).
    problems: tuple[Problem, ...] = ()
    _referrers: Mapping[str, tuple[str, ...]] | None = field(
        default=None, init=False, repr=False, compare=False
    )

    @property
    def services(self) -> Iterable[Service]:
        for proto_file in self.files:
            yield from proto_file.services

    @property
    def generated_files(self) -> Iterable[ProtoFile]:
        return (f for f in self.files if f.generate)

    def message(self, full_name: str) -> Message:
        return self.messages[full_name]

    @property
    def referrers(self) -> Mapping[str, tuple[str, ...]]:
        """For each message and enum, the messages with a field of its type (a map's value
        type counts): the way back up from a type to every message that can hold it."""
        kept: Mapping[str, tuple[str, ...]] | None = getattr(self, "_referrers", None)
        if kept is None:
            kept = keep(self, "_referrers", self._find_referrers())
        return kept

    def _find_referrers(self) -> dict[str, tuple[str, ...]]:
        found: dict[str, dict[str, None]] = {}
        for name, message in self.messages.items():
            for item in message.fields:
                ref = item.map_value if item.map_value else item.type
                if ref.name:
                    found.setdefault(ref.name, {})[name] = None
        return {target: tuple(holders) for target, holders in found.items()}

    def service(self, full_name: str) -> Service | None:
        return next((s for s in self.services if s.full_name == full_name), None)

    def mirrored_fields(self, request: str, resource: str) -> tuple[Field, ...]:
        """Request fields that mirror a resource field (same name and type), except the id."""
        target = self.message(resource)
        return tuple(
            item
            for item in self.message(request).fields
            if item.name != "id" and same_type(item, target.field(item.name))
        )

    def mask_tree(
        self, fields: Sequence[Field], ancestors: tuple[str, ...] = ()
    ) -> tuple[MaskNode, ...]:
        """The update-mask paths under `fields`: message fields open into their own fields."""
        nodes = []
        for item in fields:
            if item.is_map:
                nodes.append(MaskNode(item.name, item.json_name, MaskKind.MAP))
            elif item.repeated:
                nodes.append(MaskNode(item.name, item.json_name, MaskKind.REPEATED))
            elif (
                item.type.kind is Kind.MESSAGE
                and not item.type.is_google
                and item.type.name in self.messages
            ):
                inner = (
                    ()
                    if item.type.name in ancestors
                    else self.mask_tree(
                        self.message(item.type.name).fields,
                        ancestors + (item.type.name,),
                    )
                )
                nodes.append(
                    MaskNode(item.name, item.json_name, MaskKind.MESSAGE, inner)
                )
            else:
                nodes.append(MaskNode(item.name, item.json_name, MaskKind.SCALAR))
        return tuple(nodes)

    def resolve(self, name: str, scope: str) -> str | None:
        """Resolves a type name as protobuf does: from the innermost scope outward."""
        return resolve_name(
            name,
            scope,
            lambda candidate: candidate in self.messages or candidate in self.enums,
        )


def resolve_name(name: str, scope: str, exists) -> str | None:  # type: ignore[no-untyped-def]
    if name.startswith("."):
        return name[1:] if exists(name[1:]) else None
    while True:  # the scope, then each enclosing scope, then none
        candidate = f"{scope}.{name}" if scope else name
        if exists(candidate):
            return candidate
        if not scope:
            return None
        scope = scope.rpartition(".")[0]


def snake_case(name: str) -> str:
    return re.sub(
        r"(?<=[a-z0-9])([A-Z])|(?<=[A-Z])([A-Z])(?=[a-z])", r"_\1\2", name
    ).lower()


def strip_comment(raw: str | bytes) -> str:
    """Leading-comment text: one space after `//` removed per line, the final newline dropped."""
    comment = text(raw)  # see source_info.text
    if comment.endswith("\n"):
        comment = comment[:-1]
    # A line starts the text or follows a newline (str methods: a regex costs twice as much).
    return (comment[1:] if comment.startswith(" ") else comment).replace("\n ", "\n")


# ---------------------------------------------------------------------------------------------
# Building the model from a CodeGeneratorRequest


def build_api(
    proto_files: Sequence[descriptor_pb2.FileDescriptorProto],
    to_generate: Iterable[str | bytes],
    strict: bool = False,
    processes: int = 1,
    meanwhile: Callable[[], object] | None = None,
    meanings: bool = True,
    source_info: Mapping[str, bytes] | None = None,
) -> Api:
    """The model of a request's files. Problems of the schema become warnings (`Api.problems`)
    and the model goes on without what they concern; with `strict`, problems in the files to
    generate raise ProblemsError instead (problems in imported files never do). With more than
    one process, the files are built in parts that the processes take as each frees up (the
    same model); `meanwhile` is called in this process before it takes any (see
    `parallel.run_in_order`).
    Without `meanings`, services and rpcs are left unclassified (`resources`): the docs alone
    read only which rpcs are Gets, of the few services their links look at, and ask
    `resources.ResourceGets` for them.
    `source_info` gives the files' SourceCodeInfo, serialized, by file name, where their
    descriptors come without it (`source_info.split_source_info`): each is parsed by the part
    that builds its file. File names that are not UTF-8 are made text in place
    (`source_info.readable_file_names`).
    """
    generated = readable_file_names(proto_files, to_generate)
    built = _Builder(proto_files, generated, source_info or {}).build(
        processes, meanwhile
    )
    api = replace(built, files=_with_meanings(built)) if meanings else built
    if strict:
        fatal = [p for p in api.problems if p.file in generated]
        if fatal:
            raise ProblemsError(fatal)
    return api


class _Builder:
    def __init__(
        self,
        proto_files: Sequence[descriptor_pb2.FileDescriptorProto],
        to_generate: set[str],
        source_info: Mapping[str, bytes],
    ) -> None:
        self.proto_files = proto_files
        self.to_generate = to_generate
        self.source_info = source_info
        self.raw_messages: dict[str, descriptor_pb2.DescriptorProto] = {}
        self.message_files: dict[str, str] = {}  # full name -> the file declaring it
        self.dependencies = {f.name: tuple(f.dependency) for f in proto_files}
        self._imported: dict[str, frozenset[str]] = {}
        # Extensions declared anywhere in the request, by extendee: options are read by these.
        self.extensions: dict[str, dict[int, wire.OptionField]] = {}
        for proto_file in proto_files:
            self._add_extensions(proto_file.package, proto_file.extension)
            for full_name, message in _walk_messages(
                proto_file.package, proto_file.message_type
            ):
                self.raw_messages[full_name] = message
                self.message_files[full_name] = proto_file.name
                if message.extension:
                    self._add_extensions(full_name, message.extension)
        self._option_fields: dict[str, dict[int, wire.OptionField]] = {}
        self.messages: dict[str, Message] = {}
        self.enums: dict[str, Enum] = {}
        self.problems: dict[Problem, None] = {}  # ordered, without repeats
        # Memos: equal inputs give equal (immutable) results.
        self._decoded: dict[
            tuple[str, bytes],
            tuple[dict[str, wire.OptionValue], tuple[tuple[str, str], ...]] | str,
        ] = {}
        self._type_refs: dict[tuple[int, str], TypeRef] = {}
        self._rules_of: dict[
            tuple[bytes, FieldShape], tuple[FieldRules, tuple[tuple[str, str], ...]]
        ] = {}

    def build(
        self, processes: int, meanwhile: Callable[[], object] | None = None
    ) -> Api:
        """Each file on its own, in parts (see `_shares`) that `processes` processes take as
        each frees up, then what needs every message: paging and checked HTTP rules
        (`_with_meanings` follows). The parts are contiguous runs of files, put together in
        order: the same model, problems in the same order, however many parts."""
        files: list[ProtoFile] = []
        messages: dict[str, Message] = {}
        enums: dict[str, Enum] = {}
        problems: dict[Problem, None] = {}
        parts: list[_Part] = []
        count = processes * _PARTS_PER_PROCESS if processes > 1 else 1
        parallel.run_in_order(
            [
                partial(self._part, share)
                for share in _shares(self.proto_files, count, self.source_info)
            ],
            processes,
            parts.append,
            meanwhile=meanwhile,
            objects=True,
        )
        for part in parts:
            files += part.files
            messages.update(part.messages)
            enums.update(part.enums)
            problems.update(dict.fromkeys(part.problems))
        self.messages, self.enums, self.problems = messages, enums, problems
        return Api(
            files=tuple(self._with_derived_facts(proto_file) for proto_file in files),
            messages=messages,
            enums=enums,
            problems=tuple(self.problems),
        )

    def _part(self, proto_files: Sequence[descriptor_pb2.FileDescriptorProto]) -> _Part:
        """The files' model, and what building them found; nothing read from an earlier part
        (each part's messages, enums and problems are its own)."""
        self.messages, self.enums, self.problems = {}, {}, {}
        files = tuple(self._file(proto_file) for proto_file in proto_files)
        return _Part(files, self.messages, self.enums, tuple(self.problems))

    def _with_derived_facts(self, proto_file: ProtoFile) -> ProtoFile:
        """The file's services with their rpcs' paging and checked HTTP rules."""
        if not proto_file.services:
            return proto_file
        services = tuple(
            replace(
                service,
                methods=tuple(
                    self._with_paging(self._with_checked_http(proto_file.name, method))
                    for method in service.methods
                ),
            )
            for service in proto_file.services
        )
        return replace(proto_file, services=services)

    def _with_checked_http(self, file: str, method: Method) -> Method:
        """The method, without its HTTP rule if the rule names fields its messages lack."""
        if method.http is None:
            return method
        wrong = http.check_fields(
            method.http, method.input, method.output, self._field_shape
        )
        for message in wrong:
            self._problem(
                file, method.full_name, http.HTTP_OPTION, message, _NO_HTTP_RULE
            )
        return replace(method, http=None) if wrong else method

    def _field_shape(self, message: str, name: str) -> tuple[str, bool] | None:
        """What `http.check_fields` asks of a field: its message type, and whether it holds
        many values."""
        found = self.messages.get(message)
        item = found.field(name) if found else None
        if item is None:
            return None
        if item.is_map:
            return "", True
        return (item.type.name if item.type.kind is Kind.MESSAGE else ""), item.repeated

    def _with_paging(self, method: Method) -> Method:
        paging = (
            _paging(self.messages.get(method.input), self.messages.get(method.output))
            if unary(method)
            else None
        )
        return replace(method, paging=paging) if paging else method

    def _imported_files(self, name: str) -> frozenset[str]:
        """The file and every file it imports, directly or not: the names it can see, the same
        whatever else the request holds."""
        found = self._imported.get(name)
        if found is None:
            closure = {name}
            for dependency in self.dependencies.get(name, ()):
                closure |= self._imported_files(dependency)
            found = self._imported[name] = frozenset(closure)
        return found

    def _problem(
        self, file: str, element: str, option: str, message: str, consequence: str
    ) -> None:
        self.problems[Problem(file, element, option, message, consequence)] = None

    # --- custom options -----------------------------------------------------------------------

    def _add_extensions(
        self, scope: str, declared: Iterable[descriptor_pb2.FieldDescriptorProto]
    ) -> None:
        for ext in declared:
            self.extensions.setdefault(ext.extendee.lstrip("."), {})[ext.number] = (
                wire.OptionField(
                    _join(scope, ext.name),
                    ext.type,
                    ext.type_name.lstrip("."),
                    ext.label == _LABEL_REPEATED,
                )
            )

    def _options(self, options, extendee: str, file: str, element: str) -> dict[str, wire.OptionValue]:  # type: ignore[no-untyped-def]
        return self._decode(extendee, options.SerializeToString(), file, element)

    def _fields_of(self, message: str) -> dict[int, wire.OptionField]:
        """How to decode the fields of a message-typed option value (MapKeySpec...)."""
        found = self._option_fields.get(message)
        if found is None:
            raw = self.raw_messages.get(message)
            found = self._option_fields[message] = {
                f.number: wire.OptionField(
                    f.name, f.type, f.type_name.lstrip("."), f.label == _LABEL_REPEATED
                )
                for f in (raw.field if raw else ())
            }
        return found

    def _decode(
        self, extendee: str, data: bytes, file: str, element: str
    ) -> dict[str, wire.OptionValue]:
        known = self.extensions.get(extendee)
        if not known or not data:
            return {}
        # Many elements carry the same options (`(length) = "<=50"`): decode each once.
        decoded = self._decoded.get((extendee, data))
        if decoded is None:
            found: list[tuple[str, str]] = []
            try:
                values = wire.decode_message(data, known, self._fields_of, found)
                decoded = (values, tuple(found))
            except wire.WireError as error:  # no message at all
                decoded = f"cannot decode custom options: {error}"
            self._decoded[(extendee, data)] = decoded
        if isinstance(decoded, str):
            self._problem(file, element, "", decoded, "its options are ignored")
            return {}
        values, errors = decoded
        for option, message in errors:
            self._problem(
                file,
                element,
                option,
                f"cannot decode: {message}",
                "the option is ignored",
            )
        return values

    # --- files, messages, enums ---------------------------------------------------------------

    def _file(self, proto_file: descriptor_pb2.FileDescriptorProto) -> ProtoFile:
        kept = self.source_info.get(proto_file.name)
        comments = _leading_comments(
            proto_file.source_code_info
            if kept is None
            else parsed_source_info(proto_file.name, kept)
        )
        messages: list[str] = []
        enums: list[str] = []
        for index, message in enumerate(proto_file.message_type):
            self._message(
                proto_file,
                proto_file.package,
                message,
                (_FILE_MESSAGE, index),
                comments,
                messages,
                enums,
            )
        for index, file_enum in enumerate(proto_file.enum_type):
            enums.append(
                self._enum(
                    proto_file,
                    proto_file.package,
                    file_enum,
                    (_FILE_ENUM, index),
                    comments,
                )
            )
        services = tuple(
            self._service(proto_file, service, (_FILE_SERVICE, index), comments)
            for index, service in enumerate(proto_file.service)
        )
        return ProtoFile(
            name=_shared(proto_file.name),
            package=_shared(proto_file.package),
            messages=tuple(messages),
            enums=tuple(enums),
            services=services,
            generate=proto_file.name in self.to_generate,
        )

    def _message(
        self,
        proto_file: descriptor_pb2.FileDescriptorProto,
        scope: str,
        message: descriptor_pb2.DescriptorProto,
        path: tuple[int, ...],
        comments: Mapping[tuple[int, ...], str],
        messages: list[str],
        enums: list[str],
    ) -> None:
        full_name = _shared(_join(scope, message.name))
        if message.options.map_entry:
            return
        oneofs = []
        raw_fields = list(
            message.field
        )  # read once: each pass over upb wraps every field
        real_oneofs = _real_oneof_indexes(raw_fields)
        for index, oneof in enumerate(message.oneof_decl):
            if index not in real_oneofs:
                continue
            options = self._options(
                oneof.options,
                "google.protobuf.OneofOptions",
                proto_file.name,
                f"{full_name}.{oneof.name}",
            )
            oneofs.append(
                Oneof(
                    name=oneof.name,
                    comment=comments.get(path + (_MESSAGE_ONEOF, index), ""),
                    fields=tuple(
                        f.name
                        for f in raw_fields
                        if f.HasField("oneof_index") and f.oneof_index == index
                    ),
                    exactly_one=bool(
                        options.get(f"{VALIDATION_PACKAGE}.exactly_one", False)
                    ),
                )
            )
        fields = tuple(
            self._field(
                proto_file,
                full_name,
                message,
                real_oneofs,
                raw_field,
                comments.get(path + (_MESSAGE_FIELD, index), ""),
            )
            for index, raw_field in enumerate(raw_fields)
        )
        self.messages[full_name] = Message(
            full_name=full_name,
            name=_shared(message.name),
            file=_shared(proto_file.name),
            package=_shared(proto_file.package),
            comment=comments.get(path, ""),
            fields=fields,
            oneofs=tuple(oneofs),
        )
        messages.append(full_name)
        for index, nested in enumerate(message.nested_type):
            self._message(
                proto_file,
                full_name,
                nested,
                path + (_MESSAGE_NESTED, index),
                comments,
                messages,
                enums,
            )
        for index, nested_enum in enumerate(message.enum_type):
            enums.append(
                self._enum(
                    proto_file,
                    full_name,
                    nested_enum,
                    path + (_MESSAGE_ENUM, index),
                    comments,
                )
            )

    def _enum(
        self,
        proto_file: descriptor_pb2.FileDescriptorProto,
        scope: str,
        raw: descriptor_pb2.EnumDescriptorProto,
        path: tuple[int, ...],
        comments: Mapping[tuple[int, ...], str],
    ) -> str:
        full_name = _shared(_join(scope, raw.name))
        self.enums[full_name] = Enum(
            full_name=full_name,
            name=_shared(raw.name),
            file=_shared(proto_file.name),
            package=_shared(proto_file.package),
            comment=comments.get(path, ""),
            values=tuple(
                EnumValue(
                    _shared(value.name),
                    value.number,
                    comments.get(path + (_ENUM_VALUE, index), ""),
                )
                for index, value in enumerate(raw.value)
            ),
        )
        return full_name

    def _type_ref(self, raw: descriptor_pb2.FieldDescriptorProto) -> TypeRef:
        key = (raw.type, raw.type_name)
        found = self._type_refs.get(key)
        if found is None:
            if raw.type == _TYPE_ENUM:
                found = TypeRef(Kind.ENUM, name=_shared(raw.type_name.lstrip(".")))
            elif raw.type in _MESSAGE_TYPES:
                found = TypeRef(Kind.MESSAGE, name=_shared(raw.type_name.lstrip(".")))
            else:
                found = TypeRef(Kind.SCALAR, scalar=SCALAR_NAMES[raw.type])
            self._type_refs[key] = found
        return found

    def _field(
        self,
        proto_file: descriptor_pb2.FileDescriptorProto,
        message_name: str,
        message: descriptor_pb2.DescriptorProto,
        real_oneofs: set[int],
        raw: descriptor_pb2.FieldDescriptorProto,
        comment: str,
    ) -> Field:
        type_ref = self._type_ref(raw)
        repeated = raw.label == _LABEL_REPEATED
        map_key = map_value = None
        entry = (
            self.raw_messages.get(type_ref.name)
            if repeated and type_ref.kind is Kind.MESSAGE
            else None
        )
        if entry is not None and entry.options.map_entry:
            key_raw, value_raw = sorted(entry.field, key=lambda f: f.number)
            map_key, map_value = self._type_ref(key_raw), self._type_ref(value_raw)
            type_ref, repeated = TypeRef(Kind.MAP), False
        oneof = (
            _shared(message.oneof_decl[raw.oneof_index].name)
            if real_oneofs
            and raw.HasField("oneof_index")
            and raw.oneof_index in real_oneofs
            else ""
        )
        name = _shared(raw.name)
        json_name: str | bytes = getattr(raw, "json_name")  # see source_info.text
        return Field(
            name=name,
            json_name=(
                name if not json_name or json_name == name else _shared(text(json_name))
            ),
            number=raw.number,
            type=type_ref,
            repeated=repeated,
            comment=comment,
            rules=(
                self._rules(
                    raw.options,
                    type_ref,
                    repeated,
                    map_key,
                    map_value,
                    proto_file.name,
                    f"{message_name}.{name}",
                )
                if raw.HasField("options")
                else _NO_RULES
            ),
            oneof=oneof,
            optional=raw.proto3_optional,
            map_key=map_key,
            map_value=map_value,
        )

    def _rules(
        self,
        raw_options: descriptor_pb2.FieldOptions,
        type_ref: TypeRef,
        repeated: bool,
        map_key: TypeRef | None,
        map_value: TypeRef | None,
        file: str,
        element: str,
    ) -> FieldRules:
        """The field's constraints from its `yandex.cloud` options (rules.OPTIONS)."""
        data = raw_options.SerializeToString()
        options = self._decode(_FIELD_OPTIONS, data, file, element)
        values = {
            name[len(_VALIDATION_PREFIX) :]: value
            for name, value in options.items()
            if name.startswith(_VALIDATION_PREFIX)
            and "." not in name[len(_VALIDATION_PREFIX) :]
        }
        if not values:
            return _NO_RULES
        value_type = map_value or type_ref
        shape = FieldShape(
            element=value_type.scalar
            or ("enum" if value_type.kind is Kind.ENUM else value_type.name),
            collection="map" if map_value else "repeated" if repeated else "",
            key=map_key.scalar if map_key else "",
        )
        # The same options on the same type mean the same: work each combination out once.
        key = (data, shape)
        cached = self._rules_of.get(key)
        if cached is None:
            problems: list[tuple[str, str]] = []
            rules = field_rules(
                values,
                shape,
                lambda option, message: problems.append((option, message)),
            )
            cached = self._rules_of[key] = (rules, tuple(problems))
        for option, message in cached[1]:
            self._problem(
                file,
                element,
                _VALIDATION_PREFIX + option,
                message,
                "the option is ignored",
            )
        return cached[0]

    # --- services -----------------------------------------------------------------------------

    def _service(
        self,
        proto_file: descriptor_pb2.FileDescriptorProto,
        raw: descriptor_pb2.ServiceDescriptorProto,
        path: tuple[int, ...],
        comments: Mapping[tuple[int, ...], str],
    ) -> Service:
        full_name = _join(proto_file.package, raw.name)
        methods = []
        for index, raw_method in enumerate(raw.method):
            method_name = f"{full_name}.{raw_method.name}"
            types = (
                raw_method.input_type.lstrip("."),
                raw_method.output_type.lstrip("."),
            )
            unknown = [name for name in types if name not in self.raw_messages]
            if unknown:  # protoc resolves them: only a descriptor it never sent has one
                self._problem(
                    proto_file.name,
                    method_name,
                    "",
                    f"type '{unknown[0]}' is no message of the request",
                    "the rpc is left out",
                )
                continue
            option_data = raw_method.options.SerializeToString()
            options = self._decode(
                "google.protobuf.MethodOptions",
                option_data,
                proto_file.name,
                method_name,
            )
            operation = options.get(OPERATION_OPTION)
            methods.append(
                Method(
                    name=_shared(raw_method.name),
                    full_name=method_name,
                    input=_shared(types[0]),
                    output=_shared(types[1]),
                    comment=comments.get(path + (_SERVICE_METHOD, index), ""),
                    client_streaming=raw_method.client_streaming,
                    server_streaming=raw_method.server_streaming,
                    operation=(
                        self._operation_types(operation, proto_file, method_name)
                        if isinstance(operation, dict)
                        else None
                    ),
                    http=self._http_rule(option_data, proto_file.name, method_name),
                )
            )
        return Service(
            name=raw.name,
            full_name=full_name,
            package=_shared(proto_file.package),
            file=_shared(proto_file.name),
            comment=comments.get(path, ""),
            methods=tuple(methods),
            resource=None,
        )

    def _http_rule(
        self, option_data: bytes, file: str, method: str
    ) -> http.HttpRule | None:
        """The rpc's `google.api.http` rule; a rule that does not parse is a problem, and the
        rpc gets none (its field names are checked once every message is known)."""
        try:
            data = http.option_bytes(option_data)
        except wire.WireError:  # the options' bytes themselves: reported by _decode
            return None
        if data is None:
            return None
        try:
            return http.parse_rule(data)
        except http.HttpRuleError as error:
            self._problem(file, method, http.HTTP_OPTION, str(error), _NO_HTTP_RULE)
            return None

    def _operation_types(
        self,
        option: Mapping[str, wire.OptionValue],
        proto_file: descriptor_pb2.FileDescriptorProto,
        method: str,
    ) -> OperationTypes:
        """The option's types: `metadata` is optional ("" for none), `response` required;
        a type that resolves to nothing is reported and taken as google.protobuf.Any."""
        resolved = {}
        for part in ("metadata", "response"):
            name = option.get(part, "")
            if not isinstance(name, str) or not name:
                if part == "response":
                    self._problem(
                        proto_file.name,
                        method,
                        OPERATION_OPTION,
                        "`response` is empty",
                        f"the response is taken as {ANY}",
                    )
                resolved[part] = "" if part == "metadata" else ANY
                continue
            visible = self._imported_files(proto_file.name)
            target = resolve_name(
                name,
                proto_file.package,
                lambda candidate: self.message_files.get(candidate) in visible
                or candidate in WELL_KNOWN_TYPES,
            )
            if target is None:
                self._problem(
                    proto_file.name,
                    method,
                    OPERATION_OPTION,
                    f"{part} type {name!r} does not resolve to a message (searched from "
                    f"package {proto_file.package!r} outward; is its file imported?)",
                    f"the {part} is taken as {ANY}",
                )
                target = ANY
            resolved[part] = _shared(target)
        return OperationTypes(**resolved)


def _with_meanings(api: Api) -> tuple[ProtoFile, ...]:
    """Every service with its resource and its rpcs' meanings, which look across services
    (references between resources of one package)."""
    from generator.resources import classify_services

    services = [service for file in api.files for service in file.services]
    classified = iter(classify_services(services, api.messages, api.enums))
    return tuple(
        (
            replace(file, services=tuple(next(classified) for _ in file.services))
            if file.services
            else file
        )
        for file in api.files
    )


class _Part(NamedTuple):
    """What building a run of files gives: the files, and the messages, enums and problems
    found in them."""

    files: tuple[ProtoFile, ...]
    messages: dict[str, Message]
    enums: dict[str, Enum]
    problems: tuple[Problem, ...]


# Parts a process takes, on average: enough that the processes end about together, whatever
# else each does (this one prepares the views first; the others pickle each part they build).
_PARTS_PER_PROCESS = 8


def _shares(
    proto_files: Sequence[descriptor_pb2.FileDescriptorProto],
    parts: int,
    source_info: Mapping[str, bytes],
) -> list[Sequence[descriptor_pb2.FileDescriptorProto]]:
    """The files in `parts` contiguous runs of about equal size, none empty (a file's cost
    follows its size)."""
    if parts < 2 or len(proto_files) < 2:
        return [proto_files]
    sizes = _sizes(proto_files, source_info)
    bounds = [sum(sizes) * (k + 1) / parts for k in range(parts)]
    shares: list[Sequence[descriptor_pb2.FileDescriptorProto]] = []
    start, done = 0, 0
    for index, size in enumerate(sizes):
        done += size
        if len(shares) < parts - 1 and done >= bounds[len(shares)]:
            shares.append(proto_files[start : index + 1])
            start = index + 1
    shares.append(proto_files[start:])
    return [share for share in shares if share]


def _sizes(
    proto_files: Sequence[descriptor_pb2.FileDescriptorProto],
    source_info: Mapping[str, bytes],
) -> list[int]:
    """How large each file is: the size of its source information set apart, else its count
    of source locations (one per element, option and comment; the count is at hand, where a
    size in bytes walks the whole file), or its size in bytes where a file came without
    source information."""
    kept = [len(source_info.get(proto_file.name, b"")) for proto_file in proto_files]
    if all(kept):
        return kept
    counts = [len(proto_file.source_code_info.location) for proto_file in proto_files]
    if all(counts):
        return counts
    return [proto_file.ByteSize() for proto_file in proto_files]


# The model's names and comments, one object for each text: the model's parts are pickled from
# the processes that build them, and pickle writes equal strings that are not one object once
# each (on the whole public API, 59,000 of a part's 83,000 strings; a third of its objects).
_shared = sys.intern


def _join(scope: str, name: str) -> str:
    return f"{scope}.{name}" if scope else name


def _walk_messages(scope: str, messages: Iterable[descriptor_pb2.DescriptorProto]):  # type: ignore[no-untyped-def]
    for message in messages:
        full_name = _join(scope, message.name)
        yield full_name, message
        yield from _walk_messages(full_name, message.nested_type)


def _leading_comments(
    source_code_info: descriptor_pb2.SourceCodeInfo,
) -> dict[tuple[int, ...], str]:
    """A file's leading comments by descriptor path (about one location in seven has one)."""
    comments = {}
    for location in source_code_info.location:
        comment: str | bytes = getattr(
            location, "leading_comments"
        )  # see source_info.text
        if comment:
            comments[tuple(location.path)] = _shared(strip_comment(comment))
    return comments


def _real_oneof_indexes(
    raw_fields: Iterable[descriptor_pb2.FieldDescriptorProto],
) -> set[int]:
    """Oneofs declared in the schema, as opposed to the synthetic ones of proto3 `optional`."""
    return {
        f.oneof_index
        for f in raw_fields
        if f.HasField("oneof_index") and not f.proto3_optional
    }


# ---------------------------------------------------------------------------------------------
# Field and rpc facts that the model and `resources` share


def is_string(candidate: Field | None) -> bool:
    """A single string field."""
    return bool(
        candidate
        and candidate.type.kind is Kind.SCALAR
        and candidate.type.scalar == "string"
        and not candidate.repeated
    )


def unary(method: Method) -> bool:
    return not method.client_streaming and not method.server_streaming


def same_type(item: Field, other: Field | None) -> bool:
    """Two fields of one type, one shape (a request field that mirrors a resource field)."""
    return bool(
        other is not None
        and (item.type, item.repeated, item.map_key, item.map_value)
        == (other.type, other.repeated, other.map_key, other.map_value)
    )


# ---------------------------------------------------------------------------------------------
# Paging


def _paging(request: Message | None, reply: Message | None) -> Paging | None:
    if not (
        request
        and reply
        and is_string(request.field("page_token"))
        and is_string(reply.field("next_page_token"))
    ):
        return None
    items = [f for f in reply.fields if f.repeated and f.type.kind is Kind.MESSAGE]
    return Paging(items[0].name, items[0].type.name) if len(items) == 1 else None


# A worker pickles each part of the model it builds (see `_Builder.build`).
native.pickle_by_arguments(sys.modules[__name__], errors, http, rules)
