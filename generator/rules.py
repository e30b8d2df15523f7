"""The `yandex.cloud` validation options: one entry per option, looked up by its name.

Each entry (`ValidationOption`) says which fields the option applies to, how its value reads,
and what it means: the constraints it stands for, each with the sentence that says what is
expected. The server checks the constraints, the docs print the sentences, and the model warns
(or, with `strict=true`, fails) in the words of the entry when an option cannot apply or parse.

Bounds are `N` (exactly N), `<N`, `<=N`, `>N`, `>=N`, `A-B` (inclusive) or, for `value`, a
comma-separated list of allowed values. `value` compares numbers, strings, the value inside a
wrapper (`google.protobuf.Int64Value`...), Durations (`1s`, `24h`: nanoseconds) and Timestamps
(`19700101T000000.000000000`: nanoseconds since the epoch).
"""

from __future__ import annotations

import calendar
import math
import re
from dataclasses import dataclass, field
from typing import Callable, Mapping, Union

from generator.kept import keep
from generator.runtime.contract import Bound, CheckKind

Number = Union[int, float]
OptionValue = Union[bool, int, float, str, bytes, Mapping[str, object]]

DURATION = "google.protobuf.Duration"
TIMESTAMP = "google.protobuf.Timestamp"
# Wrappers whose `value` the `value` option bounds, by what they wrap.
NUMBER_WRAPPERS = {
    "google.protobuf.DoubleValue": "double",
    "google.protobuf.FloatValue": "float",
    "google.protobuf.Int64Value": "int64",
    "google.protobuf.UInt64Value": "uint64",
    "google.protobuf.Int32Value": "int32",
    "google.protobuf.UInt32Value": "uint32",
    "google.protobuf.StringValue": "string",
}
INTEGER_SCALARS = frozenset(
    "int64 uint64 int32 fixed64 fixed32 uint32 sfixed32 sfixed64 sint32 sint64".split()
)
FLOAT_SCALARS = frozenset({"double", "float"})
_SCALARS = INTEGER_SCALARS | FLOAT_SCALARS | {"bool", "string", "bytes"}

_DURATION_UNITS = {
    "ns": 1,
    "us": 1_000,
    "ms": 1_000_000,
    "s": 10**9,
    "m": 60 * 10**9,
    "h": 3600 * 10**9,
}
_DURATION = re.compile(r"(-?\d+(?:\.\d+)?)(ns|us|ms|s|m|h)")
_TIMESTAMP = re.compile(r"(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)(?:\.(\d{1,9}))?")
# `A-B`; the first literal starts with no comparison operator: `<=-5` is not a range.
_RANGE = re.compile(r"(-?[^-\s<>=]+)-(-?[^-\s]+)")
_COMPARISON = re.compile(r"(<=|>=|<|>|==)?\s*(\S+)")


class RuleError(ValueError):
    """An option value that does not parse; the caller adds file, element and option."""


# --- literals ----------------------------------------------------------------------------------


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


def parse_timestamp(text: str) -> int:
    """Parses a Timestamp literal, `YYYYMMDDTHHMMSS[.fraction]` in UTC, into nanoseconds since
    the epoch."""
    match = _TIMESTAMP.fullmatch(text)
    if not match:
        raise RuleError(
            f"{text!r} is not a timestamp such as 19700101T000000.000000000"
        )
    year, month, day, hour, minute, second = (int(part) for part in match.groups()[:6])
    if not (
        1 <= month <= 12
        and 1 <= day <= calendar.monthrange(year, month)[1]
        and hour < 24
        and minute < 60
        and second < 60
    ):
        raise RuleError(f"{text!r} is not a valid date and time")
    seconds = calendar.timegm((year, month, day, hour, minute, second))
    fraction = (match.group(7) or "").ljust(9, "0")
    return seconds * 10**9 + int(fraction)


def check_pattern(pattern: str) -> str:
    try:
        re.compile(pattern)
    except re.error as error:
        raise RuleError(f"invalid regular expression {pattern!r}: {error}") from None
    return pattern


@dataclass(frozen=True)
class WrittenBound:
    """A bound as an option writes it: what it admits, as the runtime checks it, and the
    literals as written (`1s`, `1024`), for the sentences that quote them."""

    bound: Bound
    text: str
    low: str = ""
    high: str = ""
    allowed: tuple[str, ...] = ()


