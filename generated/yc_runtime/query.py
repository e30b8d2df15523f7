"""The `filter` and `order_by` arguments of List requests: parsing, matching, sorting.

    filter   := <field> ('=' | ':') <value> [AND <field> ('=' | ':') <value> ...]
    order_by := <field> [asc | desc] [, <field> [asc | desc] ...]

Usable fields are the top-level, single-valued string, bool, number, enum and Timestamp
fields of the resource, named in snake_case or camelCase. Every problem is reported as a
QueryError that points at a 0-based character offset of the text.
"""

from __future__ import annotations

import enum
import functools
import json
import math
import re
import struct
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol, Sequence

from google.protobuf import timestamp_pb2
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

from .errors import clip
from .storage import IndexValue

if TYPE_CHECKING:
    from typing import TypeAlias

    from google._upb import _message as _upb

    # Message classes type DESCRIPTOR as either implementation's descriptor.
    MessageDescriptor: TypeAlias = Descriptor | _upb.Descriptor
    _FieldDescriptor: TypeAlias = FieldDescriptor | _upb.FieldDescriptor

# The value of a field as filters compare it and page tokens store it: enums as their
# number, Timestamps as nanoseconds since the epoch.
FieldValue = str | bool | int | float


# The longest filter or order_by accepted, in characters. The public API bounds its filters at
# 1,000 characters mostly, 10,000 at most (`(length) = "<=10000"`); past this, a filter is refused
# before it is parsed, since parsing and matching cost in proportion to it.
MAX_QUERY_CHARS = 10_000


def _check_length(argument: str, text: str) -> None:
    if len(text) > MAX_QUERY_CHARS:
        message = f"The maximum string length in characters is {MAX_QUERY_CHARS}."
        raise QueryError(argument, message)


def _echo(text: str) -> str:
    """Request text quoted in an error message, cut if long: answers stay small."""
    return clip(text, 100)


class QueryError(ValueError):
    """A malformed filter or order_by; str(error) is a full sentence for the client, and
    says where it failed, e.g. "filter: expected '=' or ':' after field 'name' at
    position 5". `description` is the same without the argument's name, for a violation
    that names the argument as its field."""

    def __init__(
        self, argument: str, message: str, position: int | None = None
    ) -> None:
        where = "" if position is None else f" at position {position}"
        super().__init__(f"{argument}: {message}{where}")
        self.argument = argument
        self.message = message
        self.position = position
        self.description = f"{message}{where}"


class _Kind(enum.Enum):
    STRING = "string"
    BOOL = "bool"
    INTEGER = "integer"
    FLOAT = "floating-point"
    ENUM = "enum"
    TIMESTAMP = "timestamp"


_INT32 = (-(2**31), 2**31 - 1)
_INT64 = (-(2**63), 2**63 - 1)
_INTEGER_RANGES = {
    FieldDescriptor.TYPE_INT32: _INT32,
    FieldDescriptor.TYPE_SINT32: _INT32,
    FieldDescriptor.TYPE_SFIXED32: _INT32,
    FieldDescriptor.TYPE_INT64: _INT64,
    FieldDescriptor.TYPE_SINT64: _INT64,
    FieldDescriptor.TYPE_SFIXED64: _INT64,
    FieldDescriptor.TYPE_UINT32: (0, 2**32 - 1),
    FieldDescriptor.TYPE_FIXED32: (0, 2**32 - 1),
    FieldDescriptor.TYPE_UINT64: (0, 2**64 - 1),
    FieldDescriptor.TYPE_FIXED64: (0, 2**64 - 1),
}
_SCALAR_KINDS = {
    FieldDescriptor.TYPE_STRING: _Kind.STRING,
    FieldDescriptor.TYPE_BOOL: _Kind.BOOL,
    FieldDescriptor.TYPE_ENUM: _Kind.ENUM,
    FieldDescriptor.TYPE_DOUBLE: _Kind.FLOAT,
    FieldDescriptor.TYPE_FLOAT: _Kind.FLOAT,
    **{integer_type: _Kind.INTEGER for integer_type in _INTEGER_RANGES},
}
_TIMESTAMP = "google.protobuf.Timestamp"
_NANOS_PER_SECOND = 10**9
_FLOAT32_MAX = 3.4028234663852886e38


def _kind_of(field: _FieldDescriptor) -> _Kind | None:
    if field.is_repeated:  # also excludes maps
        return None
    if field.type == FieldDescriptor.TYPE_MESSAGE:
        message_type = field.message_type
        is_timestamp = message_type is not None and message_type.full_name == _TIMESTAMP
        return _Kind.TIMESTAMP if is_timestamp else None
    return _SCALAR_KINDS.get(field.type)


