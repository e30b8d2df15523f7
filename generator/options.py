"""The plugin's options, given to protoc as `--python-custom_opt=key=value,key=value`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from generator.errors import OptionError

TARGETS = ("docs",)


@dataclass(frozen=True)
class PluginOptions:
    targets: tuple[str, ...] = TARGETS
    docs_config: str = ""


def _parse_targets(value: str) -> tuple[str, ...]:
    chosen = [item for item in value.split("+") if item]
    unknown = [item for item in chosen if item not in TARGETS]
    if unknown or not chosen:
        raise OptionError(
            f"invalid value {value!r} for option 'targets': expected a '+'-separated subset of "
            f"{', '.join(TARGETS)}"
        )
    return tuple(target for target in TARGETS if target in chosen)


def _parse_path(value: str) -> str:
    if not value:
        raise OptionError("option 'docs_config' needs a path to a TOML file")
    return value


_PARSERS: dict[str, Callable[[str], object]] = {
    "targets": _parse_targets,
    "docs_config": _parse_path,
}


def parse_options(parameter: str) -> PluginOptions:
    values: dict[str, object] = {}
    for item in parameter.split(","):
        if not item.strip():
            continue
        key, separator, value = item.partition("=")
        key = key.strip()
        if key not in _PARSERS:
            raise OptionError(f"unknown option {key!r}; accepted options: {', '.join(_PARSERS)}")
        if not separator:
            raise OptionError(f"option {key!r} needs a value: {key}=...")
        values[key] = _PARSERS[key](value.strip())
    return PluginOptions(**values)  # type: ignore[arg-type]
