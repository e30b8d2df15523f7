"""The stock official SDK (the pinned yandexcloud in .venv-sdk) against the api_server.py of its
own whole API, over TLS with a token: it finds every served service by its own endpoint
discovery, without `endpoints=` (tests/interop/sdk_discovery.py), and reaches vpc,
resource-manager and managed-postgresql."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

from support import ROOT, SDK_PYTHON, run_sdk_scenario
from whole_api import ApiSource, GeneratedApi, report

SCENARIO = ROOT / "tests" / "interop" / "sdk_discovery.py"
TOKEN = "sdk-discovery-token"
BUILT_IN = {"endpoint", "iam", "operation"}


def endpoint_ids(api_server: Path) -> list[str]:
    """ENDPOINT_IDS of a generated api_server.py."""
    found = re.search(
        r"^ENDPOINT_IDS: tuple\[str, \.\.\.\] = (\(.*?\))\n\n",
        api_server.read_text(),
        re.S | re.M,
    )
    assert found, f"{api_server}: no ENDPOINT_IDS"
    return list(ast.literal_eval(found.group(1)))


def test_the_official_sdk_finds_every_service_by_discovery(
    api_source: ApiSource, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    if api_source.label != "sdk":
        pytest.skip(
            "the SDK's stubs are of the SDK's API: the corpus is another version"
        )
    if not SDK_PYTHON.exists():
        pytest.fail(
            "the official SDK's virtualenv is missing: `make test` creates .venv-sdk"
        )
    generated: GeneratedApi = request.getfixturevalue("generated_api")
    services = [
        (proto_file.name, service.name)
        for proto_file in generated.model.generated_files
        for service in proto_file.services
        if not service.is_framework
    ]
    services_file = tmp_path / "services.json"
    services_file.write_text(json.dumps(services))
    run = run_sdk_scenario(
        generated.root, SCENARIO, tmp_path, TOKEN, str(services_file)
    )
    seen = run.seen

    # The SDK's one List, with no page size, answered whole: every id the server lists.
    served_ids = endpoint_ids(generated.root / "api_server.py")
    assert seen["listed"] == sorted(BUILT_IN | set(served_ids))
    assert seen["next_page_token"] == ""
    assert seen["listed_addresses"] == [f"localhost:{run.port}"]
    # Every service whose module the SDK has an id for is found by that id.
    assert seen["not_found"] == []
    assert seen["found"] == seen["services"] - len(seen["without_sdk_id"])
    assert set(seen["sdk_ids"]) <= set(seen["listed"])
    assert {"vpc", "resource-manager", "managed-postgresql"} <= set(seen["sdk_ids"])
    # ... and answers the SDK's calls.
    assert seen["cloud"] == ["sdk-cloud", True]
    assert seen["folder"] == ["sdk-folder", True]
    assert seen["network"] == ["sdk-network", True, {"source": "sdk"}]
    assert seen["networks_in_folder"] == [True]
    assert seen["clusters_in_folder"] == 0
    assert seen["missing_cluster"] == "NOT_FOUND"
    assert seen["created_by"]  # the call carried the SDK's token

    report(api_source, "SDK discovery: ids listed", len(seen["listed"]))
    report(api_source, "SDK ids found", len(seen["sdk_ids"]))
    report(api_source, "services the SDK found", seen["found"])
    report(
        api_source,
        "services the SDK has no id for",
        len(seen["without_sdk_id"]),
    )