_UNSIGNED_64 = (FieldDescriptor.TYPE_UINT64, FieldDescriptor.TYPE_FIXED64)
_TIMESTAMP_BIAS = 2**95  # makes every seconds * 10**9 + nanos of a Timestamp positive
_FLOAT_SIGN = 1 << 63
_FLOAT_BITS = (1 << 64) - 1
_CANONICAL_NAN = 0x7FF8_0000_0000_0000


@dataclass(frozen=True)
class QueryField:
    """A field that filter and order_by accept."""

    descriptor: _FieldDescriptor
    kind: _Kind

    @property
    def name(self) -> str:
        return self.descriptor.name

    def value(self, message: Message) -> FieldValue:
        if self.kind is _Kind.TIMESTAMP:
            stamp: timestamp_pb2.Timestamp = getattr(message, self.name)
            return stamp.seconds * _NANOS_PER_SECOND + stamp.nanos
        value: FieldValue = getattr(message, self.name)
        return value

    def index_value(self, value: FieldValue) -> IndexValue:
        """`value` as storage indexes keep it, ordered and compared alike in SQLite and in
        Python, and as sort keys order and filters compare the values themselves: strings as
        they are (UTF-8 byte order is code point order), numbers as signed 64-bit integers,
        Timestamps as fixed-width big-endian bytes (their nanoseconds can pass 64 bits).
        """
        if self.kind is _Kind.STRING:
            return str(value)
        if self.kind is _Kind.FLOAT:
            return _float_index(float(value))
        if self.kind is _Kind.TIMESTAMP:
            return (int(value) + _TIMESTAMP_BIAS).to_bytes(12, "big")
        if self.descriptor.type in _UNSIGNED_64:
            return int(value) - 2**63
        return int(value)


def _float_index(value: float) -> int:
    """An integer in the order of floats, NaN last (as `_sortable` sorts it), -0.0 as 0.0."""
    if math.isnan(value):
        bits = _CANONICAL_NAN
    else:
        (bits,) = struct.unpack(">Q", struct.pack(">d", value + 0.0))
    # Negative floats order backwards as unsigned bits: flip them all; positive ones go above.
    ordered = bits ^ _FLOAT_BITS if bits & _FLOAT_SIGN else bits | _FLOAT_SIGN
    return ordered - 2**63


class _Token(NamedTuple):
    text: str
    position: int


class _Scanner:
    """Walks the text left to right; errors point at the current offset by default."""

    def __init__(self, argument: str, text: str) -> None:
        self.argument = argument
        self.text = text
        self.position = 0

    def skip_space(self) -> None:
        while self.position < len(self.text) and self.text[self.position].isspace():
            self.position += 1

    def at_end(self) -> bool:
        self.skip_space()
        return self.position >= len(self.text)

    def take(self, pattern: re.Pattern[str]) -> _Token | None:
        self.skip_space()
        match = pattern.match(self.text, self.position)
        if match is None:
            return None
        self.position = match.end()
        return _Token(match.group(), match.start())

    def error(self, message: str, position: int | None = None) -> QueryError:
        where = self.position if position is None else position
        return QueryError(self.argument, message, where)


_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class _FieldTable:
    """The fields of one message that filter and order_by accept, by either spelling."""

    def __init__(self, descriptor: MessageDescriptor) -> None:
        self.usable: dict[str, QueryField] = {}
        self.known: set[str] = set()
        self.supported: list[str] = []
        for field in descriptor.fields:
            self.known.update((field.name, field.json_name))
            kind = _kind_of(field)
            if kind is not None:
                self.usable[field.name] = self.usable[field.json_name] = QueryField(
                    field, kind
                )
                self.supported.append(field.name)

    def take_field(self, scanner: _Scanner) -> tuple[QueryField, _Token]:
        token = scanner.take(_IDENTIFIER)
        if token is None:
            raise scanner.error("expected a field name")
        field = self.usable.get(token.text)
        if field is None:
            raise scanner.error(
                self._unusable(token.text, scanner.argument), token.position
            )
        return field, token

    def _unusable(self, name: str, argument: str) -> str:
        supported = ", ".join(self.supported) or "none"
        if name in self.known:
            return f"field '{_echo(name)}' cannot be used in {argument} (supported: {supported})"
        return f"unknown field '{_echo(name)}' (supported: {supported})"


@functools.cache
def _field_table(descriptor: MessageDescriptor) -> _FieldTable:
    return _FieldTable(descriptor)


