"""Writes the reference pages of a whole API checkout into a directory (what `make docs` runs).

    python -m generator.docs_tree --proto DIR [--out OUT] [--format classic|current]
                                  [--api grpc|rest|grpc+rest] [--config TOML]
                                  [--include DIR ...] [--jobs N]

Every .proto under DIR is documented, in one run, as the official reference is built, so that
references resolve across packages. DIR/third_party/googleapis (as in the public cloudapi
repository) and every --include directory are only searched for imports. A file protoc rejects
is skipped with protoc's message, and so is every file that imports it. Progress and warnings go
to stderr; pages are written below OUT at their source paths, and nothing else there is touched.
"""

from __future__ import annotations

import argparse
import gc
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Callable, Sequence

from google.protobuf import descriptor_pb2

from generator import parallel
from generator.errors import GeneratorError
from generator.model import build_api
from generator.options import parse_options
from generator.plugin import Job, output_jobs
from generator.tree import include_dirs

# protoc's error lines start with the file they are about: `a/b.proto:12:3: ...` or `a/b.proto: ...`.
_PROTOC_ERROR = re.compile(r"^(?P<file>[^:\s]+\.proto):(?:\d+:\d+:)? ?(?P<message>.*)$")


@dataclass(frozen=True)
class CompiledTree:
    """The descriptors of the files of a tree that protoc accepts, and the ones it rejects."""

    descriptors: descriptor_pb2.FileDescriptorSet
    files: tuple[str, ...]  # the accepted files, relative to the tree's root
    skipped: dict[str, str]  # rejected file -> protoc's first message about it


def import_roots(root: Path, includes: Sequence[Path] = ()) -> list[Path]:
    """Directories only searched for imports: the checkout's vendored googleapis, if it has
    one, and the ones given."""
    vendored = root / "third_party" / "googleapis"
    return [*([vendored] if vendored.is_dir() else []), *includes]


def proto_files(root: Path, imports_only: Sequence[Path]) -> list[str]:
    """The .proto files to document: all under `root` but those in its import-only directories."""
    excluded = [path.resolve() for path in imports_only]
    return sorted(
        str(path.relative_to(root))
        for path in root.rglob("*.proto")
        if not any(path.resolve().is_relative_to(directory) for directory in excluded)
    )


def compile_tree(
    root: Path,
    includes: Sequence[Path] = (),
    report: Callable[[str], None] = lambda line: None,
) -> CompiledTree:
    """Runs protoc over every file of the tree at once; when it rejects files, they (and then
    the files importing them) are left out and protoc runs again on the rest."""
    imports_only = import_roots(root, includes)
    files = proto_files(root, imports_only)
    report(f"compiling {len(files)} .proto files under {root}")
    skipped: dict[str, str] = {}
    with tempfile.TemporaryDirectory() as scratch:
        output = Path(scratch) / "descriptors.pb"
        while files:
            result = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "grpc_tools.protoc",
                    f"--proto_path={root}",
                    *(f"--proto_path={path}" for path in imports_only),
                    *(f"--proto_path={path}" for path in include_dirs()),
                    f"--descriptor_set_out={output}",
                    "--include_imports",
                    "--include_source_info",
                    *files,
                ],
                capture_output=True,
                text=True,
            )
            if result.returncode == 0:
                descriptors = descriptor_pb2.FileDescriptorSet.FromString(
                    output.read_bytes()
                )
                return CompiledTree(descriptors, tuple(files), skipped)
            rejected: dict[str, str] = {}
            for line in result.stderr.splitlines():
                match = _PROTOC_ERROR.match(line)
                if match is None:
                    continue
                # protoc names a file by its path on disk when it read it from there.
                name = match["file"].removeprefix(f"{root}/")
                if name in files:
                    rejected.setdefault(name, match["message"])
            if not rejected:
                raise GeneratorError(f"protoc failed:\n{result.stderr.strip()}")
            for name, message in rejected.items():
                report(f"skipping {name}: protoc rejects it: {message}")
            skipped.update(rejected)
            files = [name for name in files if name not in rejected]
    raise GeneratorError(f"protoc rejects every .proto file under {root}")


def write_docs(
    root: Path,
    out: Path,
    options: str = "",
    includes: Sequence[Path] = (),
    report: Callable[[str], None] = lambda line: None,
) -> int:
    """Documents every rpc and service of the tree under `out`; returns the number of pages
    written."""
    parsed = parse_options(f"targets=docs,{options}")
    started = time.perf_counter()
    compiled = compile_tree(root, includes, report)
    report(
        f"compiled {len(compiled.files)} files in {time.perf_counter() - started:.1f} s"
    )
    api = build_api(
        compiled.descriptors.file, compiled.files, parsed.strict, meanings=False
    )
    for problem in api.problems:
        report(problem.warning)
    services = [s for proto_file in api.generated_files for s in proto_file.services]
    jobs = output_jobs(api, parsed)  # a page each: one per rpc, an index per service
    total = len(jobs)
    report(f"writing {total} pages of {len(services)} services to {out}")
    written = 0
    step = max(total // 10, 1)

    def page_written(_: bytes) -> None:
        nonlocal written
        written += 1
        if written % step == 0 or written == total:
            report(f"pages: {written}/{total}")

    # The pages are written where they are made, in the plugin's processes (see parallel).
    parallel.run_in_order(
        [partial(_write_pages, job, out) for job in jobs],
        parsed.jobs or parallel.auto_processes(len(jobs)),
        page_written,
        [job.group for job in jobs],
    )
    report(
        f"wrote {written} pages ({len(services)} services, {len(compiled.files)} files) to {out} "
        f"in {time.perf_counter() - started:.1f} s"
        + (f"; {len(compiled.skipped)} files skipped" if compiled.skipped else "")
    )
    return written


def _write_pages(job: Job, out: Path) -> bytes:
    for path, content in job.render():
        target = out / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content, encoding="utf-8")
    return b""


def main(arguments: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--proto", type=Path, required=True, help="the root of the API's .proto files"
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("var/docs"),
        help="where pages go (default: var/docs)",
    )
    parser.add_argument(
        "--format",
        default="",
        help="docs_format: classic (the default) or current",
    )
    parser.add_argument(
        "--api", default="", help="docs_api: grpc, rest or grpc+rest (the default)"
    )
    parser.add_argument("--config", default="", help="a docs configuration file (TOML)")
    parser.add_argument(
        "--jobs",
        type=int,
        default=0,
        help="processes to write pages in (default 0: one per core, up to 4)",
    )
    parser.add_argument(
        "--include",
        type=Path,
        action="append",
        default=[],
        help="another directory searched only for imports (repeatable)",
    )
    parsed = parser.parse_args(arguments)
    options = ",".join(
        option
        for option in (
            f"docs_format={parsed.format}" if parsed.format else "",
            f"docs_api={parsed.api}" if parsed.api else "",
            f"docs_config={parsed.config}" if parsed.config else "",
            f"jobs={parsed.jobs}" if parsed.jobs else "",
        )
        if option
    )
    if not parsed.proto.is_dir():
        raise SystemExit(f"--proto {parsed.proto}: not a directory")
    gc.disable()  # one run, then the process ends: see plugin.main
    try:
        write_docs(
            parsed.proto,
            parsed.out,
            options,
            parsed.include,
            lambda line: print(line, file=sys.stderr, flush=True),
        )
    except GeneratorError as error:
        raise SystemExit(f"docs: {error}") from None


if __name__ == "__main__":
    main()
