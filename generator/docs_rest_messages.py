"""What a message reads as on every REST page it is on, worked out once per message: its fields
with the message each refers to, the messages its rows link to, its comments with references,
its rows' type cells and its JSON skeleton (docs-format-rest.md §6, §8). `docs_rest` puts them
on pages; what depends on the page (anchors, links of references) comes in as arguments.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, NamedTuple, Sequence

from generator.docs_formats import code_list, indent_json
from generator.docs_json import (
    EMPTY,
    OBJECTS,
    WELL_KNOWN_SCALARS,
    WRAPPERS,
    scalar_cell,
    scalar_json,
)
from generator.memos import Memos
from generator.model import Api, Field, Kind, Message, OperationTypes, TypeRef


class Anchors(NamedTuple):
    """How one part of a page anchors its sections: `<message><suffix>`, the suffix of the
    binding (`""`, `2`...); on the response's part, `<message>2<suffix>` for a message that
    the request's part has a section of too (§6.2)."""

    suffix: str
    seconds: frozenset[str] = frozenset()  # the messages anchored with `2`

    def of(self, name: str) -> str:
        return name + ("2" if name in self.seconds else "") + self.suffix

    def key(self, names: tuple[str, ...]) -> tuple[str, ...]:
        """What the anchors of `names` depend on: the part of a key of what shows them."""
        if not names:
            return ()
        return (self.suffix, *[name for name in names if name in self.seconds])


@dataclass(frozen=True, eq=False)
class RestMessage:
    """A message as its section reads it, on an rpc's expanded Operation or not."""

    message: Message
    operation: OperationTypes | None  # the rpc's, on its expanded Operation
    # Each field with the message it refers to (""): on an expanded Operation, `metadata`
    # and `response` refer to the rpc's types, and a response of Empty is gone.
    fields: tuple[tuple[Field, str], ...]
    linked: tuple[
        str, ...
    ]  # the messages with a section that its rows link to, each once
    anchored: tuple[str, ...]  # the message and `linked`: the anchors its section shows
    references: tuple[str, ...]  # the comments its section shows that have a `[`
    oneofs: dict[
        str, str
    ]  # by oneof, its fields (`a`, `b`) as its members' rows list them


