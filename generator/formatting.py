"""Formatting of generated Python: black's layout, without paying for black on every file.

Running black over every generated module would dominate the plugin's time. So the templates
write black's layout themselves: brackets that may not fit are exploded one item per line with
a magic trailing comma (which black keeps), docstrings are laid out as black lays them out
(`python_names.docstring`), blank lines are black's. Black can then change only lines that are
too long and that it can split, so it runs, in-process, just on a file that has one (a very
long name, say). Tests check that every generated file is a black fixed point.
"""

from __future__ import annotations

import io
import re
import tokenize
import unicodedata

from generator.python_names import LINE_LENGTH

# A line that is one string argument, `"..."` or `name="..."`, with a comma after.
_STRING_ARGUMENT = re.compile(r'\s*(\w+=)?"(?:[^"\\\n]|\\.)*",')
_LAYOUT_TOKENS = (
    tokenize.NL,
    tokenize.NEWLINE,
    tokenize.INDENT,
    tokenize.DEDENT,
    tokenize.COMMENT,
)


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


def _strings_only(source: str, long_lines: set[int]) -> bool:
    """Whether black must leave every long line as it is: each lies inside a string (a
    docstring, say) or is one string argument, `"..."` or `name="..."` with a comma after.
    Black splits code at brackets and operators, and never splits a string."""
    on_line: dict[int, list[tokenize.TokenInfo]] = {}
    inside_strings: set[int] = set()
    try:
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            if token.type == tokenize.STRING and token.end[0] > token.start[0]:
                inside_strings.update(range(token.start[0], token.end[0] + 1))
            elif token.type not in _LAYOUT_TOKENS:
                on_line.setdefault(token.start[0], []).append(token)
    except (tokenize.TokenError, SyntaxError):
        return False
    for number in long_lines - inside_strings:
        shape = [(t.type, t.string) for t in on_line.get(number, [])]
        if shape and shape[-1] == (tokenize.OP, ","):
            shape.pop()
        if (
            len(shape) == 3
            and shape[0][0] == tokenize.NAME
            and shape[1] == (tokenize.OP, "=")
        ):
            shape = shape[2:]
        if [kind for kind, _ in shape] != [tokenize.STRING]:
            return False
    return True


def format_python(source: str, name: str) -> str:
    """A module (`.py`) or stub (`.pyi`) as black would format it."""
    lines = source.splitlines()
    long_lines = {
        number
        for number, line in enumerate(lines, 1)
        if _width(line) > LINE_LENGTH and not _STRING_ARGUMENT.fullmatch(line)
    }
    if not long_lines or _strings_only(source, long_lines):
        return source
    import black  # only now: importing black costs more than most runs of the plugin
    from black.parsing import InvalidInput

    mode = black.Mode(is_pyi=name.endswith(".pyi"))
    try:
        return black.format_str(source, mode=mode)
    except InvalidInput as error:  # a template bug, not an input problem
        raise RuntimeError(f"generated {name} is not valid Python: {error}") from None
