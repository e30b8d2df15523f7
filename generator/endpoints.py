"""The service ids that endpoint discovery (the runtime's ApiEndpointService) lists for the
services a run serves: for each service, the id derived from its package's name, and the
official ids that an endpoint table gives for its proto file or its name.

A table is a TOML file of one table, `[endpoints]`, whose keys are dotted names and whose
values list ids:

    [endpoints]
    "acme.fleet" = ["fleet"]
    "acme.fleet.v1.telemetry_service" = ["fleet-telemetry"]

A key applies to a service when it is, component by component, a prefix of the service's proto
file path written with dots (`acme/fleet/v1/telemetry_service.proto` is
`acme.fleet.v1.telemetry_service`, as protoc names the file's Python modules) or of the
service's full name (`acme.fleet.v1.RobotService`). The plugin ships the table of the public
Yandex Cloud API (`endpoints.toml` beside this module); the option `endpoints=PATH` names
another, which replaces it.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from importlib import resources
from typing import Iterable, Mapping

from generator.errors import OptionError

SHIPPED_TABLE = "endpoints.toml"  # in this package


@dataclass(frozen=True)
class EndpointTable:
    """Official ids by the name components of their key (see the module's docstring)."""

    ids: Mapping[tuple[str, ...], tuple[str, ...]] = field(
        default_factory=dict, hash=False
    )

    def official_ids(self, proto_file: str, service: str) -> set[str]:
        """The ids of every key that applies to `service` (a full name) of `proto_file`."""
        names = (tuple(dotted_path(proto_file).split(".")), tuple(service.split(".")))
        prefixes = {
            name[:length] for name in names for length in range(1, len(name) + 1)
        }
        return {id_ for prefix in prefixes for id_ in self.ids.get(prefix, ())}


def dotted_path(proto_file: str) -> str:
    """`a/b/x_service.proto` as `a.b.x_service`: the file's Python module, less `_pb2`."""
    return proto_file.removesuffix(".proto").replace("/", ".")


def derived_id(package: str) -> str:
    """The service id derived from an API's package: the components after `yandex.cloud` (all
    of them for other packages) without version parts, joined by `-`, with `_` written `-` too,
    as service ids are. `yandex.cloud.baremetal.v1alpha` gives `baremetal`,
    `yandex.cloud.ai.foundation_models.v1` gives `ai-foundation-models`, `acme.fleet.v1` gives
    `acme-fleet`."""
    parts = package.split(".")
    if parts[:2] == ["yandex", "cloud"]:
        parts = parts[2:]
    product = [part for part in parts if not is_version(part)]
    return "-".join(product or parts).replace("_", "-")


def is_version(part: str) -> bool:
    """`v1`, `v1alpha`, `v2beta1`: a version component of a package name (the rule the docs
    defaults use too)."""
    return len(part) > 1 and part[0] == "v" and part[1].isdigit()


def endpoint_ids(
    served: Iterable[tuple[str, str, str]], table: EndpointTable
) -> list[str]:
    """The ids to list for `served` services, each given as (proto file, package, full name):
    derived and official, sorted, without repeats."""
    ids: set[str] = set()
    for proto_file, package, service in served:
        ids.add(derived_id(package))
        ids |= table.official_ids(proto_file, service)
    return sorted(ids)


def load_endpoint_table(path: str = "") -> EndpointTable:
    """The table in the TOML file at `path`, or the shipped one when `path` is empty. A file
    that does not read or parse, or is not of the table's form, is an OptionError naming it.
    """
    where = path or SHIPPED_TABLE
    try:
        if path:
            with open(path, "rb") as handle:
                data = tomllib.load(handle)
        else:
            text = resources.files("generator").joinpath(SHIPPED_TABLE).read_text()
            data = tomllib.loads(text)
    except OSError as error:
        raise OptionError(f"endpoints: cannot read {where}: {error.strerror}") from None
    except tomllib.TOMLDecodeError as invalid:
        raise OptionError(f"endpoints: {where} is not valid TOML: {invalid}") from None
    unknown = [key for key in data if key != "endpoints"]
    if unknown:
        raise OptionError(
            f"endpoints: {where}: unknown table {unknown[0]!r}; expected [endpoints]"
        )
    entries = data.get("endpoints", {})
    if not isinstance(entries, dict):
        raise OptionError(f"endpoints: {where}: endpoints must be a table")
    table: dict[tuple[str, ...], tuple[str, ...]] = {}
    for key, ids in entries.items():
        parts = tuple(key.split("."))
        if not all(parts):
            raise OptionError(
                f"endpoints: {where}: {key!r} is not a dotted name (a file path or a "
                "full name, with dots)"
            )
        if (
            not isinstance(ids, list)
            or not ids
            or not all(isinstance(id_, str) and id_ for id_ in ids)
        ):
            raise OptionError(
                f'endpoints: {where}: "{key}" must be a list of one or more ids (strings)'
            )
        table[parts] = tuple(ids)
    return EndpointTable(table)
