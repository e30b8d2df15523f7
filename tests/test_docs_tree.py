"""`python -m generator.docs_tree` (`make docs`): pages for a whole checkout into a directory,
files protoc rejects skipped with its message, progress and a final count on stderr."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from generator.docs_tree import compile_tree, write_docs
from support import PROTO

GOOD = """syntax = "proto3";
package acme.good.v1;
import "google/type/weekday.proto";
message GetThingRequest { string thing_id = 1; }
// A thing, see [acme.vendor.v1.VendorService.Get].
message Thing { string id = 1; google.type.Weekday day = 2; }
service ThingService { rpc Get (GetThingRequest) returns (Thing); }
"""
BROKEN = (
    'syntax = "proto3";\npackage acme.bad.v1;\nmessage Broken { strin name = 1; }\n'
)
IMPORTS_BROKEN = """syntax = "proto3";
package acme.good.v1;
import "acme/bad/v1/broken.proto";
message UsesBroken { acme.bad.v1.Broken broken = 1; }
"""
# Vendored like cloudapi's third_party/googleapis: imported, never documented.
VENDORED = """syntax = "proto3";
package google.type;
enum Weekday { WEEKDAY_UNSPECIFIED = 0; MONDAY = 1; }
message Empty {}
service VendorOnly { rpc Get (Empty) returns (Empty); }
"""


def _checkout(root: Path) -> Path:
    for name, text in {
        "acme/good/v1/thing.proto": GOOD,
        "acme/bad/v1/broken.proto": BROKEN,
        "acme/good/v1/uses_broken.proto": IMPORTS_BROKEN,
        "third_party/googleapis/google/type/weekday.proto": VENDORED,
    }.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def test_rejected_files_and_their_importers_are_skipped(tmp_path: Path) -> None:
    root = _checkout(tmp_path / "api")
    lines: list[str] = []
    tree = compile_tree(root, report=lines.append)
    assert tree.files == ("acme/good/v1/thing.proto",)
    assert sorted(tree.skipped) == [
        "acme/bad/v1/broken.proto",
        "acme/good/v1/uses_broken.proto",
    ]
    assert "strin" in tree.skipped["acme/bad/v1/broken.proto"]
    assert any(
        line.startswith("skipping acme/bad/v1/broken.proto: protoc rejects it:")
        for line in lines
    )


def test_writes_a_page_per_rpc_and_reports_progress(tmp_path: Path) -> None:
    root = _checkout(tmp_path / "api")
    out = tmp_path / "out"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "generator.docs_tree",
            "--proto",
            str(root),
            "--out",
            str(out),
            "--format",
            "current",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    pages = sorted(str(path.relative_to(out)) for path in out.rglob("*.md"))
    assert pages == [
        "en/_api-ref-grpc/acme/good/v1/api-ref/grpc/Thing/get.md",
        "en/_api-ref-grpc/acme/good/v1/api-ref/grpc/Thing/index.md",
    ]
    page = (out / pages[0]).read_text()
    assert page.startswith(
        "---\neditable: false\n---\n\n# Acme Good API, gRPC: ThingService.Get"
    )
    lines = result.stderr.splitlines()
    assert "pages: 2/2" in lines
    assert lines[-1].startswith("wrote 2 pages (1 services, 1 files) to ")
    assert lines[-1].endswith("; 2 files skipped")


def test_write_docs_counts_pages(tmp_path: Path) -> None:
    root = _checkout(tmp_path / "api")
    assert write_docs(root, tmp_path / "out", "docs_format=classic") == 2


def test_pages_are_the_same_written_by_one_process_or_two(tmp_path: Path) -> None:
    """The command forks (a process of its own, with one thread): `--jobs 2` shares the pages
    between two processes, `--jobs 1` writes them alone; the same files either way."""
    trees = {}
    for jobs in ("1", "2"):
        out = tmp_path / f"jobs{jobs}"
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "generator.docs_tree",
                "--proto",
                str(PROTO),
                "--out",
                str(out),
                "--config",
                str(PROTO / "docs.toml"),
                "--jobs",
                jobs,
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
        trees[jobs] = {
            str(path.relative_to(out)): path.read_text() for path in out.rglob("*.md")
        }
    assert len(trees["1"]) >= 6 and trees["1"] == trees["2"]
