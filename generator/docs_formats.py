"""What the faces of the reference share besides links: the generations of the official pages,
and small pieces of text that both lay out the same way."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from generator.rules import Constraint


@dataclass(frozen=True)
class DocsFormat:
    """A generation of the official pages: docs-format.md §1-§9 (`classic`), §10 (`current`)."""

    name: str
    source_path: bool  # the front matter names the page's path
    constraints: bool  # constraint sentences close a row's description
    unspecified_values: bool  # enum value lists include `*_UNSPECIFIED`
    expand_operations: bool  # Operation metadata, response: the rpc's option types


DOCS_FORMATS = {
    "classic": DocsFormat(
        "classic",
        source_path=True,
        constraints=False,
        unspecified_values=True,
        expand_operations=True,
    ),
    "current": DocsFormat(
        "current",
        source_path=False,
        constraints=True,
        unspecified_values=False,
        expand_operations=False,
    ),
}


def docs_format(name: str, constraints: bool = False) -> DocsFormat:
    """The format `name`; `constraints` adds the constraint sentences to one without them."""
    chosen = DOCS_FORMATS[name]
    return replace(chosen, constraints=True) if constraints else chosen


def is_exact(constraint: Constraint) -> bool:
    """A bound of one number (`(length) = "20"`): the current pages print no sentence for it."""
    return constraint.bound is not None and constraint.bound.is_exact


def indent_json(text: str) -> str:
    """A JSON value placed one level deeper: every line after its first moves right."""
    return text.replace("\n", "\n  ")


def code_list(names: tuple[str, ...] | list[str]) -> str:
    return ", ".join(f"`{name}`" for name in names)


# An inline code span with `|`: in a table cell the `|` would end the cell, so the cell writes
# the span with triple backticks, as the official pages do (docs-format-rest.md §10.3).
_PIPE_CODE = re.compile(r"(?<!`)`([^`\n]*\|[^`\n]*)`(?!`)")


def table_text(text: str) -> str:
    """A description as a table cell holds it."""
    return _PIPE_CODE.sub(r"```\1```", text) if "|" in text else text


def value_line(name: str, comment: str) -> str:
    """An enum value in a row's list: ``- `NAME`: comment``, continuation lines indented."""
    if not comment:
        return f"- `{name}`"
    first, *rest = comment.split("\n")
    indented = [f"  {line}" if line else "" for line in rest]
    return "\n".join([f"- `{name}`: {first}", *indented])
