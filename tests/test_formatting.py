"""formatting.needs_black: the cheap check that decides whether black runs on a generated file.
Each case is checked against black too: what the check lets through, black leaves as it is.
"""

from __future__ import annotations

import black
import pytest

from generator.formatting import needs_black, run_black

LONG = "n" * 90

LEFT_AS_IT_IS = {
    "docstring line": f'def f() -> None:\n    """Text.\n\n    {LONG} words.\n    """\n',
    "one-line docstring": f'class C:\n    """{LONG}."""\n',
    "docstring with escaped quotes": (
        f'class C:\n    """A \\"\\"\\" inside.\n\n    {LONG} (a, b)\n    """\n'
    ),
    "string argument": f'f(\n    "{LONG}",\n    x,\n)\n',
    "keyword string argument": f'f(\n    pattern="{LONG}",\n)\n',
    "single-quoted string": f"f(\n    '\"{LONG}',\n)\n",
    "dotted name argument": f"f(\n    m_pb2.{LONG},\n)\n",
    "annotated parameter": f"def f(\n    request: m_pb2.{LONG},\n) -> None:\n    pass\n",
    "head of an exploded call": f"f(\n    m.{LONG}(\n        a,\n    ),\n)\n",
    "dict entry with an exploded call": f'X = {{\n    "{LONG}": m.Rules(\n        a,\n    ),\n}}\n',
    "import name": f"from a import (\n    {LONG} as b_{LONG},\n)\n",
    "comment": f"# {LONG} words.\nx = 1\n",
    "short lines": "x = (1, 2)\n",
}

SPLIT_BY_BLACK = {
    "import": f"from a.b import {LONG}\n",
    "call": f"x = f(a, {LONG})\n",
    "parameter with a union": (
        f"def f(\n    p: m.{LONG} | None = None,\n) -> None:\n    pass\n"
    ),
    "return annotation": f"def f(\n    a: int,\n) -> m.{LONG}:\n    pass\n",
    "assignment of an exploded call": f"{LONG[:80]} = m.ListSpec(\n    a,\n)\n",
    "wide characters": 'x = f(a, "' + "名" * 40 + '")\n',
    "code after a docstring": f'"""Doc."""\n\nx = f(a, {LONG})\n',
}


@pytest.mark.parametrize("source", LEFT_AS_IT_IS.values(), ids=LEFT_AS_IT_IS)
def test_lines_black_leaves(source: str) -> None:
    assert not needs_black(source)
    assert black.format_str(source, mode=black.Mode()) == source


@pytest.mark.parametrize("source", SPLIT_BY_BLACK.values(), ids=SPLIT_BY_BLACK)
def test_lines_black_splits(source: str) -> None:
    assert needs_black(source)
    assert run_black(source, "m.py") != source


def test_a_stub_is_formatted_as_a_stub() -> None:
    source = f"class C:\n    def f(self, a: int, b: {LONG}) -> None: ...\n"
    assert run_black(source, "m.pyi").endswith(") -> None: ...\n")


def test_invalid_python_is_a_template_bug() -> None:
    with pytest.raises(RuntimeError, match="generated m.py is not valid Python"):
        run_black("def (:\n", "m.py")
