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


def test_packages_may_share_a_configured_folder_and_link_base(tmp_path: Path) -> None:
    """As the official reference puts baremetal v1alpha and v2 in one folder (§1.2)."""
    path = tmp_path / "docs.toml"
    path.write_text(
        '[packages."acme.a.v1"]\nsource_path = "same"\nlink_base = "/docs/a/api-ref/grpc"\n\n'
        '[packages."acme.a.v2"]\nsource_path = "same"\nlink_base = "/docs/a/api-ref/grpc"\n'
    )
    settings = load_docs_config(str(path)).for_run(["acme.a.v1", "acme.a.v2"])
    assert (
        settings["acme.a.v1"].source_path == settings["acme.a.v2"].source_path == "same"
    )
    assert settings["acme.a.v2"].rest_link_base == "/docs/a/api-ref"


def test_rest_settings_default_from_the_grpc_ones() -> None:
    """docs-format-rest.md, "How the project maps these pages"."""
    docs = DocsConfig(
        {
            "yandex.cloud.serverless.workflows.v1": {
                "source_path": "en/_api-ref-grpc/serverless/workflows/v1/workflows/api-ref/grpc",
                "link_base": "/docs/serverless-integrations/workflows/api-ref/grpc",
            }
        }
    ).package("yandex.cloud.serverless.workflows.v1")
    assert (
        docs.rest_source_path == "en/_api-ref/serverless/workflows/v1/workflows/api-ref"
    )
    assert docs.rest_link_base == "/docs/serverless-integrations/workflows/api-ref"
    assert docs.rest_host == "serverless-workflows.{{ api-host }}"
    assert docs.host("WorkflowService") == docs.rest_host


def test_rest_host_per_service(tmp_path: Path) -> None:
    path = tmp_path / "docs.toml"
    path.write_text(
        '[packages."yandex.cloud.certificatemanager.v1"]\n'
        'rest_host = "{{ api-host-certmanager }}"\n\n'
        '[packages."yandex.cloud.certificatemanager.v1".services."CertificateContentService"]\n'
        'rest_host = "{{ api-host-certmanager-certcontent }}"\n'
    )
    docs = load_docs_config(str(path)).package("yandex.cloud.certificatemanager.v1")
    assert docs.host("CertificateService") == "{{ api-host-certmanager }}"
    assert (
        docs.host("CertificateContentService")
        == "{{ api-host-certmanager-certcontent }}"
    )


@pytest.mark.parametrize(
    "text, problem",
    [
        ('[packages."a.v1".services."S"]\nhost = "x"\n', "unknown key 'host'"),
        (
            '[packages."a.v1".services."S"]\nrest_host = 1\n',
            "rest_host must be a string",
        ),
        ('[packages."a.v1"]\nservices = "x"\n', "services must be a table"),
        ('[packages."a.v1"]\nrest_host = 1\n', "rest_host must be a string"),
    ],
)
def test_bad_rest_settings_are_errors(tmp_path: Path, text: str, problem: str) -> None:
    path = tmp_path / "docs.toml"
    path.write_text(text)
    with pytest.raises(OptionError) as raised:
        load_docs_config(str(path))
    assert problem in str(raised.value)
