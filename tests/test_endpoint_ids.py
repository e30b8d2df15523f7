"""The service ids that endpoint discovery lists for each API (generator/server.py), and how the
generated api_server.py passes them on."""

from __future__ import annotations

import pytest

from generator.server import endpoint_id
from support import GENERATED


@pytest.mark.parametrize(
    ("package", "expected"),
    [
        ("yandex.cloud.baremetal.v1alpha", "baremetal"),
        ("yandex.cloud.compute.v1", "compute"),
        ("yandex.cloud.serverless.functions.v1", "serverless-functions"),
        (
            "yandex.cloud.ai.foundation_models.v1.text_generation",
            "ai-foundation-models-text-generation",
        ),
        ("yandex.cloud.k8s.v1", "k8s"),
        ("yandex.cloud.iam.v2beta1", "iam"),
        ("acme.fleet.v1", "acme-fleet"),
        ("v1", "v1"),  # nothing but a version: kept rather than empty
    ],
)
def test_endpoint_id(package: str, expected: str) -> None:
    assert endpoint_id(package) == expected


def test_the_generated_server_passes_its_endpoint_ids() -> None:
    source = (GENERATED / "api_server.py").read_text()
    assert 'ENDPOINT_IDS: tuple[str, ...] = ("baremetal",)' in source
    assert "server.main(SERVICES, endpoint_ids=ENDPOINT_IDS)" in source