def parse_bound(
    text: str, parse: Callable[[str], Number], allow_list: bool = False
) -> WrittenBound:
    """Parses a bound; `parse` turns one literal into a number and raises RuleError."""
    stripped = text.strip()
    if not stripped:
        raise RuleError("empty bound")
    if allow_list and "," in stripped:
        items = tuple(item.strip() for item in stripped.split(","))
        return WrittenBound(
            Bound(allowed=tuple(parse(item) for item in items)), stripped, allowed=items
        )
    range_match = _RANGE.fullmatch(stripped)
    if range_match:
        low_text, high_text = range_match.groups()
        low, high = parse(low_text), parse(high_text)
        if low > high:
            raise RuleError(f"empty range {stripped!r}")
        return WrittenBound(Bound(low=low, high=high), stripped, low_text, high_text)
    comparison = _COMPARISON.fullmatch(stripped)
    if not comparison:
        raise RuleError(f"{stripped!r} is not a bound such as 5, <=5, >5 or 1-5")
    operator, literal = comparison.groups()
    value = parse(literal)
    if operator in (None, "=="):
        return WrittenBound(Bound(low=value, high=value), stripped, literal, literal)
    if operator in ("<", "<="):
        return WrittenBound(
            Bound(high=value, high_inclusive=operator == "<="), stripped, high=literal
        )
    return WrittenBound(
        Bound(low=value, low_inclusive=operator == ">="), stripped, low=literal
    )


def _string_list(text: str) -> WrittenBound:
    items = tuple(item.strip() for item in text.split(","))
    return WrittenBound(Bound(allowed=items), text, allowed=items)


# --- what an option sees of a field ------------------------------------------------------------


@dataclass(frozen=True)
class FieldShape:
    """The type of a field as options see it: `element` is a scalar name (`string`, `int64`...),
    `enum`, or a message's full name; for a map, the value's, with the key's scalar in `key`.
    """

    element: str
    collection: str = ""  # "", "repeated" or "map"
    key: str = ""

    @property
    def is_message(self) -> bool:
        return self.element not in _SCALARS and self.element != "enum"


# --- constraints -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Constraint:
    """One thing a field's value must satisfy, and the sentence that says it."""

    kind: CheckKind
    sentence: str
    bound: Bound | None = None
    pattern: str = ""


# The order in which the official reference pages list a field's constraints.
CONSTRAINT_ORDER = tuple(CheckKind)


@dataclass(frozen=True)
class FieldRules:
    """A field's constraints, in CONSTRAINT_ORDER. Element-wise ones (pattern, length, value,
    bytes) apply to each element of a repeated field and each value of a map; `key_*` ones to
    each map key."""

    constraints: tuple[Constraint, ...] = ()
    # By kind, made on first use (see `kept`): the views ask on every row of every page.
    _by_kind: dict[CheckKind, Constraint] | None = field(
        default=None, init=False, repr=False, compare=False
    )

    @property
    def empty(self) -> bool:
        return not self.constraints

    @property
    def required(self) -> bool:
        return CheckKind.REQUIRED in self._kinds()

    def get(self, kind: CheckKind) -> Constraint | None:
        return self._kinds().get(kind)

    def _kinds(self) -> dict[CheckKind, Constraint]:
        found: dict[CheckKind, Constraint] | None = getattr(self, "_by_kind", None)
        if found is None:
            found = {}
            for constraint in self.constraints:
                found.setdefault(constraint.kind, constraint)
            keep(self, "_by_kind", found)
        return found


def _string_length(written: WrittenBound, subject: str) -> str:
    """`subject` is "" for a single string, "for each value" or "for each key"."""
    bound = written.bound
    words = f"string length in characters{' ' + subject if subject else ''}"
    if bound.is_exact:
        return f"The {words} must be {written.low}."
    if bound.low is not None and bound.high is not None:
        return f"The {words} must be {written.low}-{written.high}."
    if bound.high is not None:
        if bound.high_inclusive:
            return f"The maximum {words} is {written.high}."
        return f"The {words} must be less than {written.high}."
    if bound.low_inclusive:
        return f"The minimum {words} is {written.low}."
    return f"The {words} must be greater than {written.low}."


