"""Formatting of generated Python with black, in-process."""

from __future__ import annotations

import black

_MODE = black.Mode()


def format_python(source: str, name: str) -> str:
    try:
        return black.format_str(source, mode=_MODE)
    except black.InvalidInput as error:  # a template bug, not an input problem
        raise RuntimeError(f"generated {name} is not valid Python: {error}") from None
