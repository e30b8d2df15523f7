"""The filter and order_by grammar of List requests (generator/runtime/query.py)."""

from __future__ import annotations

import json
import math

import pytest
from google.protobuf import api_pb2, descriptor_pb2, timestamp_pb2, wrappers_pb2
from google.protobuf.message import Message
from hypothesis import given, settings
from hypothesis import strategies as st
from yandex.cloud.baremetal.v1alpha import image_pb2

from generator.runtime.query import (
    QueryError,
    SortKey,
    parse_filter,
    parse_order_by,
    supported_fields,
)

Image = image_pb2.Image
IMAGE = Image.DESCRIPTOR
FIELD = descriptor_pb2.FieldDescriptorProto
IMAGE_FIELDS = "id, folder_id, name, description, checksum, status, created_at"


def stamp(text: str) -> timestamp_pb2.Timestamp:
    result = timestamp_pb2.Timestamp()
    result.FromJsonString(text)
    return result


WEB = Image(
    id="a1",
    folder_id="f1",
    name="web-server",
    description='say "hi"',
    status=Image.READY,
    created_at=stamp("2024-01-01T00:00:00Z"),
    labels={"env": "prod"},
)


def matches(text: str, message: Message = WEB) -> bool:
    return parse_filter(text, message.DESCRIPTOR).matches(message)


def test_supported_fields_are_top_level_scalars_enums_and_timestamps() -> None:
    assert supported_fields(IMAGE) == IMAGE_FIELDS.split(", ")
    assert "options" not in supported_fields(FIELD.DESCRIPTOR)
    assert "number" in supported_fields(FIELD.DESCRIPTOR)


# ---- filter: grammar ----------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        'name = "web-server"',
        'name="web-server"',
        "name='web-server'",
        "  name\t=\n'web-server'  ",
        'name : "server"',
        "name:'web'",
        'folder_id = "f1"',
        'folderId = "f1"',
        'createdAt = "2024-01-01T00:00:00Z"',
        'created_at = "2024-01-01T03:00:00+03:00"',
        "status = READY",
        'status = "READY"',
        "status='READY'",
        'description = "say \\"hi\\""',
        "description = 'say \"hi\"'",
        'name = "web-server" AND folderId = "f1"',
        "name:'web' and status=READY AnD folder_id='f1'",
        'name="web-server"AND id="a1"',
        "",
        "   \t\n",
    ],
)
def test_filter_matches(text: str) -> None:
    assert matches(text)


@pytest.mark.parametrize(
    "text",
    [
        'name = "web"',
        'name : "db"',
        'folderId = "f2"',
        "status = CREATING",
        'created_at = "2024-01-01T00:00:01Z"',
        'name = "web-server" AND folder_id = "f2"',
        'name = "WEB-SERVER"',
    ],
)
def test_filter_does_not_match(text: str) -> None:
    assert not matches(text)


@pytest.mark.parametrize(
    ("literal", "value"),
    [
        (r'"it\'s"', "it's"),
        (r"'it\'s'", "it's"),
        (r'"a\"b"', 'a"b'),
        (r'"back\\slash"', "back\\slash"),
        (r'"\n\t\r"', "\n\t\r"),
        (r"'\\'", "\\"),
        ('"AND"', "AND"),
        ("\"x = 'y'\"", "x = 'y'"),
    ],
)
def test_escapes_and_quotes(literal: str, value: str) -> None:
    assert matches(f"description = {literal}", Image(description=value))
    assert not matches(f"description = {literal}", Image(description=value + "!"))


def test_integers_bools_and_enums_of_other_messages() -> None:
    field = FIELD(name="x", number=5, type=FIELD.TYPE_STRING, oneof_index=0)
    assert matches("number = 5 AND type = TYPE_STRING", field)
    assert matches("number = +5 AND oneofIndex = 0", field)
    assert matches('number = "5"', field)
    assert not matches("number = -5", field)
    method = api_pb2.Method(name="Get", request_streaming=True)
    assert matches("request_streaming = true AND responseStreaming = false", method)
    assert matches("requestStreaming = TRUE AND syntax = SYNTAX_PROTO2", method)
    assert not matches("request_streaming = false", method)


def test_integer_ranges() -> None:
    assert matches("value = 4294967295", wrappers_pb2.UInt32Value(value=2**32 - 1))
    int64 = wrappers_pb2.Int64Value(value=-(2**63))
    assert matches(f"value = {-(2**63)}", int64)
    assert matches(
        "value = 0000000000000000000000007", wrappers_pb2.Int64Value(value=7)
    )


