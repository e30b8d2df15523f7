"""The plugin's options, given to protoc as `--python-custom_opt=key=value,key=value`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from generator.errors import OptionError

TARGETS = ("server", "client", "fieldmask", "docs")
PYTHON_TARGETS = ("server", "client", "fieldmask")
DOCS_FORMATS = ("classic", "current")
DOCS_APIS = ("grpc", "rest", "grpc+rest")


@dataclass(frozen=True)
class PluginOptions:
    targets: tuple[str, ...] = TARGETS
    docs_config: str = ""
    docs_format: str = "classic"  # docs: the generation of the official pages to follow
    docs_api: str = "grpc+rest"  # docs: the faces of the reference to write
    constraints: bool = False  # docs: append constraint sentences to field descriptions
    unique_names: bool = (
        True  # server: `name` is unique within the parent (ALREADY_EXISTS)
    )
    default_page_size: int = 20  # server: List page size when the request gives none
    strict: bool = (
        False  # schema problems in the files to generate are errors, not warnings
    )
    jobs: int = 0  # processes to render in; 0: one per core (up to 4) on a large run
    endpoints: str = (
        ""  # server: a TOML table of official endpoint ids (the shipped one)
    )


def _parse_targets(key: str, value: str) -> tuple[str, ...]:
    chosen = [item for item in value.split("+") if item]
    unknown = [item for item in chosen if item not in TARGETS]
    if unknown or not chosen:
        raise OptionError(
            f"invalid value {value!r} for option {key!r}: expected a '+'-separated subset of "
            f"{', '.join(TARGETS)}"
        )
    return tuple(target for target in TARGETS if target in chosen)


def _parse_path(key: str, value: str) -> str:
    if not value:
        raise OptionError(f"option {key!r} needs a path to a TOML file")
    return value


def _parse_bool(key: str, value: str) -> bool:
    if value not in ("true", "false"):
        raise OptionError(
            f"invalid value {value!r} for option {key!r}: expected true or false"
        )
    return value == "true"


def _parse_docs_format(key: str, value: str) -> str:
    if value not in DOCS_FORMATS:
        raise OptionError(
            f"invalid value {value!r} for option {key!r}: expected one of {', '.join(DOCS_FORMATS)}"
        )
    return value


def _parse_docs_api(key: str, value: str) -> str:
    faces = set(value.split("+"))
    if not faces or not faces <= {"grpc", "rest"} or "" in faces:
        raise OptionError(
            f"invalid value {value!r} for option {key!r}: expected one of {', '.join(DOCS_APIS)}"
        )
    return "+".join(face for face in ("grpc", "rest") if face in faces)


def _parse_jobs(key: str, value: str) -> int:
    if not value.isdigit():
        raise OptionError(
            f"invalid value {value!r} for option {key!r}: expected a number of processes "
            "(0: one per core)"
        )
    return int(value)


def _parse_page_size(key: str, value: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise OptionError(
            f"invalid value {value!r} for option {key!r}: expected a positive integer"
        )
    return int(value)


_PARSERS: dict[str, Callable[[str, str], object]] = {
    "targets": _parse_targets,
    "docs_config": _parse_path,
    "docs_format": _parse_docs_format,
    "docs_api": _parse_docs_api,
    "constraints": _parse_bool,
    "unique_names": _parse_bool,
    "default_page_size": _parse_page_size,
    "strict": _parse_bool,
    "jobs": _parse_jobs,
    "endpoints": _parse_path,
}


def parse_options(parameter: str) -> PluginOptions:
    values: dict[str, object] = {}
    for item in parameter.split(","):
        if not item.strip():
            continue
        key, separator, value = item.partition("=")
        key = key.strip()
        if key not in _PARSERS:
            raise OptionError(
                f"unknown option {key!r}; accepted options: {', '.join(_PARSERS)}"
            )
        if not separator:
            raise OptionError(f"option {key!r} needs a value: {key}=...")
        values[key] = _PARSERS[key](key, value.strip())
    return PluginOptions(**values)  # type: ignore[arg-type]
