"""The docs configuration: defaults from package names, link bases unique within a run, and
collisions the configuration causes reported with both packages."""

from __future__ import annotations

from pathlib import Path

import pytest

from generator.docs_config import DocsConfig, load_docs_config
from generator.errors import OptionError


def test_defaults_come_from_the_package_name() -> None:
    docs = DocsConfig().package("yandex.cloud.serverless.workflows.v1")
    assert docs.title == "Serverless Workflows API"
    assert docs.source_path == "en/_api-ref-grpc/serverless/workflows/v1/api-ref/grpc"
    assert docs.link_base == "/docs/serverless/workflows/api-ref/grpc"


@pytest.mark.parametrize(
    "packages, link_bases",
    [
        (
            ["yandex.cloud.baremetal.v1alpha", "yandex.cloud.baremetal.v2"],
            ["/docs/baremetal/v1alpha/api-ref/grpc", "/docs/baremetal/v2/api-ref/grpc"],
        ),
        (
            [
                "yandex.cloud.marketplace.v1.metering",
                "yandex.cloud.marketplace.metering.v1",
            ],
            [
                "/docs/marketplace/v1/metering/api-ref/grpc",
                "/docs/marketplace/metering/v1/api-ref/grpc",
            ],
        ),
        # Alone in its run, a package keeps the short link base.
        (["yandex.cloud.baremetal.v2"], ["/docs/baremetal/api-ref/grpc"]),
    ],
)
def test_default_link_bases_are_unique_in_a_run(
    packages: list[str], link_bases: list[str]
) -> None:
    settings = DocsConfig().for_run(packages)
    assert [settings[package].link_base for package in packages] == link_bases
    paths = [settings[package].source_path for package in packages]
    assert len(set(paths)) == len(paths)


def test_a_configured_link_base_is_kept_and_a_default_one_moves_aside() -> None:
    config = DocsConfig(
        {
            "yandex.cloud.baremetal.v1alpha": {
                "link_base": "/docs/baremetal/api-ref/grpc"
            }
        }
    )
    settings = config.for_run(
        ["yandex.cloud.baremetal.v1alpha", "yandex.cloud.baremetal.v2"]
    )
    assert (
        settings["yandex.cloud.baremetal.v1alpha"].link_base
        == "/docs/baremetal/api-ref/grpc"
    )
    assert (
        settings["yandex.cloud.baremetal.v2"].link_base
        == "/docs/baremetal/v2/api-ref/grpc"
    )


def test_source_path_configured_onto_another_package_is_an_error() -> None:
    config = DocsConfig(
        {"yandex.cloud.b.v1": {"source_path": "en/_api-ref-grpc/a/v1/api-ref/grpc"}}
    )
    with pytest.raises(OptionError) as raised:
        config.for_run(["yandex.cloud.a.v1", "yandex.cloud.b.v1"])
    message = str(raised.value)
    assert "'yandex.cloud.a.v1'" in message and "'yandex.cloud.b.v1'" in message
    assert "en/_api-ref-grpc/a/v1/api-ref/grpc" in message


@pytest.mark.parametrize("key", ["source_path", "link_base"])
def test_two_packages_configured_alike_is_an_error(tmp_path: Path, key: str) -> None:
    path = tmp_path / "docs.toml"
    path.write_text(
        f'[packages."acme.a.v1"]\n{key} = "same"\n\n[packages."acme.b.v1"]\n{key} = "same"\n'
    )
    with pytest.raises(OptionError) as raised:
        load_docs_config(str(path))
    message = str(raised.value)
    assert '"acme.a.v1"' in message and '"acme.b.v1"' in message and key in message
