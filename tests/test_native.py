"""The plugin's compiled modules (generator/native.py): used only when current, and the same
answers as the plain modules."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import generator
from generator import model, native
from support import PROTO, make_request, proto_files

PACKAGE = Path(generator.__file__).parent
ROOT = PACKAGE.parent
needs_build = pytest.mark.skipif(
    not native.compiled_path(str(PACKAGE)),
    reason="no current compiled build of the plugin's modules (make native)",
)


def fake_package(tmp_path: Path) -> Path:
    package = tmp_path / "package"
    package.mkdir()
    for name in ("__init__.py", "native.py", "launch.py", "model.py", "views.py"):
        (package / name).write_text(f"# {name}\n")
    (package / "command.py").write_text(
        'def main() -> None: ...\n\n\nif __name__ == "__main__":\n    main()\n'
    )
    (package / "_compiled").mkdir()
    (package / "_compiled" / native.MANIFEST).write_text(
        native.manifest_text(str(package))
    )
    return package


def test_the_manifest_names_the_compiled_modules_and_their_sources(
    tmp_path: Path,
) -> None:
    package = fake_package(tmp_path)
    lines = native.manifest_text(str(package)).splitlines()
    assert lines[0].endswith(".so") or lines[0].endswith(".pyd")
    assert [line.split("  ")[1] for line in lines[1:]] == ["model.py", "views.py"]


def test_a_current_build_goes_first_on_the_path(tmp_path: Path) -> None:
    package = fake_package(tmp_path)
    assert native.compiled_path(str(package)) == [str(package / "_compiled")]


@pytest.mark.parametrize(
    "change",
    ["a module changed", "a module added", "a module removed", "another interpreter"],
)
def test_a_build_of_other_sources_is_not_used(tmp_path: Path, change: str) -> None:
    package = fake_package(tmp_path)
    if change == "a module changed":
        (package / "views.py").write_text("# views.py, changed\n")
    elif change == "a module added":
        (package / "more.py").write_text("")
    elif change == "a module removed":
        (package / "views.py").unlink()
    else:
        manifest = package / "_compiled" / native.MANIFEST
        manifest.write_text(
            manifest.read_text().replace(
                manifest.read_text().split("\n")[0], ".other.so"
            )
        )
    assert native.compiled_path(str(package)) == []


def test_no_build_and_the_plain_modules_asked_for_use_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = fake_package(tmp_path)
    monkeypatch.setenv(native.PURE, "1")
    assert native.compiled_path(str(package)) == []
    monkeypatch.delenv(native.PURE)
    (package / "_compiled" / native.MANIFEST).unlink()
    assert native.compiled_path(str(package)) == []


def test_the_package_start_and_what_python_m_runs_stay_plain() -> None:
    """runpy runs a module's source: `python -m generator.tree` (make generate) could not run
    a compiled one."""
    compiled = native.compiled_sources(str(PACKAGE))
    assert "model.py" in compiled and "plugin.py" in compiled
    plain = {"__init__.py", "native.py", "launch.py", "build_native.py", "tree.py"}
    assert not plain & set(compiled)


@needs_build
def test_a_current_build_is_what_runs() -> None:
    """`make test` runs the suite on the compiled modules where they are built."""
    if os.environ.get(native.PURE):
        pytest.skip(f"{native.PURE} is set: the plain modules run")
    assert model.__spec__ is not None and model.__spec__.origin is not None
    assert native.COMPILED_DIRECTORY in Path(model.__spec__.origin).parts


def plugin_answer(request: bytes, pure: bool) -> tuple[bytes, str]:
    environment = {
        key: value for key, value in os.environ.items() if key != native.PURE
    }
    if pure:
        environment[native.PURE] = "1"
    result = subprocess.run(
        [sys.executable, "-m", "generator"],
        input=request,
        capture_output=True,
        env=environment,
        cwd=ROOT,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr.decode()
    return result.stdout, result.stderr.decode()


@needs_build
@pytest.mark.parametrize(
    "parameter",
    [
        "docs_config=proto/docs.toml",
        # Two processes: the compiled model's parts are pickled back from a worker.
        "docs_config=proto/docs.toml,jobs=2",
        "targets=docs,docs_format=current,constraints=true,jobs=2",
    ],
)
def test_the_compiled_modules_answer_as_the_plain_ones(parameter: str) -> None:
    request = make_request(proto_files(PROTO), parameter).SerializeToString()
    compiled, compiled_warnings = plugin_answer(request, pure=False)
    plain, plain_warnings = plugin_answer(request, pure=True)
    assert compiled == plain
    assert compiled_warnings == plain_warnings
    assert len(compiled) > 100_000


def test_a_current_build_is_not_built_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Whatever the plain modules are asked for (`make test` under PURE still builds only
    what changed)."""
    package = fake_package(tmp_path)
    monkeypatch.setenv(native.PURE, "1")
    assert native.build(str(package), 1)
    assert capsys.readouterr().out == f"{package / '_compiled'}: up to date\n"
