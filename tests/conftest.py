import os
import sys
from pathlib import Path
from typing import Iterator

import pytest

import postgres
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


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[postgres.PostgresCluster]:
    """A PostgreSQL cluster of the session's own (tests/postgres.py), running; tests may stop,
    restart or kill it (`postgres_url` starts it again). Skips, saying why, where the
    distribution's binaries are absent."""
    availability = postgres.available()
    if not availability.ok:
        pytest.skip(availability.reason)
    cluster = postgres.PostgresCluster()
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.cleanup()


@pytest.fixture(scope="session")
def postgres_server(request: pytest.FixtureRequest) -> postgres.PostgresServer:
    """The server `postgres_url` makes databases on: the one TEST_POSTGRES_URL names
    (postgresql://USER@HOST:PORT/DBNAME, a user that may create databases), else
    `postgres_cluster`."""
    external = os.environ.get("TEST_POSTGRES_URL")
    if external:
        return postgres.ExternalServer(external)
    cluster: postgres.PostgresCluster = request.getfixturevalue("postgres_cluster")
    return cluster


@pytest.fixture
def postgres_url(postgres_server: postgres.PostgresServer) -> Iterator[str]:
    """The URL of a fresh, empty database of the test's own, dropped afterwards."""
    postgres_server.ensure_running()
    url = postgres_server.create_database()
    yield url
    postgres_server.ensure_running()  # the test may have stopped or killed our cluster
    postgres_server.drop_database(postgres.database_of(url))
