"""Formatting of generated Python: black's layout, without paying for black on every file.

Running black over every generated module would dominate the plugin's time. So the templates
write black's layout themselves: brackets that may not fit are exploded one item per line with
a magic trailing comma (which black keeps), docstrings are laid out as black lays them out
(`python_names.docstring`), blank lines are black's. Black can then change only lines that are
too long, so it runs, in-process, just on a file that has one (a very long name, say). Tests
check that every generated file is a black fixed point.
"""

from __future__ import annotations

import unicodedata

from generator.python_names import LINE_LENGTH


def _width(line: str) -> int:
    """Display width, as black counts it: wide East Asian characters take two columns."""
    if line.isascii():
        return len(line)
    return sum(
        (
            0
            if unicodedata.combining(char)
            else 2 if unicodedata.east_asian_width(char) in "WF" else 1
        )
        for char in line
    )


def format_python(source: str, name: str) -> str:
    """A module (`.py`) or stub (`.pyi`) as black would format it."""
    if all(_width(line) <= LINE_LENGTH for line in source.splitlines()):
        return source
    import black  # only now: importing black costs more than most runs of the plugin

    mode = black.Mode(is_pyi=name.endswith(".pyi"))
    try:
        return black.format_str(source, mode=mode)
    except black.InvalidInput as error:  # a template bug, not an input problem
        raise RuntimeError(f"generated {name} is not valid Python: {error}") from None
