"""The `apiPlayground` front matter of a REST page (docs-format-rest.md §2): an OpenAPI-like
schema of each binding's path, query and body, with the messages they reach as `definitions`,
and each property's description as the page's table has it (from `docs_rest`). `docs_yaml`
writes it as js-yaml would.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Sequence

from generator import docs_yaml
from generator.docs_json import STRUCT, WELL_KNOWN_SCALARS, WRAPPERS, scalar_schema
from generator.docs_rest_messages import Anchors
from generator.model import Field, Kind, Message, TypeRef
from generator.runtime.contract import CheckKind

if TYPE_CHECKING:
    from generator.docs_rest import RestBuilder, RestPlan, _Binding

# A comment line `Default value: 100.` gives the property its `default` (§2.7).
_DEFAULT_VALUE = re.compile(r"^Default value: (\S+)\.$", re.M)


class Playground:
    """The apiPlayground items of a run's REST pages; what reads alike on every page (schema
    properties, message definitions) is made once (for the pages of a package: `Memos`).
    """

    def __init__(self, rest: RestBuilder) -> None:
        self.rest = rest
        self.messages = rest.messages
        self._yaml_descriptions: dict[tuple[str, str, bool], str] = rest.memos.new()
        self._properties: dict[tuple[str, str, bool], dict[str, Any]] = rest.memos.new()
        self._definitions: dict[tuple[object, ...], dict[str, Any]] = rest.memos.new()

    def request(self, plan: RestPlan, binding: _Binding, url: str) -> dict[str, Any]:
        request = self.rest.api.messages[plan.method.input]
        anchors = binding.request_anchors
        schemas = {
            "path": self._schema(request, binding.path, plan, anchors, path=True),
            "query": self._schema(request, binding.query, plan, anchors),
            "body": self._schema(request, binding.body, plan, anchors),
        }
        definitions: dict[str, Any] = {}
        visiting: set[str] = {request.full_name}
        for item in binding.path + binding.query + binding.body:
            self._define(item.message_type, definitions, visiting, plan, anchors)
        return {
            "url": url,
            "method": binding.binding.method.lower(),
            **schemas,
            "definitions": definitions or None,
        }

    def _schema(
        self,
        message: Message,
        fields: Sequence[Field],
        plan: RestPlan,
        anchors: Anchors,
        path: bool = False,
    ) -> dict[str, Any] | None:
        """§2.4: an object of the fields, closed to others."""
        if not fields:
            return None
        schema = self._object(message, fields, plan, anchors, path)
        one_of = schema.pop("oneOf", None)
        schema["additionalProperties"] = False
        if one_of:
            schema["oneOf"] = one_of
        return schema

    def _object(
        self,
        message: Message,
        fields: Sequence[Field],
        plan: RestPlan,
        anchors: Anchors,
        path: bool = False,
    ) -> dict[str, Any]:
        properties = {
            item.json_name: self._property(message, item, plan, anchors, path)
            for item in fields
        }
        found: dict[str, Any] = {"type": "object", "properties": properties}
        required = [item.json_name for item in fields if item.rules.required]
        if required:
            found["required"] = required
        one_of = [
            {"required": [item.json_name]}
            for oneof in message.oneofs
            for item in fields
            if item.oneof == oneof.name
        ]
        if one_of:
            found["oneOf"] = one_of
        return found

    def _define(
        self,
        name: str,
        definitions: dict[str, Any],
        visiting: set[str],
        plan: RestPlan,
        anchors: Anchors,
    ) -> None:
        """§2.5: the messages reached from the schemas, post-order, each once."""
        if name == STRUCT:
            definitions.setdefault("object", {"type": "object", "properties": {}})
            return
        if name not in self.messages.sectioned or name in visiting:
            return
        short = name.rsplit(".", 1)[-1]
        if short in definitions:
            return
        message = self.rest.api.messages[name]
        visiting.add(name)
        for item in message.fields:
            self._define(item.message_type, definitions, visiting, plan, anchors)
        visiting.discard(name)
        if short not in definitions:
            definitions[short] = self._definition(message, plan, anchors)

    def _definition(
        self, message: Message, plan: RestPlan, anchors: Anchors
    ) -> dict[str, Any]:
        """A message's definition, made once for the pages that read it alike (see
        `_section`)."""
        facts = self.messages.read(message.full_name)
        key = (
            facts,
            anchors.key(facts.linked),
            self.rest.reference_context(facts, plan),
        )
        found = self._definitions.get(key)
        if found is None:
            found = self._definitions[key] = docs_yaml.Shared(
                self._object(message, message.fields, plan, anchors)
            )
        return found

    def _property(
        self,
        message: Message,
        item: Field,
        plan: RestPlan,
        anchors: Anchors,
        path: bool,
    ) -> dict[str, Any]:
        """§2.6, §2.7: a field's description (its type cell, then its table description
        without blank lines), then its schema."""
        key = (message.full_name, item.name, path)
        plain = self.messages.is_plain(message, item)
        linked = item.message_type in self.messages.sectioned
        if not plain or linked:  # read on this page only: its YAML is not kept
            return self._make_property(message, item, plan, anchors, path)
        found = self._properties.get(key)
        if found is None:
            found = self._properties[key] = docs_yaml.Shared(
                self._make_property(message, item, plan, anchors, path)
            )
        return found

    def _make_property(
        self,
        message: Message,
        item: Field,
        plan: RestPlan,
        anchors: Anchors,
        path: bool,
    ) -> dict[str, Any]:
        cell = self.messages.type_cell(message, item, item.message_type, anchors)
        key = (message.full_name, item.name, path)
        body = self._yaml_descriptions.get(key)
        if body is None:
            parts = self.rest.description_parts(message, item, plan, path, yaml=True)
            lines = [line for part in parts for line in part.split("\n") if line]
            body = "\n" + "\n".join(lines) if lines else ""
            body += "\n" if parts and not parts[-1] else ""
            if self.messages.is_plain(message, item):
                self._yaml_descriptions[key] = body
        found: dict[str, Any] = {"description": cell + body}
        default = (
            _DEFAULT_VALUE.search(item.comment)
            if "Default value: " in item.comment
            else None
        )
        if default and not item.repeated and not item.is_map:
            found["default"] = default.group(1)
        pattern = item.rules.get(CheckKind.PATTERN)
        if item.is_map:
            found.update(self._map_schema(message, item))
            return found
        if pattern and not item.type.kind is Kind.MESSAGE:
            found["pattern"] = pattern.pattern
        element = self._element_schema(message, item.type, item.message_type)
        if item.repeated:
            if item.rules.get(CheckKind.UNIQUE):
                found["uniqueItems"] = True
            found["type"] = "array"
            found["items"] = element
        else:
            found.update(element)
        return found

    def _element_schema(
        self, message: Message, ref: TypeRef, target: str
    ) -> dict[str, Any]:
        if ref.kind is Kind.SCALAR:
            return scalar_schema(ref.scalar, message.full_name)
        if ref.kind is Kind.ENUM:
            enum = self.rest.api.enums.get(ref.name)
            values = [value.name for value in enum.values] if enum else []
            return {"type": "string", "enum": values}
        name = target or ref.name
        if name in WELL_KNOWN_SCALARS:
            return dict(WELL_KNOWN_SCALARS[name][2])
        if name in WRAPPERS:
            return scalar_schema(WRAPPERS[name], name)
        if name == STRUCT:
            return {"$ref": "#/definitions/object"}
        if name not in self.messages.sectioned:
            return {"type": "object"}
        return {"$ref": f"#/definitions/{name.rsplit('.', 1)[-1]}"}

    def _map_schema(self, message: Message, item: Field) -> dict[str, Any]:
        """§2.6, §2.7: an object whose values (and keys) the validation options describe."""
        assert item.map_value is not None
        values = self._element_schema(message, item.map_value, item.message_type)
        pattern = item.rules.get(CheckKind.PATTERN)
        if pattern:
            values["pattern"] = pattern.pattern
        length = item.rules.get(CheckKind.LENGTH)
        if length and length.bound and length.bound.high is not None:
            values["maxLength"] = _inclusive_high(length.bound)
        found: dict[str, Any] = {"type": "object", "additionalProperties": values}
        keys: dict[str, Any] = {}
        key_pattern = item.rules.get(CheckKind.KEY_PATTERN)
        if key_pattern:
            keys["pattern"] = key_pattern.pattern
        key_length = item.rules.get(CheckKind.KEY_LENGTH)
        if key_length and key_length.bound:
            if key_length.bound.high is not None:
                keys["maxLength"] = _inclusive_high(key_length.bound)
            if key_length.bound.low is not None:
                keys["minLength"] = _inclusive_low(key_length.bound)
        if keys:
            found["propertyNames"] = {"type": "string", **keys}
        size = item.rules.get(CheckKind.SIZE)
        if size and size.bound and size.bound.high is not None:
            found["maxProperties"] = _inclusive_high(size.bound)
        return found


def _inclusive_high(bound: Any) -> int:
    return int(bound.high if bound.high_inclusive else bound.high - 1)


def _inclusive_low(bound: Any) -> int:
    return int(bound.low if bound.low_inclusive else bound.low + 1)
