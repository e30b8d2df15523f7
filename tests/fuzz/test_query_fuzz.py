"""Fuzzing the List parsers (generator/runtime/query.py, paging.py) with grammar-aware input.

tests/runtime/test_query.py and test_paging.py already feed them random text and shuffled
grammar tokens. Here the strategies write near-valid expressions (real field names in both
spellings, operators, literals of the right and wrong kinds, escapes, timestamps at the edges,
a mutation or two), so that the parsers get past the first token and fail, or succeed, deep
inside. Properties: a result or a QueryError, nothing else; errors point inside the text;
accepted filters match what they say; orderings sort totally; page tokens survive JSON.
"""

from __future__ import annotations

import datetime
import json
import math
from typing import Any

import pytest
from google.protobuf import api_pb2, descriptor_pb2, wrappers_pb2
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message
from hypothesis import assume, event, given, note
from hypothesis import strategies as st
from yandex.cloud.baremetal.v1alpha import image_pb2

from fuzzing import fuzz
from generator.runtime.paging import PageTokenError, PageTokens, paginate
from generator.runtime.query import (
    MAX_QUERY_CHARS,
    QueryError,
    parse_filter,
    parse_order_by,
    supported_fields,
)
from messages import integers, message_strategy

# Messages whose fields cover every kind the parsers know: strings, enums and a Timestamp
# (Image), integers of every width, bools, floats and doubles.
MESSAGES: list[type[Message]] = [
    image_pb2.Image,
    descriptor_pb2.FieldDescriptorProto,
    api_pb2.Method,
    wrappers_pb2.DoubleValue,
    wrappers_pb2.FloatValue,
    wrappers_pb2.UInt32Value,
    wrappers_pb2.Int64Value,
    wrappers_pb2.UInt64Value,
    wrappers_pb2.BoolValue,
]
MESSAGE_TYPES = st.sampled_from(MESSAGES)
SPACE = st.sampled_from(["", " ", "  ", "\t", "\n", "\u00a0", "\u2003"])


def mutate(text: str, data: st.DataObject) -> str:
    """Now and then one character dropped, doubled or inserted: near-valid input."""
    if not text or data.draw(st.integers(0, 4), label="mutate") != 0:
        return text
    position = data.draw(st.integers(0, len(text) - 1), label="at")
    action = data.draw(st.sampled_from(["drop", "double", "insert"]), label="how")
    if action == "drop":
        return text[:position] + text[position + 1 :]
    if action == "double":
        return text[:position] + text[position] + text[position:]
    inserted = data.draw(st.sampled_from(list("\"'\\=:,. -_aZ0\x00é")), label="char")
    return text[:position] + inserted + text[position:]


def spellings(field: FieldDescriptor) -> list[str]:
    return sorted({field.name, field.json_name})


def field_names(descriptor: Any) -> st.SearchStrategy[str]:
    """Usable fields in either spelling, unusable and unknown ones, keywords, odd case."""
    names = [name for field in descriptor.fields for name in spellings(field)]
    return st.one_of(
        st.sampled_from(names),
        st.sampled_from(names).map(str.upper),
        st.sampled_from(["labels", "AND", "and", "asc", "desc", "x", "_", "1a", ""]),
        st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,8}", fullmatch=True),
    )


# ---- literals ---------------------------------------------------------------------------

ESCAPES = {'"': '\\"', "'": "\\'", "\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r"}


def quote(text: str, mark: str = '"') -> str:
    """`text` as a filter string literal: the grammar's C escapes where needed."""
    body = "".join(
        ESCAPES.get(char, char) if char in (mark, "\\", "\n", "\t", "\r") else char
        for char in text
    )
    return f"{mark}{body}{mark}"


