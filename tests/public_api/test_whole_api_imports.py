"""Every module generated from the whole public API compiles and imports, in a fresh process
that refuses the plugin's build tools: protoc's `_pb2`/`_pb2_grpc` modules, the plugin's
servers, clients and field-mask helpers, api_server.py and yc_runtime; the `.pyi` stubs
compile."""

from __future__ import annotations

import subprocess
import sys

from support import FORBID_BUILD_TOOLS
from whole_api import GeneratedApi, report

_IMPORT_EVERYTHING = FORBID_BUILD_TOOLS + """
import importlib, pathlib, sys
root = pathlib.Path.cwd()
sys.path.insert(0, str(root))
modules = stubs = 0
for path in sorted(root.rglob("*.py*")):
    if "__pycache__" in path.parts:
        continue
    if path.suffix == ".pyi":
        compile(path.read_text(encoding="utf-8"), str(path), "exec")
        stubs += 1
    elif path.suffix == ".py":
        importlib.import_module(".".join(path.relative_to(root).with_suffix("").parts))
        modules += 1
print(modules, stubs)
"""


def test_every_generated_module_imports(generated_api: GeneratedApi) -> None:
    result = subprocess.run(
        [sys.executable, "-I", "-c", _IMPORT_EVERYTHING],
        cwd=generated_api.root,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stderr[-5000:]
    modules, stubs = map(int, result.stdout.split())
    plugin_modules = [name for name in generated_api.outputs if name.endswith(".py")]
    protoc_modules = 2 * len(generated_api.source.api_files)  # _pb2 and _pb2_grpc
    assert modules == len(plugin_modules) + protoc_modules
    assert stubs == sum(1 for name in generated_api.outputs if name.endswith(".pyi"))
    report(generated_api.source, "modules imported", modules)
