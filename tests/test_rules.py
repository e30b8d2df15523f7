"""The validation options (generator/rules.py): parsing of bounds and literals, where each
option applies, what it means, and the problems of options that cannot apply or read."""

from __future__ import annotations

import pytest

from generator.rules import (
    OPTIONS,
    FieldRules,
    FieldShape,
    RuleError,
    field_rules,
    parse_bound,
    parse_duration,
    parse_float,
    parse_int,
    parse_timestamp,
)


@pytest.mark.parametrize(
    "text, inside, outside",
    [
        ("20", [20], [19, 21]),
        ("<=50", [0, 50], [51]),
        ("<50", [49], [50]),
        (">=2", [2, 100], [1]),
        (">2", [3], [2]),
        ("2-63", [2, 63], [1, 64]),
        ("==7", [7], [6]),
    ],
)
def test_integer_bounds(text: str, inside: list[int], outside: list[int]) -> None:
    bound = parse_bound(text, parse_int).bound
    assert all(bound.admits(value) for value in inside)
    assert not any(bound.admits(value) for value in outside)


def test_allowed_values_list() -> None:
    written = parse_bound("1,5,10", parse_int, allow_list=True)
    assert written.bound.allowed == (1, 5, 10) and written.allowed == ("1", "5", "10")
    assert written.bound.admits(5) and not written.bound.admits(6)


def test_bounds_keep_their_literals_as_written() -> None:
    written = parse_bound("1s-24h", parse_duration)
    assert (written.text, written.low, written.high) == ("1s-24h", "1s", "24h")
    assert parse_bound("<= 5", parse_int).high == "5"


def test_negative_range_and_floats() -> None:
    assert parse_bound("-5-5", parse_int).bound.admits(-5)
    bound = parse_bound("0.5-1.5", parse_float).bound
    assert bound.admits(1.0) and not bound.admits(1.6)


def test_durations_are_nanoseconds() -> None:
    assert parse_duration("1s") == 10**9
    assert parse_duration("1.5h") == 5400 * 10**9
    assert parse_duration("500ms") == 500 * 10**6
    bound = parse_bound("1s-24h", parse_duration).bound
    assert bound.admits(3600 * 10**9) and not bound.admits(0)


@pytest.mark.parametrize("text", ["", "abc", "5-", "<=", "9-1", "1,,2"])
def test_malformed_bounds_raise(text: str) -> None:
    with pytest.raises(RuleError):
        parse_bound(text, parse_int, allow_list=True)


def test_timestamps_are_nanoseconds_since_the_epoch() -> None:
    assert parse_timestamp("19700101T000000.000000000") == 0
    assert parse_timestamp("19700101T000001") == 10**9
    assert parse_timestamp("21051231T235959.999999999") == 4_291_747_199_999_999_999
    assert parse_timestamp("20240229T120000.5") == 1_709_208_000_500_000_000


@pytest.mark.parametrize(
    "text", ["2024-01-01", "20241301T000000", "20230229T000000", "20240101T240000"]
)
def test_malformed_timestamps_raise(text: str) -> None:
    with pytest.raises(RuleError):
        parse_timestamp(text)


def _rules(options: dict[str, object], shape: FieldShape) -> tuple[FieldRules, list]:
    problems: list[tuple[str, str]] = []
    rules = field_rules(options, shape, lambda *problem: problems.append(problem))
    return rules, problems


@pytest.mark.parametrize(
    "element, text, inside, outside",
    [
        ("google.protobuf.Int64Value", "0-100", 100, 101),
        ("google.protobuf.DoubleValue", "0.0-1.0", 1.0, 1.5),
        ("google.protobuf.Duration", "1m-10m", 60 * 10**9, 59 * 10**9),
        ("google.protobuf.Timestamp", ">=19700101T000000", 0, -1),
        ("double", "0-9223372036854775807", 1e18, -1.0),
        ("string", "a, b", "b", "c"),
    ],
)
def test_value_bounds_what_each_real_usage_holds(
    element: str, text: str, inside: object, outside: object
) -> None:
    rules, problems = _rules({"value": text}, FieldShape(element))
    (constraint,) = rules.constraints
    assert not problems and constraint.kind == "value"
    assert constraint.bound.admits(inside) and not constraint.bound.admits(outside)


