"""Request validation (generator/runtime/validation.py), one rule at a time, on well-known
messages and those of the generated image API."""

from __future__ import annotations

from google.protobuf import field_mask_pb2, struct_pb2, type_pb2, wrappers_pb2
from yandex.cloud.baremetal.v1alpha import image_service_pb2

from generator.runtime import validation
from generator.runtime.errors import Violation
from generator.runtime.validation import (
    Bound,
    Check,
    FieldRules,
    MessageRules,
    OneofRule,
    Validator,
    size_violations,
)

UPDATE = "yandex.cloud.baremetal.v1alpha.UpdateImageRequest"


def validator(full_name: str, *fields: FieldRules) -> Validator:
    return Validator({full_name: MessageRules(fields=fields)})


def test_a_message_without_rules_has_no_violations() -> None:
    assert Validator({}).violations(wrappers_pb2.StringValue(value="x")) == []


def test_length_applies_to_set_values_only() -> None:
    check = Check("length", "At most 3.", bound=Bound(high=3))
    rules = validator("google.protobuf.StringValue", FieldRules("value", (check,)))
    assert rules.violations(wrappers_pb2.StringValue(value="abcd")) == [
        Violation("value", "At most 3.")
    ]
    assert rules.violations(wrappers_pb2.StringValue(value="abc")) == []
    assert rules.violations(wrappers_pb2.StringValue()) == []


def test_required_rejects_an_unset_value() -> None:
    check = Check("required", "Required.")
    rules = validator("google.protobuf.StringValue", FieldRules("value", (check,)))
    assert rules.violations(wrappers_pb2.StringValue()) == [
        Violation("value", "Required.")
    ]
    assert rules.violations(wrappers_pb2.StringValue(value="x")) == []


def test_pattern_must_match_the_whole_value() -> None:
    check = Check("pattern", "Lowercase.", pattern="[a-z]+")
    rules = validator("google.protobuf.StringValue", FieldRules("value", (check,)))
    assert rules.violations(wrappers_pb2.StringValue(value="abc1")) != []
    assert rules.violations(wrappers_pb2.StringValue(value="abc")) == []


def test_pattern_and_length_read_inside_a_string_value() -> None:
    """`(pattern)` and `(length)` on a StringValue field check the wrapped string."""
    pattern = Check("pattern", "Lowercase.", pattern="[a-z]+")
    length = Check("length", "At most 3.", bound=Bound(high=3))
    assert validation._pattern_fails(pattern, wrappers_pb2.StringValue(value="ABC"))
    assert not validation._pattern_fails(pattern, wrappers_pb2.StringValue(value="abc"))
    assert validation._length_fails(length, wrappers_pb2.StringValue(value="abcd"))
    assert not validation._length_fails(length, wrappers_pb2.StringValue(value="abc"))


def test_value_bounds_on_numbers_and_strings() -> None:
    check = Check("value", "0 < x <= 10.", bound=Bound(0, 10, low_inclusive=False))
    rules = validator("google.protobuf.Int64Value", FieldRules("value", (check,)))
    assert rules.violations(wrappers_pb2.Int64Value(value=11)) != []
    assert rules.violations(wrappers_pb2.Int64Value(value=10)) == []
    assert rules.violations(wrappers_pb2.Int64Value(value=-1)) != []
    allowed = Check("value", "One of a, b.", bound=Bound(allowed=("a", "b")))
    names = validator("google.protobuf.StringValue", FieldRules("value", (allowed,)))
    assert names.violations(wrappers_pb2.StringValue(value="c")) != []
    assert names.violations(wrappers_pb2.StringValue(value="b")) == []


def test_nan_is_inside_no_range() -> None:
    check = Check("value", "At most 1.", bound=Bound(high=1))
    rules = validator("google.protobuf.DoubleValue", FieldRules("value", (check,)))
    assert rules.violations(wrappers_pb2.DoubleValue(value=float("nan"))) != []


def test_bytes_counts_utf8_bytes() -> None:
    check = Check("bytes", "At most 4 bytes.", bound=Bound(high=4))
    rules = validator("google.protobuf.StringValue", FieldRules("value", (check,)))
    assert rules.violations(wrappers_pb2.StringValue(value="ééé")) != []
    assert rules.violations(wrappers_pb2.StringValue(value="éé")) == []


