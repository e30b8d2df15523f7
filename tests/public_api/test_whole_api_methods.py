"""What the server makes of every rpc of the whole public API, pinned: each rpc's meaning (a
standard method, or an action) in tests/data/whole_api_methods_<source>.txt. A method that moves
fails with a diff; `make whole-api-warnings` rewrites the inventories with the warnings',
keeping their headers."""

from __future__ import annotations

import difflib

import pytest

from generator.model import Api, build_api
from support import ROOT
from test_whole_api_warnings import DATA, read_inventory
from whole_api import ApiSource


def classification_lines(api: Api) -> list[str]:
    """One line per rpc of the API's own services: `<Service>.<rpc>: <meaning>`."""
    return [
        f"{method.full_name}: {method.standard.value if method.standard else 'action'}"
        for service in api.services
        if service.file.startswith("yandex/") and not service.is_framework
        for method in service.methods
    ]


def test_every_rpc_means_what_the_inventory_says(
    api_source: ApiSource, update_golden: bool
) -> None:
    # The whole API's model, also for a slice: classification needs no generated code.
    api = build_api(api_source.files, api_source.api_files)
    path = DATA / f"whole_api_methods_{api_source.label.split()[0]}.txt"
    header, pinned = read_inventory(path)
    found = sorted(classification_lines(api))
    if update_golden and not api_source.selected:
        path.write_text("\n".join([*header, "", *found]) + "\n", encoding="utf-8")
        pinned = found
    if found != pinned:
        diff = difflib.unified_diff(
            pinned, found, str(path.relative_to(ROOT)), "found", lineterm=""
        )
        pytest.fail(
            "the meaning of rpcs differs from the inventory; if the change is meant, run "
            "`make whole-api-warnings` and review the diff:\n" + "\n".join(diff),
            pytrace=False,
        )
