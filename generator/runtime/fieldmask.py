"""Update masks: which request fields an Update writes into the resource, and how.

The request's updatable fields mirror fields of the resource by name. A path names one of them,
in snake_case or camelCase; it may go into a message field (`spec.cores`), or name a single map
key (AIP-161: `labels.env`, or ``labels.`a.b` `` for keys with other characters), which sets that
key, or removes it when the request's map lacks it. Maps and repeated fields named as a whole are
replaced wholesale. No mask, or an empty one, writes every updatable field: unset ones reset to
their defaults.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable, Iterator, Mapping, Sequence

from google.protobuf.field_mask_pb2 import FieldMask
from google.protobuf.message import Message

from .contract import MaskKind

SCALAR, MESSAGE, MAP, REPEATED = (
    MaskKind.SCALAR,
    MaskKind.MESSAGE,
    MaskKind.MAP,
    MaskKind.REPEATED,
)

_PARSED_MASKS = 256  # distinct masks remembered per spec
_SEGMENT = re.compile(r"`((?:[^`]|``)*)`|([^.`]+)")


class MaskError(ValueError):
    """A path the mask cannot contain; str() names it and the allowed paths."""

    def __init__(self, path: str, reason: str, allowed: Sequence[str]) -> None:
        super().__init__(
            f"invalid update_mask path {_echo(path)!r}: {reason}; "
            f"allowed paths: {', '.join(allowed)}"
        )
        self.path = path


def _echo(text: str, limit: int = 100) -> str:
    """A path from the request, cut if long, for messages (servers send them back)."""
    return text if len(text) <= limit else text[:limit] + "…(truncated)"


@dataclass(frozen=True)
class MaskField:
    name: str
    json_name: str
    kind: MaskKind = SCALAR
    fields: tuple["MaskField", ...] = ()  # sub-fields of a MESSAGE

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", MaskKind(self.kind))

    @property
    def by_name(self) -> Mapping[str, "MaskField"]:
        return _index(self.fields)


@dataclass(frozen=True)
class Path:
    """A validated path: field names from the top, and a map key if it ends in one."""

    names: tuple[str, ...]
    key: str | None = None

    def text(self) -> str:
        if self.key is None:
            return ".".join(self.names)
        return ".".join(self.names) + "." + _quote_key(self.key)


def _index(fields: Sequence[MaskField]) -> dict[str, MaskField]:
    found: dict[str, MaskField] = {}
    for item in fields:
        found[item.name] = item
        found[item.json_name] = item
    return found


def _quote_key(key: str) -> str:
    if re.fullmatch(r"[A-Za-z0-9_-]+", key):
        return key
    return "`" + key.replace("`", "``") + "`"


def _segments(path: str) -> list[str] | None:
    segments, position = [], 0
    while position <= len(path):
        match = _SEGMENT.match(path, position)
        if match is None:
            return None
        quoted, plain = match.groups()
        segments.append(quoted.replace("``", "`") if quoted is not None else plain)
        position = match.end()
        if position == len(path):
            return segments
        if path[position] != ".":
            return None
        position += 1
    return None


@dataclass(frozen=True)
class MaskSpec:
    """The updatable fields of one update request."""

    fields: tuple[MaskField, ...]
    _by_name: Mapping[str, MaskField] = field(init=False, repr=False, compare=False)
    # Parsed masks by their paths: clients send the same few masks again and again.
    _parsed: dict[tuple[str, ...], tuple[Path, ...]] = field(
        init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_name", _index(self.fields))
        object.__setattr__(self, "_parsed", {})

    @property
    def allowed_paths(self) -> tuple[str, ...]:
        return tuple(_allowed(self.fields, ""))

    def parse(self, mask: FieldMask | None) -> tuple[Path, ...]:
        """The mask's paths, validated; every updatable field for no or an empty mask."""
        texts = tuple(mask.paths) if mask is not None else ()
        parsed = self._parsed.get(texts)
        if parsed is None:
            if texts:
                parsed = tuple(self._parse_path(text) for text in texts)
            else:
                parsed = tuple(Path((item.name,)) for item in self.fields)
            if len(self._parsed) >= _PARSED_MASKS:
                self._parsed.clear()
            self._parsed[texts] = parsed
        return parsed

    def _parse_path(self, text: str) -> Path:
        segments = _segments(text)
        if not segments or any(segment == "" for segment in segments):
            raise MaskError(text, "not a field path", self.allowed_paths)
        names: list[str] = []
        fields = self._by_name
        for index, segment in enumerate(segments):
            item = fields.get(segment)
            if item is None:
                reason = (
                    "no such updatable field"
                    if not names
                    else f"{'.'.join(names)} has no updatable field {_echo(segment)!r}"
                )
                raise MaskError(text, reason, self.allowed_paths)
            names.append(item.name)
            rest = segments[index + 1 :]
            if not rest:
                return Path(tuple(names))
            if item.kind == MAP and len(rest) == 1:
                return Path(tuple(names), rest[0])
            if item.kind == MAP:
                reason = f"{'.'.join(names)} is a map: name one key, in backticks if it has dots"
                raise MaskError(text, reason, self.allowed_paths)
            if item.kind != MESSAGE:
                raise MaskError(
                    text, f"{'.'.join(names)} has no sub-fields", self.allowed_paths
                )
            fields = item.by_name
        raise MaskError(text, "not a field path", self.allowed_paths)

    def canonical(self, mask: FieldMask) -> FieldMask:
        """snake_case paths, sorted, without duplicates or paths a shorter one covers."""
        paths = sorted(
            {path.text(): path for path in self.parse(mask)}.values(), key=_order
        )
        kept: list[Path] = []
        for path in paths:
            if not any(_covers(shorter, path) for shorter in kept):
                kept.append(path)
        return FieldMask(paths=[path.text() for path in kept])

    def apply(self, request: Message, resource: Message, paths: Sequence[Path]) -> None:
        """Writes the request's values at `paths` into the resource."""
        for path in paths:
            source, target = request, resource
            for name in path.names[:-1]:
                source, target = getattr(source, name), getattr(target, name)
            _copy(source, target, path.names[-1], path.key)

    def changes(self, old: Message, new: Message) -> FieldMask:
        """A mask of the updatable fields whose values differ between two resources."""
        return FieldMask(paths=list(_changed(self.fields, old, new, "")))


