"""Parsing of the `length`, `size` and `value` bounds."""

from __future__ import annotations

import pytest

from generator.rules import (
    RuleError,
    parse_bound,
    parse_duration,
    parse_float,
    parse_int,
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
    bound = parse_bound(text, parse_int)
    assert all(bound.admits(value) for value in inside)
    assert not any(bound.admits(value) for value in outside)


def test_allowed_values_list() -> None:
    bound = parse_bound("1,5,10", parse_int, allow_list=True)
    assert bound.allowed == (1, 5, 10)
    assert bound.admits(5) and not bound.admits(6)


def test_negative_range_and_floats() -> None:
    assert parse_bound("-5-5", parse_int).admits(-5)
    bound = parse_bound("0.5-1.5", parse_float)
    assert bound.admits(1.0) and not bound.admits(1.6)


def test_durations_are_nanoseconds() -> None:
    assert parse_duration("1s") == 10**9
    assert parse_duration("1.5h") == 5400 * 10**9
    assert parse_duration("500ms") == 500 * 10**6
    bound = parse_bound("1s-24h", parse_duration)
    assert bound.admits(3600 * 10**9) and not bound.admits(0)


@pytest.mark.parametrize("text", ["", "abc", "5-", "<=", "9-1", "1,,2"])
def test_malformed_bounds_raise(text: str) -> None:
    with pytest.raises(RuleError):
        parse_bound(text, parse_int, allow_list=True)