def test_repeated_fields_check_each_element_and_the_count() -> None:
    rules = validator(
        "google.protobuf.FieldMask",
        FieldRules(
            "paths",
            (
                Check("size", "At most 2.", bound=Bound(high=2)),
                Check("length", "At most 3 long.", bound=Bound(high=3)),
                Check("unique", "No repeats."),
            ),
        ),
    )
    assert rules.violations(field_mask_pb2.FieldMask(paths=["a", "bcde", "a"])) == [
        Violation("paths", "At most 2."),
        Violation("paths[1]", "At most 3 long."),
        Violation("paths", "No repeats."),
    ]
    assert rules.violations(field_mask_pb2.FieldMask(paths=["a", "b"])) == []


def test_maps_check_keys_and_values_with_key_paths() -> None:
    rules = validator(
        UPDATE,
        FieldRules(
            "labels",
            (
                Check("key_pattern", "Key lowercase.", pattern="[a-z.]+"),
                Check("length", "Value at most 2.", bound=Bound(high=2)),
                Check("size", "At most 2 labels.", bound=Bound(high=2)),
            ),
        ),
    )
    request = image_service_pb2.UpdateImageRequest(
        labels={"Bad": "ok", "a.b": "long", "c": "x"}
    )
    assert rules.violations(request) == [
        Violation("labels.Bad", "Key lowercase."),
        Violation("labels.`a.b`", "Value at most 2."),
        Violation("labels", "At most 2 labels."),
    ]


def test_a_selection_limits_fields_and_map_keys() -> None:
    rules = validator(
        UPDATE,
        FieldRules("name", (Check("required", "Name required."),)),
        FieldRules(
            "labels",
            (
                Check("length", "Value at most 2.", bound=Bound(high=2)),
                Check("size", "At most 1 label.", bound=Bound(high=1)),
            ),
        ),
    )
    request = image_service_pb2.UpdateImageRequest(labels={"a": "long", "b": "xyz"})
    assert rules.violations(request, {"labels": frozenset({"b"})}) == [
        Violation("labels.b", "Value at most 2.")  # size: checked after the merge
    ]
    assert rules.violations(request, {"description": None}) == []
    assert Violation("name", "Name required.") in rules.violations(request)


def test_size_is_checked_on_the_merged_resource() -> None:
    rules = MessageRules(
        fields=(FieldRules("labels", (Check("size", "At most 1.", Bound(high=1)),)),)
    )
    merged = image_service_pb2.UpdateImageRequest(labels={"a": "1", "b": "2"})
    assert size_violations(merged, rules, {"labels"}) == [
        Violation("labels", "At most 1.")
    ]
    assert size_violations(merged, rules, {"name"}) == []


def test_message_fields_are_checked_with_their_own_rules() -> None:
    string_rule = FieldRules(
        "string_value", (Check("length", "At most 1.", bound=Bound(high=1)),)
    )
    registry = {
        "google.protobuf.Struct": MessageRules(
            fields=(FieldRules("fields", message="google.protobuf.Value"),)
        ),
        "google.protobuf.Value": MessageRules(fields=(string_rule,)),
    }
    struct = struct_pb2.Struct()
    struct.update({"k": "long", "ok": "x"})
    assert Validator(registry).violations(struct) == [
        Violation("fields.k.string_value", "At most 1.")
    ]


def test_exactly_one_member_of_a_oneof() -> None:
    members = ("null_value", "number_value", "string_value")
    rules = Validator(
        {
            "google.protobuf.Value": MessageRules(
                oneofs=(OneofRule("kind", members, "Exactly one."),)
            )
        }
    )
    assert rules.violations(struct_pb2.Value()) == [Violation("kind", "Exactly one.")]
    assert rules.violations(struct_pb2.Value(string_value="")) == []
    assert rules.violations(struct_pb2.Value(bool_value=True)) == [
        Violation("kind", "Exactly one.")
    ]


def test_repeated_message_elements_have_indexed_paths() -> None:
    registry = {
        "google.protobuf.Type": MessageRules(
            fields=(FieldRules("fields", message="google.protobuf.Field"),)
        ),
        "google.protobuf.Field": MessageRules(
            fields=(FieldRules("name", (Check("required", "Named."),)),)
        ),
    }
    message = type_pb2.Type(fields=[type_pb2.Field(name="a"), type_pb2.Field()])
    assert Validator(registry).violations(message) == [
        Violation("fields[1].name", "Named.")
    ]