QUOTED = st.one_of(
    st.builds(quote, st.text(), st.sampled_from(['"', "'"])),
    st.sampled_from(
        ['"abc', "'abc", '"a\\q"', '"\\"', "'\\'", '"a"b"', "''", '""', '"\\x41"']
    ),
)
TIMESTAMPS = st.sampled_from(
    [
        "2024-01-01T00:00:00Z", "2024-01-01T03:00:00+03:00", "2024-02-29T12:00:00.123456789Z",
        "2023-02-29T00:00:00Z", "2024-01-01T23:59:60Z", "0001-01-01T00:00:00Z",
        "9999-12-31T23:59:59.999999999Z", "10000-01-01T00:00:00Z", "2024-01-01T00:00:00",
        "2024-01-01T00:00:00+25:00", "2024-01-01t00:00:00z", "2024-1-1T0:0:0Z",
        "2024-01-01T00:00:00.1234567891Z", "yesterday", "", "1704067200",
    ]
)  # fmt: skip
NUMBERS = st.one_of(
    st.integers(-(2**70), 2**70).map(str),
    st.sampled_from(["+5", "-0", "007", "1.5", ".5", "5.", "1e3", "-2E-3", "1e999", "1e39",
                     "0x10", "1_000", "+", "-", ".", "NaN", "inf", "9" * 30]),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
)  # fmt: skip
BARE = st.one_of(
    NUMBERS,
    st.sampled_from(["true", "FALSE", "True", "yes", "READY", "CREATING", "TYPE_STRING",
                     "LABEL_OPTIONAL", "SYNTAX_PROTO3", "STATUS_UNSPECIFIED", "ready", "abc"]),
)  # fmt: skip
LITERALS = st.one_of(QUOTED, BARE, TIMESTAMPS.map(quote), TIMESTAMPS)


def usable(descriptor: Any) -> list[FieldDescriptor]:
    return [descriptor.fields_by_name[name] for name in supported_fields(descriptor)]


_VALID_STAMPS = st.datetimes(
    min_value=datetime.datetime(1, 1, 1), max_value=datetime.datetime(9999, 12, 31),
    timezones=st.sampled_from([datetime.timezone.utc, datetime.timezone(datetime.timedelta(hours=3)),
                               datetime.timezone(datetime.timedelta(hours=-9, minutes=-30))]),
).map(lambda moment: moment.isoformat())  # fmt: skip


def typed_literal(field: FieldDescriptor) -> st.SearchStrategy[str]:
    """Mostly a well-formed literal of the field's kind, else a near one."""
    if field.message_type is not None:  # Timestamp
        valid, near = _VALID_STAMPS.map(quote), TIMESTAMPS.map(quote)
    elif field.type == FieldDescriptor.TYPE_STRING:
        valid, near = st.builds(quote, st.text(), st.sampled_from(['"', "'"])), QUOTED
    elif field.type == FieldDescriptor.TYPE_BOOL:
        valid, near = st.sampled_from(
            ["true", "false", "TRUE", "False"]
        ), st.sampled_from(["yes", "1", "'true'"])
    elif field.type == FieldDescriptor.TYPE_ENUM:
        names = [value.name for value in field.enum_type.values]
        valid = st.sampled_from(names + [quote(name) for name in names])
        near = st.sampled_from([names[0].lower(), names[-1] + "X", "0"])
    elif field.type in (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT):
        valid, near = (
            st.floats(allow_nan=False, allow_infinity=False, width=32).map(repr),
            NUMBERS,
        )
    else:
        valid, near = integers(field.type).map(str), NUMBERS
    return st.one_of(*[valid] * 8, near, LITERALS)


def parse_ordering(text: str, descriptor: Any):  # type: ignore[no-untyped-def]
    """parse_order_by with the server's default, `id asc`, for messages that have an id."""
    return parse_order_by(
        text, descriptor, "id asc" if "id" in descriptor.fields_by_name else ""
    )


@st.composite
def conditions(draw: st.DrawFn, descriptor: Any) -> str:
    fields = usable(descriptor)
    if fields and draw(st.integers(0, 9)) < 9:
        field = draw(st.sampled_from(fields))
        name = draw(st.sampled_from(spellings(field)))
        is_string = field.type == FieldDescriptor.TYPE_STRING
        operator = draw(
            st.sampled_from(["=", ":"] if is_string else ["="] * 19 + [":"])
        )
        value = draw(typed_literal(field))
    else:
        name = draw(field_names(descriptor))
        operator = draw(st.sampled_from(["=", ":", "==", "!=", "<", ""]))
        value = draw(LITERALS)
    return (
        f"{draw(SPACE)}{name}{draw(SPACE)}{operator}{draw(SPACE)}{value}{draw(SPACE)}"
    )


