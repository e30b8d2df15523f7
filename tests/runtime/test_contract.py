"""The contract between the generator and its runtime (generator/runtime/contract.py): every
name it lists is defined by the runtime, every kind is handled, every runtime name that
generated code uses exists, and generated code refuses a runtime of another version."""

from __future__ import annotations

import ast
import importlib
import importlib.metadata
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from generator.runtime import contract as generator_contract
from support import GENERATED
from yc_runtime import client, contract, fieldmask, mutations, service, validation
from yc_runtime.contract import (
    CLIENT_FLAVOURS,
    CheckKind,
    ConnectionCall,
    MaskKind,
    MutationKind,
    StandardCall,
)


def test_every_mutation_kind_has_its_steps() -> None:
    assert set(mutations.MUTATIONS) == set(MutationKind)


def test_every_check_kind_is_checked() -> None:
    # Element and key checks by table; the other three on the field as a whole.
    whole_field = {CheckKind.REQUIRED, CheckKind.SIZE, CheckKind.UNIQUE}
    tables = set(validation._ELEMENT_TESTS) | set(validation._KEY_TESTS)
    assert tables | whole_field == set(CheckKind) and not tables & whole_field


def test_every_mask_kind_is_a_kind_of_mask_field() -> None:
    assert {
        fieldmask.SCALAR,
        fieldmask.MESSAGE,
        fieldmask.MAP,
        fieldmask.REPEATED,
    } == set(MaskKind)


def test_servicers_call_methods_the_runtime_defines() -> None:
    for call in StandardCall:
        assert callable(getattr(service.ResourceService, call.value)), call


def test_client_flavours_name_runtime_classes() -> None:
    for flavour in CLIENT_FLAVOURS:
        connection = getattr(client, flavour.connection)
        for call in ConnectionCall:
            assert callable(getattr(connection, call.value)), (flavour, call)
        for name in (flavour.pager, flavour.operation):
            assert isinstance(getattr(client, name), type), name
    asynchronous = {flavour.asynchronous for flavour in CLIENT_FLAVOURS}
    assert asynchronous == {False, True}


def test_kinds_read_from_their_values() -> None:
    check = validation.Check("length", "s", bound=contract.Bound(high=3))
    assert check.kind is CheckKind.LENGTH
    with pytest.raises(ValueError, match="'lenght' is not a valid CheckKind"):
        validation.Check("lenght", "s")
    assert fieldmask.MaskField("a", "a", "map").kind is MaskKind.MAP


def test_the_runtime_is_the_one_the_generator_ships() -> None:
    """The copy in generated/ is this runtime, at the package's version."""
    source = Path(generator_contract.__file__).read_text()
    assert (GENERATED / "yc_runtime" / "contract.py").read_text() == source
    version = importlib.metadata.version("protoc-gen-python-custom")
    assert contract.VERSION == generator_contract.VERSION == version


def _runtime_references(source: str) -> list[tuple[str, list[str]]]:
    """Each `_alias.a.b` of generated code whose alias imports a runtime module: (module,
    [a, b])."""
    tree = ast.parse(source)
    aliases = {
        name.asname or name.name: name.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module == contract.PACKAGE
        for name in node.names
    }
    found = []
    for node in ast.walk(tree):
        chain: list[str] = []
        while isinstance(node, ast.Attribute):
            chain.insert(0, node.attr)
            node = node.value
        if chain and isinstance(node, ast.Name) and node.id in aliases:
            found.append((aliases[node.id], chain))
    return found


def _generated_modules(root: Path) -> list[Path]:
    return [
        path
        for path in sorted(root.rglob("*.py"))
        if path.name.endswith(("_server.py", "_client.py", "_fieldmask.py"))
        or path.name == "api_server.py"
    ]


@pytest.mark.parametrize("tree", ["generated", "fleet"])
def test_generated_code_names_only_what_the_runtime_defines(
    tree: str, fleet_generated: Path
) -> None:
    root = GENERATED if tree == "generated" else fleet_generated
    modules = _generated_modules(root)
    assert len(modules) >= 4
    checked = 0
    for path in modules:
        for module_name, chain in _runtime_references(path.read_text()):
            value: object = importlib.import_module(f"yc_runtime.{module_name}")
            for (
                attribute
            ) in chain:  # `_contract.MaskKind.MAP`: the module, then the class
                assert hasattr(value, attribute), (
                    f"{path.relative_to(root)}: "
                    f"{contract.PACKAGE}.{module_name}.{'.'.join(chain)}"
                )
                value = getattr(value, attribute)
            checked += 1
    assert checked > 50


def test_generated_code_refuses_a_runtime_of_another_version(tmp_path: Path) -> None:
    tree = tmp_path / "generated"
    shutil.copytree(GENERATED, tree)
    contract_file = tree / contract.PACKAGE / "contract.py"
    text = contract_file.read_text()
    assert f'VERSION = "{contract.VERSION}"' in text
    contract_file.write_text(text.replace(contract.VERSION, "99.0.0"))
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import yandex.cloud.baremetal.v1alpha.image_service_client",
        ],
        cwd=tree,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    last = result.stderr.strip().splitlines()[-1]
    assert last == (
        f"yc_runtime.contract.RuntimeVersionError: "
        "yandex.cloud.baremetal.v1alpha.image_service_client was generated for "
        f"yc_runtime {contract.VERSION}, but the yc_runtime beside it is 99.0.0: "
        "regenerate every module of the tree in one run of the plugin (it writes the "
        "runtime that fits the code it writes)"
    )


def test_require_version_accepts_its_own() -> None:
    contract.require_version(contract.VERSION, "m")
    with pytest.raises(ImportError, match="m was generated for yc_runtime 0.0.1"):
        contract.require_version("0.0.1", "m")