def test_pattern_and_length_on_a_string_value_hold_the_wrapped_string() -> None:
    rules, problems = _rules(
        {"pattern": "[a-z]*", "length": "<=8"},
        FieldShape("google.protobuf.StringValue"),
    )
    assert not problems
    assert [c.kind for c in rules.constraints] == ["length", "pattern"]


def test_bytes_on_a_message_and_length_on_bytes() -> None:
    rules, problems = _rules(
        {"bytes": "<=819200"}, FieldShape("google.protobuf.Struct")
    )
    assert not problems
    assert rules.constraints[0].sentence == "The maximum size in bytes is 819200."
    rules, problems = _rules({"length": "<=10"}, FieldShape("bytes"))
    assert not problems and rules.get("length").bound.high == 10


@pytest.mark.parametrize(
    "options, shape, expected",
    [
        ({"length": "0,3"}, FieldShape("string"), ("length", "invalid value: '0,3'")),
        ({"value": "5"}, FieldShape("bool"), ("value", "applies only to numbers")),
        ({"size": "<=3"}, FieldShape("string"), ("size", "applies only to repeated")),
        ({"pattern": "[a-"}, FieldShape("string"), ("pattern", "regular expression")),
        ({"unique": True}, FieldShape("int64"), ("unique", "repeated fields")),
        (
            {"map_key": {"length": "<=3"}},
            FieldShape("string", "map", key="int64"),
            ("map_key", "`length` applies only to string keys"),
        ),
        (
            {"colour": "red"},
            FieldShape("string"),
            ("colour", "not a validation option"),
        ),
    ],
)
def test_an_option_that_cannot_apply_or_read_is_a_problem_and_dropped(
    options: dict[str, object], shape: FieldShape, expected: tuple[str, str]
) -> None:
    rules, problems = _rules({**options, "required": True}, shape)
    assert [c.kind for c in rules.constraints] == ["required"]  # the rest is kept
    ((option, message),) = problems
    assert option == expected[0] and expected[1] in message, message


def test_constraints_come_in_the_order_of_the_official_pages() -> None:
    rules, _ = _rules(
        {
            "size": "<=64",
            "pattern": "[a-z]*",
            "map_key": {"pattern": "[a-z]+", "length": "1-63"},
            "length": "<=63",
            "required": True,
        },
        FieldShape("string", "map", key="string"),
    )
    assert [c.sentence for c in rules.constraints] == [
        "The field is required.",
        "The maximum string length in characters for each value is 63.",
        "The string length in characters for each key must be 1-63.",
        "Each key must match the regular expression ` [a-z]+ `.",
        "Each value must match the regular expression ` [a-z]* `.",
        "No more than 64 per resource.",
    ]


def test_every_option_has_one_entry_named_after_it() -> None:
    assert set(OPTIONS) == {
        "required",
        "pattern",
        "length",
        "value",
        "size",
        "unique",
        "bytes",
        "map_key",
    }
    assert all(name == option.name for name, option in OPTIONS.items())


@pytest.mark.parametrize(
    "options, shape, sentences",
    [  # the sentences the official pages print (docs-format.md, the current format)
        ({"value": ">0"}, FieldShape("int64"), ["Value must be greater than 0."]),
        ({"value": "<=1000"}, FieldShape("int64"), ["The maximum value is 1000."]),
        (
            {"length": "2-63"},
            FieldShape("string"),
            ["The string length in characters must be 2-63."],
        ),
        (
            {"length": "<=50", "pattern": "[a-z][a-z0-9.-]*"},
            FieldShape("string"),
            [
                "The maximum string length in characters is 50.",
                "Value must match the regular expression ` [a-z][a-z0-9.-]* `.",
            ],
        ),
    ],
)
def test_sentences_are_those_of_the_official_pages(
    options: dict[str, str], shape: FieldShape, sentences: list[str]
) -> None:
    rules, problems = _rules(options, shape)
    assert not problems
    assert [c.sentence for c in rules.constraints] == sentences
