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


def generate_tree(proto_dir: Path, out_dir: Path, plugin_options: str = "") -> None:
    protos = sorted(
        str(path.relative_to(proto_dir)) for path in proto_dir.rglob("*.proto")
    )
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(
        dir=out_dir.parent, prefix=f".{out_dir.name}-"
    ) as staging:
        arguments = [
            "protoc",
            f"--proto_path={proto_dir}",
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
            raise SystemExit(f"protoc failed for {proto_dir}")
        if out_dir.exists():
            shutil.rmtree(out_dir)
        shutil.copytree(staging, out_dir)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--proto", type=Path, default=Path("proto"), help="directory of .proto files"
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
    generate_tree(arguments.proto, arguments.out, arguments.opt)


if __name__ == "__main__":
    main()