@st.composite
def filters(draw: st.DrawFn, descriptor: Any) -> str:
    """Conditions joined by AND, mostly well-formed, with random spacing."""
    parts = draw(st.lists(conditions(descriptor), min_size=1, max_size=3))
    joiners = [" AND ", " and ", " AnD ", "\tAND\n"] * 3 + [
        "AND",
        " OR ",
        " && ",
        " ",
        " AND AND ",
    ]
    text = parts[0]
    for part in parts[1:]:
        text += draw(st.sampled_from(joiners)) + part
    return text


DIRECTIONS = ["", " asc", " desc", " DESC", " Asc", "\tdesc"] * 3 + [
    " up",
    " desc desc",
    " 1",
]


@st.composite
def orderings(draw: st.DrawFn, descriptor: Any, valid: bool = False) -> str:
    """Terms joined by commas; with `valid`, always a well-formed order_by."""
    fields = usable(descriptor)
    if valid:
        chosen = (
            draw(st.lists(st.sampled_from(fields), unique=True, max_size=4))
            if fields
            else []
        )
        terms = [
            draw(st.sampled_from(spellings(field)))
            + draw(st.sampled_from(["", " asc", " desc", " DESC"]))
            for field in chosen
        ]
        return ", ".join(terms)
    terms = []
    for _ in range(draw(st.integers(0, 4))):
        if fields and draw(st.integers(0, 9)) < 8:
            name = draw(st.sampled_from([n for f in fields for n in spellings(f)]))
        else:
            name = draw(field_names(descriptor))
        terms.append(
            f"{draw(SPACE)}{name}{draw(st.sampled_from(DIRECTIONS))}{draw(SPACE)}"
        )
    separators = [",", ", ", " , "] * 3 + [",,", ";", " "]
    text = terms[0] if terms else ""
    for term in terms[1:]:
        text += draw(st.sampled_from(separators)) + term
    return text


def check_error(error: QueryError, argument: str, text: str) -> None:
    """A QueryError names its argument and points inside the text (or just past its end)."""
    assert error.argument == argument
    assert error.position is not None and 0 <= error.position <= len(text), error
    assert str(error) == f"{argument}: {error.message} at position {error.position}"


# ---- filter -----------------------------------------------------------------------------


@fuzz(ci=300, long=5000)
@given(data=st.data(), message_type=MESSAGE_TYPES)
def test_near_valid_filters_parse_or_raise_query_error(
    data: st.DataObject, message_type: type[Message]
) -> None:
    """A near-valid filter gives a Filter that can match any message of the type, or a
    QueryError that points inside the text."""
    descriptor = message_type.DESCRIPTOR
    text = mutate(data.draw(filters(descriptor), label="filter"), data)
    try:
        matcher = parse_filter(text, descriptor)
    except QueryError as error:
        check_error(error, "filter", text)
        event(f"filter error: {error.message[:30]}")
        return
    event("filter parsed")
    for _ in range(3):
        assert matcher.matches(data.draw(message_strategy(descriptor, depth=1))) in (
            True,
            False,
        )


def literal(field: FieldDescriptor, value: Any, data: st.DataObject) -> str | None:
    """The filter literal of a field value, or None if the grammar cannot write it."""
    if field.message_type is not None:  # a Timestamp
        try:
            return quote(value.ToJsonString(), data.draw(st.sampled_from(['"', "'"])))
        except ValueError:  # outside the years 1-9999
            return None
    if field.type == FieldDescriptor.TYPE_STRING:
        return quote(value, data.draw(st.sampled_from(['"', "'"])))
    if field.type == FieldDescriptor.TYPE_BOOL:
        return data.draw(
            st.sampled_from(["true", "TRUE", "True"] if value else ["false", "False"])
        )
    if field.type == FieldDescriptor.TYPE_ENUM:
        known = field.enum_type.values_by_number.get(value)
        return known.name if known else None
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else None
    return str(value)


