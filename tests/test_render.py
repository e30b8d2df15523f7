"""The templates' environment: compiled templates kept between runs (`generator.render`)."""

from __future__ import annotations

from pathlib import Path

import jinja2
import pytest

from generator import docs_faces, python_jobs, render

TEMPLATES = (*docs_faces.TEMPLATES, *python_jobs.TEMPLATES)


def _compiles(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the templates compiled from here on."""
    compiled: list[str] = []
    original = jinja2.Environment.compile

    def compile(self, source, name=None, filename=None, raw=False, defer_init=False):  # type: ignore[no-untyped-def]
        compiled.append(name)
        return original(self, source, name, filename, raw, defer_init)

    monkeypatch.setattr(jinja2.Environment, "compile", compile)
    return compiled


def test_a_later_run_loads_the_templates_compiled_by_an_earlier_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    compiled = _compiles(monkeypatch)
    first = render.make_environment(tmp_path)
    for name in TEMPLATES:
        first.get_template(name)
    assert compiled == list(TEMPLATES)
    assert len(list(tmp_path.iterdir())) == len(TEMPLATES)
    compiled.clear()
    later = render.make_environment(tmp_path)
    for name in TEMPLATES:
        later.get_template(name)
    assert compiled == []
    fresh = render.make_environment(None)  # the loaded code is the code compiled
    for name in TEMPLATES:
        loaded = later.get_template(name).root_render_func.__code__
        assert (
            loaded.co_code == fresh.get_template(name).root_render_func.__code__.co_code
        )


def test_a_template_whose_source_changed_is_compiled_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "page.j2").write_text("one {{ x }}\n")
    cache = tmp_path / "cache"

    def rendered() -> str:
        environment = render.make_environment(cache)
        environment.loader = jinja2.FileSystemLoader(str(templates))
        return environment.get_template("page.j2").render(x=1)

    assert rendered() == "one 1\n"
    (templates / "page.j2").write_text("two {{ x }}\n")
    assert rendered() == "two 1\n"


@pytest.mark.parametrize("damage", [b"", b"not a template", None])
def test_a_damaged_cache_file_is_compiled_again(
    damage: bytes | None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    render.make_environment(tmp_path).get_template("fieldmask.py.j2")
    (kept,) = tmp_path.iterdir()
    if damage is None:  # cut short in the middle of the code
        kept.write_bytes(kept.read_bytes()[: kept.stat().st_size // 2])
    else:
        kept.write_bytes(damage)
    compiled = _compiles(monkeypatch)
    render.make_environment(tmp_path).get_template("fieldmask.py.j2")
    assert compiled == ["fieldmask.py.j2"]
    compiled.clear()  # and written again, whole
    render.make_environment(tmp_path).get_template("fieldmask.py.j2")
    assert compiled == []


def test_templates_compiled_with_other_settings_are_not_loaded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    render.make_environment(tmp_path).get_template("fieldmask.py.j2")
    monkeypatch.setattr(render, "_SETTINGS", {**render._SETTINGS, "trim_blocks": False})
    compiled = _compiles(monkeypatch)
    render.make_environment(tmp_path).get_template("fieldmask.py.j2")
    assert compiled == ["fieldmask.py.j2"]
    assert len(list(tmp_path.iterdir())) == 2


def test_a_cache_that_cannot_be_made_is_done_without(tmp_path: Path) -> None:
    blocked = tmp_path / "a file"
    blocked.write_text("")
    environment = render.make_environment(blocked / "cache")
    assert environment.bytecode_cache is None
    assert environment.get_template("fieldmask.py.j2")


def test_a_cache_file_that_cannot_be_written_is_done_without(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(jinja2.FileSystemBytecodeCache, "dump_bytecode", refuse)
    assert render.make_environment(tmp_path).get_template("fieldmask.py.j2")


@pytest.mark.parametrize(
    "environ, expected",
    [
        ({render.CACHE_VARIABLE: "/srv/cache"}, Path("/srv/cache")),
        ({render.CACHE_VARIABLE: "", "XDG_CACHE_HOME": "/x"}, None),
        ({"XDG_CACHE_HOME": "/x"}, Path("/x") / render.CACHE_NAME),
        ({"XDG_CACHE_HOME": "relative"}, None),  # not a base directory (XDG spec)
    ],
)
def test_where_compiled_templates_are_kept(
    environ: dict[str, str], expected: Path | None
) -> None:
    assert render.cache_directory(environ) == expected


def test_compiled_templates_are_kept_in_the_home_cache_by_default(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    assert render.cache_directory({}) == tmp_path / ".cache" / render.CACHE_NAME
