"""Per-package settings of the docs renderer: things the protos do not say.

The TOML file has one table per proto package:

    [packages."yandex.cloud.baremetal.v1alpha"]
    title = "BareMetal API"
    source_path = "en/_api-ref-grpc/baremetal/v1alpha/api-ref/grpc"
    link_base = "/docs/baremetal/api-ref/grpc"

A package without a table, or a table without some keys, gets defaults derived from its name.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from typing import Mapping

from generator.errors import OptionError

_KEYS = ("title", "source_path", "link_base")


@dataclass(frozen=True)
class PackageDocs:
    title: str
    source_path: str
    link_base: str


@dataclass(frozen=True)
class DocsConfig:
    packages: Mapping[str, Mapping[str, str]] = field(default_factory=dict, hash=False)

    def is_configured(self, package: str) -> bool:
        return package in self.packages

    def package(self, package: str) -> PackageDocs:
        """Settings for `package`: configured values, or ones derived from the name.

        `yandex.cloud.serverless.workflows.v1` gives the title `Serverless Workflows API`, the
        source path `en/_api-ref-grpc/serverless/workflows/v1/api-ref/grpc` and the link base
        `/docs/serverless/workflows/api-ref/grpc`. The source path keeps every part of the
        name in order, so that no two packages write their pages to the same place
        (`yandex.cloud.marketplace.v1.metering` and `yandex.cloud.marketplace.metering.v1`).
        """
        parts = package.split(".")
        if parts[:2] == ["yandex", "cloud"]:
            parts = parts[2:]
        parts = parts or ["api"]
        product = [part for part in parts if not _is_version(part)] or parts
        defaults = {
            "title": " ".join(part.capitalize() for part in product) + " API",
            "source_path": "/".join(["en/_api-ref-grpc", *parts, "api-ref/grpc"]),
            "link_base": "/docs/" + "/".join(product) + "/api-ref/grpc",
        }
        return PackageDocs(**{**defaults, **self.packages.get(package, {})})


def _is_version(part: str) -> bool:
    return len(part) > 1 and part[0] == "v" and part[1].isdigit()


def load_docs_config(path: str) -> DocsConfig:
    if not path:
        return DocsConfig()
    try:
        with open(path, "rb") as handle:
            data = tomllib.load(handle)
    except OSError as error:
        raise OptionError(
            f"docs_config: cannot read {path}: {error.strerror}"
        ) from None
    except tomllib.TOMLDecodeError as error:
        raise OptionError(f"docs_config: {path} is not valid TOML: {error}") from None
    unknown_tables = [key for key in data if key != "packages"]
    if unknown_tables:
        raise OptionError(
            f'docs_config: {path}: unknown table {unknown_tables[0]!r}; expected [packages."<proto package>"]'
        )
    packages: dict[str, dict[str, str]] = {}
    for package, settings in data.get("packages", {}).items():
        if not isinstance(settings, dict):
            raise OptionError(
                f"docs_config: {path}: packages.{package} must be a table"
            )
        for key, value in settings.items():
            if key not in _KEYS:
                raise OptionError(
                    f"docs_config: {path}: packages.\"{package}\": unknown key {key!r}; accepted keys: {', '.join(_KEYS)}"
                )
            if not isinstance(value, str):
                raise OptionError(
                    f'docs_config: {path}: packages."{package}".{key} must be a string'
                )
        packages[package] = dict(settings)
    return DocsConfig(packages)