def _order(path: Path) -> tuple[tuple[str, ...], str]:
    return (path.names, path.key or "")


def _covers(shorter: Path, longer: Path) -> bool:
    if shorter.key is not None:
        return shorter == longer
    return longer.names[: len(shorter.names)] == shorter.names


def _allowed(fields: Sequence[MaskField], prefix: str) -> Iterator[str]:
    for item in fields:
        yield prefix + item.name
        if item.kind == MAP:
            yield f"{prefix}{item.name}.<key>"
        yield from _allowed(item.fields, f"{prefix}{item.name}.")


def _copy(source: Message, target: Message, name: str, key: str | None) -> None:
    if key is None:
        _copier(source.DESCRIPTOR.full_name, name, source)(source, target, name)
        return
    source_map, target_map = getattr(source, name), getattr(target, name)
    if key in source_map:
        if hasattr(target_map[key], "CopyFrom"):
            target_map[key].CopyFrom(source_map[key])
        else:
            target_map[key] = source_map[key]
    elif key in target_map:
        del target_map[key]


Copier = Callable[[Message, Message, str], None]
_copiers: dict[tuple[str, str], Copier] = {}


def _copier(message: str, name: str, example: Message) -> Copier:
    """How to copy one field, decided once per message type and field."""
    found = _copiers.get((message, name))
    if found is None:
        descriptor = example.DESCRIPTOR.fields_by_name[name]
        entry = descriptor.message_type
        if descriptor.is_repeated:
            found = _copy_repeated
            if entry is not None and entry.GetOptions().map_entry:
                value = entry.fields_by_name["value"]
                found = (
                    _copy_scalar_map
                    if value.message_type is None
                    else _copy_message_map
                )
        elif entry is not None or descriptor.has_presence:
            found = _copy_present
        else:
            found = _copy_scalar
        _copiers[(message, name)] = found
    return found


def _copy_repeated(source: Message, target: Message, name: str) -> None:
    target.ClearField(name)
    getattr(target, name).extend(getattr(source, name))


def _copy_scalar_map(source: Message, target: Message, name: str) -> None:
    target.ClearField(name)
    getattr(target, name).update(getattr(source, name))


def _copy_message_map(source: Message, target: Message, name: str) -> None:
    target.ClearField(name)
    target_map = getattr(target, name)
    for key, value in getattr(source, name).items():
        target_map[key].CopyFrom(value)


def _copy_present(source: Message, target: Message, name: str) -> None:
    """A field with presence: a message, a oneof member, a proto3 `optional`."""
    if not source.HasField(name):
        target.ClearField(name)
    elif isinstance(value := getattr(source, name), Message):
        getattr(target, name).CopyFrom(value)
    else:
        setattr(target, name, value)


def _copy_scalar(source: Message, target: Message, name: str) -> None:
    setattr(target, name, getattr(source, name))


def _changed(
    fields: Sequence[MaskField], old: Message, new: Message, prefix: str
) -> Iterator[str]:
    for item in fields:
        old_value, new_value = getattr(old, item.name), getattr(new, item.name)
        if item.kind == MESSAGE and item.fields:
            if _presence_differs(old, new, item.name):
                # Set on one side only: sub-paths cannot set or clear the message itself.
                yield prefix + item.name
                continue
            yield from _changed(
                item.fields, old_value, new_value, f"{prefix}{item.name}."
            )
        elif item.kind in (MAP, REPEATED):
            if _plain(old_value) != _plain(new_value):
                yield prefix + item.name
        elif old_value != new_value or _presence_differs(old, new, item.name):
            yield prefix + item.name


def _plain(value: object) -> object:
    if hasattr(value, "items"):
        return dict(value.items())
    return list(value)  # type: ignore[call-overload]


def _presence_differs(old: Message, new: Message, name: str) -> bool:
    descriptor = old.DESCRIPTOR.fields_by_name[name]
    if not descriptor.has_presence:
        return False
    return bool(old.HasField(name) != new.HasField(name))
