"""YAML as the official REST pages write their `apiPlayground` front matter: the output of
js-yaml's `dump` with no line width limit (docs-format-rest.md §2.3).

Values are dicts (key order kept), lists, strings, bools and None. Block style throughout:
two-space indentation, sequences indented under their key, `{}` and `[]` for empty ones.
A string is written plain when js-yaml would, else single-quoted (`'` doubled); one with line
breaks is a literal block (`|-`, `|` when it ends in one newline, `|+` in more); one with a
character js-yaml does not print as is (a tab, a control character) is double-quoted.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from typing import Any

# Characters that may not start a plain scalar (js-yaml's isPlainSafeFirst).
_NOT_FIRST = set("-?:,[]{}#&*!|>'\"%@`= \t")
# What may not come inside one.
_NOT_INSIDE = (" #", "\t#", ": ", ":\t")
# Plain strings that YAML would read as another type (js-yaml's default schema, with the
# YAML 1.1 booleans it still quotes).
_AMBIGUOUS = re.compile(r"""(?x)
    ~|null|Null|NULL|true|True|TRUE|false|False|FALSE
    |y|Y|yes|Yes|YES|n|N|no|No|NO|on|On|ON|off|Off|OFF
    |[-+]?(0b[0-1_]+|0o?[0-7_]+|0x[0-9a-fA-F_]+|[0-9][0-9_]*)
    |[-+]?(\.[0-9]+|[0-9][0-9_]*(\.[0-9_]*)?)([eE][-+]?[0-9]+)?
    |[-+]?\.(inf|Inf|INF)|\.(nan|NaN|NAN)
    |[0-9]{4}-[0-9]{2}-[0-9]{2}([Tt ].*)?
    |<<
    """)


class Shared(dict):  # type: ignore[type-arg]
    """A mapping that many documents hold: its text is worked out once per indentation."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.text: dict[int, str] = {}


def dump(value: Any, indent: int = 0) -> str:
    """`value` as YAML lines at `indent` spaces, without a final newline."""
    lines: list[str] = []
    _write(value, indent, lines)
    return "\n".join(lines)


def _write(value: Any, indent: int, lines: list[str]) -> None:
    """Appends the lines of `value` to `lines`; an item may hold several lines (a Shared
    mapping's text)."""
    if isinstance(value, Shared):
        found = value.text.get(indent)
        if found is None:
            own: list[str] = []
            _write_mapping(value, indent, own)
            found = value.text[indent] = "\n".join(own)
        lines.append(found)
    elif isinstance(value, dict):
        _write_mapping(value, indent, lines)
    elif isinstance(value, list):
        _write_sequence(value, indent, lines)
    else:
        lines.append(" " * indent + _inline(value, indent))


def _write_mapping(value: dict[str, Any], indent: int, lines: list[str]) -> None:
    if not value:
        lines.append(" " * indent + "{}")
    for key, item in value.items():
        head = _key_head(key, indent)
        if type(item) is str:  # the usual case, written without the checks below
            lines.append(f"{head} {scalar(item, indent)}")
        elif item and isinstance(item, (dict, list)):
            lines.append(head)
            _write(item, indent + 2, lines)
        else:
            lines.append(f"{head} {_inline(item, indent)}")


def _write_sequence(value: list[Any], indent: int, lines: list[str]) -> None:
    pad = " " * indent
    if not value:
        lines.append(pad + "[]")
    for item in value:
        if type(item) is str:  # an enum's values
            lines.append(f"{pad}- {scalar(item, indent)}")
        elif item and isinstance(item, dict):
            first = len(lines)
            _write(item, indent + 2, lines)
            lines[first] = f"{pad}- {lines[first].lstrip()}"
        elif item and isinstance(item, list):
            lines.append(pad + "-")
            _write(item, indent + 2, lines)
        else:
            lines.append(f"{pad}- {_inline(item, indent)}")


@lru_cache(maxsize=None)  # a page's keys are few and recur on every page
def _key_head(key: str, indent: int) -> str:
    """`key:` at `indent` spaces."""
    return f"{' ' * indent}{scalar(str(key), indent)}:"


def _inline(value: Any, indent: int) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, dict):
        return "{}"
    if isinstance(value, list):
        return "[]"
    return scalar(value, indent)


@lru_cache(maxsize=None)  # pages repeat descriptions, types and names over and over
def scalar(text: str, indent: int) -> str:
    """A string as js-yaml writes it, its block lines (if any) indented by `indent` + 2."""
    if not text:
        return "''"
    if _UNPRINTABLE.search(text):
        return json.dumps(text, ensure_ascii=False)
    if "\n" in text:
        return _literal(text, indent + 2)
    if _plain(text):
        return text
    return "'" + text.replace("'", "''") + "'"


def _literal(text: str, indent: int) -> str:
    body = text.rstrip("\n")
    trailing = len(text) - len(body)
    chomp = "-" if trailing == 0 else "" if trailing == 1 else "+"
    indicator = str(2) if text[:1] in (" ", "\n") else ""
    pad = " " * indent
    lines = [f"{pad}{line}" if line else "" for line in text.split("\n")]
    if trailing:
        lines = lines[: len(lines) - 1]  # the final newline is the chomping's
    return f"|{indicator}{chomp}\n" + "\n".join(lines)


def _plain(text: str) -> bool:
    if text[0] in _NOT_FIRST or text[-1] in " \t:" or _AMBIGUOUS.fullmatch(text):
        return False
    # ` #` starts a comment, `: ` a mapping value (`#` first is not plain-safe already).
    return not any(mark in text for mark in _NOT_INSIDE)


# What js-yaml's isPrintable refuses (besides the line breaks a block writes): it writes a
# string holding one double-quoted.
_UNPRINTABLE = re.compile(
    "[^\n\x20-\x7e\x85\xa1-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]"
    "|[\u2028\u2029]"
)
