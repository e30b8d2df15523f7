"""Black's layout, computed rather than run: the views lay out each line whose length depends on
names from the descriptors as black would, so that the plugin need not run black.

An expression is an atom (a `str`: a name, a literal, anything black does not split), a
`Brackets` (a call, subscript or tuple: an opening, items, a closing bracket) or an `Either` (a
type union, `A | B | None`). Black's rules, for a line that does not fit in `LINE_LENGTH`
columns:

- brackets split after the opening bracket: the items go on their own line, indented by four,
  or one per line with a trailing comma when that line does not fit either (a lone item is laid
  out in turn, without a comma); the closing bracket goes on a line of its own. The items of a
  tuple display go one per line at once;
- an atom stays on its line, however long;
- a union in an annotation is parenthesized, and split before each `|` when it does not fit in
  the parentheses;
- an import is parenthesized, its name on a line of its own with a trailing comma.

A text that already spans lines (one laid out with a magic trailing comma, which black keeps)
counts as not fitting. Each function returns the text to place at a column of a line: later
lines are indented relative to the line's indentation, for Jinja's `indent` filter.
`tests/test_layout.py` checks every rule against black itself.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from typing import Sequence, Union

from generator.kept import keep

LINE_LENGTH = 88  # black's default
INDENT = "    "


@dataclass(frozen=True)
class Brackets:
    """`opening` (all up to and including the bracket, e.g. `_validation.Bound(`), the items,
    `closing`. A tuple of one item keeps its comma (`one_tuple`), which is not magic to black.
    """

    opening: str
    items: tuple[Expression, ...]
    closing: str
    one_tuple: bool = False
    _flat: str | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def flat(self) -> str:
        """On one line (kept: see `kept`)."""
        found: str | None = getattr(self, "_flat", None)
        if found is None:
            items = ", ".join(map(flat, self.items))
            comma = "," if self.one_tuple else ""
            found = keep(self, "_flat", f"{self.opening}{items}{comma}{self.closing}")
        return found

    @property
    def literal(self) -> bool:
        """A tuple or list display (not a call or subscript): black puts its items one per line
        whenever they do not fit with the brackets on one line."""
        before = self.opening[:-1].rstrip()
        return not before or not (before[-1].isalnum() or before[-1] in "_)]")


@dataclass(frozen=True)
class Either:
    """A type union, `A | B | None`."""

    alternatives: tuple[Expression, ...]
    _flat: str | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def flat(self) -> str:
        """On one line (kept: see `kept`)."""
        found: str | None = getattr(self, "_flat", None)
        if found is None:
            found = keep(self, "_flat", " | ".join(map(flat, self.alternatives)))
        return found


Expression = Union[str, Brackets, Either]


def width(text: str) -> int:
    """Columns a line takes, as black counts them: East Asian wide characters take two."""
    if text.isascii():
        return len(text)
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)


def fits(indent: int, text: str) -> bool:
    """Whether `text` fits on one line indented by `indent` columns."""
    if text.isascii():  # the common case, quickly
        return indent + len(text) <= LINE_LENGTH and "\n" not in text
    return "\n" not in text and indent + width(text) <= LINE_LENGTH


def flat(expression: Expression) -> str:
    """The expression on one line."""
    return expression if isinstance(expression, str) else expression.flat


def expression(
    value: Expression, indent: int, before: str = "", after: str = ""
) -> str:
    """`value` laid out on a line indented by `indent` that has `before` in front of it and
    `after` behind it, in a call's arguments, a bracket's items or on the right of `=`.
    """
    if isinstance(value, str) or fits(indent, before + flat(value) + after):
        return flat(value)
    text = "\n".join(line[indent:] for line in _lines(value, indent, before, after))
    return text[len(before) : len(text) - len(after)]


def annotation(value: Expression, indent: int, before: str, after: str = "") -> str:
    """A parameter's annotation (`before` is `name: `): a union that does not fit is
    parenthesized."""
    one_line = flat(value)
    if fits(indent, before + one_line + after):
        return one_line
    if isinstance(value, Either):
        return _parenthesized(value, indent)
    return expression(value, indent, before, after)


def return_annotation(value: Expression, indent: int, after: str) -> str:
    """A def's return annotation, after `) -> ` (`after` is `:` or `: ...`): an atom or a union
    that does not fit is parenthesized, even if it does not fit in the parentheses either.
    """
    before = ") -> "
    one_line = flat(value)
    if fits(indent, before + one_line + after):
        return one_line
    if isinstance(value, Brackets):
        return expression(value, indent, before, after)
    return _parenthesized(value, indent)


def import_statement(module: str, alias: str) -> str:
    """`from package import name [as alias]` (`import name [as alias]` for a top-level module),
    parenthesized when it does not fit."""
    package, _, name = module.rpartition(".")
    imported = name if alias == name else f"{name} as {alias}"
    if not package:
        return f"import {imported}"
    line = f"from {package} import {imported}"
    if fits(0, line):
        return line
    return f"from {package} import (\n{INDENT}{imported},\n)"


def tuple_expression(
    items: Sequence[str], indent: int, before: str, after: str = ""
) -> str:
    """A tuple in black's layout: `()`, `(x,)` while it fits, otherwise one item per line with a
    magic trailing comma (which black keeps however short the tuple becomes)."""
    if not items:
        return "()"
    if len(items) == 1:
        return expression(Brackets("(", (items[0],), ")", True), indent, before, after)
    return exploded("(", items, ")")


def exploded(opening: str, items: Sequence[str], closing: str) -> str:
    """A bracket with one item per line and a magic trailing comma, which black keeps as it is.
    Items may span lines; all is indented relative to column 0 (place it with Jinja's
    `indent` filter)."""
    body = "".join(_indented(item) + ",\n" for item in items)
    return f"{opening}\n{body}{closing}"


def _indented(text: str) -> str:
    return INDENT + text.replace("\n", "\n" + INDENT)


def _parenthesized(value: Expression, indent: int) -> str:
    inner = "\n".join(line[indent:] for line in _lines(value, indent + 4, "", ""))
    return f"(\n{inner}\n)"


def _lines(value: Expression, indent: int, before: str, after: str) -> list[str]:
    """Black's lines for `before + value + after` at `indent`, each with its indentation."""
    margin = " " * indent
    one_line = before + flat(value) + after
    if fits(indent, one_line) or isinstance(value, str):
        return [margin + line for line in one_line.split("\n")]
    if isinstance(value, Either):
        first, *rest = value.alternatives
        lines = _lines(first, indent, before, "")
        for alternative in rest:
            lines += _lines(alternative, indent, "| ", "")
        lines[-1] += after
        return lines
    inner = indent + 4
    items = value.items
    body = ", ".join(flat(item) for item in items) + ("," if value.one_tuple else "")
    if fits(inner, body) and not (value.literal and len(items) > 1):
        lines = [" " * inner + body]
    elif len(items) == 1:
        lines = _lines(items[0], inner, "", "," if value.one_tuple else "")
    else:
        lines = [line for item in items for line in _lines(item, inner, "", ",")]
    return [margin + before + value.opening, *lines, margin + value.closing + after]
