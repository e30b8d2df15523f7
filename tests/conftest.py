import sys
from pathlib import Path

import pytest

from generator.tree import generate_tree
from support import PROTO, TEST_PROTOS


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        help="rewrite the golden files under tests/golden/ (and the whole API's warning "
        "inventories, tests/data/whole_api_warnings_*.txt) from the current output",
    )


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-golden"))


@pytest.fixture(scope="session")
def fleet_generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """proto/ plus the fleet test API (tests/protos/fleet), generated into one tree and
    importable: its api_server.py serves both ImageService and RobotService."""
    out = tmp_path_factory.mktemp("fleet") / "generated"
    generate_tree([TEST_PROTOS / "fleet", PROTO], out)
    if str(out) not in sys.path:
        sys.path.insert(0, str(out))
    return out
