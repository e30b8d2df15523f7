"""What the server makes of every rpc of the whole public API, pinned: each rpc's meaning (a
standard method, or an action) in tests/data/whole_api_methods_<source>.txt. A method that moves
fails with a diff; `make whole-api-warnings` rewrites the inventories with the warnings',
keeping their headers."""

from __future__ import annotations

import difflib
from typing import Callable

import pytest

from generator.model import Api, Method, StandardMethod, build_api
from generator.resources import ResourceGets, links
from support import ROOT
from test_whole_api_warnings import DATA, read_inventory
from whole_api import ApiSource


def classification_lines(api: Api) -> list[str]:
    """One line per rpc of the API's own services: `<Service>.<rpc>: <meaning> -- <why>`,
    the meaning a standard method, an action the server implements, or `action` (one it
    leaves to a subclass)."""
    return [
        f"{method.full_name}: {_meaning(method)} -- {method.reason}"
        for service in api.services
        if service.file.startswith("yandex/") and not service.is_framework
        for method in service.methods
    ]


def reference_lines(api: Api) -> list[str]:
    """One line per field that names another resource of its API, as a server of the whole
    API links them (`resources.links`): `<Resource>.<field> -> <the named resource>`."""
    services = [s for s in api.services if s.file.startswith("yandex/")]
    return [
        f"{kind}.{field or '<its parent, kept beside it>'} -> {target}"
        for kind, found in links(services).items()
        for field, target, _ in found.references
    ]


def _meaning(method: Method) -> str:
    if method.standard:
        return method.standard.value
    return method.action.value if method.action else "action"


@pytest.fixture(scope="module")
def whole_model(api_source: ApiSource) -> Api:
    # The whole API's model, also for a slice: classification needs no generated code.
    return build_api(api_source.files, api_source.api_files)


@pytest.mark.parametrize(
    "inventory, lines",
    [("methods", classification_lines), ("references", reference_lines)],
)
def test_the_whole_api_means_what_the_inventory_says(
    api_source: ApiSource,
    whole_model: Api,
    update_golden: bool,
    inventory: str,
    lines: Callable[[Api], list[str]],
) -> None:
    path = DATA / f"whole_api_{inventory}_{api_source.label.split()[0]}.txt"
    header, pinned = read_inventory(path)
    found = sorted(lines(whole_model))
    if update_golden and not api_source.selected:
        path.write_text("\n".join([*header, "", *found]) + "\n", encoding="utf-8")
        pinned = found
    if found != pinned:
        diff = difflib.unified_diff(
            pinned, found, str(path.relative_to(ROOT)), "found", lineterm=""
        )
        pytest.fail(
            f"the whole API's {inventory} differ from the inventory; if the change is "
            "meant, run "
            "`make whole-api-warnings` and review the diff:\n" + "\n".join(diff),
            pytrace=False,
        )


def test_the_docs_find_the_same_resources_and_gets_in_a_model_without_meanings(
    api_source: ApiSource, whole_model: Api
) -> None:
    """The docs rank their link targets by each service's resource and its Gets: asked of a
    model for the docs alone, which classifies no rpc (`resources.ResourceGets`), they must be
    the whole model's."""
    whole = [
        (
            service.resource.message if service.resource else "",
            frozenset(
                m.name for m in service.methods if m.standard is StandardMethod.GET
            ),
        )
        for service in whole_model.services
    ]
    docs_model = build_api(api_source.files, api_source.api_files, meanings=False)
    assert not any(m.standard for s in docs_model.services for m in s.methods)
    gets = ResourceGets(docs_model.messages, docs_model.enums)
    assert [gets.of(service) for service in docs_model.services] == whole
    assert sum(bool(found) for found, _ in whole) > 100
