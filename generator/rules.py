"""Validation rules of one field, parsed from the `yandex.cloud` validation options.

Semantics follow the option definitions: bounds are `N` (exactly N), `<N`, `<=N`, `>N`, `>=N`,
`A-B` (inclusive) or, for `value`, a comma-separated list of allowed values. `value` applies to
numbers and to Duration literals such as `1s` or `24h`, which are held as nanoseconds.
"""

from __future__ import annotations

import math
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
# `A-B`; the first literal starts with no comparison operator: `<=-5` is not a range.
_RANGE = re.compile(r"(-?[^-\s<>=]+)-(-?[^-\s]+)")
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
        value = float(text)
    except ValueError:
        raise RuleError(f"{text!r} is not a number") from None
    # `inf`, `nan`, `1e400`: no bound, and no literal in the generated Python.
    if not math.isfinite(value):
        raise RuleError(f"{text!r} is not a finite number")
    return value


def parse_duration(text: str) -> int:
    """Parses a Duration literal (`1s`, `1.5h`, `500ms`) into nanoseconds."""
    match = _DURATION.fullmatch(text)
    if not match:
        raise RuleError(f"{text!r} is not a duration such as 1s, 500ms or 24h")
    amount, unit = match.groups()
    nanos = float(amount) * _DURATION_UNITS[unit]
    if not math.isfinite(nanos):
        raise RuleError(f"{text!r} is out of range")
    return round(nanos)


@dataclass(frozen=True)
class Bound:
    """An inclusive/exclusive interval, or a set of allowed values."""

    text: str
    low: Number | None = None
    high: Number | None = None
    low_inclusive: bool = True
    high_inclusive: bool = True
    allowed: tuple[Number, ...] = ()
    # The literals as written (`1s`, `1024`), for sentences that quote them.
    low_text: str = ""
    high_text: str = ""
    allowed_text: tuple[str, ...] = ()

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


def parse_bound(
    text: str, parse: Callable[[str], Number], allow_list: bool = False
) -> Bound:
    """Parses a bound; `parse` turns one literal into a number and raises RuleError."""
    stripped = text.strip()
    if not stripped:
        raise RuleError("empty bound")
    if allow_list and "," in stripped:
        items = tuple(item.strip() for item in stripped.split(","))
        return Bound(
            stripped, allowed=tuple(parse(item) for item in items), allowed_text=items
        )
    range_match = _RANGE.fullmatch(stripped)
    if range_match:
        low_text, high_text = range_match.groups()
        low, high = parse(low_text), parse(high_text)
        if low > high:
            raise RuleError(f"empty range {stripped!r}")
        return Bound(
            stripped, low=low, high=high, low_text=low_text, high_text=high_text
        )
    comparison = _COMPARISON.fullmatch(stripped)
    if not comparison:
        raise RuleError(f"{stripped!r} is not a bound such as 5, <=5, >5 or 1-5")
    operator, literal = comparison.groups()
    value = parse(literal)
    if operator in (None, "=="):
        return Bound(
            stripped, low=value, high=value, low_text=literal, high_text=literal
        )
    if operator in ("<", "<="):
        return Bound(
            stripped, high=value, high_inclusive=operator == "<=", high_text=literal
        )
    return Bound(stripped, low=value, low_inclusive=operator == ">=", low_text=literal)


@dataclass(frozen=True)
class FieldRules:
    """The constraints on one field. Element-wise rules (pattern, length, value) apply to each
    element of a repeated field and each value of a map; `key_*` apply to each map key.
    """

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


# --- sentences ---------------------------------------------------------------------------------
# What each constraint expects, in the words of the official reference pages. The docs append
# them (option constraints=true) and the server reports them for each violation.


@dataclass(frozen=True)
class Constraint:
    kind: str  # required, length, pattern, value, size, unique, bytes, key_length, key_pattern, key_value
    sentence: str


