"""Formatting of generated Python: black's layout, without running black.

The templates and views write black's layout themselves (`generator/layout.py`): brackets that
may not fit are exploded one item per line with a magic trailing comma (which black keeps),
lines whose length depends on names are laid out as black would lay them out, docstrings as
black writes them (`python_names.docstring`), blank lines are black's. What black would still
change is a line too long that it can split. So a file is checked, cheaply: each line longer
than black's limit must be one black leaves as it is (inside a docstring, a comment, or a single
name or literal that no bracket or operator splits). Only a file with another long line, a
layout the views do not know yet, goes through black, in-process. Tests check that every
generated file is a black fixed point.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from itertools import accumulate

from generator.layout import LINE_LENGTH, width

_STRING = r'"(?:[^"\\\n]|\\.)*"' + r"|'(?:[^'\\\n]|\\.)*'"
_NAME = r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*"  # dotted
# The long lines black leaves as they are, after their indentation.
_UNSPLITTABLE = re.compile(
    " *(?:"
    # an item, argument or parameter that is one name or literal: `x.Y,`, `key="...",`
    rf"(?:\w+=|\w+: )?(?:{_STRING}|{_NAME}),?"
    # the head of a call whose arguments are exploded below it (`"key": f(` in a dict)
    rf"|(?:(?:{_STRING}): )?{_NAME}\("
    # a name in a parenthesized import
    r"|\w+ as \w+,"
    # a comment
    r"|#.*"
    ")"
)
# A triple-quoted string, escapes and all: a docstring, when it starts a line.
_TRIPLE_QUOTED = re.compile(r'"""[^"\\]*(?:(?:\\.|"(?!""))[^"\\]*)*"""')


def needs_black(source: str) -> bool:
    """Whether black would change the file: it has a long line that black can split."""
    lines = source.split("\n")
    if source.isascii():
        too_long = [line for line in lines if len(line) > LINE_LENGTH]
    else:  # wide characters take two columns: a line half as long may be too wide
        too_long = [
            line
            for line in lines
            if len(line) > LINE_LENGTH // 2 and width(line) > LINE_LENGTH
        ]
    suspects = {line for line in too_long if not _UNSPLITTABLE.fullmatch(line)}
    if not suspects:
        return False
    # Docstrings are left however long: each suspect must lie inside one.
    docstrings = _docstrings(source)
    starts = [start for start, _ in docstrings]
    offset = 0
    for line in lines:
        if line in suspects:
            last = offset + len(line) - 1
            index = bisect_right(starts, last) - 1
            if index < 0 or docstrings[index][1] <= last:
                return True
        offset += len(line) + 1
    return False


def _docstrings(source: str) -> list[tuple[int, int]]:
    """Where the docstrings are: triple-quoted strings that start a line."""
    found = []
    position = 0
    while match := _TRIPLE_QUOTED.search(source, position):
        line_start = source.rfind("\n", 0, match.start()) + 1
        if source[line_start : match.start()].strip(" "):
            # Three quotes inside a line of code (in a string): look again after them.
            position = match.start() + 3
            continue
        found.append(match.span())
        position = match.end()
    return found


def run_black(source: str, name: str) -> str:
    """A module (`.py`) or stub (`.pyi`) as black formats it."""
    import black  # only now: importing black costs more than most runs of the plugin
    from black.parsing import InvalidInput

    mode = black.Mode(is_pyi=name.endswith(".pyi"))
    try:
        return black.format_str(source, mode=mode)
    except InvalidInput as error:  # a template bug, not an input problem
        raise RuntimeError(f"generated {name} is not valid Python: {error}") from None
