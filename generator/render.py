"""Jinja2 environment over `templates/`, shipped inside the package as `generator.templates`."""

from __future__ import annotations

from functools import lru_cache
from typing import Callable
from importlib import resources

import jinja2


@lru_cache(maxsize=None)
def environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(resources.files("generator.templates"))),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
        auto_reload=False,  # templates do not change during a run: no stat per render
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