def _value(written: WrittenBound, subject: str) -> str:
    bound = written.bound
    noun = f"value{' ' + subject if subject else ''}"
    if bound.allowed:
        return f"Acceptable values{' ' + subject if subject else ''} are {', '.join(written.allowed)}."
    if bound.is_exact:
        return f"The {noun} must be {written.low}."
    if bound.low is not None and bound.high is not None:
        low = "" if bound.low_inclusive else "greater than "
        high = "" if bound.high_inclusive else "less than "
        inclusive = (
            ", inclusive" if bound.low_inclusive and bound.high_inclusive else ""
        )
        return f"Acceptable values{' ' + subject if subject else ''} are {low}{written.low} to {high}{written.high}{inclusive}."
    if bound.high is not None:
        if bound.high_inclusive:
            return f"The maximum {noun} is {written.high}."
        return f"The {noun} must be less than {written.high}."
    if bound.low_inclusive:
        return f"The minimum {noun} is {written.low}."
    if not subject:  # as the official pages print it (docs-format.md, current format)
        return f"Value must be greater than {written.low}."
    return f"The {noun} must be greater than {written.low}."


def _count(written: WrittenBound, is_map: bool) -> str:
    bound = written.bound
    if is_map and bound.high is not None and bound.low is None and bound.high_inclusive:
        return f"No more than {written.high} per resource."
    if bound.is_exact:
        return f"The number of elements must be {written.low}."
    if bound.low is not None and bound.high is not None:
        return (
            f"The number of elements must be in the range {written.low}-{written.high}."
        )
    if bound.high is not None:
        if bound.high_inclusive:
            return f"The maximum number of elements is {written.high}."
        return f"The number of elements must be less than {written.high}."
    if bound.low_inclusive:
        return f"The minimum number of elements is {written.low}."
    return f"The number of elements must be greater than {written.low}."


def _byte_size(written: WrittenBound) -> str:
    bound = written.bound
    if bound.high is not None and bound.low is None:
        return f"The maximum size in bytes is {written.high}."
    return f"The size in bytes must be {written.text}."


def _regex(pattern: str) -> str:
    return f"` {pattern} `"


def exactly_one_sentence(fields: tuple[str, ...]) -> str:
    return f"Exactly one of the fields {', '.join(f'`{name}`' for name in fields)} must be set."


# --- the options -------------------------------------------------------------------------------


def _each(shape: FieldShape) -> str:
    return "for each value" if shape.collection else ""


def _wrapped(element: str) -> str:
    """The scalar a wrapper such as google.protobuf.Int64Value holds, else `element`."""
    return NUMBER_WRAPPERS.get(element, element)


def _value_parser(element: str) -> Callable[[str], WrittenBound] | None:
    """How a `value` bound reads for an element type, or None if `value` cannot bound it."""
    element = _wrapped(element)
    if element in INTEGER_SCALARS:
        return lambda text: parse_bound(text, parse_int, allow_list=True)
    if element in FLOAT_SCALARS:
        return lambda text: parse_bound(text, parse_float, allow_list=True)
    if element == "string":
        return _string_list
    if element == DURATION:
        return lambda text: parse_bound(text, parse_duration, allow_list=True)
    if element == TIMESTAMP:
        return lambda text: parse_bound(text, parse_timestamp, allow_list=True)
    return None


def _required(value: OptionValue, shape: FieldShape) -> tuple[Constraint, ...]:
    return (Constraint(CheckKind.REQUIRED, "The field is required."),) if value else ()


def _pattern(value: OptionValue, shape: FieldShape) -> tuple[Constraint, ...]:
    pattern = check_pattern(str(value))
    subject = "Each value" if shape.collection else "Value"
    sentence = f"{subject} must match the regular expression {_regex(pattern)}."
    return (Constraint(CheckKind.PATTERN, sentence, pattern=pattern),)


def _length(value: OptionValue, shape: FieldShape) -> tuple[Constraint, ...]:
    written = parse_bound(str(value), parse_int)
    return (
        Constraint(
            CheckKind.LENGTH, _string_length(written, _each(shape)), written.bound
        ),
    )


def _size(value: OptionValue, shape: FieldShape) -> tuple[Constraint, ...]:
    written = parse_bound(str(value), parse_int)
    return (
        Constraint(
            CheckKind.SIZE, _count(written, shape.collection == "map"), written.bound
        ),
    )


def _unique(value: OptionValue, shape: FieldShape) -> tuple[Constraint, ...]:
    return (
        (Constraint(CheckKind.UNIQUE, "The elements must be unique."),) if value else ()
    )


