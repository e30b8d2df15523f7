"""The service ids that endpoint discovery lists for each served service (generator/endpoints.py):
derived from the package's name, and official from an endpoint table (the shipped one, checked
here against the official SDK's table and the official list of endpoints, or `endpoints=PATH`);
and how the generated api_server.py passes them on."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from generator.endpoints import (
    EndpointTable,
    derived_id,
    dotted_path,
    endpoint_ids,
    load_endpoint_table,
)
from generator.errors import OptionError
from generator.plugin import generate
from support import GENERATED, PROTO, SHARED, TEST_PROTOS, make_request, run_plugin
from whole_api import SDK_VENV

# The official list of endpoints (the API design guide's page), where ../shared is present.
OFFICIAL_LIST = (
    SHARED / "reference-rest" / "en" / "api-design-guide" / "concepts" / "endpoints.md"
)
# Ids of the official list that no proto file of the API serves (see endpoints.toml's header).
WITHOUT_PROTO = {"locator", "logs", "serialssh", "storage"}
FLEET = ["acme/fleet/v1/robot_service.proto", "acme/fleet/v1/robot.proto"]


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
def test_derived_id(package: str, expected: str) -> None:
    assert derived_id(package) == expected


def test_official_ids_by_file_path_or_full_name() -> None:
    table = EndpointTable(
        {
            ("acme", "fleet"): ("fleet",),
            ("acme", "fleet", "v1", "telemetry_service"): ("fleet-telemetry",),
            ("acme", "quota"): ("quota",),
            ("speech", "stt", "v3", "Recognizer"): ("stt-v3",),
        }
    )
    robots = ("acme/fleet/v1/robot_service.proto", "acme.fleet.v1.RobotService")
    assert table.official_ids(*robots) == {"fleet"}
    # Every key that applies: the file's own and its product's.
    telemetry = ("acme/fleet/v1/telemetry_service.proto", "acme.fleet.v1.Telemetry")
    assert table.official_ids(*telemetry) == {"fleet", "fleet-telemetry"}
    # Component by component: `acme.quota` is no prefix of `acme.quotamanager`.
    quotas = ("acme/quotamanager/v1/limit_service.proto", "acme.quotamanager.v1.X")
    assert table.official_ids(*quotas) == set()
    # By the service's full name, where the file's path says nothing of the package.
    stt = ("cloud/ai/stt/v3/stt_service.proto", "speech.stt.v3.Recognizer")
    assert table.official_ids(*stt) == {"stt-v3"}
    assert dotted_path("a/b/x_service.proto") == "a.b.x_service"


def test_endpoint_ids_derived_and_official_sorted_once() -> None:
    table = EndpointTable({("acme", "fleet"): ("fleet", "robots")})
    served = [
        ("acme/fleet/v1/robot_service.proto", "acme.fleet.v1", "acme.fleet.v1.A"),
        ("acme/fleet/v2/robot_service.proto", "acme.fleet.v2", "acme.fleet.v2.A"),
        ("other/v1/x_service.proto", "other.v1", "other.v1.X"),
    ]
    assert endpoint_ids(served, table) == ["acme-fleet", "fleet", "other", "robots"]


def shipped_pairs() -> set[tuple[str, str]]:
    table = load_endpoint_table()
    return {(".".join(key), id_) for key, ids in table.ids.items() for id_ in ids}


def sdk_supported_modules() -> list[tuple[str, str]]:
    """The official SDK's `_supported_modules` (module prefix, id), read with ast from the
    pinned SDK in .venv-sdk (never imported: its yandex.cloud modules clash with ours).
    """
    found = sorted(SDK_VENV.glob("lib/python*/site-packages/yandexcloud/_sdk.py"))
    if not found:
        pytest.fail(
            f"the pinned SDK is missing from {SDK_VENV}: `make test` installs it"
        )
    for node in ast.parse(found[-1].read_text()).body:
        if (
            isinstance(node, ast.Assign)
            and isinstance(node.targets[0], ast.Name)
            and node.targets[0].id == "_supported_modules"
        ):
            pairs = ast.literal_eval(node.value)
            assert pairs and all(len(pair) == 2 for pair in pairs)
            return [(prefix, id_) for prefix, id_ in pairs]
    raise AssertionError(f"{found[-1]}: no _supported_modules")


def test_the_shipped_table_has_every_id_the_official_sdk_looks_up() -> None:
    sdk = sdk_supported_modules()
    assert len(sdk) == 61
    missing = sorted(set(sdk) - shipped_pairs())
    assert (
        not missing
    ), f"in the SDK's _supported_modules, not in endpoints.toml: {missing}"


def official_list() -> dict[str, str]:
    """Id → host in the official list of endpoints, where ../shared is present."""
    if not OFFICIAL_LIST.exists():
        pytest.skip(f"{OFFICIAL_LIST} is absent (it is not part of a fresh clone)")
    text = OFFICIAL_LIST.read_text()
    listed = re.findall(r'"id": "([^"]+)",\s*"address": "([^"]+)"', text)
    assert len(listed) == text.count('"id":') > 0  # a change of format parses nothing
    return dict(listed)


def test_the_shipped_table_has_every_official_id_with_a_proto_file() -> None:
    official = official_list()
    shipped = {id_ for _, id_ in shipped_pairs()}
    assert set(official) - shipped == WITHOUT_PROTO
    # Its other ids are those the SDK looks up.
    beyond = shipped - set(official)
    assert beyond <= {id_ for _, id_ in sdk_supported_modules()}, sorted(beyond)


def test_the_official_ids_of_one_key_share_a_host() -> None:
    official = official_list()
    for key, ids in load_endpoint_table().ids.items():
        hosts = {official[id_] for id_ in ids if id_ in official}
        assert len(hosts) <= 1, (".".join(key), ids, hosts)


@pytest.mark.parametrize(
    ("content", "complaint"),
    [
        ("[endpoints\n", "is not valid TOML"),
        ('[packages]\n"a" = ["b"]\n', "unknown table 'packages'; expected [endpoints]"),
        ('endpoints = "a"\n', "endpoints must be a table"),
        ('[endpoints]\n"a..b" = ["c"]\n', "'a..b' is not a dotted name"),
        ('[endpoints]\n"a" = "c"\n', '"a" must be a list of one or more ids'),
        ('[endpoints]\n"a" = []\n', '"a" must be a list of one or more ids'),
        ('[endpoints]\n"a" = ["c", 1]\n', '"a" must be a list of one or more ids'),
    ],
)
def test_a_bad_table_is_an_option_error(
    tmp_path: Path, content: str, complaint: str
) -> None:
    path = tmp_path / "endpoints.toml"
    path.write_text(content)
    with pytest.raises(OptionError) as raised:
        load_endpoint_table(str(path))
    assert str(raised.value).startswith(f"endpoints: {path}")
    assert complaint in str(raised.value)


def test_the_endpoints_option_replaces_the_shipped_table(tmp_path: Path) -> None:
    table = tmp_path / "endpoints.toml"
    table.write_text('[endpoints]\n"acme.fleet" = ["fleet", "robots"]\n')
    roots = [TEST_PROTOS / "fleet", PROTO]
    shipped = run_plugin(make_request(FLEET, "targets=server", roots))
    assert 'ENDPOINT_IDS: tuple[str, ...] = ("acme-fleet",)' in shipped["api_server.py"]
    own = run_plugin(make_request(FLEET, f"targets=server,endpoints={table}", roots))
    assert (
        'ENDPOINT_IDS: tuple[str, ...] = ("acme-fleet", "fleet", "robots")'
        in own["api_server.py"]
    )
    missing = make_request(FLEET, f"endpoints={tmp_path / 'none.toml'}", roots)
    error = generate(missing).error
    assert error.startswith(f"endpoints: cannot read {tmp_path / 'none.toml'}"), error


def test_the_generated_server_passes_its_endpoint_ids() -> None:
    source = (GENERATED / "api_server.py").read_text()
    assert 'ENDPOINT_IDS: tuple[str, ...] = ("baremetal",)' in source
    assert "server.main(SERVICES, endpoint_ids=ENDPOINT_IDS)" in source