class RestMessages:
    """The messages of a run as REST pages read them."""

    def __init__(
        self, api: Api, cyclic: Callable[[], frozenset[str]], memos: Memos
    ) -> None:
        """`cyclic()`: the messages that contain themselves (their JSON depends on where);
        `memos`: where it keeps what pages share (see `Memos`)."""
        self.api = api
        self.cyclic = cyclic
        # §6.3: any message has a section but the well-known ones written as scalars or
        # objects, and those without fields.
        self.sectioned = frozenset(
            name
            for name, message in api.messages.items()
            if message.fields
            and name not in WELL_KNOWN_SCALARS
            and name not in WRAPPERS
            and name not in OBJECTS
        )
        self._facts: dict[tuple[str, OperationTypes | None], RestMessage] = memos.new()
        self._plain: dict[tuple[str, str], bool] = memos.new()
        self._objects: dict[str, str] = memos.new()  # JSON of messages on no cycle

    def read(self, name: str, operation: OperationTypes | None = None) -> RestMessage:
        """The message as its section reads it (on the rpc's expanded `operation`, if any)."""
        found = self._facts.get((name, operation))
        if found is None:
            found = self._facts[name, operation] = self._make(name, operation)
        return found

    def _make(self, name: str, operation: OperationTypes | None) -> RestMessage:
        message = self.api.messages[name]
        fields = []
        for item in message.fields:
            target = item.message_type
            if operation and item.type.name == "google.protobuf.Any":
                override = {
                    "metadata": operation.metadata,
                    "response": operation.response,
                }.get(item.name)
                if item.name == "response" and override == EMPTY:
                    continue
                target = override or target
            fields.append((item, target))
        linked = tuple(
            dict.fromkeys(
                target for _, target in fields if target and target in self.sectioned
            )
        )
        texts = [message.comment, *(item.comment for item in message.fields)]
        texts += [oneof.comment for oneof in message.oneofs]
        for item in message.fields:
            if item.type.kind is Kind.ENUM and item.type.name in self.api.enums:
                texts += [v.comment for v in self.api.enums[item.type.name].values]
        return RestMessage(
            message,
            operation,
            tuple(fields),
            linked,
            (name, *linked),
            tuple(text.rstrip() for text in texts if "[" in text),
            {
                oneof.name: code_list(
                    [item.json_name for item, _ in fields if item.oneof == oneof.name]
                )
                for oneof in message.oneofs
            },
        )

    def is_plain(self, message: Message, item: Field) -> bool:
        """Whether no comment a field's row shows has a reference (worked out once)."""
        key = (message.full_name, item.name)
        found = self._plain.get(key)
        if found is None:
            found = "[" not in item.comment
            if found and item.oneof:
                found = "[" not in message.oneof(item.oneof).comment
            if (
                found
                and item.type.kind is Kind.ENUM
                and item.type.name in self.api.enums
            ):
                values = self.api.enums[item.type.name].values
                found = not any("[" in value.comment for value in values)
            self._plain[key] = found
        return found

    # --- type cells -----------------------------------------------------------------------------

    def type_cell(
        self, message: Message, item: Field, target: str, anchors: Anchors
    ) -> str:
        if item.map_key and item.map_value:
            key = self._ref_cell(message, item.map_key, item.map_key.name, anchors)
            value = self._ref_cell(message, item.map_value, target, anchors)
            return f"**object** (map<{key}, {value}>)"
        return self._ref_cell(message, item.type, target, anchors)

    def _ref_cell(
        self, message: Message, ref: TypeRef, target: str, anchors: Anchors
    ) -> str:
        if ref.kind is Kind.SCALAR:
            return scalar_cell(ref.scalar, message.full_name)
        if ref.kind is Kind.ENUM:
            return f"**enum** ({ref.name.rsplit('.', 1)[-1]})"
        return self._message_cell(target or ref.name, anchors)

    def _message_cell(self, name: str, anchors: Anchors) -> str:
        if name in WELL_KNOWN_SCALARS:
            return WELL_KNOWN_SCALARS[name][1]
        if name in WRAPPERS:
            return scalar_cell(WRAPPERS[name], name)
        if name not in self.sectioned:
            return "**object**"
        return f"**[{name.rsplit('.', 1)[-1]}](#{anchors.of(name)})**"

    # --- JSON skeletons -------------------------------------------------------------------------

    def json_fields(
        self,
        fields: Sequence[tuple[Field, str]],
        message: Message,
        ancestors: tuple[str, ...],
    ) -> str:
        if not fields:
            return "{}"
        lines = ["{"]
        for index, (item, target) in enumerate(fields):
            previous = fields[index - 1][0] if index else None
            following = fields[index + 1][0] if index + 1 < len(fields) else None
            if item.oneof and (previous is None or previous.oneof != item.oneof):
                members = [f.json_name for f, _ in fields if f.oneof == item.oneof]
                lines.append(
                    f"  // Includes only one of the fields {code_list(members)}"
                )
            value = self._json_value(message, item, target, ancestors)
            comma = "," if following is not None else ""
            lines.append(f'  "{item.json_name}": {indent_json(value)}{comma}')
            if item.oneof and (following is None or following.oneof != item.oneof):
                lines.append("  // end of the list of possible fields")
        return "\n".join(lines) + "\n}"

    def _json_value(
        self, message: Message, item: Field, target: str, ancestors: tuple[str, ...]
    ) -> str:
        if item.is_map:
            return '"object"'
        if item.type.kind is Kind.SCALAR:
            element = f'"{scalar_json(item.type.scalar, message.full_name)}"'
        elif item.type.kind is Kind.ENUM:
            element = '"string"'
        else:
            element = self._json_message(target or item.type.name, ancestors)
        return f"[\n  {indent_json(element)}\n]" if item.repeated else element

    def _json_message(self, name: str, ancestors: tuple[str, ...]) -> str:
        if name in WELL_KNOWN_SCALARS:
            return f'"{WELL_KNOWN_SCALARS[name][0]}"'
        if name in WRAPPERS:
            return f'"{scalar_json(WRAPPERS[name], name)}"'
        found = self._objects.get(name)
        if found is not None:
            return found
        message = self.api.messages.get(name)
        if (
            message is None
            or name in ancestors
            or name in OBJECTS
            or not message.fields
        ):
            return '"object"'
        found = self.json_fields(self.read(name).fields, message, ancestors + (name,))
        if name not in self.cyclic():
            self._objects[name] = found
        return found