def supported_fields(descriptor: MessageDescriptor) -> list[str]:
    """Proto names of the fields usable in filter and order_by, in declaration order."""
    return list(_field_table(descriptor).supported)


def query_field(descriptor: MessageDescriptor, name: str) -> QueryField:
    """The field `name` (a proto name) as filter and order_by use it; KeyError if unusable."""
    return _field_table(descriptor).usable[name]


# ---- filter -------------------------------------------------------------------------

_OPERATOR = re.compile(r"[=:]")
_AND = re.compile(r"AND(?![A-Za-z0-9_])", re.IGNORECASE)
_BARE_VALUE = re.compile(r"[A-Za-z0-9_.+-]+")
_INTEGER = re.compile(r"[+-]?[0-9]+")
_FLOAT = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?")
_ESCAPES = {'"': '"', "'": "'", "\\": "\\", "n": "\n", "t": "\t", "r": "\r"}


class _Literal(NamedTuple):
    text: str
    quoted: bool
    position: int


@dataclass(frozen=True)
class _Condition:
    field: QueryField
    operator: str
    expected: FieldValue
    canonical: str  # e.g. 'name = "web"', for the fingerprint

    def matches(self, message: Message) -> bool:
        actual = self.field.value(message)
        if self.operator == ":":  # only accepted for strings, so both are str
            return str(self.expected) in str(actual)
        return actual == self.expected


class Filter:
    """Conditions joined by AND; an empty filter matches everything."""

    def __init__(self, conditions: Sequence[_Condition]) -> None:
        self._conditions = tuple(conditions)
        # Sorted so that reordering the conditions does not invalidate page tokens.
        self.fingerprint = " AND ".join(sorted(c.canonical for c in conditions))

    @property
    def equalities(self) -> tuple[tuple[QueryField, FieldValue], ...]:
        """The `field = value` conditions, in the order written."""
        return tuple(
            (c.field, c.expected) for c in self._conditions if c.operator == "="
        )

    def matches(self, message: Message) -> bool:
        return all(condition.matches(message) for condition in self._conditions)


def equal_to(
    request: Message, fields: Sequence[str], descriptor: MessageDescriptor
) -> list[_Condition]:
    """`field = value` for each of the request's `fields` that is set, where the request's
    field mirrors the resource's (same name and type): a List's own filter fields."""
    table = _field_table(descriptor)
    conditions = []
    for name in fields:
        field = table.usable[name]
        expected = field.value(request)
        if expected in ("", 0, False):
            continue
        conditions.append(
            _Condition(field, "=", expected, f"{name} = {json.dumps(expected)}")
        )
    return conditions


def parse_filter(
    text: str, descriptor: MessageDescriptor, also: Sequence[_Condition] = ()
) -> Filter:
    _check_length("filter", text)
    scanner = _Scanner("filter", text)
    table = _field_table(descriptor)
    conditions: list[_Condition] = list(also)
    if scanner.at_end():
        return Filter(conditions)
    while True:
        conditions.append(_parse_condition(scanner, table))
        if scanner.at_end():
            return Filter(conditions)
        if scanner.take(_AND) is None:
            raise scanner.error("expected 'AND' or the end of the filter")


def _parse_condition(scanner: _Scanner, table: _FieldTable) -> _Condition:
    field, name = table.take_field(scanner)
    operator = scanner.take(_OPERATOR)
    if operator is None:
        raise scanner.error(f"expected '=' or ':' after field '{name.text}'")
    if operator.text == ":" and field.kind is not _Kind.STRING:
        message = (
            "operator ':' (substring) applies only to string fields, "
            f"not to {field.kind.value} field '{name.text}'"
        )
        raise scanner.error(message, operator.position)
    literal = _take_literal(scanner, f"{name.text} {operator.text}")
    expected, canonical = _convert(scanner, field, name.text, literal)
    return _Condition(
        field, operator.text, expected, f"{field.name} {operator.text} {canonical}"
    )


def _take_literal(scanner: _Scanner, after: str) -> _Literal:
    scanner.skip_space()
    start = scanner.position
    if scanner.text[start : start + 1] in ("'", '"'):
        return _Literal(_read_quoted(scanner), True, start)
    bare = scanner.take(_BARE_VALUE)
    if bare is None:
        raise scanner.error(f"expected a value after '{after}'")
    return _Literal(bare.text, False, start)