def test_floats() -> None:
    assert matches("value = 1.5", wrappers_pb2.DoubleValue(value=1.5))
    assert matches("value = -2e3", wrappers_pb2.DoubleValue(value=-2000))
    assert matches("value = .25", wrappers_pb2.DoubleValue(value=0.25))
    assert matches("value = 3", wrappers_pb2.DoubleValue(value=3))
    # A float field holds float32: 0.1 must compare after the same rounding.
    assert matches("value = 0.1", wrappers_pb2.FloatValue(value=0.1))
    assert not matches("value = 0.2", wrappers_pb2.FloatValue(value=0.1))


def test_filter_fingerprint_is_canonical() -> None:
    one = parse_filter("folderId='f1' and name = \"a\"", IMAGE)
    two = parse_filter('name="a" AND folder_id="f1"', IMAGE)
    assert one.fingerprint == two.fingerprint == 'folder_id = "f1" AND name = "a"'
    three = parse_filter(
        "status='READY' AND createdAt='2024-01-01T03:00:00+03:00'", IMAGE
    )
    assert three.fingerprint == (
        'created_at = "2024-01-01T00:00:00Z" AND status = READY'
    )
    assert parse_filter("  ", IMAGE).fingerprint == ""
    assert parse_filter("name:'a'", IMAGE).fingerprint != two.fingerprint


# ---- filter: errors -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "position", "message"),
    [
        ('nme = "x"', 0, f"unknown field 'nme' (supported: {IMAGE_FIELDS})"),
        (
            'labels = "x"',
            0,
            f"field 'labels' cannot be used in filter (supported: {IMAGE_FIELDS})",
        ),
        ('= "x"', 0, "expected a field name"),
        ('name ! "x"', 5, "expected '=' or ':' after field 'name'"),
        ("name", 4, "expected '=' or ':' after field 'name'"),
        ("name =", 6, "expected a value after 'name ='"),
        ('name == "x"', 6, "expected a value after 'name ='"),
        ('folderId : "x', 11, 'unterminated string: no closing " for the quote'),
        ("name = 'abc\\'", 7, "unterminated string: no closing ' for the quote"),
        ('name = "abc\\', 7, 'unterminated string: no closing " for the quote'),
        ('name = "a\\qb"', 9, "unsupported escape sequence '\\q'"),
        ('name = "a" extra', 11, "expected 'AND' or the end of the filter"),
        ('name = "a" ANDname = "b"', 11, "expected 'AND' or the end of the filter"),
        ('name = "a" AND', 14, "expected a field name"),
        ('name = "a" AND AND', 15, "unknown field 'AND'"),
        ("name = abc", 7, "the value of string field 'name' must be in quotes"),
        ('name = "a"b', 10, "expected 'AND' or the end of the filter"),
        (
            "status : READY",
            7,
            "operator ':' (substring) applies only to string fields,"
            " not to enum field 'status'",
        ),
        (
            'createdAt : "2024"',
            10,
            "operator ':' (substring) applies only to string fields,"
            " not to timestamp field 'createdAt'",
        ),
        (
            "created_at = 2024",
            13,
            "the value of timestamp field 'created_at' must be in quotes",
        ),
        (
            'created_at = "yesterday"',
            13,
            "invalid value for timestamp field 'created_at': 'yesterday' is not an"
            " RFC 3339 time such as 2024-01-31T12:00:00Z",
        ),
        (
            "status = READYY",
            9,
            "invalid value for enum field 'status': 'READYY' is not one of"
            " STATUS_UNSPECIFIED, CREATING, READY, ERROR, DELETING, UPDATING",
        ),
        ("status = 2", 9, "'2' is not one of"),
    ],
)
def test_filter_errors(text: str, position: int, message: str) -> None:
    with pytest.raises(QueryError) as caught:
        parse_filter(text, IMAGE)
    error = caught.value
    assert (error.argument, error.position) == ("filter", position)
    assert message in error.message
    assert str(error) == f"filter: {error.message} at position {position}"


def test_error_sentence_from_the_docs() -> None:
    with pytest.raises(QueryError) as caught:
        parse_filter('name ! "x"', IMAGE)
    assert str(caught.value) == (
        "filter: expected '=' or ':' after field 'name' at position 5"
    )


