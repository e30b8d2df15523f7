"""Valid example values for the fields of an API, built from the model's validation rules.

`string_example` makes a string that fully matches a regular expression (Python's `re`, as the
generated server matches) within length bounds, by walking the pattern's parse tree
(`re._parser`): each node's shortest and longest match are worked out, a target length is shared
out among the parts, and the result is checked with `re.fullmatch`. `variant` picks other
characters and alternatives, so that variants 0, 1, 2... give different values where the
pattern allows any. Everything is deterministic.

`RequestBuilder` fills a protobuf message so that it passes the service's own validation:
required fields, `exactly_one` oneofs, patterns, lengths, byte sizes, value bounds (numbers,
wrappers, Duration, Timestamp), element counts, uniqueness, map keys, and the rules of the
nested messages it sets.
"""

from __future__ import annotations

import math
import re
import string
from re import _constants as sre  # type: ignore[attr-defined]
from re import _parser as sre_parse  # type: ignore[attr-defined]
from typing import Any, Iterable, Sequence

from google.protobuf.message import Message

from generator.model import Api, Field, Kind
from generator.model import Message as MessageSpec
from generator.rules import (
    DURATION,
    FLOAT_SCALARS,
    NUMBER_WRAPPERS,
    TIMESTAMP,
    Constraint,
    FieldRules,
)
from generator.runtime.contract import Bound

INFINITE = 10**9
DEFAULT_LENGTH = 8  # of strings, when the bounds allow it
# Characters to pick from, most ordinary first: a variant rotates through what a set admits.
ALPHABET = (
    string.ascii_lowercase
    + string.digits
    + string.ascii_uppercase
    + "-_.:/@ +=,!#$%&'*;<>?^`|~()[]{}\"\\"
    + "ёЁяЯ"
)
# Nanoseconds: the default Duration (1 s) and Timestamp (2023-11-14T22:13:20Z).
_SECOND = 10**9
_SOME_TIME = 1_700_000_000 * _SECOND
_INTEGER_RANGES = {
    "int32": (-(2**31), 2**31 - 1),
    "sint32": (-(2**31), 2**31 - 1),
    "sfixed32": (-(2**31), 2**31 - 1),
    "uint32": (0, 2**32 - 1),
    "fixed32": (0, 2**32 - 1),
    "int64": (-(2**63), 2**63 - 1),
    "sint64": (-(2**63), 2**63 - 1),
    "sfixed64": (-(2**63), 2**63 - 1),
    "uint64": (0, 2**64 - 1),
    "fixed64": (0, 2**64 - 1),
}
_MAX_DEPTH = 8  # of nested required messages


class NoExample(ValueError):
    """No value satisfies the rules (or this generator cannot find one); says why."""


# --- strings from regular expressions ----------------------------------------------------------


def _interval(bound: Bound | None) -> tuple[int, int]:
    """An integer bound as an inclusive interval."""
    if bound is None:
        return 0, INFINITE
    if bound.allowed:
        numbers = [int(v) for v in bound.allowed if isinstance(v, (int, float))]
        return (min(numbers), max(numbers)) if numbers else (0, INFINITE)
    low = 0 if bound.low is None else math.ceil(bound.low) + (not bound.low_inclusive)
    high = (
        INFINITE
        if bound.high is None
        else math.floor(bound.high) - (not bound.high_inclusive)
    )
    return max(low, 0), high


