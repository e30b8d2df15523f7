"""Formatting of generated Python with black, in-process."""

from __future__ import annotations

import black

_MODE = black.Mode()
_STUB_MODE = black.Mode(is_pyi=True)


def format_python(source: str, name: str) -> str:
    """Formats a module (`.py`) or a stub (`.pyi`) as black would."""
    try:
        return black.format_str(
            source, mode=_STUB_MODE if name.endswith(".pyi") else _MODE
        )
    except black.InvalidInput as error:  # a template bug, not an input problem
        raise RuntimeError(f"generated {name} is not valid Python: {error}") from None
