"""The official Yandex Cloud SDK (PyPI `yandexcloud`) against our server, over TLS with a token.

The SDK ships its own `yandex.cloud.*` modules, which clash with ours in one interpreter, so it
runs in its own virtualenv (`.venv-sdk`, which `make test` creates from
tests/interop/requirements.txt) and its own process: tests/interop/sdk_scenario.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from support import GENERATED, ROOT, SDK_PYTHON, run_sdk_scenario
from yc_runtime.auth import subject_of

SCENARIO = ROOT / "tests" / "interop" / "sdk_scenario.py"
TOKEN = "sdk-interop-token"


def test_official_sdk_creates_updates_and_waits(tmp_path: Path) -> None:
    if not SDK_PYTHON.exists():
        pytest.fail(
            "the official SDK's virtualenv is missing: `make test` creates .venv-sdk"
        )
    seen = run_sdk_scenario(GENERATED, SCENARIO, tmp_path, TOKEN, "wrong-token").seen
    assert seen["created_name"] == "from-sdk"
    assert seen["updated_name"] == "renamed-by-sdk"
    assert (
        seen["description"] == "made by the official SDK"
    )  # not in the mask: unchanged
    assert seen["labels"] == {"source": "sdk"}
    assert seen["created_by"] == subject_of(TOKEN)
    assert seen["invalid_update"] == "INVALID_ARGUMENT"
    assert seen["wrong_token"] == "UNAUTHENTICATED"