def _bytes(value: OptionValue, shape: FieldShape) -> tuple[Constraint, ...]:
    written = parse_bound(str(value), parse_int)
    return (Constraint(CheckKind.BYTES, _byte_size(written), written.bound),)


def _value_option(value: OptionValue, shape: FieldShape) -> tuple[Constraint, ...]:
    parse = _value_parser(shape.element)
    assert parse is not None  # `applies` checked it
    written = parse(str(value))
    return (Constraint(CheckKind.VALUE, _value(written, _each(shape)), written.bound),)


def _map_key(value: OptionValue, shape: FieldShape) -> tuple[Constraint, ...]:
    spec = value if isinstance(value, Mapping) else {}
    found: list[Constraint] = []
    if spec.get("length"):
        if shape.key != "string":
            raise RuleError("`length` applies only to string keys")
        written = parse_bound(str(spec["length"]), parse_int)
        found.append(
            Constraint(
                CheckKind.KEY_LENGTH,
                _string_length(written, "for each key"),
                written.bound,
            )
        )
    if spec.get("pattern"):
        if shape.key != "string":
            raise RuleError("`pattern` applies only to string keys")
        pattern = check_pattern(str(spec["pattern"]))
        sentence = f"Each key must match the regular expression {_regex(pattern)}."
        found.append(Constraint(CheckKind.KEY_PATTERN, sentence, pattern=pattern))
    if spec.get("value"):
        parse = _value_parser(shape.key)
        if parse is None:
            raise RuleError("`value` applies only to number and string keys")
        written = parse(str(spec["value"]))
        found.append(
            Constraint(
                CheckKind.KEY_VALUE, _value(written, "for each key"), written.bound
            )
        )
    return tuple(found)


@dataclass(frozen=True)
class ValidationOption:
    """A field option of the `yandex.cloud` package: where it applies and what it means."""

    name: str
    applies_to: str  # in words, for the warning when it does not apply
    applies: Callable[[FieldShape], bool]
    # The constraints the option's value stands for; raises RuleError if the value does not read.
    meaning: Callable[[OptionValue, FieldShape], tuple[Constraint, ...]]


OPTIONS: dict[str, ValidationOption] = {
    option.name: option
    for option in (
        ValidationOption("required", "any field", lambda shape: True, _required),
        ValidationOption(
            # On a StringValue it matches the wrapped string.
            "pattern",
            "string and StringValue fields (or repeated fields and maps of them)",
            lambda shape: _wrapped(shape.element) == "string",
            _pattern,
        ),
        ValidationOption(
            # On bytes it counts bytes, as the option's own validator does; on a StringValue,
            # the wrapped string's characters.
            "length",
            "string, StringValue and bytes fields (or repeated fields and maps of them)",
            lambda shape: _wrapped(shape.element) in ("string", "bytes"),
            _length,
        ),
        ValidationOption(
            "value",
            "numbers, strings, their wrappers, Duration and Timestamp",
            lambda shape: _value_parser(shape.element) is not None,
            _value_option,
        ),
        ValidationOption(
            "size",
            "repeated and map fields",
            lambda shape: bool(shape.collection),
            _size,
        ),
        ValidationOption(
            "unique",
            "repeated fields",
            lambda shape: shape.collection == "repeated",
            _unique,
        ),
        ValidationOption(
            # On a message it bounds the size of the message serialized.
            "bytes",
            "string, bytes and message fields",
            lambda shape: shape.element in ("string", "bytes") or shape.is_message,
            _bytes,
        ),
        ValidationOption(
            "map_key",
            "map fields",
            lambda shape: shape.collection == "map",
            _map_key,
        ),
    )
}


def field_rules(
    options: Mapping[str, OptionValue],
    shape: FieldShape,
    problem: Callable[[str, str], None],
) -> FieldRules:
    """The constraints of a field from its validation options, by option name (`length`...).

    An option that is unknown, does not apply to the field's type or does not read is left
    out, and reported through `problem(option, message)`."""
    found: list[Constraint] = []
    for name, value in options.items():
        option = OPTIONS.get(name)
        if option is None:
            problem(name, "not a validation option this plugin knows")
        elif not option.applies(shape):
            problem(name, f"applies only to {option.applies_to}")
        else:
            try:
                found.extend(option.meaning(value, shape))
            except RuleError as error:
                problem(name, f"invalid value: {error}")
    found.sort(key=lambda constraint: CONSTRAINT_ORDER.index(constraint.kind))
    return FieldRules(tuple(found))
