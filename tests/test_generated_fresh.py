"""generated/ must equal a fresh `make generate`."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from generator.tree import generate_tree
from support import GENERATED, PROTO, ROOT


def _tree(root: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(root)): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts
    }


def _makefile_plugin_options() -> str:
    """The options `make generate` passes, so that this test generates exactly as it does."""
    match = re.search(
        r"^PLUGIN_OPTIONS := (.*)$", (ROOT / "Makefile").read_text(), re.MULTILINE
    )
    assert match, "Makefile defines no PLUGIN_OPTIONS"
    return match.group(1).strip()


def test_generated_equals_fresh_generation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(
        ROOT
    )  # the Makefile's option paths are relative to the project root
    fresh = tmp_path / "generated"
    generate_tree(PROTO, fresh, _makefile_plugin_options())
    committed, regenerated = _tree(GENERATED), _tree(fresh)
    assert sorted(committed) == sorted(
        regenerated
    ), "file sets differ: run `make generate` and commit"
    stale = [name for name in regenerated if committed[name] != regenerated[name]]
    assert not stale, f"stale files (run `make generate` and commit): {stale}"