def _string_length(bound: Bound, subject: str) -> str:
    """`subject` is "" for a single string, "for each value" or "for each key"."""
    words = f"string length in characters{' ' + subject if subject else ''}"
    if bound.is_exact:
        return f"The {words} must be {bound.low_text}."
    if bound.low is not None and bound.high is not None:
        return f"The {words} must be {bound.low_text}-{bound.high_text}."
    if bound.high is not None:
        if bound.high_inclusive:
            return f"The maximum {words} is {bound.high_text}."
        return f"The {words} must be less than {bound.high_text}."
    if bound.low_inclusive:
        return f"The minimum {words} is {bound.low_text}."
    return f"The {words} must be greater than {bound.low_text}."


def _value(bound: Bound, subject: str) -> str:
    noun = f"value{' ' + subject if subject else ''}"
    if bound.allowed:
        return f"Acceptable values{' ' + subject if subject else ''} are {', '.join(bound.allowed_text)}."
    if bound.is_exact:
        return f"The {noun} must be {bound.low_text}."
    if bound.low is not None and bound.high is not None:
        low = "" if bound.low_inclusive else "greater than "
        high = "" if bound.high_inclusive else "less than "
        inclusive = (
            ", inclusive" if bound.low_inclusive and bound.high_inclusive else ""
        )
        return f"Acceptable values{' ' + subject if subject else ''} are {low}{bound.low_text} to {high}{bound.high_text}{inclusive}."
    if bound.high is not None:
        if bound.high_inclusive:
            return f"The maximum {noun} is {bound.high_text}."
        return f"The {noun} must be less than {bound.high_text}."
    if bound.low_inclusive:
        return f"The minimum {noun} is {bound.low_text}."
    return f"The {noun} must be greater than {bound.low_text}."


def _count(bound: Bound, is_map: bool) -> str:
    if is_map and bound.high is not None and bound.low is None and bound.high_inclusive:
        return f"No more than {bound.high_text} per resource."
    if bound.is_exact:
        return f"The number of elements must be {bound.low_text}."
    if bound.low is not None and bound.high is not None:
        return f"The number of elements must be in the range {bound.low_text}-{bound.high_text}."
    if bound.high is not None:
        if bound.high_inclusive:
            return f"The maximum number of elements is {bound.high_text}."
        return f"The number of elements must be less than {bound.high_text}."
    if bound.low_inclusive:
        return f"The minimum number of elements is {bound.low_text}."
    return f"The number of elements must be greater than {bound.low_text}."


def _byte_size(bound: Bound) -> str:
    if bound.high is not None and bound.low is None:
        return f"The maximum size in bytes is {bound.high_text}."
    return f"The size in bytes must be {bound.text}."


def _regex(pattern: str) -> str:
    return f"` {pattern} `"


def constraints(rules: FieldRules, collection: str) -> tuple[Constraint, ...]:
    """The constraints of a field, in the order the official pages list them.

    `collection` is "map", "repeated" or "" (a single value)."""
    each = "for each value" if collection else ""
    found: list[Constraint] = []
    if rules.required:
        found.append(Constraint("required", "The field is required."))
    if rules.length:
        found.append(Constraint("length", _string_length(rules.length, each)))
    if rules.key_length:
        found.append(
            Constraint("key_length", _string_length(rules.key_length, "for each key"))
        )
    if rules.key_pattern:
        found.append(
            Constraint(
                "key_pattern",
                f"Each key must match the regular expression {_regex(rules.key_pattern)}.",
            )
        )
    if rules.pattern:
        subject = "Each value" if collection else "Value"
        found.append(
            Constraint(
                "pattern",
                f"{subject} must match the regular expression {_regex(rules.pattern)}.",
            )
        )
    if rules.value:
        found.append(Constraint("value", _value(rules.value, each)))
    if rules.key_value:
        found.append(Constraint("key_value", _value(rules.key_value, "for each key")))
    if rules.byte_size:
        found.append(Constraint("bytes", _byte_size(rules.byte_size)))
    if rules.size:
        found.append(Constraint("size", _count(rules.size, collection == "map")))
    if rules.unique:
        found.append(Constraint("unique", "The elements must be unique."))
    return tuple(found)


def exactly_one_sentence(fields: tuple[str, ...]) -> str:
    return f"Exactly one of the fields {', '.join(f'`{name}`' for name in fields)} must be set."
