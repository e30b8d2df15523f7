"""The warnings of the whole public API, pinned: the plugin's run over each source reports
exactly the lines of that source's inventory, tests/data/whole_api_warnings_<source>.txt, whose
header says why each warning is deliberate. A new warning or a vanished one fails with a diff;
`make whole-api-warnings` rewrites the inventories, keeping their headers."""

from __future__ import annotations

import difflib
from pathlib import Path

import pytest

from support import ROOT
from whole_api import ApiSource, GeneratedApi

DATA = ROOT / "tests" / "data"


def inventory_path(source: ApiSource) -> Path:
    # A slice ("corpus (slice)") is checked against its whole source's inventory.
    return DATA / f"whole_api_warnings_{source.label.split()[0]}.txt"


def read_inventory(path: Path) -> tuple[list[str], list[str]]:
    """The header (the `#` lines) and the warning lines."""
    lines = path.read_text(encoding="utf-8").splitlines()
    header = [line for line in lines if line.startswith("#")]
    warnings = [line for line in lines if line and not line.startswith("#")]
    return header, warnings


def warned_file(warning: str) -> str:
    """The proto file a warning line is about: `warning: <file>: <element>: ...`."""
    return warning.removeprefix("warning: ").split(": ", 1)[0]


def test_warnings_of_the_whole_api_equal_the_inventory(
    api_source: ApiSource, generated_api: GeneratedApi, update_golden: bool
) -> None:
    path = inventory_path(api_source)
    header, pinned = read_inventory(path)
    # Sorted: the inventory is a set, grouped by file; the order found is not the point.
    reported = sorted(generated_api.warnings)
    # A slice holds part of the inventory, so only a whole source rewrites it.
    if update_golden and not api_source.selected:
        path.write_text("\n".join([*header, "", *reported]) + "\n", encoding="utf-8")
        pinned = reported
    # The run reports the problems of every file the request carries, imports included: for a
    # slice, the inventory's lines about the sample's files and their imports.
    carried = {item.name for item in api_source.closure(api_source.to_generate)}
    expected = [line for line in pinned if warned_file(line) in carried]
    if reported != expected:
        diff = difflib.unified_diff(
            expected, reported, str(path.relative_to(ROOT)), "reported", lineterm=""
        )
        pytest.fail(
            "the warnings differ from the inventory; if the change is meant, run "
            "`make whole-api-warnings`, review the diff and say in the header why a new "
            "warning is deliberate:\n" + "\n".join(diff),
            pytrace=False,
        )
