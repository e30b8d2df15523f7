"""Per-package settings of the docs renderer: things the protos do not say.

The TOML file has one table per proto package:

    [packages."yandex.cloud.baremetal.v1alpha"]
    title = "BareMetal API"
    source_path = "en/_api-ref-grpc/baremetal/v1alpha/api-ref/grpc"
    link_base = "/docs/baremetal/api-ref/grpc"
    rest_source_path = "en/_api-ref/baremetal/v1alpha/api-ref"   # REST pages
    rest_link_base = "/docs/baremetal/api-ref"
    rest_host = "baremetal.{{ api-host }}"

    [packages."yandex.cloud.certificatemanager.v1".services."CertificateContentService"]
    rest_host = "{{ api-host-certmanager-certcontent }}"

A package without a table, or a table without some keys, gets defaults derived from its name
(docs-format-rest.md, "How the project maps these pages"). Packages may share a folder and a
link base, as the official reference puts baremetal v1alpha and v2 in one; two pages written
to one path are an error (the docs view names both).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, replace
from typing import Any, Iterable, Mapping

from generator.endpoints import derived_id, is_version
from generator.errors import OptionError

_KEYS = (
    "title",
    "source_path",
    "link_base",
    "rest_source_path",
    "rest_link_base",
    "rest_host",
)
_SERVICE_KEYS = ("rest_host",)
_SERVICES = "services"
API_HOST = "{{ api-host }}"  # the variable the official pages write hosts with


@dataclass(frozen=True)
class PackageDocs:
    title: str
    source_path: str  # gRPC pages
    link_base: str
    rest_source_path: str  # REST pages
    rest_link_base: str
    rest_host: str
    # Hosts of services that are not at the package's (by service name).
    service_hosts: Mapping[str, str] = field(default_factory=dict, hash=False)

    def host(self, service: str) -> str:
        """The REST host of `service` (its name, `ImageService`)."""
        return self.service_hosts.get(service, self.rest_host)


@dataclass(frozen=True)
class DocsConfig:
    # By package: its keys, and under `services` a table of keys by service name.
    packages: Mapping[str, Mapping[str, Any]] = field(default_factory=dict, hash=False)

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
        product = [part for part in parts if not is_version(part)] or parts
        configured = dict(self.packages.get(package, {}))
        services = configured.pop(_SERVICES, {})
        values = {
            "title": " ".join(part.capitalize() for part in product) + " API",
            "source_path": "/".join(["en/_api-ref-grpc", *parts, "api-ref/grpc"]),
            "link_base": _link_base(product),
            "rest_host": f"{derived_id(package)}.{API_HOST}",
            **configured,
        }
        values.setdefault("rest_source_path", rest_path(values["source_path"]))
        values.setdefault("rest_link_base", values["link_base"].removesuffix("/grpc"))
        return PackageDocs(
            **values,
            service_hosts={name: keys["rest_host"] for name, keys in services.items()},
        )

    def for_run(self, packages: Iterable[str]) -> dict[str, PackageDocs]:
        """Settings of the packages one run documents, with default link bases unique among
        them.

        A default link base that another package of the run (or any configured one) also has
        gets the package's version parts back (`/docs/baremetal/v1alpha/api-ref/grpc` beside
        `/docs/baremetal/v2/api-ref/grpc`), and its REST one with it, so that every default
        link names one package's pages. Configured values are kept as they are: packages may
        share a folder on purpose."""
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
                rest = self.packages.get(package, {}).get(
                    "rest_link_base", unique.removesuffix("/grpc")
                )
                settings[package] = replace(docs, link_base=unique, rest_link_base=rest)
        return settings


def _name_parts(package: str) -> list[str]:
    parts = package.split(".")
    if parts[:2] == ["yandex", "cloud"]:
        parts = parts[2:]
    return parts or ["api"]


def _link_base(parts: list[str]) -> str:
    return "/docs/" + "/".join(parts) + "/api-ref/grpc"


def rest_path(source_path: str) -> str:
    """The default folder of REST pages beside gRPC ones: `_api-ref-grpc` read as `_api-ref`,
    the final `/grpc` dropped."""
    return source_path.replace("_api-ref-grpc", "_api-ref", 1).removesuffix("/grpc")


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
    except tomllib.TOMLDecodeError as invalid:
        raise OptionError(f"docs_config: {path} is not valid TOML: {invalid}") from None
    unknown_tables = [key for key in data if key != "packages"]
    if unknown_tables:
        raise OptionError(
            f'docs_config: {path}: unknown table {unknown_tables[0]!r}; expected [packages."<proto package>"]'
        )
    packages: dict[str, dict[str, Any]] = {}
    for package, settings in data.get("packages", {}).items():
        where = f'packages."{package}"'
        if not isinstance(settings, dict):
            raise OptionError(f"docs_config: {path}: {where} must be a table")
        services = settings.pop(_SERVICES, {})
        _check_table(path, where, settings, _KEYS)
        if not isinstance(services, dict):
            raise OptionError(f"docs_config: {path}: {where}.services must be a table")
        for service, keys in services.items():
            inner = f'{where}.services."{service}"'
            if not isinstance(keys, dict):
                raise OptionError(f"docs_config: {path}: {inner} must be a table")
            _check_table(path, inner, keys, _SERVICE_KEYS)
        packages[package] = {**settings, _SERVICES: services} if services else settings
    return DocsConfig(packages)


def _check_table(
    path: str, where: str, table: dict[str, Any], keys: tuple[str, ...]
) -> None:
    for key, value in table.items():
        if key not in keys:
            raise OptionError(
                f"docs_config: {path}: {where}: unknown key {key!r}; accepted keys: "
                f"{', '.join(keys)}"
            )
        if not isinstance(value, str):
            raise OptionError(f"docs_config: {path}: {where}.{key} must be a string")