def _read_quoted(scanner: _Scanner) -> str:
    text, start = scanner.text, scanner.position
    quote = text[start]
    chars: list[str] = []
    index = start + 1
    while index < len(text) and text[index] != quote:
        if text[index] == "\\" and index + 1 < len(text):
            escaped = text[index + 1]
            if escaped not in _ESCAPES:
                raise scanner.error(f"unsupported escape sequence '\\{escaped}'", index)
            chars.append(_ESCAPES[escaped])
            index += 2
        else:
            chars.append(text[index])
            index += 1
    if index >= len(text):
        raise scanner.error(
            f"unterminated string: no closing {quote} for the quote", start
        )
    scanner.position = index + 1
    return "".join(chars)


def _convert(
    scanner: _Scanner, field: QueryField, name: str, literal: _Literal
) -> tuple[FieldValue, str]:
    """The typed value of a literal for `field`, and its canonical text."""
    kind = field.kind
    if kind in (_Kind.STRING, _Kind.TIMESTAMP) and not literal.quoted:
        message = f"the value of {kind.value} field '{name}' must be in quotes"
        raise scanner.error(message, literal.position)
    try:
        return _CONVERTERS[kind](field.descriptor, literal.text)
    except ValueError as error:
        message = f"invalid value for {kind.value} field '{name}': {error}"
        raise scanner.error(message, literal.position) from None


def _string(field: _FieldDescriptor, text: str) -> tuple[FieldValue, str]:
    return text, json.dumps(text)


def _bool(field: _FieldDescriptor, text: str) -> tuple[FieldValue, str]:
    if text.lower() not in ("true", "false"):
        raise ValueError(f"'{_echo(text)}' is not true or false")
    value = text.lower() == "true"
    return value, text.lower()


def _integer(field: _FieldDescriptor, text: str) -> tuple[FieldValue, str]:
    if not _INTEGER.fullmatch(text):
        raise ValueError(f"'{_echo(text)}' is not an integer")
    low, high = _INTEGER_RANGES[field.type]
    # No 64-bit value has more than 20 digits; also spares int() absurdly long input.
    digits = text.lstrip("+-").lstrip("0")
    if len(digits) > 20 or not low <= int(text) <= high:
        raise ValueError(f"{_echo(text)} is out of range [{low}, {high}]")
    value = int(text)
    return value, str(value)


def _float(field: _FieldDescriptor, text: str) -> tuple[FieldValue, str]:
    if not _FLOAT.fullmatch(text):
        raise ValueError(f"'{_echo(text)}' is not a number")
    value = float(text)
    if field.type == FieldDescriptor.TYPE_FLOAT:
        value = _to_float32(value, text)
    if math.isinf(value):
        raise ValueError(f"{_echo(text)} is out of range")
    return value, repr(value)


def _to_float32(value: float, text: str) -> float:
    # A float field stores float32; round the same way so that `ratio = 0.1` matches.
    if abs(value) > _FLOAT32_MAX:
        raise ValueError(f"{_echo(text)} is out of range for a 32-bit float")
    rounded: float = struct.unpack("f", struct.pack("f", value))[0]
    return rounded


def _enum(field: _FieldDescriptor, text: str) -> tuple[FieldValue, str]:
    enum_type = field.enum_type
    assert enum_type is not None  # every enum field has its type
    value = enum_type.values_by_name.get(text)
    if value is None:
        names = ", ".join(v.name for v in enum_type.values)
        raise ValueError(f"'{_echo(text)}' is not one of {names}")
    return value.number, value.name


def _timestamp(field: _FieldDescriptor, text: str) -> tuple[FieldValue, str]:
    stamp = timestamp_pb2.Timestamp()
    try:
        stamp.FromJsonString(text)
    except ValueError:
        example = "2024-01-31T12:00:00Z"
        raise ValueError(
            f"'{_echo(text)}' is not an RFC 3339 time such as {example}"
        ) from None
    nanos = stamp.seconds * _NANOS_PER_SECOND + stamp.nanos
    return nanos, json.dumps(stamp.ToJsonString())


_CONVERTERS = {
    _Kind.STRING: _string,
    _Kind.BOOL: _bool,
    _Kind.INTEGER: _integer,
    _Kind.FLOAT: _float,
    _Kind.ENUM: _enum,
    _Kind.TIMESTAMP: _timestamp,
}


# ---- order_by -----------------------------------------------------------------------

_COMMA = re.compile(",")
_DIRECTIONS = {"asc": False, "desc": True}


class _Orderable(Protocol):
    def __lt__(self, other: Any, /) -> bool: ...