@fuzz(ci=300, long=5000)
@given(data=st.data(), message_type=MESSAGE_TYPES)
def test_a_filter_written_from_a_message_matches_it(
    data: st.DataObject, message_type: type[Message]
) -> None:
    """`f1 = <value of f1> AND f2 = <value of f2> ...`, with the values of a random message,
    parses and matches that message; its conditions in another order give the same
    fingerprint."""
    descriptor = message_type.DESCRIPTOR
    message = data.draw(message_strategy(descriptor, depth=1), label="message")
    usable = [descriptor.fields_by_name[name] for name in supported_fields(descriptor)]
    assume(usable)
    chosen = data.draw(
        st.lists(st.sampled_from(usable), min_size=1, max_size=4, unique=True)
    )
    conditions = []
    for field in chosen:
        text = literal(field, getattr(message, field.name), data)
        if text is None:
            continue
        name = data.draw(st.sampled_from(spellings(field)))
        conditions.append(f"{name}{data.draw(SPACE)}={data.draw(SPACE)}{text}")
    assume(conditions)
    text = " AND ".join(conditions)
    assume(len(text) <= MAX_QUERY_CHARS)  # a longer one is refused, whatever it says
    note(f"filter: {text!r}")
    matcher = parse_filter(text, descriptor)
    assert matcher.matches(message)
    shuffled = " and ".join(data.draw(st.permutations(conditions)))
    assert parse_filter(shuffled, descriptor).fingerprint == matcher.fingerprint


@fuzz(ci=200, long=5000)
@given(data=st.data())
def test_substring_filters_on_strings(data: st.DataObject) -> None:
    """`field : "<part of the value>"` matches; the value with a character appended does not
    match `field = ...`."""
    image = data.draw(message_strategy(image_pb2.Image.DESCRIPTOR, depth=1))
    field = data.draw(
        st.sampled_from(["id", "folder_id", "name", "description", "checksum"])
    )
    value = getattr(image, field)
    assume(2 * len(value) + 20 < MAX_QUERY_CHARS)  # quoted, within the longest filter
    start = data.draw(st.integers(0, len(value)))
    end = data.draw(st.integers(start, len(value)))
    assert parse_filter(
        f"{field} : {quote(value[start:end])}", image_pb2.Image.DESCRIPTOR
    ).matches(image)
    assert not parse_filter(
        f"{field} = {quote(value + 'x')}", image_pb2.Image.DESCRIPTOR
    ).matches(image)


# ---- order_by ---------------------------------------------------------------------------


@fuzz(ci=300, long=5000)
@given(data=st.data(), message_type=MESSAGE_TYPES)
def test_near_valid_orderings_sort_totally(
    data: st.DataObject, message_type: type[Message]
) -> None:
    """A near-valid order_by gives an Ordering, or a QueryError that points inside the text.
    An Ordering sorts random messages (NaN included) into a consistent order, and the
    position of each survives JSON (as page tokens carry it)."""
    descriptor = message_type.DESCRIPTOR
    text = mutate(data.draw(orderings(descriptor), label="order_by"), data)
    try:
        ordering = parse_ordering(text, descriptor)
    except QueryError as error:
        check_error(error, "order_by", text if text.strip() else "id asc")
        event(f"order_by error: {error.message[:30]}")
        return
    event("order_by parsed")
    items = data.draw(
        st.lists(message_strategy(descriptor, depth=1), max_size=6), label="items"
    )
    keys = sorted(ordering.key(item) for item in items)
    for first, second in zip(keys, keys[1:]):
        assert not second < first, "sorted keys out of order: the order is not total"
    for item in items:
        position = json.loads(json.dumps(ordering.position(item)))
        assert ordering.key_from_position(position) == ordering.key(item)


# ---- page tokens ------------------------------------------------------------------------

SECRET = b"fuzz secret"
TOKENS = PageTokens(SECRET)
# 10**400: an integer beyond float range, which a float term must refuse as a mismatch.
JSON_VALUES = st.recursive(
    st.one_of(
        st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.just(10**400),
        st.floats(allow_nan=False), st.text(max_size=10),
    ),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=3), inner, max_size=3)),
    max_leaves=6,
)  # fmt: skip