@pytest.mark.parametrize(
    ("message_type", "text", "position", "message"),
    [
        (FIELD, "number = 1.5", 9, "'1.5' is not an integer"),
        (FIELD, "number = 1e3", 9, "'1e3' is not an integer"),
        (
            FIELD,
            "number = 99999999999",
            9,
            "99999999999 is out of range [-2147483648, 2147483647]",
        ),
        (FIELD, "number = " + "9" * 5000, 9, "is out of range"),
        (
            wrappers_pb2.UInt32Value,
            "value = -1",
            8,
            "-1 is out of range [0, 4294967295]",
        ),
        (
            FIELD,
            "label : LABEL_OPTIONAL",
            6,
            "applies only to string fields, not to enum field 'label'",
        ),
        (api_pb2.Method, "request_streaming = yes", 20, "not true or false"),
        (
            api_pb2.Method,
            "request_streaming : true",
            18,
            "not to bool field 'request_streaming'",
        ),
        (wrappers_pb2.DoubleValue, "value = abc", 8, "'abc' is not a number"),
        (wrappers_pb2.DoubleValue, "value = 1e999", 8, "out of range"),
        (wrappers_pb2.FloatValue, "value = 1e39", 8, "32-bit float"),
    ],
)
def test_filter_value_errors(
    message_type: type[Message], text: str, position: int, message: str
) -> None:
    with pytest.raises(QueryError) as caught:
        parse_filter(text, message_type.DESCRIPTOR)
    assert caught.value.position == position
    assert message in str(caught.value)


# ---- order_by -----------------------------------------------------------------------


def images() -> list[image_pb2.Image]:
    rows = [
        ("c", "db", Image.READY, "2024-01-03T00:00:00Z"),
        ("a", "web", Image.CREATING, "2024-01-02T00:00:00Z"),
        ("d", "web", Image.ERROR, "2024-01-02T00:00:00Z"),
        ("b", "api", Image.READY, "2024-01-01T00:00:00Z"),
    ]
    return [
        Image(id=id_, name=name, status=status, created_at=stamp(created))
        for id_, name, status, created in rows
    ]


def ids_in_order(order_by: str, default: str = "id asc") -> list[str]:
    ordering = parse_order_by(order_by, IMAGE, default)
    return [item.id for item in sorted(images(), key=ordering.key)]


@pytest.mark.parametrize(
    ("order_by", "fingerprint", "ids"),
    [
        ("", "id asc", "abcd"),
        ("  ", "id asc", "abcd"),
        ("id desc", "id desc", "dcba"),
        ("name", "name asc,id asc", "bcad"),
        ("name desc", "name desc,id asc", "adcb"),
        ("createdAt DESC", "created_at desc,id asc", "cadb"),
        ("created_at desc", "created_at desc,id asc", "cadb"),
        ("created_at asc", "created_at asc,id asc", "badc"),
        ("name desc, id desc", "name desc,id desc", "dacb"),
        ("name ASC,createdAt desc", "name asc,created_at desc,id asc", "bcad"),
        ("status", "status asc,id asc", "abcd"),
        ("status desc,created_at", "status desc,created_at asc,id asc", "dbca"),
    ],
)
def test_orderings(order_by: str, fingerprint: str, ids: str) -> None:
    assert parse_order_by(order_by, IMAGE).fingerprint == fingerprint
    assert "".join(ids_in_order(order_by)) == ids


def test_default_ordering_and_messages_without_id() -> None:
    assert "".join(ids_in_order("", default="created_at desc")) == "cadb"
    assert parse_order_by("", IMAGE, "createdAt desc").fingerprint == (
        "created_at desc,id asc"
    )
    method = api_pb2.Method.DESCRIPTOR
    assert parse_order_by("name", method).fingerprint == "name asc"
    assert parse_order_by("", method, default="").fingerprint == ""


def test_sort_keys_compare_per_direction() -> None:
    ordering = parse_order_by("name desc", IMAGE)
    web_a, web_d = images()[1], images()[2]
    db = images()[0]
    assert ordering.key(web_a) < ordering.key(web_d) < ordering.key(db)
    assert ordering.key(db) > ordering.key(web_a)
    assert ordering.key(web_a) == ordering.key(Image(id="a", name="web"))
    assert ordering.key(web_a) != ordering.key(db)
    assert SortKey(["x"], [False]) < SortKey(["y"], [False])
    assert SortKey(["y"], [True]) < SortKey(["x"], [True])


