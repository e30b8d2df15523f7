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
from typing import Iterable, Iterator, Mapping, Union, cast

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

from .errors import Violation

Number = Union[int, float]
# Top-level fields to check, each with the map keys to check (None: the whole field).
Selection = Mapping[str, Union[frozenset[str], None]]

_DURATION = "google.protobuf.Duration"


@dataclass(frozen=True)
class Bound:
    low: Number | None = None
    high: Number | None = None
    low_inclusive: bool = True
    high_inclusive: bool = True
    allowed: tuple[Union[Number, str], ...] = ()

    def admits(self, value: Union[Number, str]) -> bool:
        if self.allowed:
            return value in self.allowed
        if isinstance(value, str) or value != value:  # NaN is inside no range
            return False
        if self.low is not None and (
            value < self.low or (value == self.low and not self.low_inclusive)
        ):
            return False
        if self.high is not None and (
            value > self.high or (value == self.high and not self.high_inclusive)
        ):
            return False
        return True


@dataclass(frozen=True)
class Check:
    """One constraint and the sentence that says what it expects."""

    kind: str  # required, length, pattern, value, size, unique, bytes, key_*
    sentence: str
    bound: Bound | None = None
    pattern: str = ""


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


def _key_path(path: str, key: object) -> str:
    """`labels.my_key`; keys that are not plain identifiers are quoted with backticks."""
    text = str(key).lower() if isinstance(key, bool) else str(key)
    if re.fullmatch(r"[A-Za-z0-9_]+", text):
        return f"{path}.{text}"
    return f"{path}.`{text.replace('`', '``')}`"


def _number(value: object) -> Union[Number, str]:
    """A comparable form of a scalar, or of a Duration (nanoseconds)."""
    if isinstance(value, Message) and value.DESCRIPTOR.full_name == _DURATION:
        seconds: int = getattr(value, "seconds")
        nanos: int = getattr(value, "nanos")
        return seconds * 10**9 + nanos
    if isinstance(value, (int, float, str)):
        return value
    return str(value)


def _element_fails(check: Check, value: object) -> bool:
    if check.kind in ("length", "key_length"):
        return isinstance(value, str) and not _admits(check, len(value))
    if check.kind in ("pattern", "key_pattern"):
        return (
            isinstance(value, str) and _compiled(check.pattern).fullmatch(value) is None
        )
    if check.kind in ("value", "key_value"):
        return not _admits(check, _number(value))
    if check.kind == "bytes":
        size = len(value.encode("utf-8")) if isinstance(value, str) else len(value)  # type: ignore[arg-type]
        return not _admits(check, size)
    return False


def _admits(check: Check, value: Union[Number, str]) -> bool:
    return check.bound is None or check.bound.admits(value)


_KEY_CHECKS = frozenset({"key_length", "key_pattern", "key_value"})
_ELEMENT_CHECKS = frozenset({"length", "pattern", "value", "bytes"})


class Validator:
    """Checks messages against the rules of their types."""

    def __init__(self, registry: Mapping[str, MessageRules]) -> None:
        self._registry = registry

    def violations(
        self, message: Message, selection: Selection | None = None
    ) -> list[Violation]:
        """Every violation in `message`; with a selection, only in the selected fields."""
        return list(self._message(message, "", selection))

    def _message(
        self, message: Message, prefix: str, selection: Selection | None
    ) -> Iterator[Violation]:
        rules = self._registry.get(message.DESCRIPTOR.full_name)
        if rules is None:
            return
        fields = message.DESCRIPTOR.fields_by_name
        for field_rules in rules.fields:
            if selection is not None and field_rules.name not in selection:
                continue
            keys = selection.get(field_rules.name) if selection is not None else None
            descriptor = cast(FieldDescriptor, fields[field_rules.name])
            yield from self._field(message, descriptor, field_rules, prefix, keys)
        for oneof in rules.oneofs:
            if selection is not None and not any(f in selection for f in oneof.fields):
                continue
            if sum(message.HasField(name) for name in oneof.fields) != 1:
                yield Violation(prefix + oneof.name, oneof.sentence)

    def _field(
        self,
        message: Message,
        descriptor: FieldDescriptor,
        rules: FieldRules,
        prefix: str,
        keys: frozenset[str] | None,
    ) -> Iterator[Violation]:
        path = prefix + descriptor.name
        value = getattr(message, descriptor.name)
        is_map = descriptor.message_type is not None and (
            descriptor.message_type.GetOptions().map_entry
        )
        if is_map:
            present = bool(value)
            if keys is not None:
                items = [(key, value[key]) for key in sorted(keys) if key in value]
            else:
                items = sorted(value.items())
            elements: list[tuple[str, object, object]] = [
                (_key_path(path, key), key, item) for key, item in items
            ]
        elif descriptor.is_repeated:
            present = len(value) > 0
            elements = [(f"{path}[{i}]", None, item) for i, item in enumerate(value)]
        else:
            present = _is_set(message, descriptor)
            elements = [(path, None, value)] if present else []
        for check in rules.checks:
            yield from self._apply(check, path, present, value, elements, keys)
        if rules.message:
            for element_path, _, item in elements:
                if isinstance(item, Message):
                    yield from self._message(item, element_path + ".", None)

    def _apply(
        self,
        check: Check,
        path: str,
        present: bool,
        value: object,
        elements: Iterable[tuple[str, object, object]],
        keys: frozenset[str] | None,
    ) -> Iterator[Violation]:
        if check.kind == "required":
            if not present:
                yield Violation(path, check.sentence)
        elif check.kind == "size":
            # Per-key updates are checked against the merged map by the caller.
            if present and keys is None and not _admits(check, len(value)):  # type: ignore[arg-type]
                yield Violation(path, check.sentence)
        elif check.kind == "unique":
            items = list(value)  # type: ignore[call-overload]
            if len(items) != len({_hashable(item) for item in items}):
                yield Violation(path, check.sentence)
        elif check.kind in _KEY_CHECKS:
            for element_path, key, _ in elements:
                if _element_fails(check, key):
                    yield Violation(element_path, check.sentence)
        elif check.kind in _ELEMENT_CHECKS:
            for element_path, _, item in elements:
                if _element_fails(check, item):
                    yield Violation(element_path, check.sentence)


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
            if check.kind == "size":
                count = len(getattr(resource, field_rules.name))
                if count and not _admits(check, count):
                    found.append(Violation(field_rules.name, check.sentence))
    return found


def _is_set(message: Message, descriptor: FieldDescriptor) -> bool:
    if descriptor.has_presence:
        return message.HasField(descriptor.name)
    return bool(getattr(message, descriptor.name) != descriptor.default_value)


def _hashable(item: object) -> object:
    return (
        item.SerializeToString(deterministic=True)
        if isinstance(item, Message)
        else item
    )