@functools.total_ordering
class SortKey:
    """A comparable key: values compared term by term, descending terms inverted."""

    __slots__ = ("_values", "_descending")

    def __init__(
        self, values: Sequence[_Orderable], descending: Sequence[bool]
    ) -> None:
        self._values = tuple(values)
        self._descending = tuple(descending)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SortKey):
            return NotImplemented
        return (self._values, self._descending) == (other._values, other._descending)

    def __hash__(self) -> int:
        return hash((self._values, self._descending))

    def __lt__(self, other: SortKey) -> bool:
        for mine, theirs, descending in zip(
            self._values, other._values, self._descending
        ):
            if mine != theirs:
                return theirs < mine if descending else mine < theirs
        return False

    def __repr__(self) -> str:
        return f"SortKey({self._values!r}, descending={self._descending!r})"


@dataclass(frozen=True)
class Term:
    field: QueryField
    descending: bool

    @property
    def text(self) -> str:
        return f"{self.field.name} {'desc' if self.descending else 'asc'}"


class Ordering:
    """Terms of an order_by, ending with the `id` tie-break to make the order total."""

    def __init__(self, terms: Sequence[Term]) -> None:
        self._terms = tuple(terms)
        self.fingerprint = ",".join(term.text for term in self._terms)

    @property
    def terms(self) -> tuple[Term, ...]:
        return self._terms

    def key(self, message: Message) -> SortKey:
        return self._key([term.field.value(message) for term in self._terms])

    def position(self, message: Message) -> list[object]:
        """The values of the terms, JSON-serialisable, to resume after `message`."""
        return [term.field.value(message) for term in self._terms]

    def key_from_position(self, position: Sequence[object]) -> SortKey:
        return self._key(self.position_values(position))

    def position_values(self, position: Sequence[object]) -> list[FieldValue]:
        """The values of a position (from a page token), checked against the terms; raises
        QueryError for a position that does not fit them."""
        if len(position) != len(self._terms):
            raise _position_mismatch()
        return [_position_value(t.field, v) for t, v in zip(self._terms, position)]

    def _key(self, values: Sequence[FieldValue]) -> SortKey:
        sortable = [_sortable(value) for value in values]
        return SortKey(sortable, [term.descending for term in self._terms])


def _sortable(value: FieldValue) -> _Orderable:
    # NaN compares false with everything; sort it last to keep the order total.
    if isinstance(value, float):
        return (True, 0.0) if math.isnan(value) else (False, value)
    return value


def _position_value(field: QueryField, value: object) -> FieldValue:
    kind = field.kind
    if kind is _Kind.STRING and isinstance(value, str):
        return value
    if kind is _Kind.BOOL and isinstance(value, bool):
        return value
    # A bool is an int to Python, but not to the terms below.
    if isinstance(value, bool):
        raise _position_mismatch()
    if kind in (_Kind.INTEGER, _Kind.ENUM, _Kind.TIMESTAMP) and isinstance(value, int):
        return value
    if kind is _Kind.FLOAT and isinstance(value, (int, float)):
        try:
            return float(value)
        except OverflowError:  # an int beyond float range, which no float term holds
            raise _position_mismatch() from None
    raise _position_mismatch()


def _position_mismatch() -> QueryError:
    message = "the token does not fit the ordering; list again without a page_token"
    return QueryError("page_token", message)


def parse_order_by(
    text: str,
    descriptor: MessageDescriptor,
    default: str = "id asc",
    tie_break: str = "id",
) -> Ordering:
    """Parses `text`, or `default` if `text` is blank (errors then point into it); the unique
    `tie_break` field ends every order."""
    _check_length("order_by", text)
    scanner = _Scanner("order_by", text if text.strip() else default)
    table = _field_table(descriptor)
    terms: list[Term] = []
    while not scanner.at_end():
        if terms and scanner.take(_COMMA) is None:
            raise scanner.error("expected ',' or the end of order_by")
        terms.append(_parse_term(scanner, table, terms))
    last = table.usable.get(tie_break)
    if last is not None and all(t.field != last for t in terms):
        terms.append(Term(last, descending=False))
    return Ordering(terms)


def _parse_term(scanner: _Scanner, table: _FieldTable, earlier: list[Term]) -> Term:
    field, name = table.take_field(scanner)
    if any(term.field == field for term in earlier):
        raise scanner.error(f"field '{name.text}' is listed twice", name.position)
    direction = scanner.take(_IDENTIFIER)
    if direction is None:
        return Term(field, descending=False)
    descending = _DIRECTIONS.get(direction.text.lower())
    if descending is None:
        message = (
            f"unknown direction '{_echo(direction.text)}' for field '{name.text}' "
            "(expected asc or desc)"
        )
        raise scanner.error(message, direction.position)
    return Term(field, descending)
