"""The throwaway PostgreSQL of tests/postgres.py and the fixtures of tests/conftest.py: they
start, isolate tests from each other, survive stops and crashes, and skip without binaries.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

import postgres

ROOT = Path(__file__).resolve().parents[1]


def connect(url: str) -> psycopg.Connection[tuple[object, ...]]:
    return psycopg.connect(url, connect_timeout=5, autocommit=True)


def rows(url: str, query: str) -> list[tuple[object, ...]]:
    with connect(url) as connection:
        return connection.execute(query).fetchall()


def test_a_fresh_database_per_test(
    postgres_url: str, request: pytest.FixtureRequest
) -> None:
    name = postgres.database_of(postgres_url)
    assert name.startswith("test_")
    assert rows(postgres_url, "SELECT current_database()") == [(name,)]
    assert rows(
        postgres_url, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
    ) == [(0,)]
    if not os.environ.get("TEST_POSTGRES_URL"):
        cluster: postgres.PostgresCluster = request.getfixturevalue("postgres_cluster")
        assert postgres_url == cluster.url(name)
        assert postgres_url.startswith("postgresql://postgres@127.0.0.1:")


def test_databases_are_isolated(postgres_cluster: postgres.PostgresCluster) -> None:
    first, second = (
        postgres_cluster.create_database(),
        postgres_cluster.create_database(),
    )
    assert first != second
    with connect(first) as connection:
        connection.execute("CREATE TABLE images (id text PRIMARY KEY)")
        connection.execute("INSERT INTO images VALUES ('a')")
    with connect(second) as connection:
        connection.execute("CREATE TABLE images (id text PRIMARY KEY)")
        assert connection.execute("SELECT id FROM images").fetchall() == []
    assert rows(first, "SELECT id FROM images") == [("a",)]
    postgres_cluster.drop_database(postgres.database_of(first))
    postgres_cluster.drop_database(postgres.database_of(second))


def test_settings(postgres_cluster: postgres.PostgresCluster) -> None:
    """Durability as on a real server, over TCP and the Unix socket; the default collation
    is not byte order (storage code must ask for COLLATE "C" where it needs it)."""
    url = postgres_cluster.url()
    query = (
        "SELECT name, setting FROM pg_settings WHERE name IN "
        "('fsync', 'synchronous_commit', 'full_page_writes', 'listen_addresses')"
    )
    settings = {name: value for name, value in rows(url, query)}
    assert settings == {
        "fsync": "on",
        "synchronous_commit": "on",
        "full_page_writes": "on",
        "listen_addresses": "127.0.0.1",
    }
    assert rows(postgres_cluster.socket_url(), "SELECT 1") == [(1,)]
    if postgres.major_version(postgres_cluster.binaries) >= 15:
        assert rows(url, "SELECT 'a' < 'B', 'a' < 'B' COLLATE \"C\"") == [(True, False)]


def test_stop_refuses_connections_and_start_keeps_the_data(
    postgres_cluster: postgres.PostgresCluster, postgres_url: str
) -> None:
    with connect(postgres_url) as connection:
        connection.execute("CREATE TABLE images (id text PRIMARY KEY)")
        connection.execute("INSERT INTO images VALUES ('a'), ('b')")
    postgres_cluster.stop()
    assert not postgres_cluster.running()
    with pytest.raises(psycopg.OperationalError, match="Connection refused"):
        connect(postgres_url)
    postgres_cluster.start()
    assert rows(postgres_url, "SELECT id FROM images ORDER BY id") == [("a",), ("b",)]


def test_kill_then_start_recovers(
    postgres_cluster: postgres.PostgresCluster, postgres_url: str
) -> None:
    """SIGKILL of the whole server: open sessions break, committed rows survive, and the next
    start recovers from the write-ahead log."""
    with connect(postgres_url) as connection:
        connection.execute("CREATE TABLE images (id text PRIMARY KEY)")
        connection.execute("INSERT INTO images VALUES ('committed')")
    open_session = connect(postgres_url)
    uncommitted = psycopg.connect(postgres_url, connect_timeout=5)
    uncommitted.execute("INSERT INTO images VALUES ('uncommitted')")
    postgres_cluster.kill()
    assert not postgres_cluster.running()
    with pytest.raises(psycopg.OperationalError):
        open_session.execute("SELECT 1")
    with pytest.raises(psycopg.OperationalError, match="Connection refused"):
        connect(postgres_url)
    open_session.close()
    uncommitted.close()

    postgres_cluster.start()
    assert rows(postgres_url, "SELECT id FROM images") == [("committed",)]
    assert "not properly shut down; automatic recovery in progress" in (
        postgres_cluster.server_log()
    )


def test_restart_keeps_the_port(postgres_cluster: postgres.PostgresCluster) -> None:
    port, url = postgres_cluster.port, postgres_cluster.url()
    postgres_cluster.restart()
    assert postgres_cluster.port == port
    assert rows(url, "SELECT 1") == [(1,)]


def test_external_server(postgres_cluster: postgres.PostgresCluster) -> None:
    """TEST_POSTGRES_URL's server, here played by our cluster: databases made and dropped
    through the database the URL names."""
    server = postgres.ExternalServer(postgres_cluster.url() + "?application_name=t")
    url = server.create_database("external_one")
    assert url == (
        f"postgresql://postgres@127.0.0.1:{postgres_cluster.port}/external_one"
        "?application_name=t"
    )
    assert rows(
        url, "SELECT current_database(), current_setting('application_name')"
    ) == [("external_one", "t")]
    server.drop_database("external_one")
    assert rows(
        postgres_cluster.url(),
        "SELECT count(*) FROM pg_database WHERE datname = 'external_one'",
    ) == [(0,)]


def test_cleanup_stops_the_server_and_removes_its_directory() -> None:
    availability = postgres.available()
    if not availability.ok:
        pytest.skip(availability.reason)
    cluster = postgres.PostgresCluster()
    try:
        cluster.start()
        assert cluster.running()
        if (
            os.geteuid() == 0
        ):  # the binaries ran as someone else, in a directory of theirs
            owner = cluster.data.stat().st_uid
            assert owner != 0 and owner == cluster.user.pw_uid  # type: ignore[union-attr]
    finally:
        cluster.cleanup()
    assert not cluster.directory.exists()
    assert not cluster.running()


def test_without_binaries_the_tests_skip_saying_why(tmp_path: Path) -> None:
    environment = {
        name: value for name, value in os.environ.items() if name != "TEST_POSTGRES_URL"
    }
    environment["TEST_POSTGRES_BINDIR"] = str(tmp_path / "no-such-directory")
    result = subprocess.run(
        [
            *(sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rs", "-q"),
            *("tests/test_postgres_fixture.py", "-k", "fresh_database or isolated"),
        ],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 skipped" in result.stdout, result.stdout
    assert postgres.NOT_FOUND in result.stdout, result.stdout
