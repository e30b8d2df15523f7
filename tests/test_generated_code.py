"""The plugin's Python output: black-formatted, `mypy --strict` clean, and runnable with the
runtime libraries alone."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import black
import pytest

from support import FORBID_BUILD_TOOLS, GENERATED

# grpc_tools' own outputs; everything else in generated/ that is Python is this plugin's.
_PROTOC_SUFFIXES = ("_pb2.py", "_pb2.pyi", "_pb2_grpc.py")


def plugin_python(root: Path) -> list[Path]:
    return sorted(
        path
        for path in root.rglob("*.py*")
        if path.suffix in (".py", ".pyi")
        and not path.name.endswith(_PROTOC_SUFFIXES)
        and "__pycache__" not in path.parts
    )


def protoc_modules(root: Path) -> list[str]:
    return sorted(
        ".".join(path.relative_to(root).with_suffix("").parts)
        for path in root.rglob("*_pb2*.py")
        if "__pycache__" not in path.parts
    )


def test_plugin_outputs_exist() -> None:
    names = {str(path.relative_to(GENERATED)) for path in plugin_python(GENERATED)}
    assert "api_server.py" in names
    assert "yandex/cloud/baremetal/v1alpha/image_service_server.py" in names
    assert "yandex/cloud/baremetal/v1alpha/image_service_fieldmask.py" in names
    assert "yandex/cloud/baremetal/v1alpha/image_service_pb2_grpc.pyi" in names
    assert "yc_runtime/service.py" in names


@pytest.mark.parametrize(
    "path", plugin_python(GENERATED), ids=lambda p: str(p.relative_to(GENERATED))
)
def test_black_fixed_point(path: Path) -> None:
    source = path.read_text(encoding="utf-8")
    mode = black.Mode(is_pyi=path.suffix == ".pyi")
    assert black.format_str(source, mode=mode) == source


def run_mypy(
    root: Path, tmp_path: Path, files: list[Path] | None = None
) -> subprocess.CompletedProcess[str]:
    """mypy --strict over the plugin's output; protoc's own modules are followed for their
    types, but their errors (protoc's .pyi files are not strict-clean) are not ours."""
    config = tmp_path / "mypy.ini"
    sections = [
        "[mypy]\nstrict = True\nexplicit_package_bases = True\nnamespace_packages = True\n"
        f"cache_dir = {tmp_path / 'cache'}\n"
        "[mypy-google.rpc.*]\nfollow_untyped_imports = True\n"
        "[mypy-google.api.*]\nfollow_untyped_imports = True\n"
    ]
    sections += [
        f"[mypy-{module}]\nignore_errors = True\n" for module in protoc_modules(root)
    ]
    config.write_text("".join(sections))
    checked = files if files is not None else plugin_python(root)
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--config-file",
            str(config),
            *map(str, checked),
        ],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_mypy_strict(tmp_path: Path) -> None:
    result = run_mypy(GENERATED, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_strict_on_the_fleet_api(fleet_generated: Path, tmp_path: Path) -> None:
    result = run_mypy(fleet_generated, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


_IMPORT_EVERYTHING = FORBID_BUILD_TOOLS + """
import importlib, pathlib, sys
root = pathlib.Path.cwd()
sys.path.insert(0, str(root))
for path in sorted(root.rglob("*.py")):
    if "__pycache__" not in path.parts:
        importlib.import_module(".".join(path.relative_to(root).with_suffix("").parts))
print("imported", len(sys.modules))
"""


def test_generated_code_needs_only_the_runtime_libraries() -> None:
    result = subprocess.run(
        [sys.executable, "-I", "-c", _IMPORT_EVERYTHING],
        cwd=GENERATED,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("imported")


_CLIENT_USAGE = """
from google.protobuf import empty_pb2
from yandex.cloud.baremetal.v1alpha import image_pb2, image_service_pb2
from yandex.cloud.baremetal.v1alpha.image_service_client import (
    AsyncImageServiceClient,
    ImageServiceClient,
)


def use(client: ImageServiceClient) -> None:
    operation = client.update("a" * 20, name="n", labels={"k": "v"})
    image: image_pb2.Image = operation.result(timeout=5)
    metadata: image_service_pb2.UpdateImageMetadata = operation.metadata
    deleted: empty_pb2.Empty = client.delete("a" * 20).result()
    names: list[str] = [item.name for item in client.list("folder")]
    reveal_type(operation)


async def use_async(client: AsyncImageServiceClient) -> None:
    operation = await client.create("folder", name="n", uri="u")
    image: image_pb2.Image = await operation.result()
    names: list[str] = [item.name async for item in client.list("folder")]
"""

_CLIENT_MISUSE = """
from yandex.cloud.baremetal.v1alpha import image_service_pb2
from yandex.cloud.baremetal.v1alpha.image_service_client import ImageServiceClient


def misuse(client: ImageServiceClient) -> None:
    operation = client.update("a" * 20, name="n")
    wrong: image_service_pb2.CreateImageMetadata = operation.metadata
    number: int = operation.result()
    client.update("a" * 20, name=5)
"""


def test_operation_futures_carry_the_real_types(tmp_path: Path) -> None:
    usage = tmp_path / "client_usage.py"
    usage.write_text(_CLIENT_USAGE)
    result = run_mypy(GENERATED, tmp_path, [usage])
    revealed = (
        "yc_runtime.client.Operation[yandex.cloud.baremetal.v1alpha.image_pb2.Image, "
        "yandex.cloud.baremetal.v1alpha.image_service_pb2.UpdateImageMetadata]"
    )
    assert revealed in result.stdout, result.stdout
    assert result.stdout.count("error:") == 0, result.stdout

    misuse = tmp_path / "client_misuse.py"
    misuse.write_text(_CLIENT_MISUSE)
    result = run_mypy(GENERATED, tmp_path, [misuse])
    errors = [line for line in result.stdout.splitlines() if "error:" in line]
    assert len(errors) == 3, result.stdout
    assert "UpdateImageMetadata" in errors[0] and "CreateImageMetadata" in errors[0]
    assert '"Image"' in errors[1] and '"int"' in errors[1]
    assert 'Argument "name" to "update"' in errors[2]
