"""Reads custom options from the raw bytes of descriptor option messages.

Python protobuf only parses an extension into a known field when the extension's module was loaded
before the descriptor was parsed; otherwise the value sits in the unknown fields. Re-serializing
the options message gives the same bytes either way, so decoding those bytes by the extension
numbers found in the request itself reads options correctly whatever the import order.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Callable, Iterator, Mapping, Union

from google.protobuf import descriptor_pb2

FieldType = descriptor_pb2.FieldDescriptorProto.Type
# As plain ints: attribute lookups on protobuf's enum wrappers are slow in a hot loop.
_MESSAGE, _STRING, _BYTES, _BOOL = (
    int(FieldType.TYPE_MESSAGE),
    int(FieldType.TYPE_STRING),
    int(FieldType.TYPE_BYTES),
    int(FieldType.TYPE_BOOL),
)

OptionValue = Union[bool, int, float, str, bytes, "OptionMessage"]
OptionMessage = Mapping[str, OptionValue]

_VARINT, _FIXED64, _LENGTH_DELIMITED, _FIXED32 = 0, 1, 2, 5

_SIGNED_VARINT_TYPES = {FieldType.TYPE_INT32, FieldType.TYPE_INT64, FieldType.TYPE_ENUM}
_UNSIGNED_VARINT_TYPES = {FieldType.TYPE_UINT32, FieldType.TYPE_UINT64}
_ZIGZAG_TYPES = {FieldType.TYPE_SINT32, FieldType.TYPE_SINT64}
_FIXED_FORMATS: dict[int, str] = {
    FieldType.TYPE_DOUBLE: "<d",
    FieldType.TYPE_FLOAT: "<f",
    FieldType.TYPE_FIXED64: "<Q",
    FieldType.TYPE_FIXED32: "<I",
    FieldType.TYPE_SFIXED64: "<q",
    FieldType.TYPE_SFIXED32: "<i",
}


# Types a repeated field may pack into one length-delimited value.
_PACKABLE = (
    _SIGNED_VARINT_TYPES
    | _UNSIGNED_VARINT_TYPES
    | _ZIGZAG_TYPES
    | set(_FIXED_FORMATS)
    | {FieldType.TYPE_BOOL}
)


class WireError(ValueError):
    """The option bytes do not decode as the declared type."""


@dataclass(frozen=True)
class OptionField:
    """How to decode one field (or extension) of an options message."""

    name: str
    type: int
    type_name: str  # full name of a message-typed value, without the leading dot
    repeated: bool = False  # a repeated number or enum may come packed


def _read_varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(data):
            raise WireError("truncated varint")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise WireError("varint too long")


def iter_fields(data: bytes) -> Iterator[tuple[int, int, int | bytes]]:
    """Yields (field number, wire type, raw value) for every field in `data`."""
    pos = 0
    while pos < len(data):
        number, wire_type, value, pos = _next_field(data, pos)
        yield number, wire_type, value


def field_spans(data: bytes) -> Iterator[tuple[int, int, int]]:
    """Yields (field number, start, end) of every field record in `data`, its key included:
    where each record lies, without copying any value out."""
    pos = 0
    while pos < len(data):
        number, wire_type, _, end = _next_field(data, pos, copy=False)
        yield number, pos, end
        pos = end


def _next_field(
    data: bytes, pos: int, copy: bool = True
) -> tuple[int, int, int | bytes, int]:
    """The field record at `pos`: (number, wire type, value, where the next one starts). A
    fixed or length-delimited value is sliced out only with `copy` (else it is b"")."""
    key, pos = _read_varint(data, pos)
    number, wire_type = key >> 3, key & 7
    value: int | bytes = b""
    if wire_type == _VARINT:
        value, pos = _read_varint(data, pos)
    elif wire_type in (_FIXED64, _FIXED32):
        size = 8 if wire_type == _FIXED64 else 4
        value, pos = (data[pos : pos + size] if copy else b""), pos + size
    elif wire_type == _LENGTH_DELIMITED:
        length, pos = _read_varint(data, pos)
        value, pos = (data[pos : pos + length] if copy else b""), pos + length
    else:
        raise WireError(f"unsupported wire type {wire_type}")
    if pos > len(data):
        raise WireError("truncated field")
    return number, wire_type, value, pos


def decode_message(
    data: bytes,
    fields: Mapping[int, OptionField],
    message_fields: Callable[[str], Mapping[int, OptionField]],
    errors: list[tuple[str, str]] | None = None,
) -> dict[str, OptionValue]:
    """Decodes the fields of `data` that `fields` names; the last occurrence of a scalar wins and
    repeated occurrences of a message merge, as protobuf does. With `errors`, a field whose
    value does not decode is left out and reported there as (its name, what is wrong), so that
    one bad option costs only itself; without, it raises. Bytes that are no message raise.
    """
    values: dict[str, OptionValue] = {}
    for number, wire_type, raw in iter_fields(data):
        spec = fields.get(number)
        if spec is None:
            continue
        try:
            _decode_field(values, spec, wire_type, raw, message_fields)
        except WireError as error:
            if errors is None:
                raise
            errors.append((spec.name, str(error).removeprefix(f"{spec.name}: ")))
    return values


def _decode_field(
    values: dict[str, OptionValue],
    spec: OptionField,
    wire_type: int,
    raw: int | bytes,
    message_fields: Callable[[str], Mapping[int, OptionField]],
) -> None:
    if spec.type == _MESSAGE:
        if not isinstance(raw, bytes) or wire_type != _LENGTH_DELIMITED:
            raise WireError(f"{spec.name}: expected a message")
        decoded = decode_message(raw, message_fields(spec.type_name), message_fields)
        previous = values.get(spec.name)
        values[spec.name] = (
            {**previous, **decoded} if isinstance(previous, dict) else decoded
        )
    elif wire_type == _LENGTH_DELIMITED and spec.repeated and spec.type in _PACKABLE:
        # A repeated number or enum, packed: the last element wins, as for a scalar.
        assert isinstance(raw, bytes)
        for element_type, element in _packed_elements(spec, raw):
            values[spec.name] = _decode_scalar(spec, element_type, element)
    else:
        values[spec.name] = _decode_scalar(spec, wire_type, raw)


def _packed_elements(
    spec: OptionField, data: bytes
) -> Iterator[tuple[int, int | bytes]]:
    """The (wire type, raw value) of each element of a packed repeated field."""
    fixed = _FIXED_FORMATS.get(spec.type)
    size = struct.calcsize(fixed) if fixed else 0
    pos = 0
    while pos < len(data):
        if fixed:
            if pos + size > len(data):
                raise WireError(f"{spec.name}: truncated packed value")
            yield _FIXED64 if size == 8 else _FIXED32, data[pos : pos + size]
            pos += size
        else:
            value, pos = _read_varint(data, pos)
            yield _VARINT, value


def _decode_scalar(spec: OptionField, wire_type: int, raw: int | bytes) -> OptionValue:
    if spec.type in (_STRING, _BYTES):
        if not isinstance(raw, bytes) or wire_type != _LENGTH_DELIMITED:
            raise WireError(f"{spec.name}: expected a length-delimited value")
        if spec.type == _BYTES:
            return raw
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as error:
            raise WireError(f"{spec.name}: invalid UTF-8") from error
    if spec.type in _FIXED_FORMATS:
        fixed = _FIXED_FORMATS[spec.type]
        expected = _FIXED64 if struct.calcsize(fixed) == 8 else _FIXED32
        if not isinstance(raw, bytes) or wire_type != expected:
            raise WireError(f"{spec.name}: expected a fixed-size value")
        number: float | int = struct.unpack(fixed, raw)[0]
        return number
    if not isinstance(raw, int):
        raise WireError(f"{spec.name}: expected a varint")
    if spec.type == _BOOL:
        return raw != 0
    if spec.type in _ZIGZAG_TYPES:
        return (raw >> 1) ^ -(raw & 1)
    if spec.type in _SIGNED_VARINT_TYPES:
        return raw - (1 << 64) if raw >= 1 << 63 else raw
    if spec.type in _UNSIGNED_VARINT_TYPES:
        return raw
    raise WireError(f"{spec.name}: unsupported option type {spec.type}")
