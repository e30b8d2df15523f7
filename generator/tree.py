"""Regenerates a whole output tree from a directory of protos (what `make generate` runs).

It calls protoc (bundled with grpcio-tools) once, with protobuf's Python, `.pyi` and gRPC outputs
plus this plugin's, into a fresh directory that replaces OUT only when everything succeeded.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from importlib import resources
from pathlib import Path
from typing import Sequence

from google.api import annotations_pb2
from grpc_tools import protoc


def include_dirs() -> list[str]:
    """protobuf's well-known types (grpcio-tools) and google/api, google/rpc (googleapis-common-protos)."""
    googleapis = Path(annotations_pb2.__file__).resolve().parents[2]
    return [str(resources.files("grpc_tools") / "_proto"), str(googleapis)]


def plugin_path() -> str:
    script = Path(sys.executable).parent / "protoc-gen-python-custom"
    found = script if script.exists() else shutil.which("protoc-gen-python-custom")
    if not found:
        raise SystemExit(
            "protoc-gen-python-custom is not installed: run `pip install -e .`"
        )
    return str(found)


def generate_tree(
    proto_dirs: Path | Sequence[Path], out_dir: Path, plugin_options: str = ""
) -> None:
    """Generates every .proto under `proto_dirs` (one directory or several) into `out_dir`."""
    roots = [proto_dirs] if isinstance(proto_dirs, Path) else list(proto_dirs)
    protos = sorted(
        str(path.relative_to(root)) for root in roots for path in root.rglob("*.proto")
    )
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(
        dir=out_dir.parent, prefix=f".{out_dir.name}-"
    ) as staging:
        arguments = [
            "protoc",
            *(f"--proto_path={root}" for root in roots),
            *(f"--proto_path={path}" for path in include_dirs()),
            f"--plugin=protoc-gen-python-custom={plugin_path()}",
            f"--python_out={staging}",
            f"--pyi_out={staging}",
            f"--grpc_python_out={staging}",
            f"--python-custom_out={staging}",
            f"--python-custom_opt={plugin_options}",
            *protos,
        ]
        if protoc.main(arguments) != 0:
            raise SystemExit(f"protoc failed for {', '.join(map(str, roots))}")
        if out_dir.exists():
            shutil.rmtree(out_dir)
        shutil.copytree(staging, out_dir)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--proto",
        type=Path,
        action="append",
        help="a directory of .proto files to generate (repeatable; default: proto)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("generated"),
        help="output directory (replaced)",
    )
    parser.add_argument(
        "--opt", default="", help="plugin options, as for --python-custom_opt"
    )
    arguments = parser.parse_args()
    generate_tree(arguments.proto or [Path("proto")], arguments.out, arguments.opt)


if __name__ == "__main__":
    main()
