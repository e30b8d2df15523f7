"""Request validation from the `yandex.cloud` validation options.

The generated code describes each message's constraints as data (`MessageRules`), with the
sentence that explains each one; `Validator` checks a message against them and reports every
violation with its field path. Constraints apply to values that are set; `required` forbids unset
values. Element-wise constraints apply to each element of a repeated field and each value of a
map; `key_*` constraints to each map key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable, Iterable, Mapping, Union

from google.protobuf.message import Message

from .contract import Bound, CheckKind
from .errors import Violation

Number = Union[int, float]
# Top-level fields to check, each with the map keys to check (None: the whole field).
Selection = Mapping[str, Union[frozenset[str], None]]

# Messages that `value` bounds as a number of nanoseconds, and wrappers it looks inside.
_NANOSECONDS = frozenset({"google.protobuf.Duration", "google.protobuf.Timestamp"})
_WRAPPERS = frozenset(
    "google.protobuf." + name
    for name in (
        "DoubleValue FloatValue Int64Value UInt64Value Int32Value UInt32Value StringValue"
    ).split()
)


@dataclass(frozen=True)
class Check:
    """One constraint and the sentence that says what it expects."""

    kind: CheckKind
    sentence: str
    bound: Bound | None = None
    pattern: str = ""

    def __post_init__(self) -> None:
        # `"length"` is read as CheckKind.LENGTH; a kind that is none fails at import.
        object.__setattr__(self, "kind", CheckKind(self.kind))


@dataclass(frozen=True)
class FieldRules:
    name: str
    checks: tuple[Check, ...] = ()
    # The message type whose own rules apply to this field's value(s), if it has any.
    message: str = ""


@dataclass(frozen=True)
class OneofRule:
    """`exactly_one`: one member of the oneof must be set."""

    name: str
    fields: tuple[str, ...]
    sentence: str


@dataclass(frozen=True)
class MessageRules:
    fields: tuple[FieldRules, ...] = ()
    oneofs: tuple[OneofRule, ...] = ()


@lru_cache(maxsize=None)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


_PLAIN_KEY = re.compile(r"[A-Za-z0-9_]+")


def _key_path(path: str, key: object) -> str:
    """`labels.my_key`; keys that are not plain identifiers are quoted with backticks."""
    text = str(key).lower() if isinstance(key, bool) else str(key)
    if _PLAIN_KEY.fullmatch(text):
        return f"{path}.{text}"
    return f"{path}.`{text.replace('`', '``')}`"


def _number(value: object) -> Union[Number, str]:
    """A comparable form of a scalar; of a Duration or Timestamp (nanoseconds, since the epoch
    for a Timestamp); of the value inside a wrapper such as Int64Value."""
    if isinstance(value, Message):
        name = value.DESCRIPTOR.full_name
        if name in _NANOSECONDS:
            seconds: int = getattr(value, "seconds")
            nanos: int = getattr(value, "nanos")
            return seconds * 10**9 + nanos
        if name in _WRAPPERS:
            return _number(getattr(value, "value"))
    if isinstance(value, (int, float, str)):
        return value
    return str(value)


def _unwrapped(value: object) -> object:
    """The value inside a wrapper such as StringValue; any other value as it is."""
    if isinstance(value, Message) and value.DESCRIPTOR.full_name in _WRAPPERS:
        return getattr(value, "value")
    return value


def _length_fails(check: Check, value: object) -> bool:
    """Characters of a string (or of the one inside a StringValue), bytes of a bytes value."""
    value = _unwrapped(value)
    return isinstance(value, (str, bytes)) and not _admits(check, len(value))


def _pattern_fails(check: Check, value: object) -> bool:
    value = _unwrapped(value)
    return isinstance(value, str) and _compiled(check.pattern).fullmatch(value) is None


def _value_fails(check: Check, value: object) -> bool:
    return not _admits(check, _number(value))


def _bytes_fails(check: Check, value: object) -> bool:
    """The UTF-8 size of a string, the size of bytes, or of a message serialized."""
    if isinstance(value, Message):
        size = value.ByteSize()
    elif isinstance(value, str):
        size = len(value.encode("utf-8"))
    else:
        size = len(value)  # type: ignore[arg-type]
    return not _admits(check, size)


def _admits(check: Check, value: Union[Number, str]) -> bool:
    return check.bound is None or check.bound.admits(value)


# Checks of each element (each map value), and of each map key, by kind.
_ELEMENT_TESTS: Mapping[CheckKind, Callable[[Check, object], bool]] = {
    CheckKind.LENGTH: _length_fails,
    CheckKind.PATTERN: _pattern_fails,
    CheckKind.VALUE: _value_fails,
    CheckKind.BYTES: _bytes_fails,
}
_KEY_TESTS: Mapping[CheckKind, Callable[[Check, object], bool]] = {
    CheckKind.KEY_LENGTH: _length_fails,
    CheckKind.KEY_PATTERN: _pattern_fails,
    CheckKind.KEY_VALUE: _value_fails,
}


@dataclass(frozen=True)
class _FieldPlan:
    """A field's rules with what validation needs to know of its descriptor, worked out once."""

    rules: FieldRules
    is_map: bool
    is_repeated: bool
    has_presence: bool
    default: object


