"""How protobuf types read on REST pages (docs-format-rest.md §8, §2.6): the JSON value a
skeleton shows, the table's type cell, and the apiPlayground schema; the well-known types
written as scalars or objects."""

from __future__ import annotations

from typing import Any

EMPTY = "google.protobuf.Empty"
STRUCT = "google.protobuf.Struct"
VALUE = "google.protobuf.Value"
STATUS = "google.rpc.Status"
# Well-known types written as a JSON scalar: (JSON value, table type, YAML schema).
WELL_KNOWN_SCALARS: dict[str, tuple[str, str, dict[str, str]]] = {
    "google.protobuf.Timestamp": (
        "string",
        "**string** (date-time)",
        {"type": "string", "format": "date-time"},
    ),
    "google.protobuf.Duration": (
        "string",
        "**string** (duration)",
        {"type": "string", "format": "duration"},
    ),
    "google.protobuf.FieldMask": (
        "string",
        "**string** (field-mask)",
        {"type": "string", "format": "field-mask"},
    ),
}
# Wrappers read as the scalar they wrap.
WRAPPERS = {
    f"google.protobuf.{name}Value": scalar
    for name, scalar in [
        ("Double", "double"),
        ("Float", "float"),
        ("Int64", "int64"),
        ("UInt64", "uint64"),
        ("Int32", "int32"),
        ("UInt32", "uint32"),
        ("Bool", "bool"),
        ("String", "string"),
        ("Bytes", "bytes"),
    ]
}
OBJECTS = frozenset({STRUCT, "google.protobuf.Any", EMPTY})
INT64 = frozenset({"int64", "uint64", "sint64", "fixed64", "sfixed64"})
INT32 = frozenset({"int32", "uint32", "sint32", "fixed32", "sfixed32"})


def scalar_json(scalar: str, container: str) -> str:
    """§8: the JSON type a scalar is written as; a double in google.protobuf.Value is a
    string (W1)."""
    if scalar in INT64 or scalar in ("string", "bytes"):
        return "string"
    if scalar in INT32:
        return "integer"
    if scalar == "bool":
        return "boolean"
    return "string" if container == VALUE else "number"


def scalar_cell(scalar: str, container: str) -> str:
    json_type = scalar_json(scalar, container)
    if scalar in ("string", "bool") or (
        json_type == "string" and scalar in ("double", "float")
    ):
        return f"**{json_type}**"
    return f"**{json_type}** ({scalar})"


def scalar_schema(scalar: str, container: str) -> dict[str, Any]:
    json_type = scalar_json(scalar, container)
    if scalar in ("string", "bool") or container == VALUE:
        return {"type": json_type}
    return {"type": json_type, "format": scalar}
