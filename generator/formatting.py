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

import bisect
import re

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
# A docstring: triple quotes at the start of a line, to the next unescaped ones.
_DOCSTRING = re.compile(r'^ *"""(?:[^"\\]|\\.|"(?!""))*"""', re.MULTILINE)
# Lines that may be too long: wider than the limit, or (with wide characters) half as wide.
_LONG_LINE = re.compile(f"^.{{{LINE_LENGTH + 1},}}$", re.MULTILINE)
_HALF_LONG_LINE = re.compile(f"^.{{{LINE_LENGTH // 2 + 1},}}$", re.MULTILINE)


def long_lines(source: str) -> list[re.Match[str]]:
    """The lines wider than black's limit."""
    if source.isascii():
        return list(_LONG_LINE.finditer(source))
    return [
        match
        for match in _HALF_LONG_LINE.finditer(source)
        if width(match.group()) > LINE_LENGTH
    ]


def needs_black(source: str) -> bool:
    """Whether black would change the file: it has a long line that black can split."""
    suspects = [
        match.start()
        for match in long_lines(source)
        if not _UNSPLITTABLE.fullmatch(match.group())
    ]
    if not suspects:
        return False
    docstrings = [(match.start(), match.end()) for match in _DOCSTRING.finditer(source)]
    starts = [start for start, _ in docstrings]
    for position in suspects:
        index = bisect.bisect_right(starts, position) - 1
        if index < 0 or docstrings[index][1] <= position:
            return True
    return False


def run_black(source: str, name: str) -> str:
    """A module (`.py`) or stub (`.pyi`) as black formats it."""
    import black  # only now: importing black costs more than most runs of the plugin
    from black.parsing import InvalidInput

    mode = black.Mode(is_pyi=name.endswith(".pyi"))
    try:
        return black.format_str(source, mode=mode)
    except InvalidInput as error:  # a template bug, not an input problem
        raise RuntimeError(f"generated {name} is not valid Python: {error}") from None