def _plan(message: Message, rules: MessageRules) -> tuple[_FieldPlan, ...]:
    plans = []
    for field_rules in rules.fields:
        field = message.DESCRIPTOR.fields_by_name[field_rules.name]
        is_map = (
            field.message_type is not None and field.message_type.GetOptions().map_entry
        )
        plans.append(
            _FieldPlan(
                field_rules,
                is_map,
                field.is_repeated,
                field.has_presence,
                field.default_value,
            )
        )
    return tuple(plans)


class Validator:
    """Checks messages against the rules of their types."""

    def __init__(self, registry: Mapping[str, MessageRules]) -> None:
        self._registry = registry
        self._plans: dict[str, tuple[_FieldPlan, ...]] = {}

    def violations(
        self, message: Message, selection: Selection | None = None
    ) -> list[Violation]:
        """Every violation in `message`; with a selection, only in the selected fields."""
        found: list[Violation] = []
        self._message(message, "", selection, found)
        return found

    def _message(
        self,
        message: Message,
        prefix: str,
        selection: Selection | None,
        found: list[Violation],
    ) -> None:
        descriptor = message.DESCRIPTOR
        rules = self._registry.get(descriptor.full_name)
        if rules is None:
            return
        plans = self._plans.get(descriptor.full_name)
        if plans is None:
            plans = self._plans[descriptor.full_name] = _plan(message, rules)
        for plan in plans:
            name = plan.rules.name
            if selection is None:
                self._field(message, plan, prefix, None, found)
            elif name in selection:
                self._field(message, plan, prefix, selection[name], found)
        for oneof in rules.oneofs:
            if selection is not None and not any(f in selection for f in oneof.fields):
                continue
            if sum(message.HasField(name) for name in oneof.fields) != 1:
                found.append(Violation(prefix + oneof.name, oneof.sentence))

    def _field(
        self,
        message: Message,
        plan: _FieldPlan,
        prefix: str,
        keys: frozenset[str] | None,
        found: list[Violation],
    ) -> None:
        rules = plan.rules
        path = prefix + rules.name
        value = getattr(message, rules.name)
        # (map key or list index or None, value); paths are spelled only for violations.
        elements: list[tuple[object, object]]
        if plan.is_map:
            present = bool(value)
            if keys is not None:
                elements = [(key, value[key]) for key in sorted(keys) if key in value]
            else:
                elements = sorted(value.items())
        elif plan.is_repeated:
            present = len(value) > 0
            elements = list(enumerate(value))
        else:
            if plan.has_presence:
                present = message.HasField(rules.name)
            else:
                present = bool(value != plan.default)
            elements = [(None, value)] if present else []

        def element_path(key: object) -> str:
            if plan.is_map:
                return _key_path(path, key)
            return f"{path}[{key}]" if plan.is_repeated else path

        for check in rules.checks:
            kind = check.kind
            element_fails = _ELEMENT_TESTS.get(kind)
            if element_fails is not None:
                for key, item in elements:
                    if element_fails(check, item):
                        found.append(Violation(element_path(key), check.sentence))
                continue
            key_fails = _KEY_TESTS.get(kind)
            if key_fails is not None:
                for key, _ in elements:
                    if key_fails(check, key):
                        found.append(Violation(element_path(key), check.sentence))
            elif kind is CheckKind.REQUIRED:
                if not present:
                    found.append(Violation(path, check.sentence))
            elif kind is CheckKind.SIZE:
                # Per-key updates are checked against the merged map by the caller.
                if present and keys is None and not _admits(check, len(value)):
                    found.append(Violation(path, check.sentence))
            elif kind is CheckKind.UNIQUE:
                items = list(value)
                if len(items) != len({_hashable(item) for item in items}):
                    found.append(Violation(path, check.sentence))
        if rules.message:
            for key, item in elements:
                if isinstance(item, Message):
                    self._message(item, element_path(key) + ".", None, found)


def size_violations(
    resource: Message, rules: MessageRules, names: Iterable[str]
) -> list[Violation]:
    """`size` constraints of a request's rules, checked on the resource after an update: a
    per-key update (`labels.key`) can grow a map past its limit."""
    found = []
    for field_rules in rules.fields:
        if field_rules.name not in names:
            continue
        for check in field_rules.checks:
            if check.kind is CheckKind.SIZE:
                count = len(getattr(resource, field_rules.name))
                if count and not _admits(check, count):
                    found.append(Violation(field_rules.name, check.sentence))
    return found


def _hashable(item: object) -> object:
    return (
        item.SerializeToString(deterministic=True)
        if isinstance(item, Message)
        else item
    )