class _Walk:
    """One walk over a parsed pattern, emitting a string of a target length."""

    def __init__(self, variant: int) -> None:
        self.variant = variant
        self.groups: dict[int, str] = {}
        self._bounds: dict[int, tuple[int, int]] = {}

    def bounds(self, items: Sequence[Any]) -> tuple[int, int]:
        low = high = 0
        for item in items:
            item_low, item_high = self._node_bounds(item)
            low, high = low + item_low, min(INFINITE, high + item_high)
        return low, high

    def _node_bounds(self, node: tuple[Any, Any]) -> tuple[int, int]:
        op, argument = node
        if op in (sre.LITERAL, sre.NOT_LITERAL, sre.ANY, sre.IN):
            return 1, 1
        if op is sre.BRANCH:
            found = [self.bounds(branch) for branch in argument[1]]
            return min(f[0] for f in found), max(f[1] for f in found)
        if op is sre.SUBPATTERN:
            return self.bounds(argument[3])
        if op in (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT):
            low, high, inner = argument
            inner_low, inner_high = self.bounds(inner)
            high = INFINITE if high is sre.MAXREPEAT else high
            return min(INFINITE, low * inner_low), min(INFINITE, high * inner_high)
        if op is sre.ATOMIC_GROUP:
            return self.bounds(argument)
        if op is sre.GROUPREF:
            return 0, INFINITE
        return 0, 0  # AT, ASSERT, ASSERT_NOT: no characters

    def sequence(self, items: Sequence[Any], target: int) -> str:
        spans = [self._node_bounds(item) for item in items]
        extra = target - sum(low for low, _ in spans)
        out = []
        for item, (low, high) in zip(items, spans):
            share = max(0, min(extra, high - low))
            extra -= share
            out.append(self.node(item, low + share))
        return "".join(out)

    def node(self, node: tuple[Any, Any], target: int) -> str:
        op, argument = node
        if op is sre.LITERAL:
            return chr(argument)
        if op is sre.NOT_LITERAL:
            return self._pick(lambda c: ord(c) != argument)
        if op is sre.ANY:
            return self._pick(lambda c: c != "\n")
        if op is sre.IN:
            return self._pick(lambda c: _in_set(c, argument), argument)
        if op is sre.BRANCH:
            branches = argument[1]
            spans = [self.bounds(branch) for branch in branches]
            fitting = [b for b, (lo, hi) in zip(branches, spans) if lo <= target <= hi]
            if not fitting:  # the closest first
                fitting = [
                    branch
                    for _, _, branch in sorted(
                        (min(abs(target - lo), abs(target - hi)), index, branch)
                        for index, (branch, (lo, hi)) in enumerate(zip(branches, spans))
                    )
                ]
            return self.sequence(fitting[self.variant % len(fitting)], target)
        if op is sre.SUBPATTERN:
            group, _, _, inner = argument
            text = self.sequence(inner, target)
            if group is not None:
                self.groups[group] = text
            return text
        if op is sre.ATOMIC_GROUP:
            return self.sequence(argument, target)
        if op in (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT):
            return self._repeat(argument, target)
        if op is sre.GROUPREF:
            return self.groups.get(argument, "")
        return ""  # AT, ASSERT, ASSERT_NOT

    def _repeat(self, argument: tuple[int, Any, Sequence[Any]], target: int) -> str:
        low, high, inner = argument
        high = INFINITE if high is sre.MAXREPEAT else high
        inner_low, inner_high = self.bounds(inner)
        if inner_high == 0:
            count = low
        else:
            count = min(high, max(low, -(-target // inner_high)))
            if inner_low and count * inner_low > target:
                count = max(low, target // inner_low)
        extra = target - count * inner_low
        out = []
        for _ in range(count):
            share = max(0, min(extra, inner_high - inner_low))
            extra -= share
            out.append(self.sequence(inner, inner_low + share))
        return "".join(out)

    def _pick(self, admits: Any, items: Sequence[Any] = ()) -> str:
        candidates = [c for c in ALPHABET if admits(c)]
        if not candidates:  # a set of characters outside ALPHABET only
            for op, argument in items:
                if op is sre.LITERAL:
                    candidates.append(chr(argument))
                elif op is sre.RANGE:
                    candidates.append(chr(argument[0]))
        if not candidates:
            raise NoExample("a character set that admits no character tried")
        return candidates[self.variant % len(candidates)]


_CATEGORIES = {
    sre.CATEGORY_DIGIT: str.isdigit,
    sre.CATEGORY_NOT_DIGIT: lambda c: not c.isdigit(),
    sre.CATEGORY_SPACE: str.isspace,
    sre.CATEGORY_NOT_SPACE: lambda c: not c.isspace(),
    sre.CATEGORY_WORD: lambda c: c.isalnum() or c == "_",
    sre.CATEGORY_NOT_WORD: lambda c: not (c.isalnum() or c == "_"),
}


def _in_set(char: str, items: Sequence[Any]) -> bool:
    negate = False
    found = False
    for op, argument in items:
        if op is sre.NEGATE:
            negate = True
        elif op is sre.LITERAL:
            found = found or ord(char) == argument
        elif op is sre.RANGE:
            found = found or argument[0] <= ord(char) <= argument[1]
        elif op is sre.CATEGORY:
            found = found or _CATEGORIES[argument](char)
    return found != negate


def string_example(
    pattern: str = "",
    length: Bound | None = None,
    size: Bound | None = None,
    variant: int = 0,
    minimum: int = 1,
) -> str:
    """A string that fully matches `pattern` (any string if ""), whose length in characters is
    within `length` and in UTF-8 bytes within `size`, at least `minimum` long; raises NoExample.
    """
    low, high = _interval(length)
    size_low, size_high = _interval(size)
    low = max(low, minimum, -(-size_low // 4))  # a character takes 1-4 bytes
    parsed = sre_parse.parse(pattern or "[a-z]*")
    pattern_low, pattern_high = _Walk(variant).bounds(list(parsed))
    low, high = max(low, pattern_low), min(high, pattern_high, size_high)
    if low > high:
        raise NoExample(
            f"pattern {pattern!r} matches {pattern_low}-{pattern_high} characters, "
            f"outside the bounds {_interval(length)}"
        )
    compiled = re.compile(pattern) if pattern else None
    # Variants differ in length too, for patterns that fix every character of the shortest match.
    preferred = min(max(DEFAULT_LENGTH, low) + variant % 3, high)
    targets = dict.fromkeys(
        [preferred, low, min(low + 1, high), min(high, low + 16), high]
        + list(range(low, min(high, low + 64) + 1))
    )
    for target in targets:
        for shift in range(4):
            text = _Walk(variant + shift).sequence(list(parsed), target)
            if (
                (compiled is None or compiled.fullmatch(text))
                and _interval(length)[0] <= len(text) <= _interval(length)[1]
                and size_low <= len(text.encode()) <= size_high
                and len(text) >= minimum
            ):
                return text
    raise NoExample(f"no string found for pattern {pattern!r} in bounds {low}-{high}")


# --- numbers -----------------------------------------------------------------------------------


def number_example(
    bound: Bound | None,
    scalar: str,
    variant: int = 0,
    nonzero: bool = False,
    start: int = 1,
    step: int = 1,
) -> int | float:
    """A number of the proto scalar type within `bound` (around `start`, `step` apart per
    variant); non-zero if asked. Duration and Timestamp bounds come in nanoseconds."""
    is_float = scalar in FLOAT_SCALARS
    kind_low, kind_high = _INTEGER_RANGES.get(scalar, (-math.inf, math.inf))
    if bound is not None and bound.allowed:
        values = [v for v in bound.allowed if not (nonzero and v == 0)]
        if not values:
            raise NoExample(f"no non-zero value in {bound}")
        value = values[variant % len(values)]
        return float(value) if is_float else int(value)
    low = bound.low if bound is not None and bound.low is not None else kind_low
    high = bound.high if bound is not None and bound.high is not None else kind_high
    low, high = max(low, kind_low), min(high, kind_high)
    shift = step * variant
    candidates = [start + shift, low + shift, low + shift + 1, high - shift]
    candidates += [high - shift - 1, (low + high) / 2, low + 0.5, high - 0.5]
    for candidate in candidates:
        if not math.isfinite(candidate):
            continue
        value = float(candidate) if is_float else int(candidate)
        if not is_float and value != candidate:
            continue
        if nonzero and value == 0:
            continue
        if kind_low <= value <= kind_high and (bound is None or bound.admits(value)):
            return value
    raise NoExample(f"no {scalar} value found within {bound}")


# --- messages ----------------------------------------------------------------------------------

_UNTOUCHED_MESSAGES = frozenset(
    "google.protobuf." + name
    for name in ("Any", "Empty", "FieldMask", "Struct", "Value", "ListValue")
)


class RequestBuilder:
    """Fills protobuf messages (of any pool) from the model of their API."""

    def __init__(self, api: Api) -> None:
        self.api = api

    def fill(
        self,
        message: Message,
        include: Iterable[str] = (),
        variant: int = 0,
        skip: Iterable[str] = (),
    ) -> None:
        """Sets the message's required fields, one member of each `exactly_one` oneof, and the
        fields named in `include`, recursively through the messages it sets, all valid; leaves
        the fields in `skip` alone. Raises NoExample naming the field it could not fill.
        """
        self._fill(message, set(include), set(skip), variant, 0)

    def set_field(self, message: Message, name: str, variant: int = 0) -> None:
        """Sets one field of `message` (clearing it first) to a valid value."""
        spec = self.api.message(message.DESCRIPTOR.full_name)
        field = spec.field(name)
        assert field is not None, f"{spec.full_name} has no field {name}"
        message.ClearField(name)
        self._set(message, field, variant, 0)

    def _fill(
        self,
        message: Message,
        include: set[str],
        skip: set[str],
        variant: int,
        depth: int,
    ) -> None:
        spec = self.api.messages.get(message.DESCRIPTOR.full_name)
        if spec is None:
            return
        if depth > _MAX_DEPTH:
            raise NoExample(f"{spec.full_name}: required messages nest too deep")
        chosen_oneofs: set[str] = set()
        for oneof in spec.oneofs:
            if oneof.exactly_one and not any(name in skip for name in oneof.fields):
                member = _pick_member(spec, oneof.fields, include)
                self._set(message, spec.field(member), variant, depth)  # type: ignore[arg-type]
                chosen_oneofs.add(oneof.name)
        for field in spec.fields:
            if field.name in skip or (field.oneof and field.oneof in chosen_oneofs):
                continue
            if field.rules.required or field.name in include:
                self._set(message, field, variant, depth)
                if field.oneof:
                    chosen_oneofs.add(field.oneof)

    def _set(self, message: Message, field: Field, variant: int, depth: int) -> None:
        try:
            self._set_field(message, field, variant, depth)
        except NoExample as error:
            if str(error).startswith(message.DESCRIPTOR.full_name):
                raise
            raise NoExample(
                f"{message.DESCRIPTOR.full_name}.{field.name}: {error}"
            ) from None

    def _set_field(
        self, message: Message, field: Field, variant: int, depth: int
    ) -> None:
        rules = field.rules
        size = rules.get("size")
        count_low, _ = _interval(size.bound if size else None)
        count = max(count_low, 1)
        if field.is_map:
            target = getattr(message, field.name)
            assert field.map_key is not None and field.map_value is not None
            keys: list[Any] = []
            for index in range(count * 4):
                key = self._key(field, variant + index)
                if key not in keys:
                    keys.append(key)
                if len(keys) == count:
                    break
            if len(keys) < count:
                raise NoExample(f"fewer than {count} distinct keys")
            for index, key in enumerate(keys):
                if field.map_value.kind is Kind.MESSAGE:
                    self._fill_message(
                        target[key], field.map_value.name, rules, variant + index, depth
                    )
                else:
                    target[key] = self._element(field, variant + index, True)
        elif field.repeated:
            target = getattr(message, field.name)
            seen: list[Any] = []
            for index in range(count * 4):
                if len(seen) == count:
                    break
                if field.type.kind is Kind.MESSAGE:
                    item = target.add()
                    self._fill_message(
                        item, field.type.name, rules, variant + index, depth
                    )
                    encoded = item.SerializeToString(deterministic=True)
                    if rules.get("unique") and encoded in seen:
                        del target[-1]
                        continue
                    seen.append(encoded)
                else:
                    value = self._element(field, variant + index, True)
                    if rules.get("unique") and value in seen:
                        continue
                    target.append(value)
                    seen.append(value)
            if len(seen) < count:
                raise NoExample(f"fewer than {count} distinct elements")
        elif field.type.kind is Kind.MESSAGE:
            self._fill_message(
                getattr(message, field.name), field.type.name, rules, variant, depth
            )
        else:
            setattr(message, field.name, self._element(field, variant, rules.required))

    def _fill_message(
        self, message: Message, name: str, rules: FieldRules, variant: int, depth: int
    ) -> None:
        """A message-typed value: wrappers, Duration and Timestamp within the field's `value`
        bound, other messages with their own rules."""
        message.SetInParent()
        value = rules.get("value")
        bound = value.bound if value else None
        if name in NUMBER_WRAPPERS:
            scalar = NUMBER_WRAPPERS[name]
            if scalar == "string":
                setattr(message, "value", _allowed_string(bound, variant))
            else:
                setattr(message, "value", number_example(bound, scalar, variant))
        elif name in (DURATION, TIMESTAMP):
            start = _SECOND if name == DURATION else _SOME_TIME
            nanos = int(
                number_example(bound, "int64", variant, start=start, step=_SECOND)
            )
            if name == DURATION:
                # Duration's seconds and nanos share a sign.
                setattr(message, "seconds", int(nanos / _SECOND))
                setattr(message, "nanos", nanos - int(nanos / _SECOND) * _SECOND)
            else:
                setattr(message, "seconds", nanos // _SECOND)
                setattr(message, "nanos", nanos % _SECOND)
        elif name not in _UNTOUCHED_MESSAGES:
            self._fill(message, set(), set(), variant, depth + 1)

    def _element(self, field: Field, variant: int, nonzero: bool) -> Any:
        """A valid scalar or enum value for one element of the field."""
        kind = field.map_value or field.type
        rules = field.rules
        if kind.kind is Kind.ENUM:
            numbers = [v.number for v in self.api.enums[kind.name].values]
            chosen = [n for n in numbers if n != 0] or numbers
            return chosen[variant % len(chosen)]
        value = rules.get("value")
        bound = value.bound if value else None
        if kind.scalar == "string":
            if bound is not None and bound.allowed:
                return _allowed_string(bound, variant, rules.get("pattern"))
            return string_example(
                _pattern(rules.get("pattern")),
                _bound(rules.get("length")),
                _bound(rules.get("bytes")),
                variant,
            )
        if kind.scalar == "bytes":
            low, high = _interval(_bound(rules.get("length")))
            size_low, size_high = _interval(_bound(rules.get("bytes")))
            length = min(max(DEFAULT_LENGTH, low, size_low), high, size_high)
            if length < max(low, size_low):
                raise NoExample("no byte string within the bounds")
            return bytes([97 + variant % 26]) * length
        if kind.scalar == "bool":
            return nonzero or variant % 2 == 0
        return number_example(bound, kind.scalar, variant, nonzero)

    def _key(self, field: Field, variant: int) -> Any:
        assert field.map_key is not None
        rules = field.rules
        key_value = rules.get("key_value")
        bound = key_value.bound if key_value else None
        if field.map_key.scalar == "string":
            if bound is not None and bound.allowed:
                return _allowed_string(bound, variant, rules.get("key_pattern"))
            return string_example(
                _pattern(rules.get("key_pattern")),
                _bound(rules.get("key_length")),
                variant=variant,
            )
        if field.map_key.scalar == "bool":
            return variant % 2 == 0
        return number_example(bound, field.map_key.scalar, variant)


def _pick_member(spec: MessageSpec, members: Sequence[str], include: set[str]) -> str:
    """The oneof member to set: one that `include` names, else the first scalar one, else the
    first."""
    for name in members:
        if name in include:
            return name
    for name in members:
        field = spec.field(name)
        if field is not None and field.type.kind is not Kind.MESSAGE:
            return name
    return members[0]


def _bound(constraint: Constraint | None) -> Bound | None:
    return constraint.bound if constraint else None


def _pattern(constraint: Constraint | None) -> str:
    return constraint.pattern if constraint else ""


def _allowed_string(
    bound: Bound | None, variant: int, pattern: Constraint | None = None
) -> str:
    """One of the strings a `value` list allows (that the pattern also admits)."""
    values = [str(v) for v in (bound.allowed if bound else ()) if v != ""]
    if pattern is not None:
        values = [v for v in values if re.fullmatch(pattern.pattern, v)]
    if not values:
        if bound is None:
            return string_example(variant=variant)
        raise NoExample(f"no allowed value in {bound} fits")
    return values[variant % len(values)]


def admits(rules: FieldRules, value: str) -> bool:
    """Whether a string value passes a field's pattern, length, byte-size and value rules."""
    for constraint in rules.constraints:
        if constraint.kind == "pattern" and not re.fullmatch(constraint.pattern, value):
            return False
        bound = constraint.bound
        if bound is None:
            continue
        if constraint.kind == "length" and not bound.admits(len(value)):
            return False
        if constraint.kind == "bytes" and not bound.admits(len(value.encode())):
            return False
        if constraint.kind == "value" and bound.allowed and value not in bound.allowed:
            return False
    return True