def altered(token: str, data: st.DataObject) -> str:
    """A token with a character changed, dropped, added, or its case swapped."""
    action = data.draw(
        st.sampled_from(["change", "drop", "add", "swapcase", "pad", "none"])
    )
    if not token or action == "none":
        return token
    position = data.draw(st.integers(0, len(token) - 1))
    if action == "change":
        char = data.draw(st.sampled_from("AZaz09-_=+/ \n"))
        return token[:position] + char + token[position + 1 :]
    if action == "drop":
        return token[:position] + token[position + 1 :]
    if action == "add":
        return token[:position] + data.draw(st.sampled_from("A-_=")) + token[position:]
    if action == "pad":
        return token + "=" * data.draw(st.integers(1, 3))
    return token.swapcase()


@fuzz(ci=300, long=5000)
@given(data=st.data(), message_type=MESSAGE_TYPES, query=st.text(max_size=20))
def test_altered_tokens_resume_or_raise_query_error(
    data: st.DataObject, message_type: type[Message], query: str
) -> None:
    """A real token, maybe altered, for this or another query: decoding gives the position it
    was issued with, or a PageTokenError. Then the position resumes a page of random items.
    """
    descriptor = message_type.DESCRIPTOR
    ordering = parse_ordering(data.draw(orderings(descriptor, valid=True)), descriptor)
    item = data.draw(message_strategy(descriptor, depth=1))
    position = ordering.position(item)
    token = TOKENS.encode(query, position)
    other_query = data.draw(st.one_of(st.just(query), st.text(max_size=20)))
    candidate = altered(token, data)
    try:
        decoded = TOKENS.decode(candidate, other_query)
    except PageTokenError as error:
        assert str(error).startswith("page_token: ")
        event(f"token error: {error.message[:40]}")
        return
    event("token accepted")
    assert other_query == query, "a token was accepted for another query"
    assert json.dumps(decoded) == json.dumps(position), "an altered token was accepted"
    key = ordering.key_from_position(decoded)
    items = sorted(
        data.draw(st.lists(message_strategy(descriptor, depth=1), max_size=5)),
        key=ordering.key,
    )
    page, _ = paginate(items, ordering.key, key, 2)
    assert all(key < ordering.key(entry) for entry in page)


@fuzz(ci=300, long=5000)
@given(data=st.data(), message_type=MESSAGE_TYPES)
def test_signed_positions_of_any_shape_fit_the_ordering_or_raise(
    data: st.DataObject, message_type: type[Message]
) -> None:
    """A token signed with the server's secret around any JSON position (one that a bug could
    write, or an old server with another order): key_from_position gives a key that compares
    with the items' keys, or a QueryError."""
    descriptor = message_type.DESCRIPTOR
    ordering = parse_ordering(data.draw(orderings(descriptor, valid=True)), descriptor)
    position = data.draw(
        st.one_of(
            st.lists(JSON_VALUES, max_size=4),
            _near_positions(ordering, descriptor, data),
        )
    )
    decoded = TOKENS.decode(TOKENS.encode("q", position), "q")
    try:
        key = ordering.key_from_position(decoded)
    except QueryError as error:
        assert error.argument == "page_token"
        event("position does not fit")
        return
    event("position fits")
    items = sorted(
        data.draw(st.lists(message_strategy(descriptor, depth=1), max_size=5)),
        key=ordering.key,
    )
    paginate(items, ordering.key, key, 3)


def _near_positions(
    ordering: Any, descriptor: Any, data: st.DataObject
) -> st.SearchStrategy[list[Any]]:
    """The position of a real item with one value replaced by another JSON value."""
    item = data.draw(message_strategy(descriptor, depth=1))
    position = ordering.position(item)
    if not position:
        return st.just(position)
    return st.tuples(st.integers(0, len(position) - 1), JSON_VALUES).map(
        lambda change: position[: change[0]] + [change[1]] + position[change[0] + 1 :]
    )


def test_huge_integer_for_a_float_term() -> None:
    """An int beyond float range for a float term does not fit the ordering: QueryError, not
    OverflowError (which a server would answer with INTERNAL)."""
    ordering = parse_ordering("value", wrappers_pb2.DoubleValue.DESCRIPTOR)
    with pytest.raises(QueryError):
        ordering.key_from_position([10**400])
