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
from dataclasses import dataclass, field, replace
from typing import Iterable, Mapping

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
        The link base drops version parts, as the official URLs do; `for_run` keeps them where
        that would make two packages of a run share a link base.
        """
        parts = _name_parts(package)
        product = [part for part in parts if not _is_version(part)] or parts
        defaults = {
            "title": " ".join(part.capitalize() for part in product) + " API",
            "source_path": "/".join(["en/_api-ref-grpc", *parts, "api-ref/grpc"]),
            "link_base": _link_base(product),
        }
        return PackageDocs(**{**defaults, **self.packages.get(package, {})})

    def for_run(self, packages: Iterable[str]) -> dict[str, PackageDocs]:
        """Settings of the packages one run documents, with link bases unique among them.

        A default link base that another package of the run (or any configured one) also has
        gets the package's version parts back (`/docs/baremetal/v1alpha/api-ref/grpc` beside
        `/docs/baremetal/v2/api-ref/grpc`), so that every link names one package's pages.
        Configured values are kept as they are; a configured source path that is also another
        package's is an error naming both."""
        settings = {package: self.package(package) for package in sorted(set(packages))}
        claimed: dict[str, list[str]] = {}
        for package, docs in settings.items():
            claimed.setdefault(docs.link_base, []).append(package)
        for package in self.packages:
            claimed.setdefault(self.package(package).link_base, []).append(package)
        for package, docs in settings.items():
            if "link_base" in self.packages.get(package, {}):
                continue
            if len(set(claimed[docs.link_base])) > 1:
                unique = _link_base(_name_parts(package))
                settings[package] = replace(docs, link_base=unique)
        _check_unique(settings, "source_path", self)
        linked = {
            package: self.package(package)
            for package, values in self.packages.items()
            if "link_base" in values
        }
        _check_unique({**linked, **settings}, "link_base", self)
        return settings


def _name_parts(package: str) -> list[str]:
    parts = package.split(".")
    if parts[:2] == ["yandex", "cloud"]:
        parts = parts[2:]
    return parts or ["api"]


def _link_base(parts: list[str]) -> str:
    return "/docs/" + "/".join(parts) + "/api-ref/grpc"


def _is_version(part: str) -> bool:
    return len(part) > 1 and part[0] == "v" and part[1].isdigit()


def _check_unique(
    settings: Mapping[str, PackageDocs], key: str, config: DocsConfig
) -> None:
    """Two packages of a run with one source path (or link base) because the configuration
    says so: an error naming both."""
    owners: dict[str, str] = {}
    for package, docs in settings.items():
        value = getattr(docs, key)
        other = owners.setdefault(value, package)
        if other != package:
            configured = " and ".join(
                repr(name)
                for name in (other, package)
                if key in config.packages.get(name, {})
            )
            raise OptionError(
                f"docs_config: packages {other!r} and {package!r} would both have the "
                f"{key} {value!r} (configured for {configured}); each package needs its own"
            )


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
    for key in ("source_path", "link_base"):
        owners: dict[str, str] = {}
        for package, settings in packages.items():
            if key in settings:
                other = owners.setdefault(settings[key], package)
                if other != package:
                    raise OptionError(
                        f'docs_config: {path}: packages."{other}" and packages."{package}" '
                        f"both have {key} = {settings[key]!r}; each package needs its own"
                    )
    return DocsConfig(packages)
