"""Validation rules of one field, parsed from the `yandex.cloud` validation options.

Semantics follow the option definitions: bounds are `N` (exactly N), `<N`, `<=N`, `>N`, `>=N`,
`A-B` (inclusive) or, for `value`, a comma-separated list of allowed values. `value` applies to
numbers and to Duration literals such as `1s` or `24h`, which are held as nanoseconds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Union

Number = Union[int, float]

_DURATION_UNITS = {
    "ns": 1,
    "us": 1_000,
    "ms": 1_000_000,
    "s": 10**9,
    "m": 60 * 10**9,
    "h": 3600 * 10**9,
}
_DURATION = re.compile(r"(-?\d+(?:\.\d+)?)(ns|us|ms|s|m|h)")
_RANGE = re.compile(r"(-?[^-\s]+)-(-?[^-\s]+)")
_COMPARISON = re.compile(r"(<=|>=|<|>|==)?\s*(\S+)")


class RuleError(ValueError):
    """An option value that does not parse; the caller adds file, element and option."""


def parse_int(text: str) -> int:
    try:
        return int(text, 10)
    except ValueError:
        raise RuleError(f"{text!r} is not an integer") from None


def parse_float(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise RuleError(f"{text!r} is not a number") from None


def parse_duration(text: str) -> int:
    """Parses a Duration literal (`1s`, `1.5h`, `500ms`) into nanoseconds."""
    match = _DURATION.fullmatch(text)
    if not match:
        raise RuleError(f"{text!r} is not a duration such as 1s, 500ms or 24h")
    amount, unit = match.groups()
    return round(float(amount) * _DURATION_UNITS[unit])


@dataclass(frozen=True)
class Bound:
    """An inclusive/exclusive interval, or a set of allowed values."""

    text: str
    low: Number | None = None
    high: Number | None = None
    low_inclusive: bool = True
    high_inclusive: bool = True
    allowed: tuple[Number, ...] = ()

    def admits(self, value: Number) -> bool:
        if self.allowed:
            return value in self.allowed
        if self.low is not None and (
            value < self.low or (value == self.low and not self.low_inclusive)
        ):
            return False
        if self.high is not None and (
            value > self.high or (value == self.high and not self.high_inclusive)
        ):
            return False
        return True

    @property
    def is_exact(self) -> bool:
        return self.low is not None and self.low == self.high


def parse_bound(text: str, parse: Callable[[str], Number], allow_list: bool = False) -> Bound:
    """Parses a bound; `parse` turns one literal into a number and raises RuleError."""
    stripped = text.strip()
    if not stripped:
        raise RuleError("empty bound")
    if allow_list and "," in stripped:
        return Bound(stripped, allowed=tuple(parse(item.strip()) for item in stripped.split(",")))
    range_match = _RANGE.fullmatch(stripped)
    if range_match:
        low, high = parse(range_match.group(1)), parse(range_match.group(2))
        if low > high:
            raise RuleError(f"empty range {stripped!r}")
        return Bound(stripped, low=low, high=high)
    comparison = _COMPARISON.fullmatch(stripped)
    if not comparison:
        raise RuleError(f"{stripped!r} is not a bound such as 5, <=5, >5 or 1-5")
    operator, literal = comparison.groups()
    value = parse(literal)
    if operator in (None, "=="):
        return Bound(stripped, low=value, high=value)
    if operator in ("<", "<="):
        return Bound(stripped, high=value, high_inclusive=operator == "<=")
    return Bound(stripped, low=value, low_inclusive=operator == ">=")


@dataclass(frozen=True)
class FieldRules:
    """The constraints on one field. Element-wise rules (pattern, length, value) apply to each
    element of a repeated field and each value of a map; `key_*` apply to each map key."""

    required: bool = False
    pattern: str | None = None
    length: Bound | None = None
    value: Bound | None = None
    size: Bound | None = None
    unique: bool = False
    byte_size: Bound | None = None
    key_pattern: str | None = None
    key_length: Bound | None = None
    key_value: Bound | None = None

    @property
    def empty(self) -> bool:
        return self == FieldRules()


def check_pattern(pattern: str) -> str:
    try:
        re.compile(pattern)
    except re.error as error:
        raise RuleError(f"invalid regular expression {pattern!r}: {error}") from None
    return pattern
