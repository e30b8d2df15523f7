"""Jinja2 environment over `templates/`, shipped inside the package as `generator.templates`.

Compiled templates are kept between runs, as Python keeps a module's bytecode: compiling them
is a tenth of a second of every run, spent before any page is rendered. They are kept in the
user's cache directory (`$XDG_CACHE_HOME/protoc-gen-python-custom`, by default
`~/.cache/protoc-gen-python-custom`), or where `PROTOC_GEN_PYTHON_CUSTOM_CACHE` says; set to
the empty string, it keeps none. Jinja checks each kept template against its source and the
Python version; the file names carry the environment's settings and Jinja's version besides.
A cache that cannot be read or written only means compiling again.
"""

from __future__ import annotations

import hashlib
import os
import pickle
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Callable, Mapping

import jinja2
from jinja2.bccache import Bucket

CACHE_VARIABLE = "PROTOC_GEN_PYTHON_CUSTOM_CACHE"
CACHE_NAME = "protoc-gen-python-custom"

_SETTINGS: Mapping[str, Any] = {
    "undefined": jinja2.StrictUndefined,
    "trim_blocks": True,
    "lstrip_blocks": True,
    "keep_trailing_newline": True,
    "autoescape": False,
    "auto_reload": False,  # templates do not change during a run: no stat per render
}


@lru_cache(maxsize=None)
def environment() -> jinja2.Environment:
    """The run's environment, which keeps each template once compiled."""
    return make_environment(cache_directory(os.environ))


def make_environment(cache: Path | None) -> jinja2.Environment:
    """An environment over the templates, their compiled code kept in `cache` if not None."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(resources.files("generator.templates"))),
        bytecode_cache=_template_cache(cache),
        **_SETTINGS,
    )


def load(*templates: str) -> None:
    """Compiles the templates now, once for the run (the environment keeps them): before
    workers are forked, so that no process compiles them again."""
    for template in templates:
        environment().get_template(template)


def render(template: str, **context: object) -> str:
    return environment().get_template(template).render(**context)


def macro(template: str, name: str) -> Callable[..., str]:
    """A macro of a template, to call from Python: much cheaper than a render per call."""
    found: Callable[..., str] = getattr(
        environment().get_template(template).module, name
    )
    return found


def cache_directory(environ: Mapping[str, str]) -> Path | None:
    """Where compiled templates are kept, or None to keep none."""
    chosen = environ.get(CACHE_VARIABLE)
    if chosen is not None:
        return Path(chosen) if chosen else None
    base = environ.get("XDG_CACHE_HOME") or os.path.join(
        os.path.expanduser("~"), ".cache"
    )
    return Path(base) / CACHE_NAME if os.path.isabs(base) else None


class _TemplateCache(jinja2.FileSystemBytecodeCache):
    """Jinja's cache of compiled templates in files, none of which a run needs: a file that
    cannot be read (missing, cut short, of another version) or written is compiled again.
    """

    def load_bytecode(self, bucket: Bucket) -> None:
        try:
            super().load_bytecode(bucket)
        except (OSError, EOFError, ValueError, TypeError, pickle.UnpicklingError):
            bucket.reset()

    def dump_bytecode(self, bucket: Bucket) -> None:
        try:
            super().dump_bytecode(bucket)
        except OSError:
            pass


def _template_cache(directory: Path | None) -> jinja2.BytecodeCache | None:
    if directory is None:
        return None
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError:
        return None
    # Jinja keys a template by its name and file; the settings it was compiled with go in
    # the file name too, so that no run loads a template compiled otherwise.
    settings = repr(sorted(_SETTINGS.items())) + jinja2.__version__
    digest = hashlib.sha1(settings.encode()).hexdigest()[:12]
    return _TemplateCache(str(directory), f"template-{digest}-%s.cache")
