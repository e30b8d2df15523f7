"""Shared helpers: compile protos to descriptors and drive the plugin in-process."""

from __future__ import annotations

import signal
import subprocess
import sys
import tempfile
import weakref
from pathlib import Path
from typing import IO, Iterable, NamedTuple

from google.protobuf import descriptor_pb2
from google.protobuf.compiler import plugin_pb2
from grpc_tools import protoc

from generator.plugin import generate
from generator.tree import include_dirs

ROOT = Path(__file__).resolve().parents[1]
PROTO = ROOT / "proto"
GENERATED = ROOT / "generated"
SHARED = ROOT.parent / "shared"
TEST_PROTOS = ROOT / "tests" / "protos"
GOLDEN = ROOT / "tests" / "golden"

# The start of a script that imports generated code in a fresh process: importing any tool of
# the plugin itself fails there, since generated code must need the runtime libraries alone.
FORBID_BUILD_TOOLS = """
import importlib.abc, sys

class Forbidden(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("jinja2", "black", "grpc_tools", "generator"):
            raise ImportError(f"generated code imported {name}")
        return None

sys.meta_path.insert(0, Forbidden())
"""


def compile_descriptors(
    files: Iterable[str], roots: Iterable[Path] = (PROTO,)
) -> descriptor_pb2.FileDescriptorSet:
    """Runs protoc (grpcio-tools) and returns the descriptors of `files` and their imports."""
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / "set.pb"
        arguments = [
            "protoc",
            *(f"--proto_path={root}" for root in roots),
            *(f"--proto_path={path}" for path in include_dirs()),
            f"--descriptor_set_out={out}",
            "--include_imports",
            "--include_source_info",
            *files,
        ]
        assert protoc.main(arguments) == 0, f"protoc failed for {list(files)}"
        return descriptor_pb2.FileDescriptorSet.FromString(out.read_bytes())


def make_request(
    files: Iterable[str], parameter: str = "", roots: Iterable[Path] = (PROTO,)
) -> plugin_pb2.CodeGeneratorRequest:
    """A CodeGeneratorRequest as protoc would send it for `files`."""
    files = list(files)
    descriptor_set = compile_descriptors(files, roots)
    return plugin_pb2.CodeGeneratorRequest(
        file_to_generate=files, parameter=parameter, proto_file=descriptor_set.file
    )


def run_plugin(request: plugin_pb2.CodeGeneratorRequest) -> dict[str, str]:
    """Runs the plugin in-process; fails the test on an error response."""
    response = generate(request)
    assert not response.error, response.error
    return {item.name: item.content for item in response.file}


def proto_files(root: Path) -> list[str]:
    return sorted(str(path.relative_to(root)) for path in root.rglob("*.proto"))


def serves_then_stops(arguments: list[str]) -> None:
    """Runs a Python server (`python ARGUMENTS`, in generated/) that must print its address,
    then stop with exit code 0 on SIGTERM."""
    served = subprocess.Popen(
        [sys.executable, *arguments],
        cwd=GENERATED,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert served.stdout is not None
    assert served.stdout.readline().startswith("listening on "), served.stderr
    served.terminate()
    assert served.wait(timeout=30) == 0


def make_certificate(directory: Path) -> tuple[Path, Path]:
    """A fresh self-signed certificate for localhost and 127.0.0.1, as `make cert` makes one,
    written to `directory`: the paths of cert.pem and key.pem."""
    directory.mkdir(parents=True, exist_ok=True)
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost,IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return cert, key


def _remove_log(log: IO[bytes]) -> None:
    log.close()
    Path(log.name).unlink(missing_ok=True)


class ServerProcess:
    """A generated `api_server.py` in its own process, on a free port on 127.0.0.1."""

    def __init__(self, root: Path, *arguments: str) -> None:
        self.root = root
        self.arguments = arguments
        self.process: subprocess.Popen[str] | None = None
        self.address = ""
        self.http_address = ""  # host:port of the REST face, with --http-port
        self.log = tempfile.NamedTemporaryFile(
            prefix="api-server-", suffix=".log", delete=False
        )
        # Kept while the test may read it, gone with the object (or when pytest exits).
        weakref.finalize(self, _remove_log, self.log)

    def start(self, port: int = 0) -> "ServerProcess":
        command = [
            sys.executable,
            str(self.root / "api_server.py"),
            "--port",
            str(port),
            *self.arguments,
        ]
        self.process = subprocess.Popen(
            command, cwd=self.root, stdout=subprocess.PIPE, stderr=self.log, text=True
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline().strip()
        if not line.startswith("listening on "):
            self.process.kill()
            raise RuntimeError(
                f"server did not start: {line!r}\n{Path(self.log.name).read_text()}"
            )
        self.address = line.removeprefix("listening on ")
        if "--http-port" in self.arguments:
            line = self.process.stdout.readline().strip()
            if not line.startswith("REST on "):
                self.process.kill()
                raise RuntimeError(f"no REST face: {line!r}\n{self.server_log()}")
            self.http_address = line.removeprefix("REST on ")
        return self

    @property
    def port(self) -> int:
        return int(self.address.rsplit(":", 1)[1])

    def stop(self, sig: int = signal.SIGTERM) -> int:
        assert self.process is not None
        self.process.send_signal(sig)
        return self.process.wait(timeout=30)

    def server_log(self) -> str:
        return Path(self.log.name).read_text()


SDK_PYTHON = ROOT / ".venv-sdk" / "bin" / "python"


class SdkRun(NamedTuple):
    seen: dict  # type: ignore[type-arg]  # what the scenario printed last, as JSON
    port: int  # the server's port


def run_sdk_scenario(
    root: Path,
    scenario: Path,
    tmp_path: Path,
    token: str,
    *arguments: str,
    timeout: float = 300,
) -> SdkRun:
    """Runs `scenario` with the official SDK (in .venv-sdk, its own process: its
    `yandex.cloud.*` modules clash with ours) against `root`'s api_server.py, served over TLS
    with `token`; the scenario gets the address, the token, the certificate and `arguments`.
    """
    import json
    import os

    cert, key = make_certificate(tmp_path / "tls")
    server = ServerProcess(
        root,
        *("--db", ":memory:", "--tls-cert", str(cert), "--tls-key", str(key)),
        *("--token", token),
    ).start()
    try:
        environment = {
            name: value for name, value in os.environ.items() if name != "PYTHONPATH"
        }
        address = f"localhost:{server.port}"
        result = subprocess.run(
            [str(SDK_PYTHON), str(scenario), address, token, str(cert), *arguments],
            cwd=tmp_path,
            env=environment,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    finally:
        server.stop()
    assert result.returncode == 0, result.stdout + result.stderr[-5000:]
    return SdkRun(json.loads(result.stdout.strip().splitlines()[-1]), server.port)


def varint(value: int) -> bytes:
    """`value` as protobuf's wire format writes a varint (a negative one in 64 bits)."""
    value &= (1 << 64) - 1
    out = bytearray()
    while value > 0x7F:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    return bytes(out + bytes([value]))
