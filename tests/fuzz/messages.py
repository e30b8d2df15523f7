"""A hypothesis strategy for random messages of any type, from its descriptor.

Every field may be set: strings (short, unicode, huge), bytes, integers at their boundaries,
floats with NaN and infinities, enum numbers the enum does not define (proto3 enums are open),
nested messages, maps, repeated fields, oneof members, proto3 `optional`. `overrides` replace the
strategy of fields by name, so that requests reach deep states (existing ids, valid mask paths).
"""

from __future__ import annotations

from typing import Any, Callable, Mapping

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message
from google.protobuf.message_factory import GetMessageClass
from hypothesis import strategies as st

FD = FieldDescriptor
Overrides = Mapping[str, st.SearchStrategy[Any]]

_RANGES = {
    FD.TYPE_INT32: (-(2**31), 2**31 - 1),
    FD.TYPE_SINT32: (-(2**31), 2**31 - 1),
    FD.TYPE_SFIXED32: (-(2**31), 2**31 - 1),
    FD.TYPE_INT64: (-(2**63), 2**63 - 1),
    FD.TYPE_SINT64: (-(2**63), 2**63 - 1),
    FD.TYPE_SFIXED64: (-(2**63), 2**63 - 1),
    FD.TYPE_UINT32: (0, 2**32 - 1),
    FD.TYPE_FIXED32: (0, 2**32 - 1),
    FD.TYPE_UINT64: (0, 2**64 - 1),
    FD.TYPE_FIXED64: (0, 2**64 - 1),
}
# Text protobuf accepts: any code point but a lone surrogate.
CHARACTERS = st.characters(blacklist_categories=("Cs",))
HUGE = st.builds(
    lambda char, count: char * count, CHARACTERS, st.integers(1_000, 200_000)
)
STRINGS = st.one_of(
    st.text(CHARACTERS, max_size=30),
    st.from_regex(r"[a-z][a-z0-9-]{0,30}", fullmatch=True),
    st.sampled_from(["", " ", "a" * 20, "é", "😀", "\x00", "`", "'", '"', "\\", "."]),
    HUGE,
)


def integers(field_type: int) -> st.SearchStrategy[int]:
    low, high = _RANGES[field_type]
    edges = [value for value in (low, high, -1, 0, 1) if low <= value <= high]
    return st.one_of(
        st.sampled_from(edges),
        st.integers(low, high),
        st.integers(-5, 200).filter(lambda v: low <= v),
    )


def scalar(field: FieldDescriptor) -> st.SearchStrategy[Any]:
    if field.type == FD.TYPE_STRING:
        return STRINGS
    if field.type == FD.TYPE_BYTES:
        return st.one_of(st.binary(max_size=40), HUGE.map(lambda text: text.encode()))
    if field.type == FD.TYPE_BOOL:
        return st.booleans()
    if field.type == FD.TYPE_DOUBLE:
        return st.floats()
    if field.type == FD.TYPE_FLOAT:
        return st.floats(width=32)
    if field.type == FD.TYPE_ENUM:
        numbers = st.sampled_from([value.number for value in field.enum_type.values])
        if field.enum_type.is_closed:  # proto2: only the numbers it defines
            return numbers
        return st.one_of(numbers, integers(FD.TYPE_INT32))
    return integers(field.type)


def _is_map(field: FieldDescriptor) -> bool:
    return field.message_type is not None and field.message_type.GetOptions().map_entry


def message_strategy(
    descriptor: Descriptor, overrides: Overrides | None = None, depth: int = 2
) -> st.SearchStrategy[Message]:
    """Random messages of `descriptor`'s type; `overrides` by field name, at any depth."""
    overrides = overrides or {}
    message_class = GetMessageClass(descriptor)

    @st.composite
    def build(draw: Callable[..., Any]) -> Message:
        message = message_class()
        fields = (
            draw(st.lists(st.sampled_from(list(descriptor.fields)), unique=True))
            if descriptor.fields
            else []
        )
        for field in fields:
            _set(draw, message, field, overrides, depth)
        return message

    return build()


def _value(
    field: FieldDescriptor, overrides: Overrides, depth: int
) -> st.SearchStrategy[Any]:
    if field.message_type is not None:
        return message_strategy(field.message_type, overrides, depth - 1)
    return scalar(field)


def _set(
    draw: Callable[..., Any],
    message: Message,
    field: FieldDescriptor,
    overrides: Overrides,
    depth: int,
) -> None:
    name = field.name
    if name in overrides:
        value = draw(overrides[name])
        if isinstance(value, Message):
            getattr(message, name).CopyFrom(value)
        elif _is_map(field):
            getattr(message, name).update(value)
        elif field.is_repeated:
            getattr(message, name).extend(value)
        else:
            setattr(message, name, value)
        return
    if _is_map(field):
        key_field, value_field = (
            field.message_type.fields_by_name["key"],
            field.message_type.fields_by_name["value"],
        )
        if value_field.message_type is not None and depth <= 0:
            return
        entries = draw(
            st.dictionaries(
                scalar(key_field), _value(value_field, overrides, depth), max_size=5
            )
        )
        target = getattr(message, name)
        for key, value in entries.items():
            if isinstance(value, Message):
                target[key].CopyFrom(value)
            else:
                target[key] = value
        return
    if field.message_type is not None and depth <= 0:
        return
    if field.is_repeated:
        values = draw(st.lists(_value(field, overrides, depth), max_size=4))
        target = getattr(message, name)
        for value in values:
            if isinstance(value, Message):
                target.add().CopyFrom(value)
            else:
                target.append(value)
        return
    value = draw(_value(field, overrides, depth))
    if isinstance(value, Message):
        getattr(message, name).CopyFrom(value)
    else:
        setattr(message, name, value)