def test_bools_floats_and_nan_order() -> None:
    values = [2.5, math.nan, -1.0, 0.0]
    ordering = parse_order_by("value", wrappers_pb2.DoubleValue.DESCRIPTOR)
    messages = [wrappers_pb2.DoubleValue(value=v) for v in values]
    ordered = [m.value for m in sorted(messages, key=ordering.key)]
    assert ordered[:3] == [-1.0, 0.0, 2.5] and math.isnan(ordered[3])
    streaming = parse_order_by("request_streaming desc", api_pb2.Method.DESCRIPTOR)
    methods = [api_pb2.Method(request_streaming=flag) for flag in (False, True)]
    assert [m.request_streaming for m in sorted(methods, key=streaming.key)] == [
        True,
        False,
    ]


@pytest.mark.parametrize(
    ("order_by", "message"),
    [
        ("created_at desc, name", WEB),
        ("status, description desc", WEB),
        ("", Image()),
        ("number desc, type, proto3_optional", FIELD(number=3)),
        ("value", wrappers_pb2.DoubleValue()),
        ("value", wrappers_pb2.FloatValue(value=0.1)),
        ("value", wrappers_pb2.DoubleValue(value=math.inf)),
    ],
)
def test_position_round_trips_through_json(order_by: str, message: Message) -> None:
    ordering = parse_order_by(order_by, message.DESCRIPTOR)
    position = ordering.position(message)
    restored = json.loads(json.dumps(position))
    assert ordering.key_from_position(restored) == ordering.key(message)


def test_position_holds_plain_values() -> None:
    ordering = parse_order_by("created_at desc, status", IMAGE)
    assert ordering.position(WEB) == [1704067200 * 10**9, Image.READY, "a1"]


@pytest.mark.parametrize(
    "position",
    [
        [],
        ["a1"],
        [1, 2, "a1", "extra"],
        ["2024-01-01T00:00:00Z", 2, "a1"],
        [1, True, "a1"],
        [1, 2, 3],
        [1, 2, None],
        [1.5, 2, "a1"],
        [1, {"x": 1}, "a1"],
    ],
)
def test_position_that_does_not_fit_the_ordering(position: list[object]) -> None:
    ordering = parse_order_by("created_at desc, status", IMAGE)
    with pytest.raises(QueryError) as caught:
        ordering.key_from_position(position)
    assert caught.value.argument == "page_token"
    assert str(caught.value).startswith("page_token: ")


@pytest.mark.parametrize(
    ("text", "position", "message"),
    [
        ("nme", 0, f"unknown field 'nme' (supported: {IMAGE_FIELDS})"),
        (
            "labels desc",
            0,
            f"field 'labels' cannot be used in order_by (supported: {IMAGE_FIELDS})",
        ),
        (
            "name up",
            5,
            "unknown direction 'up' for field 'name' (expected asc or desc)",
        ),
        ("name desc asc", 10, "expected ',' or the end of order_by"),
        ("name;", 4, "expected ',' or the end of order_by"),
        ("name desc,", 10, "expected a field name"),
        (",name", 0, "expected a field name"),
        ("name,,id", 5, "expected a field name"),
        ("name, name desc", 6, "field 'name' is listed twice"),
        ("folder_id, folderId", 11, "field 'folderId' is listed twice"),
        ("createdAt 1", 10, "expected ',' or the end of order_by"),
    ],
)
def test_order_by_errors(text: str, position: int, message: str) -> None:
    with pytest.raises(QueryError) as caught:
        parse_order_by(text, IMAGE)
    error = caught.value
    assert (error.argument, error.position, error.message) == (
        "order_by",
        position,
        message,
    )
    assert str(error) == f"order_by: {message} at position {position}"


# ---- fuzz ---------------------------------------------------------------------------

GRAMMAR_PIECES = st.sampled_from(
    [" ", "name", "createdAt", "status", "labels", "id", "=", ":", ",", "AND", "and"]
    + ['"', "'", "\\", "READY", "x", "2024-01-01T00:00:00Z", "1", "-", ".", "desc"]
)
FUZZ_TEXT = st.one_of(st.text(), st.lists(GRAMMAR_PIECES).map("".join))


@settings(max_examples=200, deadline=None)
@given(FUZZ_TEXT)
def test_random_filters_parse_or_raise_query_error(text: str) -> None:
    try:
        matcher = parse_filter(text, IMAGE)
    except QueryError:
        return
    matcher.matches(WEB)


@settings(max_examples=200, deadline=None)
@given(FUZZ_TEXT)
def test_random_orderings_parse_or_raise_query_error(text: str) -> None:
    try:
        ordering = parse_order_by(text, IMAGE)
    except QueryError:
        return
    assert ordering.key_from_position(ordering.position(WEB)) == ordering.key(WEB)
